"""The result key: every ``rvmatte run`` option is classified, and the key follows exactly the
result-affecting ones."""
import argparse

import numpy as np

import pytest

from rvmatte.cli import build_parser
from rvmatte.engine import RunOptions
from rvmatte.result_key import NOT_RESULT_AFFECTING, RESULT_AFFECTING, differences, result_fields, result_key


def _run_parser() -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["run"]


def _run_dests() -> set:
    return {a.dest for a in _run_parser()._actions if not isinstance(a, argparse._HelpAction)}


RESOLVED = dict(width=512, height=288, pixel_aspect=1.0, input_colorspace="sRGB Encoded Rec.709 (sRGB)",
                output_colorspace="Linear Rec.709 (sRGB)", weights_sha256="ab" * 32, downsample_ratio=0.4)


def test_every_run_option_is_classified():
    unclassified = _run_dests() - set(RESULT_AFFECTING) - set(NOT_RESULT_AFFECTING)
    assert not unclassified, f"classify these rvmatte run options in rvmatte/result_key.py: {sorted(unclassified)}"


def test_no_option_is_classified_twice():
    assert not set(RESULT_AFFECTING) & set(NOT_RESULT_AFFECTING)


def test_no_classified_option_is_unknown_to_the_parser():
    assert not (set(RESULT_AFFECTING) | set(NOT_RESULT_AFFECTING)) - _run_dests()


def test_the_key_is_a_short_hex_digest_and_stable():
    key, fields = result_key(RunOptions(input="x"), **RESOLVED)
    assert len(key) == 16 and int(key, 16) >= 0
    assert result_key(RunOptions(input="x"), **RESOLVED) == (key, fields)


@pytest.mark.parametrize("change", [
    {"foreground_source": "plate"}, {"variant": "resnet50"}, {"refiner": "fast_guided_filter"},
    {"precision": "float16"}, {"warmup": 3}, {"reset_at": [1005]}, {"detect_cuts": True},
    {"bit_depth": "float"}, {"compression": "dwaa"}, {"background_colour": (0.0, 0.0, 255.0)},
    {"layer": "beauty"}, {"start_frame": 1001}, {"ocio_config": "ocio://studio-config-latest"},
    {"backend": "onnxruntime"},
])
def test_the_key_changes_with_each_result_affecting_option(change):
    before, _ = result_key(RunOptions(input="x"), **RESOLVED)
    after, _ = result_key(RunOptions(input="x", **change), **RESOLVED)
    assert after != before


@pytest.mark.parametrize("change", [
    {"weights_sha256": "cd" * 32}, {"downsample_ratio": 0.25}, {"width": 1024}, {"height": 576},
    {"pixel_aspect": 2.0}, {"input_colorspace": "ACEScg"}, {"output_colorspace": "ACEScg"},
    {"holdout_sha256": "ef" * 32}, {"garbage_sha256": "01" * 32}, {"background": ("bg.####.exr", 512, 288)},
    {"backend": "onnxruntime 1.23.2 float32"},
])
def test_the_key_changes_with_each_resolved_input(change):
    before, _ = result_key(RunOptions(input="x"), **RESOLVED)
    after, _ = result_key(RunOptions(input="x"), **{**RESOLVED, **change})
    assert after != before


@pytest.mark.parametrize("change", [
    {"threads": 1}, {"writers": 7}, {"device": "cuda"}, {"seq_chunk": 8}, {"fold_batchnorm": False},
    {"compile": True}, {"frames": (1, 3)}, {"preroll": 4}, {"resume": True}, {"alpha": "a.####.exr"},
    {"input": "/elsewhere/plate.####.exr"}, {"fps": 25.0}, {"bitrate": 10.0}, {"contact_sheet": "c.png"},
])
def test_the_key_ignores_options_that_do_not_change_results(change):
    before, _ = result_key(RunOptions(input="x"), **RESOLVED)
    after, _ = result_key(RunOptions(**{"input": "x", **change}), **RESOLVED)
    assert after == before


def test_an_ocio_config_file_is_keyed_by_its_contents_not_its_path(tmp_path):
    first, second = tmp_path / "a.ocio", tmp_path / "b.ocio"
    first.write_text("ocio_profile_version: 2\n")
    second.write_text("ocio_profile_version: 2\n")
    keys = [result_key(RunOptions(input="x", ocio_config=str(p)), **RESOLVED)[0] for p in (first, second)]
    assert keys[0] == keys[1]
    second.write_text("ocio_profile_version: 2.1\n")
    assert result_key(RunOptions(input="x", ocio_config=str(second)), **RESOLVED)[0] != keys[0]


def test_differences_name_each_changed_field():
    old = result_fields(RunOptions(input="x"), **RESOLVED)
    new = result_fields(RunOptions(input="x", bit_depth="float"), **{**RESOLVED, "downsample_ratio": 0.25})
    assert differences(old, new) == "bit_depth half → float, downsample_ratio 0.4 → 0.25"


def _matte_files(folder, values):
    from rvmatte.io import write_frame
    from rvmatte.mattes import MatteSequence

    folder.mkdir(parents=True, exist_ok=True)
    for frame, value in zip((1, 2), values):
        write_frame(str(folder / f"m.{frame:04d}.exr"), np.full((4, 4, 1), value, np.float32), ["A"])
    return MatteSequence(str(folder / "m.####.exr"), "--holdout")


def test_mattes_are_keyed_by_their_contents_not_their_paths(tmp_path):
    from rvmatte.result_key import matte_sha256

    here = matte_sha256(_matte_files(tmp_path / "a", (0.0, 1.0)))
    assert matte_sha256(_matte_files(tmp_path / "b", (0.0, 1.0))) == here
    assert matte_sha256(_matte_files(tmp_path / "c", (0.0, 0.5))) != here
    assert matte_sha256(None) is None


def _target_people(masks=(), points=()):
    from rvmatte.people.targets import people_from

    return people_from([str(m) for m in masks], list(points))


def _mask_file(path, pixels):
    from rvmatte.io import write_frame

    path.parent.mkdir(parents=True, exist_ok=True)
    write_frame(str(path), pixels[:, :, None], ["A"])


def test_one_changed_target_mask_pixel_changes_the_people_key(tmp_path):
    from rvmatte.result_key import people_key

    blob = np.zeros((8, 8), np.float32)
    blob[2:5, 2:5] = 1
    _mask_file(tmp_path / "a" / "m.0001.exr", blob)
    before, _ = people_key({"plate_width": 8}, _target_people([tmp_path / "a" / "m.####.exr"]))
    blob[6, 6] = 1
    _mask_file(tmp_path / "a" / "m.0001.exr", blob)
    after, _ = people_key({"plate_width": 8}, _target_people([tmp_path / "a" / "m.####.exr"]))
    assert after != before


def test_a_moved_and_renamed_target_mask_keeps_the_people_key(tmp_path):
    from rvmatte.result_key import people_key

    blob = np.zeros((8, 8), np.float32)
    blob[2:5, 2:5] = 1
    _mask_file(tmp_path / "a" / "m.0001.exr", blob)
    here, _ = people_key({"plate_width": 8}, _target_people([tmp_path / "a" / "m.####.exr"]))
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "m.0001.exr").rename(tmp_path / "b" / "roto_hero.0001.exr")
    moved, _ = people_key({"plate_width": 8}, _target_people([tmp_path / "b" / "roto_hero.####.exr"]))
    assert moved == here


def test_a_target_mask_on_another_frame_changes_the_people_key(tmp_path):
    from rvmatte.result_key import people_key

    blob = np.ones((8, 8), np.float32)
    _mask_file(tmp_path / "a" / "m.0001.exr", blob)
    _mask_file(tmp_path / "b" / "m.0002.exr", blob)
    keys = {people_key({}, _target_people([tmp_path / d / "m.####.exr"]))[0] for d in ("a", "b")}
    assert len(keys) == 2


@pytest.mark.parametrize("other", [["3,4@1"], ["2,5@1"], ["2,4@2"], ["hero=2,4@1"], ["2,4@1", "6,6@1"]])
def test_target_points_and_names_are_in_the_people_key(other):
    from rvmatte.result_key import people_key

    assert people_key({}, _target_people(points=other))[0] != people_key({}, _target_people(points=["2,4@1"]))[0]


def test_the_people_key_changes_with_the_matte_it_splits():
    from rvmatte.result_key import people_key

    people = _target_people(points=["2,4@1"])
    assert people_key({"garbage_sha256": "01" * 32}, people)[0] != people_key({"garbage_sha256": None}, people)[0]
