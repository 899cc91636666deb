"""bench/gpu_bench.py's logic on the CPU (``--device cpu --tiny``): every row is flushed to the
output folder as it finishes, GPU-only rows are skipped with their reason, one table at the end."""
import importlib.util
import json
from pathlib import Path

from paths import TEST_WEIGHTS

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu_bench.py"


def _bench():
    spec = importlib.util.spec_from_file_location("gpu_bench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(folder):
    return [json.loads(line) for line in (folder / "rows.jsonl").read_text().splitlines()]


def test_a_tiny_cpu_run_writes_every_row_and_the_table(tmp_path, capsys):
    assert _bench().main(["--device", "cpu", "--tiny", "--frames", "2", "--out", str(tmp_path),
                          "--weights", str(TEST_WEIGHTS)]) == 0
    rows = _rows(tmp_path)
    model = [r for r in rows if r["kind"] == "model"]
    assert {r["size"] for r in model} == {"1080p", "4K"} and len(model) == 12
    timed = [r for r in model if "fps" in r]
    assert {r["mode"] for r in timed} == {"float32", "bfloat16", "float32 + channels_last"}
    assert all(r["fps"] > 0 for r in timed)
    graph = [r for r in model if "CUDA graph" in r["mode"]]
    assert all(r["skipped"] == "CUDA graphs need a CUDA device" for r in graph)
    (parity,) = [r for r in rows if r["kind"] == "parity"]
    assert parity["max_abs_alpha"] == 0.0                    # CPU against CPU: the same numbers
    transfer, graphs = [r for r in rows if r["kind"] == "check"]
    assert transfer["transfer"] == "PassThrough" and transfer["max_abs_difference"] == 0.0
    assert graphs["skipped"] == "CUDA graphs need a CUDA device"
    end_to_end = [r for r in rows if r["kind"] == "end_to_end"]
    assert [r["size"] for r in end_to_end] == ["1080p"] * 3 + ["4K"] * 3
    timed = [r for r in end_to_end if "fps" in r]
    assert all(r["mode"].startswith("rvmatte run float32,") for r in timed) and len(timed) == 2
    assert all(r["fps"] > 0 and r["transfer"] == "PassThrough" and r["frames"] == 3 for r in timed)
    skipped = [r["skipped"] for r in end_to_end if "fps" not in r]
    assert skipped == ["float16 convolutions are for the GPU", "CUDA graphs need a CUDA device"] * 2
    backend = [r for r in rows if r["kind"] == "backend"]         # optional, last: only where they can run
    assert rows[-len(backend):] == backend and [r["size"] for r in backend] == ["1080p", "1080p", "4K", "4K"]
    assert all(r["skipped"] == "TensorRT needs a CUDA device" for r in backend)
    table = (tmp_path / "table.md").read_text()
    assert table in capsys.readouterr().out and "| parity |" in table and "--backend tensorrt float16" in table


def test_rows_past_the_time_budget_are_skipped_but_still_written(tmp_path):
    assert _bench().main(["--device", "cpu", "--tiny", "--out", str(tmp_path), "--budget-s", "0",
                          "--weights", str(TEST_WEIGHTS)]) == 0
    rows = [r for r in _rows(tmp_path) if r["kind"] != "machine"]
    assert rows and all(r.get("skipped") == "time budget" for r in rows if r["kind"] != "end_to_end"
                        or "OpenImageIO" not in r.get("skipped", ""))
