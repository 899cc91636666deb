import sys

from rvmatte.cli import entry

sys.exit(entry())
