"""Bad targets end the people pass with one clear line, before anything is written."""
import numpy as np
import pytest

from composites import make_shot, rough_mask, write_mask
from rvmatte.cli import main
from rvmatte.people.targets import TargetError, parse_point, people_from


@pytest.fixture(scope="module")
def shot(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shot")
    return folder, make_shot(str(folder), "apart", 128, 72, 3)


def _fails(capsys, shot, tmp_path, *options):
    folder, made = shot
    code = main(["people", made["plate"], "--alpha", made["alpha"], "-o", str(tmp_path / "out"), *options])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and err[0].startswith("rvmatte: error: ")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    return err[0]


def test_a_mask_of_another_size_is_refused(capsys, shot, tmp_path):
    write_mask(str(tmp_path / "m.0001.png"), np.ones((50, 60), bool))
    line = _fails(capsys, shot, tmp_path, "--target", str(tmp_path / "m.####.png"))
    assert "60x50" in line and "128x72" in line and "m.####.png" in line


def test_a_mask_frame_outside_the_shot_is_refused(capsys, shot, tmp_path):
    write_mask(str(tmp_path / "m.0009.png"), np.ones((72, 128), bool))
    line = _fails(capsys, shot, tmp_path, "--target", str(tmp_path / "m.####.png"))
    assert "frame 9" in line and "outside the shot (1-3)" in line


def test_an_empty_mask_is_refused(capsys, shot, tmp_path):
    write_mask(str(tmp_path / "m.0002.png"), np.zeros((72, 128), bool))
    line = _fails(capsys, shot, tmp_path, "--target", str(tmp_path / "m.####.png"))
    assert "frame 2 is empty" in line


def test_a_point_outside_the_frame_is_refused(capsys, shot, tmp_path):
    line = _fails(capsys, shot, tmp_path, "--target-point", "200,10@1")
    assert "200,10" in line and "outside the 128x72 frame" in line


def test_a_point_on_a_frame_outside_the_shot_is_refused(capsys, shot, tmp_path):
    line = _fails(capsys, shot, tmp_path, "--target-point", "10,10@7")
    assert "frame 7 is outside the shot (1-3)" in line


def test_a_point_on_the_background_says_no_person_there(capsys, shot, tmp_path):
    pytest.importorskip("cv2")
    folder, made = shot
    ys, xs = np.nonzero(made["arrays"][2][0] + made["arrays"][2][1] == 0)
    x, y = int(xs[0]), int(ys[0])
    line = _fails(capsys, shot, tmp_path, "--target-point", f"{x},{y}@2")
    assert f"no person at {x},{y} on frame 2" in line


def test_a_malformed_point_names_the_form():
    with pytest.raises(TargetError, match=r"expected X,Y@FRAME"):
        parse_point("12;40")


def test_people_without_names_are_numbered_and_a_repeated_name_is_one_person(shot):
    folder, made = shot
    people = people_from([made["alpha"]], ["hero=5,5@1", "hero=6,6@2", "7,7@3"])
    assert [p.name for p in people] == ["person1", "hero", "person3"]
    assert len(people[1].points) == 2


def test_people_n_excludes_targets(shot):
    folder, made = shot
    with pytest.raises(TargetError, match="--people N"):
        people_from([made["alpha"]], [], 2)


@pytest.mark.parametrize("click, expected", [
    (dict(x=10.7, y=0.2, origin="bottom-left"), "10,71@1001"),              # Nuke: pixels from the bottom left
    (dict(x=0.0, y=0.0, origin="bottom-left", normalized=True), "0,71@1001"),   # Blender's Clip Editor: 0..1
    (dict(x=0.9999, y=0.9999, origin="bottom-left", normalized=True), "127,0@1001"),
    (dict(x=127.9, y=71.9), "127,71@1001"),
    (dict(x=5, y=6, name="hero"), "hero=5,6@1001"),
])
def test_a_host_click_becomes_the_target_point_of_that_pixel(click, expected):
    from rvmatte.people.targets import parse_point, point_argument

    text = point_argument(frame=1001, width=128, height=72, **click)
    assert text == expected
    point = parse_point(text)
    assert (point.x, point.y, point.frame) == tuple(int(v) for v in expected.split("=")[-1].replace("@", ",").split(","))


@pytest.mark.parametrize("click", [dict(x=128.0, y=3), dict(x=-0.1, y=3), dict(x=0.5, y=1.0, normalized=True),
                                   dict(x=3, y=72.0, origin="bottom-left")])
def test_a_host_click_outside_the_frame_is_refused(click):
    from rvmatte.people.targets import TargetError, point_argument

    with pytest.raises(TargetError, match="outside the 128x72 frame"):
        point_argument(frame=7, width=128, height=72, **click)
