"""Where the shared test data lives (../shared beside the clone, or $RVMATTE_SHARED)."""
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("RVMATTE_SHARED", REPO.parent / "shared"))
MODELS = SHARED / "models"
DATA = SHARED / "data"
TEST_WEIGHTS = MODELS / "rvm_mobilenetv3_from_tfjs.pth"
