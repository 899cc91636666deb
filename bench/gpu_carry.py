"""Assemble what the GPU measurement carries to a machine that has only a CUDA PyTorch.

    PYTHONPATH=core .venv/bin/python bench/gpu_carry.py            # fills .gpu/ and prints its size

The device machine (Python 3.12, a CUDA PyTorch, no network) gets the working tree (source,
about 2 MB without the virtual environments) plus ``.gpu/`` (ignored by git), which holds:

  wheels/   cp312 manylinux wheels of the core's needs that are not torch: numpy (if the machine
            lacks it), OpenImageIO, deflate,
            tqdm (PyAV only with --with-av: 35 MB, and the EXR rows do not need it)
  rvm.pth   the development weights

and the one command to run there is printed: install the wheels offline, then
``bench/gpu_bench.py`` with ``$OUT`` as its output folder. The whole carry must stay under the
device tool's 64 MiB; this script says how much of it is used.
"""
import argparse
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PACKAGES = ["numpy", "OpenImageIO", "deflate", "tqdm"]
PLATFORMS = ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"]
LIMIT_MB = 64


def size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--with-av", action="store_true", help="also carry PyAV (movies; 35 MB)")
    parser.add_argument("--weights", default=str(SHARED / "models" / "rvm_mobilenetv3_from_tfjs.pth"))
    args = parser.parse_args()
    carry = REPO / ".gpu"
    shutil.rmtree(carry, ignore_errors=True)
    (carry / "wheels").mkdir(parents=True)
    packages = PACKAGES + (["av"] if args.with_av else [])
    command = [sys.executable, "-m", "pip", "download", "-q", "--dest", str(carry / "wheels"), "--no-deps",
               "--only-binary=:all:", "--python-version", "3.12", *[a for p in PLATFORMS for a in ("--platform", p)],
               *packages]
    subprocess.run(command, check=True)
    shutil.copy2(args.weights, carry / "rvm.pth")
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    source = sum((REPO / f).stat().st_size for f in tracked.decode().split("\0") if f and (REPO / f).is_file())
    total = size_mb(carry) + source / 2**20
    for p in sorted(carry.rglob("*")):
        if p.is_file():
            print(f"{p.stat().st_size / 2**20:7.1f} MB  {p.relative_to(REPO)}")
    print(f"{source / 2**20:7.1f} MB  tracked source")
    print(f"{total:7.1f} MB  in all (limit {LIMIT_MB} MiB)")
    print("\non the device (carry ['.gpu']):\n  pip install -q --no-index --find-links .gpu/wheels "
          + " ".join(packages) + " && PYTHONUNBUFFERED=1 python bench/gpu_bench.py --weights .gpu/rvm.pth")
    return 0 if total < LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
