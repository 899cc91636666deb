"""Where the session's state is cleared and what a warm-up runs."""
from rvmatte.schedule import Step, build_schedule, clip_preroll, shot_starts


def frames_of(steps):
    return [s.frame for s in steps]


def test_without_warmup_or_cuts_the_schedule_is_the_compute_list_with_one_reset():
    steps = build_schedule([1, 2, 3], [1, 2, 3], range(1, 4), [], 0)
    assert steps == [Step(1, write=True, reset=True), Step(2, write=True), Step(3, write=True)]


def test_warmup_runs_the_next_n_frames_backwards_before_the_first_frame():
    steps = build_schedule(range(1, 11), range(1, 11), range(1, 11), [], 4)
    assert frames_of(steps[:5]) == [5, 4, 3, 2, 1]
    assert [s.warmup for s in steps[:5]] == [True] * 4 + [False]
    assert steps[0].reset and not any(s.reset for s in steps[1:])
    assert not any(s.write for s in steps[:4])
    assert frames_of([s for s in steps if s.write]) == list(range(1, 11))


def test_warmup_is_shortened_by_the_end_of_the_shot():
    steps = build_schedule([1, 2, 3], [1, 2, 3], [1, 2, 3], [], 8)
    assert frames_of(steps) == [3, 2, 1, 2, 3]


def test_warmup_never_reaches_across_a_cut():
    steps = build_schedule(range(1, 9), range(1, 9), range(1, 9), [4], 3)
    # shot 1 is frames 1-3: its warm-up may only use 2 and 3; shot 2 starts at 4
    assert frames_of(steps) == [3, 2, 1, 2, 3, 7, 6, 5, 4, 5, 6, 7, 8]
    resets = [s.frame for s in steps if s.reset]
    assert resets == [3, 7]


def test_a_cut_resets_the_state_at_its_frame():
    steps = build_schedule(range(1, 6), range(1, 6), range(1, 6), [3], 0)
    assert [s.frame for s in steps if s.reset] == [1, 3]
    assert shot_starts(steps) == [1, 3]


def test_warmup_stops_at_a_hole():
    steps = build_schedule([1, 2], [1, 2], [1, 2, 3, 5, 6], [], 4)
    assert frames_of(steps) == [3, 2, 1, 2]


def test_preroll_frames_are_computed_but_not_written():
    steps = build_schedule([8, 9, 10, 11], [10, 11], range(1, 20), [], 0)
    assert [s.frame for s in steps if s.write] == [10, 11]


def test_preroll_is_clipped_at_a_cut_before_the_range():
    assert clip_preroll([6, 7, 8, 9, 10, 11], 10, [8]) == [8, 9, 10, 11]
    assert clip_preroll([6, 7, 8, 9, 10, 11], 10, [10]) == [10, 11]
    assert clip_preroll([6, 7, 8, 9, 10, 11], 10, [11]) == [6, 7, 8, 9, 10, 11]
