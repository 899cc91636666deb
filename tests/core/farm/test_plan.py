"""The chunk planner: contiguous chunks, preroll clamped at every segment start."""

import random

import pytest
from openjd.model._step_param_space_iter import divide_int_list_into_contiguous_chunks

from rvmatte.errors import InputError
from rvmatte.farm.plan import (
    Chunk,
    chunk_lengths,
    format_frame_list,
    group_runs,
    needs_explicit_preroll,
    parse_frame_list,
    plan_chunks,
    segments,
)


def test_chunks_cover_the_frames_contiguously_in_order():
    chunks = plan_chunks(range(1001, 1101), chunk_size=25, preroll=8, division="fixed")
    assert [(c.first, c.last) for c in chunks] == [(1001, 1025), (1026, 1050), (1051, 1075), (1076, 1100)]


def test_first_chunk_starts_cold_like_a_whole_shot_run():
    first = plan_chunks(range(1001, 1101), chunk_size=25, preroll=8)[0]
    assert first.preroll == 0 and first.warmup_first == 1001


def test_later_chunks_get_the_full_preroll():
    chunks = plan_chunks(range(1001, 1101), chunk_size=25, preroll=8, division="fixed")
    assert [c.preroll for c in chunks[1:]] == [8, 8, 8]
    assert chunks[1].warmup_first == 1018


def test_preroll_longer_than_the_frames_before_a_chunk_is_clamped_at_the_shot_start():
    chunks = plan_chunks(range(1, 31), chunk_size=10, preroll=16, division="fixed")
    assert [c.preroll for c in chunks] == [0, 10, 16]


def test_a_hole_in_the_frame_list_resets_the_state_like_a_shot_start():
    frames = list(range(1001, 1051)) + list(range(1060, 1101))
    chunks = plan_chunks(frames, chunk_size=30, preroll=16, division="fixed")
    after_hole = [c for c in chunks if c.first >= 1060]
    assert after_hole[0].first == 1060 and after_hole[0].preroll == 0
    assert after_hole[1].preroll == 16 and after_hole[1].warmup_first >= 1060


def test_no_chunk_spans_a_hole():
    frames = [1, 2, 3, 7, 8, 9, 10, 20]
    for chunk in plan_chunks(frames, chunk_size=100, preroll=4):
        assert set(range(chunk.first, chunk.last + 1)) <= set(frames)


def test_a_single_frame_shot_is_one_single_frame_chunk():
    assert plan_chunks([1001], chunk_size=100, preroll=16) == [Chunk(1001, 1001, 0, 1001)]
    assert plan_chunks([1001], chunk_size=100, preroll=16)[0].frames == "1001-1001"


def test_a_range_smaller_than_a_chunk_is_one_chunk():
    chunks = plan_chunks(range(1001, 1011), chunk_size=100, preroll=16)
    assert [(c.first, c.last, c.preroll) for c in chunks] == [(1001, 1010, 0)]


def test_preroll_zero_gives_cold_chunks():
    assert {c.preroll for c in plan_chunks(range(100), chunk_size=10, preroll=0)} == {0}


def test_even_division_matches_what_openjd_task_chunking_runs():
    rng = random.Random(5)
    for _ in range(300):
        frames = sorted(rng.sample(range(1, 400), rng.randint(1, 200)))
        size = rng.randint(1, 60)
        ours = [c.frames for c in plan_chunks(frames, size, preroll=3, division="even")]
        assert ours == divide_int_list_into_contiguous_chunks(size, frames)


def test_even_division_balances_lengths():
    assert chunk_lengths(101, 100, "even") == [51, 50]
    assert chunk_lengths(101, 100, "fixed") == [100, 1]


def test_negative_preroll_and_zero_chunk_size_are_user_errors():
    with pytest.raises(InputError, match="preroll"):
        plan_chunks(range(10), chunk_size=5, preroll=-1)
    with pytest.raises(InputError, match="chunk-size"):
        plan_chunks(range(10), chunk_size=0, preroll=1)


def test_frame_lists_parse_ranges_holes_singles_and_steps():
    assert parse_frame_list("1001-1003,1010") == [1001, 1002, 1003, 1010]
    assert parse_frame_list("1-9:4") == [1, 5, 9]
    assert parse_frame_list(" 5 , 3-4 ") == [3, 4, 5]


@pytest.mark.parametrize("text", ["", "a-b", "10-1", "1-5:0", "1--3"])
def test_unreadable_frame_lists_are_user_errors_naming_the_list(text):
    with pytest.raises(InputError, match="shot 3 frames"):
        parse_frame_list(text, "shot 3 frames")


def test_frame_list_text_round_trips():
    frames = [1, 2, 3, 5, 7, 8]
    assert format_frame_list(frames) == "1-3,5,7-8"
    assert parse_frame_list(format_frame_list(frames)) == frames
    assert segments(frames) == [(1, 3), (5, 5), (7, 8)]


def test_a_chunk_in_a_shot_starting_at_the_plate_start_needs_no_explicit_preroll():
    chunks = plan_chunks(range(1001, 1101), chunk_size=10, preroll=16, division="fixed")
    assert not any(needs_explicit_preroll(c, 16, input_first=1001) for c in chunks)


def test_a_shot_starting_after_the_plate_start_needs_an_explicit_cold_first_chunk():
    chunks = plan_chunks(range(1050, 1101), chunk_size=20, preroll=16, division="fixed")
    assert [needs_explicit_preroll(c, 16, input_first=1001) for c in chunks] == [True, False, False]


def test_runs_merge_native_chunks_and_isolate_the_others():
    frames = list(range(1001, 1051)) + list(range(1060, 1101))
    chunks = plan_chunks(frames, chunk_size=20, preroll=8, division="fixed")
    runs = group_runs(chunks, preroll=8, input_first=1001)
    assert [(r.frames, r.preroll) for r in runs] == [
        ("1001-1050", 8),
        ("1060-1079", 0),
        ("1080-1100", 8),
    ]


def test_with_a_reverse_stream_each_chunk_reads_to_its_reverse_block_end_and_never_past_its_segment():
    from rvmatte.ensemble import block_end

    chunks = plan_chunks(list(range(1001, 1101)) + list(range(1200, 1240)), chunk_size=30, preroll=8, reverse=True)
    for chunk in chunks:
        segment_last = 1100 if chunk.last <= 1100 else 1239
        assert chunk.last + chunk.postroll == block_end(chunk.last, segment_last)
    assert chunks[-1].postroll == 0 and all(c.postroll > 0 for c in chunks if c.last not in (1100, 1239))


def test_without_a_reverse_stream_chunks_read_no_postroll():
    assert all(c.postroll == 0 for c in plan_chunks(range(1001, 1101), chunk_size=30, preroll=8))
