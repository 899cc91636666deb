"""Speed defaults per device, and the process settings the command line applies first."""
import os
import subprocess
import sys

from rvmatte.tuning import available_cores, defaults_for


def test_cpu_network_leaves_one_core_to_the_writers(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    tuning = defaults_for("cpu", cores=2)
    assert (tuning.threads, tuning.writers, tuning.seq_chunk) == (1, 2, 1)


def test_a_single_core_still_gets_one_network_thread(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert defaults_for("cpu", cores=1).threads == 1


def test_cpu_folds_batchnorm_and_keeps_the_default_memory_layout():
    tuning = defaults_for("cpu", cores=8)
    assert tuning.fold_batchnorm and not tuning.channels_last and not tuning.pin_memory


def test_cuda_batches_frames_and_pins_host_memory():
    tuning = defaults_for("cuda", cores=8)
    assert tuning.seq_chunk == 4 and tuning.pin_memory and tuning.writers >= 2


def test_cuda_half_precision_runs_channels_last():
    assert defaults_for("cuda", "float16", cores=8).channels_last
    assert not defaults_for("cuda", "float32", cores=8).channels_last


def test_available_cores_is_within_the_machine():
    assert 1 <= available_cores() <= (os.cpu_count() or 1)


def _variable_seen_by_the_cli(name, env_value):
    env = {k: v for k, v in os.environ.items() if k != name}
    if env_value is not None:
        env[name] = env_value
    code = ("import os, rvmatte.cli as c, sys; sys.argv = ['rvmatte', '--version']\n"
            f"try:\n    c.main()\nexcept SystemExit:\n    pass\nprint(os.environ.get({name!r}))")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.split()[-1]


def test_the_command_line_stops_openmp_from_spinning():
    assert _variable_seen_by_the_cli("OMP_WAIT_POLICY", None) == "PASSIVE"


def test_a_wait_policy_the_user_exported_is_kept():
    assert _variable_seen_by_the_cli("OMP_WAIT_POLICY", "ACTIVE") == "ACTIVE"


def test_the_command_line_gives_torch_huge_pages_for_frame_sized_tensors():
    assert _variable_seen_by_the_cli("THP_MEM_ALLOC_ENABLE", None) == "1"


def test_huge_pages_the_user_turned_off_stay_off():
    assert _variable_seen_by_the_cli("THP_MEM_ALLOC_ENABLE", "0") == "0"


def test_a_thread_count_given_by_the_farm_is_kept(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert defaults_for("cpu", cores=8).threads == 3


def test_a_helper_thread_lowers_only_its_own_priority():
    import threading

    from rvmatte.tuning import HELPER_NICENESS, lower_thread_priority

    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    seen = {}

    def helper():
        lower_thread_priority()
        seen["helper"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    thread = threading.Thread(target=helper)
    thread.start()
    thread.join()
    assert seen["helper"] == min(19, before + HELPER_NICENESS)
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before
