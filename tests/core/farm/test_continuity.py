"""Chunk continuity on real footage: what the preroll buys (bench/chunk_continuity.py measures it in full)."""

import numpy as np
import pytest

from rvmatte.farm.plan import plan_chunks
from rvmatte.io import open_input
from rvmatte.session import Session


@pytest.fixture(scope="module")
def frames(shared_dir):
    source = open_input(str(shared_dir / "data/real_video/rvmnuke_person_short_360x640/frames/####.png"))
    return [plate.rgb for plate in source.read(source.frames)]


@pytest.fixture(scope="module")
def session(model):
    return Session(model, downsample_ratio=0.25)


@pytest.fixture(scope="module")
def whole(session, frames):
    session.reset()
    return [session.step(rgb)[0] for rgb in frames]


def chunked_alpha(session, frames, chunk_size, preroll):
    alphas = {}
    for chunk in plan_chunks(range(len(frames)), chunk_size, preroll, division="fixed"):
        session.reset()
        out = [session.step(rgb)[0] for rgb in frames[chunk.warmup_first : chunk.last + 1]]
        alphas.update(zip(range(chunk.first, chunk.last + 1), out[chunk.preroll :]))
    return alphas


def boundary_error(alphas, whole, frame):
    return float(np.abs(alphas[frame] - whole[frame]).mean())


def test_a_preroll_reaching_the_shot_start_reproduces_the_whole_run(session, frames, whole):
    alphas = chunked_alpha(session, frames, chunk_size=6, preroll=6)
    for frame in range(len(frames)):
        # 1e-4: the parity tolerance; CPU kernels differ run to run by ~1e-5 (shared/models/README)
        np.testing.assert_allclose(alphas[frame], whole[frame], atol=1e-4)


def test_a_cold_chunk_differs_from_the_whole_run_at_its_boundary(session, frames, whole):
    alphas = chunked_alpha(session, frames, chunk_size=6, preroll=0)
    assert boundary_error(alphas, whole, 6) > 1e-3


def test_a_preroll_shrinks_the_boundary_error(session, frames, whole):
    cold = boundary_error(chunked_alpha(session, frames, 6, 0), whole, 6)
    warm = boundary_error(chunked_alpha(session, frames, 6, 3), whole, 6)
    assert warm < cold / 2
