import sys

from rvmatte.cli import main

sys.exit(main())
