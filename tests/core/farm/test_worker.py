"""Threads matched to the cores a worker offers, cgroup quotas included."""

import os

from rvmatte.farm.worker import openjd_env_lines, thread_settings, usable_cores


def test_a_cgroup_v2_quota_caps_the_usable_cores(tmp_path):
    (tmp_path / "cpu.max").write_text("150000 100000\n")
    assert usable_cores(str(tmp_path)) == min(2, len(os.sched_getaffinity(0)))


def test_an_unlimited_cgroup_gives_the_affinity_mask(tmp_path):
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert usable_cores(str(tmp_path)) == len(os.sched_getaffinity(0))


def test_a_cgroup_v1_quota_caps_the_usable_cores(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert usable_cores(str(tmp_path)) == 1


def test_an_explicit_thread_count_wins_and_becomes_openjd_env_lines():
    assert openjd_env_lines(thread_settings(3))[0] == "openjd_env: OMP_NUM_THREADS=3"
    assert thread_settings(0)["MKL_NUM_THREADS"] == str(usable_cores())
