"""Fine-tune from keyframes with the real worker (this checkout's core, the test weights, CPU): the plate
and the keyframes input rendered (faked at the nuke.execute boundary by writing the clip's plate and
ground-truth alpha EXRs), `rvmatte finetune` in the background, then Generate on the tuned checkpoint."""
import hashlib
import os
import sys

import numpy as np
import nuke
import pytest

from nuke_helpers import graded_rvmatte, make_read, wait_for
from rvmatte_nuke import generate, keyframes, sequences, settings

oiio = pytest.importorskip("OpenImageIO")
pytest.importorskip("rvmatte.train.finetune", reason="the core (rvmatte finetune) is not importable here")

CLIP = "synthetic/dev02_p3m-514ca06a_on_bgm1-bg0002_512x288"
FIRST, LAST = 1001, 1006
KEYFRAMES = (1002, 1005)
WORKING_SPACE = "Linear Rec.709 (sRGB)"
CORE = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "core")


def read_image(path):
    image = oiio.ImageInput.open(path)
    assert image is not None, oiio.geterror()
    spec = image.spec()
    pixels = image.read_image(0, 0, 0, spec.nchannels, "float")
    image.close()
    return spec, pixels


def write_exr(path, pixels, channels):
    spec = oiio.ImageSpec(pixels.shape[1], pixels.shape[0], len(channels), "half")
    spec.channelnames = channels
    out = oiio.ImageOutput.create(path)
    assert out.open(path, spec), oiio.geterror()
    out.write_image(pixels)
    out.close()


def sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


@pytest.fixture
def clip_renderer(shared_dir):
    """Nuke's render of the precomp Writes: the plate (rgb, linearised) from the clip's composites, the
    keyframes input (alpha, channel A as Nuke writes it) from its ground truth."""
    folder = shared_dir / "data" / CLIP

    def render(write, frame, view):
        path = sequences.frame_file(sequences.for_view(write["file"].value(), view), frame)
        if write["channels"].value() == "alpha":
            assert write.input(0).Class() == "Reformat" and write.input(0).input(0).name() == "keyframes"
            _, alpha = read_image(str(folder / "pha" / ("%04d.png" % (frame - FIRST))))
            write_exr(path, np.ascontiguousarray(alpha[..., :1]), ("A",))
            return
        _, rgb = read_image(str(folder / "com" / ("%04d.png" % (frame - FIRST))))
        c = rgb[..., :3]
        write_exr(path, np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32),
                  ("R", "G", "B"))
    return render


@pytest.fixture
def real_worker(tmp_path, monkeypatch, weights_path):
    """The worker is this checkout's core (the plugin gives it no PYTHONPATH, so a wrapper sets it)."""
    python = tmp_path / "core-python"
    python.write_text('#!/bin/sh\nPYTHONPATH="%s" exec "%s" "$@"\n' % (CORE, sys.executable))
    python.chmod(0o755)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    settings.save(settings.Preferences(python=str(python), weights=str(weights_path), device="cpu"))
    return weights_path


def plate_node(shared_dir, first, last):
    return graded_rvmatte(make_read(str(shared_dir / "data" / CLIP / "com" / "####.png"), 0, 29), first, last)[1]


def alphas(group, frames):
    pattern = group.node("alpha_read")["file"].value()
    return dict((f, read_image(sequences.frame_file(pattern, f))) for f in frames)


def test_a_real_finetune_makes_generate_matte_with_the_tuned_weights(saved_script, shared_dir, clip_renderer,
                                                                    real_worker):
    nuke._fake.render_hook = clip_renderer
    nuke.root()["workingSpaceLUT"].setValue(WORKING_SPACE)
    group = plate_node(shared_dir, FIRST, LAST)
    group.setInput(keyframes.KEYFRAME_INPUT, nuke.nodes.Blur(size=1))
    group["keyframe_frames"].setValue(",".join(str(f) for f in KEYFRAMES))
    group["finetune_steps"].setValue(2)

    wait_for(generate.generate(group), timeout=600)
    base = alphas(group, range(FIRST, LAST + 1))
    assert nuke._fake.messages == []

    wait_for(generate.finetune(group), timeout=600)
    assert nuke._fake.messages == [], nuke._fake.messages
    tuned = group["tuned_weights"].value()
    assert tuned == os.path.join(group["output_dir"].getEvaluatedValue(), "tuned", "RVMatte1.pth")
    assert os.path.isfile(tuned) and os.path.isfile(tuned + ".rvmatte.json")
    assert keyframes.record(group)["sha256"] == sha256(tuned)
    task = nuke._fake.progress_tasks[-1]
    assert task.progress[-1] == 100 and any(m.startswith("fine-tune step 2/2, loss ") for m in task.messages)
    assert group["status"].value().startswith("STALE: fine-tuned from keyframes 1002, 1005 (2 step(s)")

    wait_for(generate.generate(group), timeout=600)
    assert nuke._fake.messages == [], nuke._fake.messages
    after = alphas(group, range(FIRST, LAST + 1))
    for frame in range(FIRST, LAST + 1):
        spec, alpha = after[frame]
        assert spec.getattribute("rvmatte/weights_sha256") == sha256(tuned)
        assert spec.getattribute("rvmatte/base_weights_sha256") == sha256(str(real_worker))
        assert base[frame][0].getattribute("rvmatte/base_weights_sha256") is None
    changed = [float(np.abs(after[f][1] - base[f][1]).max()) for f in range(FIRST, LAST + 1)]
    print("max |tuned - base alpha| per frame:", ["%.4f" % c for c in changed])
    assert max(changed) > 1e-3, "2 fine-tune steps left every alpha as the base weights made it"

    second = plate_node(shared_dir, LAST + 1, LAST + 2)
    second["weights"].setValue(tuned)
    wait_for(generate.generate(second), timeout=600)
    (shown,) = nuke._fake.messages
    assert shown.startswith("RVMatte RVMatte2: the matte is done, with a warning:\n\nthe weights were fine-tuned "
                            "for the shot ")
    assert second["status"].value().endswith("(1 warning)")
