"""File knobs hold paths the way Nuke's TCL evaluation leaves them intact (tested against the
fake's TCL on Linux; Windows paths through their strings)."""
from pathlib import PureWindowsPath

import nuke
import pytest

from rvmatte_nuke import precomp, sequences, wiring
from rvmatte_nuke import node as rvnode


@pytest.mark.parametrize("path, evaluated", [
    (str(PureWindowsPath(r"C:\shots\sh010\rvmatte\sh010.alpha.####.exr")), "C:/shots/sh010/rvmatte/sh010.alpha.%04d.exr"),
    (r"\\farm\proj\sh010\m.####.exr", "//farm/proj/sh010/m.%04d.exr"),
    ("/shots/take[2]/m.####.exr", "/shots/take[2]/m.%04d.exr"),
    ("/shots/$HOME/m.####.exr", "/shots/$HOME/m.%04d.exr"),
])
def test_a_path_set_on_a_file_knob_evaluates_to_itself(path, evaluated):
    read = nuke.nodes.Read()
    read["file"].setValue(sequences.knob_path(path))
    assert read["file"].getEvaluatedValue() == evaluated


def test_the_farm_precomp_escapes_like_the_plugin():
    for path in (r"C:\a\b[1]\c$d.####.exr", "/plain/path.####.exr"):
        assert precomp._knob_path(path) == sequences.knob_path(path)


def test_wired_reads_point_at_windows_outputs_with_forward_slashes():
    group = rvnode.create_node()
    wiring.wire(group, r"C:\out\sh.alpha.####.exr", r"C:\out\sh.fgr.####.exr", 1001, 1010)
    read = rvnode.internal(group, "alpha_read")
    with group:
        assert read["file"].getEvaluatedValue() == "C:/out/sh.alpha.%04d.exr"
