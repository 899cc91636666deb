"""The real worker (`python -m rvmatte` from this interpreter, the test
weights) through the plugin's own code: Generate -> precomp (faked at the
nuke.execute boundary by writing the plate EXRs) -> worker in a background
thread -> EXRs on disk -> internal Reads wired to them."""
import os
import sys

import numpy as np
import nuke
import pytest

from nuke_helpers import graded_rvmatte, make_read, make_rvmatte, wait_for
from rvmatte_nuke import generate, sequences, settings

oiio = pytest.importorskip("OpenImageIO")
pytest.importorskip("rvmatte.cli", reason="the core (rvmatte run) is not importable here")

CLIP = "synthetic/dev02_p3m-514ca06a_on_bgm1-bg0002_512x288"
FIRST, LAST = 1001, 1006
WORKING_SPACE = "Linear Rec.709 (sRGB)"


def read_pixels(path):
    image = oiio.ImageInput.open(path)
    assert image is not None, oiio.geterror()
    spec = image.spec()
    pixels = image.read_image(0, 0, 0, spec.nchannels, "float")
    image.close()
    return spec, pixels


def srgb_to_linear(c):
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


@pytest.fixture
def plate_renderer(shared_dir):
    """Stands in for Nuke's render of the precomp Write: the clip's frames,
    linearised, as half-float RGB EXRs where the Write says."""
    com = shared_dir / "data" / CLIP / "com"

    def render(write, frame, view):
        assert write["file_type"].value() == "exr" and write["raw"].value() is True
        _, rgb = read_pixels(str(com / ("%04d.png" % (frame - FIRST))))
        path = sequences.frame_file(sequences.for_view(write["file"].value(), view), frame)
        spec = oiio.ImageSpec(rgb.shape[1], rgb.shape[0], 3, "half")
        out = oiio.ImageOutput.create(path)
        assert out.open(path, spec), oiio.geterror()
        out.write_image(srgb_to_linear(rgb[..., :3]))
        out.close()
    return render


def core_python(folder):
    """This interpreter running this checkout's core (the worker gets no PYTHONPATH from Nuke)."""
    core = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "core")
    python = folder / "core-python"
    python.write_text('#!/bin/sh\nPYTHONPATH="%s" exec "%s" "$@"\n' % (core, sys.executable))
    python.chmod(0o755)
    return str(python)


def graded_clip_node(shared_dir, last):
    """The study clip's frames through a Grade into an RVMatte node, its custom range FIRST..last
    (the Grade makes Generate render a precomp). Returns (grade, node)."""
    return graded_rvmatte(make_read(str(shared_dir / "data" / CLIP / "com" / "####.png"), 0, 29), FIRST, last)


@pytest.fixture
def real_worker(monkeypatch, weights_path, tmp_path):
    monkeypatch.delenv("PYTHONPATH", raising=False)
    settings.save(settings.Preferences(python=core_python(tmp_path), weights=str(weights_path), device="cpu"))


def test_generate_runs_the_real_worker_and_wires_its_exrs(saved_script, shared_dir, plate_renderer,
                                                          real_worker):
    nuke._fake.render_hook = plate_renderer
    nuke.root()["workingSpaceLUT"].setValue(WORKING_SPACE)
    grade, group = graded_clip_node(shared_dir, LAST)

    run = generate.generate(group)
    assert run is not None, nuke._fake.messages
    wait_for(run, timeout=600)
    assert nuke._fake.messages == []
    assert len(nuke._fake.executions) == 1

    alpha_pattern = group.node("alpha_read")["file"].value()
    fgr_pattern = group.node("fgr_read")["file"].value()
    version = os.path.join(run.job.output_dir, "v001")
    assert (alpha_pattern, fgr_pattern) == tuple(os.path.join(version, os.path.basename(p))
                                                 for p in (run.job.alpha_read, run.job.fgr_read))
    assert [group.node("switch")["which"].getValueAt(f) for f in (FIRST - 1, FIRST, LAST, LAST + 1)] == [0, 1, 1, 0]
    assert sequences.complete_frames(alpha_pattern, FIRST, LAST) == list(range(FIRST, LAST + 1))

    gt = shared_dir / "data" / CLIP / "pha"
    errors = []
    for frame in range(FIRST, LAST + 1):
        spec, alpha = read_pixels(sequences.frame_file(alpha_pattern, frame))
        assert (spec.width, spec.height, list(spec.channelnames)) == (512, 288, ["A"])
        _, truth = read_pixels(str(gt / ("%04d.png" % (frame - FIRST))))
        errors.append(float(np.abs(alpha[..., 0] - truth[..., 0]).mean()))
        fspec, fgr = read_pixels(sequences.frame_file(fgr_pattern, frame))
        assert list(fspec.channelnames) == ["R", "G", "B", "A"]
        assert np.allclose(fgr[..., 3], alpha[..., 0], atol=2e-3)
        assert np.all(fgr[..., :3] <= fgr[..., 3:] * 1.001 + 2e-3), "foreground is premultiplied"
    print("mean |alpha - ground truth| per frame:", ["%.4f" % e for e in errors])
    assert max(errors) < 0.05, errors

    task = nuke._fake.progress_tasks[0]
    assert task.progress[-1] == 100
    assert group["status"].value().startswith("matte %d-%d" % (FIRST, LAST))


def test_a_usable_read_of_exrs_feeds_the_real_worker_directly(saved_script, shared_dir, plate_renderer,
                                                              real_worker, tmp_path):
    plates = tmp_path / "plates"
    plates.mkdir()
    write = nuke.nodes.Write(file=str(plates / "plate.####.exr"), file_type="exr", raw=True)
    for frame in (FIRST, FIRST + 1):
        plate_renderer(write, frame, "main")
    nuke.delete(write)
    nuke.root()["workingSpaceLUT"].setValue(WORKING_SPACE)
    nuke.root()["floatLut"].setValue(WORKING_SPACE)
    nuke.GUI = False
    group = make_rvmatte(make_read(str(plates / "plate.####.exr"), FIRST, FIRST + 1))
    run = generate.generate(group)
    assert nuke._fake.messages == [] and nuke._fake.executions == []
    assert run.job.views[0].plate == str(plates / "plate.%04d.exr")
    alpha_pattern = group.node("alpha_read")["file"].value()
    assert sequences.complete_frames(alpha_pattern, FIRST, FIRST + 1) == [FIRST, FIRST + 1]


def test_the_real_workers_error_reaches_a_nuke_message(saved_script, real_worker, tmp_path):
    nuke.GUI = False
    group = make_rvmatte(make_read(str(tmp_path / "missing" / "plate.####.exr"), 1, 3))
    generate.generate(group)
    (message,) = nuke._fake.messages
    assert message.startswith("RVMatte RVMatte1: ")
    assert str(tmp_path / "missing") in message and "Traceback" not in message
    assert group["status"].value().startswith("failed: ")


def test_a_garbage_matte_input_clears_the_real_workers_alpha_outside_it(saved_script, shared_dir, plate_renderer,
                                                                      real_worker):
    box = (slice(40, 260), slice(150, 370))  # cuts through the subject, who stands at x 288-511

    def render(write, frame, view):
        if write["channels"].value() == "rgb":
            return plate_renderer(write, frame, view)
        assert write.input(0).Class() == "Reformat" and write.input(0).input(0).name() == "garbage"
        mask = np.zeros((288, 512, 1), np.float32)
        mask[box] = 1.0
        path = sequences.frame_file(write["file"].value(), frame)
        out = oiio.ImageOutput.create(path)
        assert out.open(path, oiio.ImageSpec(512, 288, 1, "half")), oiio.geterror()
        out.write_image(mask)
        out.close()
    nuke._fake.render_hook = render
    nuke.root()["workingSpaceLUT"].setValue(WORKING_SPACE)
    nuke.GUI = False
    grade, group = graded_clip_node(shared_dir, FIRST + 1)
    group.setInput(2, nuke.nodes.Blur())

    run = generate.generate(group)
    assert nuke._fake.messages == [] and len(nuke._fake.executions) == 2
    alpha_pattern = group.node("alpha_read")["file"].value()
    assert [m.name for m in run.job.masks] == ["garbage"]
    for frame in (FIRST, FIRST + 1):
        _, truth = read_pixels(str(shared_dir / "data" / CLIP / "pha" / ("%04d.png" % (frame - FIRST))))
        truth_outside = truth[..., 0].copy()
        truth_outside[box] = 0.0
        assert truth_outside.max() > 0.9, "the box must cut through the subject for this test to mean anything"
        _, alpha = read_pixels(sequences.frame_file(alpha_pattern, frame))
        outside = alpha[..., 0].copy()
        outside[box] = 0.0
        assert outside.max() == 0.0
        assert alpha[box].max() > 0.9


def test_generate_with_people_writes_the_people_exr_the_cryptomatte_node_reads(saved_script, shared_dir,
                                                                               plate_renderer, weights_path,
                                                                               monkeypatch, tmp_path):
    """`people 2` through the real worker (this checkout's core): the people EXR lands where the plugin's
    Read of it points, and its Cryptomatte metadata names the layer the Cryptomatte node is set to."""
    pytest.importorskip("cv2", reason="the people pass needs opencv-python-headless")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    settings.save(settings.Preferences(python=core_python(tmp_path), weights=str(weights_path), device="cpu"))
    nuke._fake.render_hook = plate_renderer
    nuke.root()["workingSpaceLUT"].setValue(WORKING_SPACE)
    grade, group = graded_clip_node(shared_dir, FIRST + 2)
    group["people"].setValue(2)
    run = generate.generate(group)
    assert run is not None, nuke._fake.messages
    wait_for(run, timeout=600)
    assert nuke._fake.messages == []
    crypto = nuke.toNode("RVMatte1_cryptomatte")
    read = crypto.input(0)
    for frame in range(FIRST, FIRST + 3):
        assert os.path.isfile(sequences.frame_file(read["file"].value(), frame))
    nuke.frame(FIRST + 1)
    names = [v for k, v in read.metadata().items() if k.startswith("exr/cryptomatte/") and k.endswith("/name")]
    assert names == [crypto["cryptoLayer"].value()] == ["CryptoPerson"]


def test_the_real_worker_writes_versions_and_a_regrade_gets_its_own(saved_script, shared_dir, plate_renderer,
                                                                    real_worker):
    """`rvmatte run --versions --input-id` of this checkout: the same node and plate twice is one version
    (nothing rewritten), a regraded plate of the same size a second one, which the Reads then show."""
    from rvmatte_nuke.rvmatte_hostkit.versions import current, list_versions

    nuke._fake.render_hook = plate_renderer
    nuke.root()["workingSpaceLUT"].setValue(WORKING_SPACE)
    nuke.GUI = False
    grade, group = graded_clip_node(shared_dir, FIRST + 1)
    for _ in range(2):
        generate.generate(group)
        assert nuke._fake.messages == []
    folder = run_folder = os.path.dirname(group.node("alpha_read")["file"].value())
    assert [v.name for v in list_versions(os.path.dirname(run_folder))] == ["v001"]
    first_alpha = sequences.frame_file(group.node("alpha_read")["file"].value(), FIRST)
    made = os.stat(first_alpha).st_mtime_ns
    grade["white"].setValue(0.5)
    generate.generate(group)
    assert nuke._fake.messages == []
    root = os.path.dirname(folder)
    assert [v.name for v in list_versions(root)] == ["v001", "v002"] and current(list_versions(root)).name == "v002"
    assert os.path.dirname(group.node("alpha_read")["file"].value()) == os.path.join(root, "v002")
    assert os.stat(first_alpha).st_mtime_ns == made
