"""The people pass over finished mattes: targets keep one person, identities hold, one matte per person."""
import numpy as np
import OpenImageIO as oiio
import pytest

from composites import blob_mask, make_shot, rough_mask, write_mask
from rvmatte.cli import main

pytest.importorskip("cv2", reason="the people pass needs opencv-python-headless")


def _read(path):
    buf = oiio.ImageBuf(str(path))
    pixels = buf.get_pixels(oiio.FLOAT)
    return {name: pixels[:, :, i] for i, name in enumerate(buf.spec().channelnames)}, buf.spec()


@pytest.fixture(scope="module")
def apart(tmp_path_factory):
    folder = tmp_path_factory.mktemp("apart")
    return folder, make_shot(str(folder), "apart", 256, 144, 6)


@pytest.fixture(scope="module")
def crossing(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crossing")
    return folder, make_shot(str(folder), "crossing", 512, 288, 12)


def _mask(folder, shot, frame, person=0, make=rough_mask, name="m"):
    (folder / "mask").mkdir(exist_ok=True)
    write_mask(str(folder / "mask" / f"{name}.{frame:04d}.png"), make(shot["arrays"][frame][person]))
    return str(folder / "mask" / f"{name}.####.png")


def _people(shot, out, *options):
    assert main(["people", shot["plate"], "--alpha", shot["alpha"], "-o", str(out), *options]) == 0


def test_a_target_mask_keeps_only_that_person_on_every_frame(apart, tmp_path):
    folder, shot = apart
    _people(shot, tmp_path, "--target", _mask(folder, shot, 1))
    for frame, (mine, theirs) in shot["arrays"].items():
        alpha, _ = _read(tmp_path / f"shot.alpha.{frame:04d}.exr")
        assert np.all(alpha["A"][(theirs > 0) & (mine == 0)] == 0)
        assert alpha["A"][mine > 0.5].min() > 0.49


def test_inside_the_target_the_alpha_is_the_untargeted_alpha(apart, tmp_path):
    folder, shot = apart
    _people(shot, tmp_path, "--target", _mask(folder, shot, 1), "--float")
    for frame, (mine, theirs) in shot["arrays"].items():
        alpha, _ = _read(tmp_path / f"shot.alpha.{frame:04d}.exr")
        untargeted, _ = _read(shot["alpha"].replace("####", f"{frame:04d}"))
        inside = mine > 0
        np.testing.assert_array_equal(alpha["A"][inside], untargeted["A"][inside])


def test_the_foreground_of_everyone_else_is_zero(apart, tmp_path):
    folder, shot = apart
    fgr_dir = tmp_path / "fgr"
    fgr_dir.mkdir()
    for frame, (mine, theirs) in shot["arrays"].items():
        plate, _ = _read(shot["plate"].replace("####", f"{frame:04d}"))
        a = mine + theirs
        pixels = np.stack([plate["R"] * a, plate["G"] * a, plate["B"] * a, a], axis=-1)
        oiio.ImageBuf(np.ascontiguousarray(pixels, np.float32)).write(str(fgr_dir / f"f.{frame:04d}.exr"), "float")
    _people(shot, tmp_path / "out", "--target", _mask(folder, shot, 1), "--foreground", str(fgr_dir / "f.####.exr"))
    for frame, (mine, theirs) in shot["arrays"].items():
        fgr, _ = _read(tmp_path / "out" / f"shot.fgr.{frame:04d}.exr")
        others = (theirs > 0) & (mine == 0)
        for channel in "RGBA":
            assert np.all(fgr[channel][others] == 0)
        assert fgr["A"][mine > 0.5].min() > 0.49


def test_a_mask_on_the_last_frame_tracks_back_to_the_first(apart, tmp_path):
    folder, shot = apart
    last = shot["frames"]
    _people(shot, tmp_path, "--target", _mask(folder, shot, last, person=1, make=blob_mask, name="late"))
    for frame, (theirs, mine) in shot["arrays"].items():
        alpha, _ = _read(tmp_path / f"shot.alpha.{frame:04d}.exr")
        assert np.all(alpha["A"][(theirs > 0) & (mine == 0)] == 0), frame
        assert alpha["A"][mine > 0.5].min() > 0.49, frame


def test_a_point_picks_the_person_under_it(apart, tmp_path):
    folder, shot = apart
    ys, xs = np.nonzero(shot["arrays"][3][1] > 0.99)
    _people(shot, tmp_path, "--target-point", f"{xs[len(xs) // 2]},{ys[len(ys) // 2]}@3")
    alpha, _ = _read(tmp_path / "shot.alpha.0001.exr")
    theirs, mine = shot["arrays"][1]
    assert np.all(alpha["A"][(theirs > 0) & (mine == 0)] == 0)
    assert alpha["A"][mine > 0.5].min() > 0.49


def test_named_targets_name_the_person_layers_and_the_manifest(apart, tmp_path):
    folder, shot = apart
    _people(shot, tmp_path, "--target", "hero=" + _mask(folder, shot, 1, 0, name="a"),
            "--target", "extra=" + _mask(folder, shot, 1, 1, name="b"))
    layers, spec = _read(tmp_path / "shot.people.0002.exr")
    assert {"hero.A", "extra.A"} <= set(layers)
    from rvmatte.people.cryptomatte import layer_key, manifest
    import json
    assert json.loads(spec.get_string_attribute(f"{layer_key()}/manifest")) == manifest(["hero", "extra"])


def _iou(a, b):
    a, b = a > 0.5, b > 0.5
    return (a & b).sum() / max((a | b).sum(), 1)


def test_identities_hold_across_a_crossing(crossing, tmp_path):
    folder, shot = crossing
    _people(shot, tmp_path, "--people", "2")
    for frame, truths in shot["arrays"].items():
        layers, _ = _read(tmp_path / f"shot.people.{frame:04d}.exr")
        for k, name in enumerate(("person1.A", "person2.A")):
            assert _iou(layers[name], truths[k]) > _iou(layers[name], truths[1 - k]), (frame, name)


def test_the_coverages_of_all_people_add_up_to_the_matte(crossing, tmp_path):
    folder, shot = crossing
    _people(shot, tmp_path, "--people", "2")
    for frame in (1, 6, 12):
        layers, _ = _read(tmp_path / f"shot.people.{frame:04d}.exr")
        matte, _ = _read(shot["alpha"].replace("####", f"{frame:04d}"))
        coverage = sum(layers[f"CryptoPerson{r:02d}.{c}"] for r in range(2) for c in "GA")
        np.testing.assert_allclose(coverage, matte["A"], atol=1e-6)


def test_the_people_exr_is_float_and_zip_whatever_half_and_compression_say(apart, tmp_path):
    folder, shot = apart
    _people(shot, tmp_path, "--target", _mask(folder, shot, 1), "--half", "--compression", "piz")
    _, people = _read(tmp_path / "shot.people.0001.exr")
    _, alpha = _read(tmp_path / "shot.alpha.0001.exr")
    assert people.format == oiio.FLOAT and people.get_string_attribute("compression") == "zip"
    assert alpha.format == oiio.HALF and alpha.get_string_attribute("compression") == "piz"


def _stored_key(path):
    from rvmatte.io.stamp import stored_result

    return stored_result(str(path))[0]


def test_the_outputs_are_keyed_by_the_mask_contents_not_its_path(apart, tmp_path):
    import shutil

    folder, shot = apart
    mask = _mask(folder, shot, 1, name="keyed")
    _people(shot, tmp_path / "a", "--target", mask)
    keys = {_stored_key(tmp_path / "a" / f"shot.{kind}.0001.exr") for kind in ("people", "alpha")}
    assert len(keys) == 1 and None not in keys
    renamed = tmp_path / "elsewhere" / "hero_roto.0001.png"
    renamed.parent.mkdir()
    shutil.copy(mask.replace("####", "0001"), renamed)
    _people(shot, tmp_path / "b", "--target", str(renamed).replace("0001", "####"))
    assert _stored_key(tmp_path / "b" / "shot.people.0001.exr") in keys
    pixels = rough_mask(shot["arrays"][1][0]).astype(np.float32)
    ys, xs = np.nonzero(pixels)
    pixels[ys[0], xs[0]] = 0                                          # one pixel less, same person
    write_mask(str(renamed), pixels)
    _people(shot, tmp_path / "c", "--target", str(renamed).replace("0001", "####"))
    assert _stored_key(tmp_path / "c" / "shot.people.0001.exr") not in keys


def test_contact_sheets_show_each_person_alone(apart, tmp_path):
    folder, shot = apart
    _people(shot, tmp_path, "--people", "2", "--contact-sheets")
    sheets = {name: oiio.ImageBuf(str(tmp_path / f"shot.people.{name}.contact.png")) for name in ("person1", "person2")}
    first = sheets["person1"].get_pixels(oiio.FLOAT)
    second = sheets["person2"].get_pixels(oiio.FLOAT)
    spec = sheets["person1"].spec()
    assert (spec.width, spec.height) == (sheets["person2"].spec().width, sheets["person2"].spec().height)
    third = spec.width // 3
    assert np.abs(first[:, :third] - second[:, :third]).max() < 1e-6          # the same plates
    assert np.abs(first[:, third:] - second[:, third:]).mean() > 0.01         # different persons' mattes
