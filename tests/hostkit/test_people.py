"""Targets and people for the hosts (rvmatte_hostkit.people): clicks, names, the people EXR."""
import os

import pytest

from rvmatte_hostkit import people


@pytest.mark.parametrize("click, expected", [
    (dict(x=10.7, y=0.2, origin="bottom-left"), "10,71@1001"),                  # Nuke: pixels from the bottom left
    (dict(x=0.0, y=0.0, origin="bottom-left", normalized=True), "0,71@1001"),   # Blender's Clip Editor: 0..1
    (dict(x=0.9999, y=0.9999, origin="bottom-left", normalized=True), "127,0@1001"),
    (dict(x=127.9, y=71.9), "127,71@1001"),
    (dict(x=5, y=6, name="hero"), "hero=5,6@1001"),
])
def test_a_click_becomes_the_target_point_of_the_pixel_under_it(click, expected):
    assert people.point_argument(frame=1001, width=128, height=72, **click) == expected


@pytest.mark.parametrize("click", [dict(x=128.0, y=3), dict(x=-0.1, y=3), dict(x=0.5, y=1.0, normalized=True),
                                   dict(x=3, y=72.0, origin="bottom-left")])
def test_a_click_outside_the_frame_is_refused_naming_the_frame_size(click):
    with pytest.raises(people.PointError, match="outside the 128x72 frame"):
        people.point_argument(frame=7, width=128, height=72, **click)


@pytest.mark.parametrize("name", ["1st", "two words", "a=b"])
def test_a_person_name_the_cli_cannot_read_is_refused(name):
    with pytest.raises(people.PointError, match="person name"):
        people.named(name, "/m/t.####.exr")


def test_person_names_follow_the_cli_order_and_merge_repeated_names():
    assert people.person_names(["hero=/t.####.exr", "/u.####.exr"], ["hero=1,2@3", "4,5@6"]) == \
        ["hero", "person2", "person3"]
    assert people.person_names(people=3) == ["person1", "person2", "person3"]
    assert people.person_names() == []


def test_person_names_agree_with_the_core(tmp_path):
    targets = pytest.importorskip("rvmatte.people.targets")
    numpy = pytest.importorskip("numpy")
    from rvmatte.io.writing import write_frame
    for stem in ("t.0001", "u.0001", "v"):
        write_frame(str(tmp_path / (stem + ".exr")), numpy.ones((4, 4, 1), numpy.float32), ["A"])
    given = (["hero=%s/t.####.exr" % tmp_path, "%s/u.####.exr" % tmp_path, "x=%s/v.exr" % tmp_path],
             ["x=1,2@3", "4,5@6", "hero=0,0@1"])
    assert people.person_names(*given) == [p.name for p in targets.people_from(*given)]


@pytest.mark.parametrize("plate, name", [("/p/shot_010.####.exr", "shot_010"), ("/p/plate.%04d.exr", "plate"),
                                         ("/p/clip.mov", "clip"), ("/p/still.png", "still")])
def test_the_people_exr_lies_beside_the_alpha_named_for_the_shot(plate, name):
    assert people.people_pattern(plate, "/out/n.alpha.####.exr") == os.path.join("/out", name + ".people.####.exr")
