"""The output pass interface (rvmatte.passes): a pass registered from outside the engine is written,
keyed, resumed and checked like the built-in ones, without a line of the job knowing it."""
import os

import numpy as np
import OpenImageIO as oiio
import pytest

from rvmatte import passes
from rvmatte.engine import RunOptions, run
from rvmatte.errors import OutputError
from rvmatte.farm.status import shot_status
from rvmatte.io import write_frame
from rvmatte.io.stamp import KEY_ATTRIBUTE, stored_result
from rvmatte.progress import Reporter
from rvmatte.result_key import result_key
from shots import make_png_shot, read, spec_of

FRAME_MEAN = "test/alpha_mean"


class InverseAlphaPass(passes.Pass):
    """A test pass: 1 - alpha in channel ``I``, the frame's mean alpha in every header of the frame."""

    name = "inverse"
    calls: list = []

    @classmethod
    def channels(cls, path):
        return ["I"] if path.lower().endswith(".exr") else None

    def observe(self, results):
        return {FRAME_MEAN: float(results.band.mean())}

    def write(self, results):
        type(self).calls.append(("write", results.frame))
        write_frame(self.path(results.frame), 1.0 - results.pha[:, :, None], ["I"], header=results.plate.header,
                    bit_depth="float", attributes=results.attributes)

    def open(self):
        type(self).calls.append(("open",))

    def close(self):
        type(self).calls.append(("close",))

    def abort(self):
        type(self).calls.append(("abort",))


class FailingPass(InverseAlphaPass):
    name = "failing"

    def write(self, results):
        if results.frame == 2:
            raise OutputError("frame 2: the test pass cannot write")
        super().write(results)


@pytest.fixture
def registered():
    InverseAlphaPass.calls = []
    added = []

    def add(cls):
        passes.register(cls)
        added.append(cls)
        return cls

    yield add
    for cls in added:
        passes.unregister(cls)


@pytest.fixture
def shot(tmp_path):
    return make_png_shot(tmp_path / "in", count=3)


def _options(shot, out, model, **extra):
    return RunOptions(input=shot, alpha=str(out / "a.####.exr"), device="cpu", downsample_ratio=0.5,
                      model=model, **extra)


class Written(Reporter):
    def __init__(self):
        self.frames = []

    def frame(self, frame, done, total, fps, skipped=False, qc_score=None):
        self.frames.append((frame, skipped))


def test_a_registered_pass_writes_each_frame_with_the_runs_result_key_and_its_own_header_entry(
        registered, shot, tmp_path, model):
    registered(InverseAlphaPass)
    out = tmp_path / "out"
    summary = run(_options(shot, out, model, passes={"inverse": str(out / "inv.####.exr")}))
    assert summary["outputs"]["inverse"] == str(out / "inv.####.exr")
    for frame in (1, 2, 3):
        alpha, inverse = out / f"a.{frame:04d}.exr", out / f"inv.{frame:04d}.exr"
        assert list(spec_of(inverse).channelnames) == ["I"]
        np.testing.assert_allclose(read(inverse)[..., 0], 1.0 - read(alpha)[..., 0], atol=1e-3)
        assert stored_result(str(inverse))[0] == stored_result(str(alpha))[0] is not None
        # the pass's per-frame entry is in every file of the frame, the built-in pass's included
        mean = spec_of(alpha).getattribute(FRAME_MEAN)
        assert isinstance(mean, float) and mean == spec_of(inverse).getattribute(FRAME_MEAN)
    assert not [n for n in os.listdir(out) if ".tmp-" in n]
    assert InverseAlphaPass.calls[0] == ("open",) and InverseAlphaPass.calls[-1] == ("close",)
    assert sorted(c[1] for c in InverseAlphaPass.calls if c[0] == "write") == [1, 2, 3]


def test_resume_keeps_a_registered_pass_that_is_complete_and_redoes_a_missing_or_truncated_frame(
        registered, shot, tmp_path, model):
    registered(InverseAlphaPass)
    out = tmp_path / "out"
    options = _options(shot, out, model, passes={"inverse": str(out / "inv.####.exr")})
    run(options)
    kept = {n: (out / n).stat().st_mtime_ns for n in os.listdir(out) if not n.startswith(".")}
    reporter = Written()
    again = run(RunOptions(**{**options.__dict__, "resume": True}), reporter)
    assert (again["written"], again["skipped"]) == (0, 3)
    (out / "inv.0002.exr").unlink()
    with open(out / "inv.0003.exr", "r+b") as handle:
        handle.truncate(os.path.getsize(out / "inv.0003.exr") // 2)
    InverseAlphaPass.calls = []
    reporter = Written()
    redone = run(RunOptions(**{**options.__dict__, "resume": True}), reporter)
    assert (redone["written"], redone["skipped"]) == (2, 1)
    assert sorted(c[1] for c in InverseAlphaPass.calls if c[0] == "write") == [2, 3]
    for name in ("a.0001.exr", "a.0002.exr", "a.0003.exr", "inv.0001.exr"):
        assert (out / name).stat().st_mtime_ns == kept[name], name     # complete files are not rewritten
    assert oiio.ImageInput.open(str(out / "inv.0003.exr")).read_image() is not None


def test_a_registered_pass_made_with_another_key_is_redone_by_resume(registered, shot, tmp_path, model):
    registered(InverseAlphaPass)
    out = tmp_path / "out"
    options = _options(shot, out, model, passes={"inverse": str(out / "inv.####.exr")})
    run(options)
    write_frame(str(out / "inv.0002.exr"), np.zeros((spec_of(out / "a.0001.exr").height,
                                                     spec_of(out / "a.0001.exr").width, 1), np.float32), ["I"],
                attributes={KEY_ATTRIBUTE: "0123456789abcdef"})
    InverseAlphaPass.calls = []
    redone = run(RunOptions(**{**options.__dict__, "resume": True}))
    assert redone["written"] == 1
    assert [c[1] for c in InverseAlphaPass.calls if c[0] == "write"] == [2]
    assert stored_result(str(out / "inv.0002.exr"))[0] == stored_result(str(out / "a.0002.exr"))[0]


def test_a_pass_that_fails_is_aborted_and_the_run_stops_with_its_error(registered, shot, tmp_path, model):
    registered(FailingPass)
    out = tmp_path / "out"
    with pytest.raises(OutputError, match="frame 2: the test pass cannot write"):
        run(_options(shot, out, model, passes={"failing": str(out / "f.####.exr")}, writers=1))
    assert ("abort",) in FailingPass.calls and ("close",) not in FailingPass.calls
    assert not (out / "f.0002.exr").exists()
    assert not [n for n in os.listdir(out) if ".tmp-" in n]


def test_registering_a_pass_without_key_fields_keeps_every_result_key(registered):
    resolved = dict(width=64, height=48, pixel_aspect=1.0, input_colorspace="sRGB", output_colorspace="lin",
                    weights_sha256="ab" * 32, downsample_ratio=0.5)
    before = result_key(RunOptions(input="x"), **resolved)
    registered(InverseAlphaPass)
    assert result_key(RunOptions(input="x"), **resolved) == before


def test_a_pass_with_key_fields_enters_the_key_of_every_frame(registered):
    class Tinted(InverseAlphaPass):
        name = "tinted"

        @classmethod
        def key_fields(cls, options):
            tint = (getattr(options, "passes", None) or {}).get("tint")
            return {"tint": tint} if tint else {}

    resolved = dict(width=64, height=48, pixel_aspect=1.0, input_colorspace="sRGB", output_colorspace="lin",
                    weights_sha256="ab" * 32, downsample_ratio=0.5)
    registered(Tinted)
    plain = result_key(RunOptions(input="x"), **resolved)[0]
    tinted, fields = result_key(RunOptions(input="x", passes={"tint": "red"}), **resolved)
    assert tinted != plain and fields["tint"] == "red"


def test_a_registered_pass_on_the_alphas_pattern_is_refused_before_any_work(registered, shot, tmp_path, model):
    registered(InverseAlphaPass)
    out = tmp_path / "out"
    with pytest.raises(OutputError, match="--alpha and --inverse are the same pattern"):
        run(_options(shot, out, model, passes={"inverse": str(out / "a.####.exr")}))
    assert not out.exists()


def test_farm_status_checks_a_registered_pass_by_its_channels(registered, tmp_path):
    registered(InverseAlphaPass)
    pixels = np.full((4, 4, 1), 0.5, np.float32)
    writes = {"alpha": str(tmp_path / "s.alpha.####.exr"), "inverse": str(tmp_path / "s.inverse.####.exr")}
    for frame in (1, 2):
        write_frame(str(tmp_path / f"s.alpha.{frame:04d}.exr"), pixels, ["A"])
    write_frame(str(tmp_path / "s.inverse.0001.exr"), pixels, ["I"])
    write_frame(str(tmp_path / "s.inverse.0002.exr"), pixels, ["A"])     # another pass's file: not whole
    status = shot_status("s", str(tmp_path), [1, 2], writes)
    assert status.done == [1] and status.damaged == [2]


def test_the_built_in_passes_are_registered_in_the_order_of_the_outputs():
    assert [cls.name for cls in passes.PASSES][:6] == ["alpha", "foreground", "composite", "segmentation",
                                                      "confidence", "contact_sheet"]
    assert passes.exr_channels()["segmentation"] == (passes.SEGMENTATION_CHANNEL,)


def test_a_second_pass_with_a_taken_name_is_refused(registered):
    class Alpha(InverseAlphaPass):
        name = "alpha"

    with pytest.raises(ValueError, match="already registered"):
        registered(Alpha)
