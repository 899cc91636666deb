"""Timecode: start timecodes advanced per frame, drop-frame, SMPTE packing."""

import pytest

from rvmatte.io.timecode import Timecode


def test_non_drop_timecode_advances_one_frame_at_a_time():
    start = Timecode("01:00:10:22", 24)
    assert [start.text(i) for i in range(3)] == ["01:00:10:22", "01:00:10:23", "01:00:11:00"]


def test_timecode_wraps_after_24_hours():
    assert Timecode("23:59:59:24", 25).text(1) == "00:00:00:00"


def test_drop_frame_skips_two_numbers_each_minute():
    assert Timecode("00:00:59;29", 29.97).text(1) == "00:01:00;02"


def test_drop_frame_keeps_every_tenth_minute():
    assert Timecode("00:09:59;29", 29.97).text(1) == "00:10:00;00"


def test_drop_frame_start_round_trips():
    assert Timecode("01:23:45;12", 29.97).text() == "01:23:45;12"


def test_smpte_value_is_bcd_packed():
    assert Timecode("01:00:10:14", 24).smpte() == (0x01001014, 0)


def test_drop_frame_flag_is_set_in_the_smpte_value():
    assert Timecode("00:01:00;02", 29.97).smpte()[0] == 0x00010002 | 1 << 6


@pytest.mark.parametrize("text", ["1:00", "01:00:00:24", "aa:bb:cc:dd"])
def test_a_malformed_timecode_is_refused(text):
    with pytest.raises(ValueError):
        Timecode(text, 24)
