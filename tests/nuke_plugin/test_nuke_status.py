"""Status on the node: the artist's label and tile colour are theirs; text shows as written."""
from rvmatte_nuke import node as rvnode, wiring


def test_status_fills_an_empty_label_and_updates_its_own():
    group = rvnode.create_node()
    wiring.set_status(group, "generating 1-10...")
    assert group["label"].value() == "generating 1-10..."
    wiring.set_status(group, "matte 1-10")
    assert group["label"].value() == "matte 1-10"


def test_status_never_overwrites_the_artists_label():
    group = rvnode.create_node()
    group["label"].setValue("hero matte - do not touch")
    wiring.set_status(group, "failed: frame 3 is missing")
    assert group["label"].value() == "hero matte - do not touch"
    assert "frame 3 is missing" in group["status"].value()


def test_a_label_the_artist_typed_after_ours_is_kept():
    group = rvnode.create_node()
    wiring.set_status(group, "generating 1-10...")
    group["label"].setValue("sh010 v2")
    wiring.set_status(group, "matte 1-10")
    assert group["label"].value() == "sh010 v2"


def test_error_text_is_shown_as_written_not_evaluated():
    group = rvnode.create_node()
    message = "failed: cannot read /shots/take[2]/$SHOT/<plate>.exr"
    wiring.set_status(group, message)
    assert group["label"].evaluate() == message.replace("<", "&lt;").replace(">", "&gt;")
    assert group["status"].value() == message.replace("<", "&lt;").replace(">", "&gt;")


def test_stale_colour_never_replaces_the_artists_tile_colour():
    group = rvnode.create_node()
    group["tile_color"].setValue(0x00FF00FF)
    wiring.set_tile_color(group, wiring.STALE_COLOR)
    assert group["tile_color"].value() == 0x00FF00FF
    wiring.set_tile_color(group, 0)
    assert group["tile_color"].value() == 0x00FF00FF


def test_stale_colour_goes_on_and_off_on_a_default_tile():
    group = rvnode.create_node()
    wiring.set_tile_color(group, wiring.STALE_COLOR)
    assert group["tile_color"].value() == wiring.STALE_COLOR
    wiring.set_tile_color(group, 0)
    assert group["tile_color"].value() == 0
