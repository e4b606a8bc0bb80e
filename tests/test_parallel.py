"""Tests for kexue.parallel: results equal builtin map, start methods, errors, crashes,
shutdown, back-pressure, seeding, threads, Ctrl-C."""

from __future__ import annotations

import collections
import itertools
import os
import random
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _parallel_helpers import (
    UnpicklableError,
    exit_on_three,
    fail_on_negative,
    fail_unpicklable,
    failing_initializer,
    kill_self_on,
    load_marker,
    pid_after_sleep,
    random_draws,
    read_marker,
    return_unpicklable,
    sleep_then_identity,
    square,
    touch_then_sleep,
)
from kexue.parallel import WorkerCrashed, WorkerError, parallel_map

# forkserver is Linux's default from Python 3.14 and avoids forking a (possibly
# multi-threaded) pytest process; children start cheaply once the server runs.
FAST = "forkserver" if "forkserver" in __import__("multiprocessing").get_all_start_methods() \
    else "spawn"


def _alive(pids) -> list[int]:
    """Pids still running (zombies count as gone: the OS has freed them but for the entry)."""
    alive = []
    for pid in set(pids):
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


def _wait_for(condition, timeout: float = 30.0) -> None:
    """Poll ``condition`` until it holds (an event to wait for, not a duration to assert)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the awaited event did not happen"
        time.sleep(0.02)


def _started_pids(folder) -> list[int]:
    return [int(p.name.split(".")[0]) for p in folder.glob("*.started")]


def _wait_gone(pids, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (alive := _alive(pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


# ----------------------------------------------------------------------- exact results


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    items=st.lists(st.integers(-10**6, 10**6), max_size=40),
    workers=st.integers(0, 3),
    ordered=st.booleans(),
    chunksize=st.integers(1, 7),
    mode=st.sampled_from(["process", "thread"]),
    max_in_flight=st.one_of(st.none(), st.integers(1, 5)),
)
def test_same_results_as_builtin_map(items, workers, ordered, chunksize, mode, max_in_flight):
    expected = list(map(square, items))
    got = list(parallel_map(
        square, iter(items), workers=workers, ordered=ordered, chunksize=chunksize, mode=mode,
        max_in_flight=max_in_flight, start_method=FAST,
    ))
    if ordered or workers == 0:
        assert got == expected
    else:
        assert collections.Counter(got) == collections.Counter(expected)


def test_unordered_yields_in_completion_order():
    # item 0 sleeps long: unordered gives it last, ordered first; both give all items.
    delays = [0.6, 0.0, 0.0, 0.0]
    unordered = list(parallel_map(sleep_then_identity, delays, workers=2, ordered=False,
                                  mode="thread"))
    assert unordered[-1] == 0.6 and sorted(unordered) == sorted(delays)
    ordered = list(parallel_map(sleep_then_identity, delays, workers=2, mode="thread"))
    assert ordered == delays


@pytest.mark.parametrize("mode", ["process", "thread"])
@pytest.mark.parametrize("workers", [0, 3])
def test_empty_input_and_more_workers_than_items(mode, workers):
    assert list(parallel_map(square, [], workers=workers, mode=mode, start_method=FAST)) == []
    assert list(parallel_map(square, [7], workers=workers, mode=mode, start_method=FAST)) == [49]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork"])
def test_start_methods(method):
    if method not in __import__("multiprocessing").get_all_start_methods():
        pytest.skip(f"{method} not available on this platform")
    items = list(range(20))
    got = list(parallel_map(square, items, workers=2, chunksize=3, start_method=method))
    assert got == [x * x for x in items]


def test_process_workers_are_separate_processes():
    pids = set(parallel_map(pid_after_sleep, [0.1] * 6, workers=2, start_method=FAST))
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


# ------------------------------------------------------------------- validation up front


def test_lambda_and_closure_rejected_before_any_work():
    pulled = []

    def source():
        for i in range(3):
            pulled.append(i)
            yield i

    def local_function(x):
        return x

    for func in (lambda x: x, local_function):
        with pytest.raises(ValueError, match=r"`func` must be picklable.*module top level") as info:
            parallel_map(func, source(), workers=2, start_method="spawn")
        assert "mode='thread'" in str(info.value)
    assert pulled == []
    # the same functions are fine with threads and serially
    assert list(parallel_map(lambda x: x + 1, [1, 2], workers=2, mode="thread")) == [2, 3]
    assert list(parallel_map(local_function, [1, 2], workers=0)) == [1, 2]


def test_unpicklable_initializer_rejected_under_spawn():
    with pytest.raises(ValueError, match="`initializer` must be picklable"):
        parallel_map(square, [1], workers=1, start_method="spawn", initializer=lambda: None)


@pytest.mark.parametrize(
    ("kwargs", "error", "pattern"),
    [
        ({"workers": -1}, ValueError, r"`workers` must be an integer >= 0; received -1 \(int\)"),
        ({"workers": 1.5}, TypeError, r"`workers` must be an integer >= 0; received 1.5"),
        ({"workers": None, "chunksize": 0}, ValueError,
         r"`chunksize` must be a positive integer; received 0"),
        ({"max_in_flight": 0}, ValueError, r"`max_in_flight` must be a positive integer"),
        ({"mode": "gpu"}, ValueError, r"`mode` must be one of 'process', 'thread'; "
                                      r"received 'gpu'"),
        ({"start_method": "teleport"}, ValueError,
         r"`start_method` must be one of .*; received 'teleport'"),
        ({"seed": -3}, ValueError, r"`seed` must be an integer >= 0; received -3"),
        ({"seed": True}, TypeError, r"`seed` must be an integer >= 0 or None; received True"),
        ({"ordered": "yes"}, TypeError, r"`ordered` must be True or False; received 'yes'"),
        ({"initargs": [1]}, TypeError, r"`initargs` must be a tuple; received \[1\] \(list\)"),
        ({"progress": 5}, TypeError, r"`progress` must be callable or None; received 5"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        parallel_map(square, [1, 2], **kwargs)


def test_not_callable_and_not_iterable():
    with pytest.raises(TypeError, match="`func` must be callable; received 3"):
        parallel_map(3, [1])
    with pytest.raises(TypeError, match=r"`iterable` must be iterable; received 3 \(int\)"):
        parallel_map(square, 3)


# ------------------------------------------------------------------------ worker errors


@pytest.mark.timeout(60)
@pytest.mark.parametrize("workers", [0, 2])
@pytest.mark.parametrize("mode", ["process", "thread"])
@pytest.mark.parametrize("ordered", [True, False])
def test_worker_exception_reports_index_and_traceback(workers, mode, ordered):
    items = [1, 2, 3, 4, -5, 6, 7, 8, 9]
    got = []
    with pytest.raises(WorkerError) as info:
        for value in parallel_map(fail_on_negative, items, workers=workers, mode=mode,
                                  ordered=ordered, chunksize=2, start_method=FAST):
            got.append(value)
    error = info.value
    assert error.index == 4
    assert "fail_on_negative" in error.traceback and "_parallel_helpers.py" in error.traceback
    assert "ValueError: negative item -5" in error.traceback
    assert "input position 4" in str(error) and error.traceback.strip() in str(error)
    assert isinstance(error.__cause__, ValueError)
    assert str(error.__cause__) == "negative item -5"
    if ordered or workers == 0:
        assert got == [1, 2, 3, 4]  # like builtin map: everything before the failing item
    else:
        assert set(got) <= {1, 2, 3, 4, 6, 7, 8, 9}


@pytest.mark.timeout(60)
def test_unpicklable_exception_still_reported():
    with pytest.raises(WorkerError) as info:
        list(parallel_map(fail_unpicklable, range(6), workers=2, start_method=FAST))
    assert info.value.index == 3
    assert "UnpicklableError: 3-3" in info.value.traceback
    assert info.value.__cause__ is None


@pytest.mark.timeout(60)
def test_system_exit_in_a_worker_process_is_an_item_failure():
    with pytest.raises(WorkerError) as info:
        list(parallel_map(exit_on_three, range(6), workers=2, start_method=FAST))
    assert info.value.index == 3 and isinstance(info.value.__cause__, SystemExit)


@pytest.mark.timeout(60)
def test_thread_mode_keeps_the_original_exception_object():
    with pytest.raises(WorkerError) as info:
        list(parallel_map(fail_unpicklable, range(6), workers=2, mode="thread"))
    assert isinstance(info.value.__cause__, UnpicklableError)


@pytest.mark.timeout(60)
def test_unpicklable_result_is_a_worker_error_not_a_hang():
    with pytest.raises(WorkerError, match="results back failed") as info:
        list(parallel_map(return_unpicklable, range(4), workers=2, start_method=FAST))
    assert info.value.index == 0


def test_worker_error_pickles():
    import pickle

    error = WorkerError(7, "Traceback...\nKeyError: 'x'\n")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.index, copy.traceback, str(copy)) == (7, error.traceback, str(error))


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("mode", "workers"), [("process", 2), ("thread", 2), ("process", 0)])
def test_initializer_runs_in_every_worker_and_its_failure_is_reported(mode, workers):
    got = list(parallel_map(read_marker, range(4), workers=workers, mode=mode,
                            start_method=FAST, initializer=load_marker, initargs=("dict.txt",)))
    assert [x for x, _ in got] == [0, 1, 2, 3]
    if mode == "process" and workers > 0:  # one initializer call per worker process
        assert all(loaded == ("dict.txt",) for _, loaded in got)
    else:  # threads share the module: one call per thread
        assert all("dict.txt" in loaded for _, loaded in got)
    with pytest.raises(WorkerError, match="initializer failed") as info:
        list(parallel_map(square, range(4), workers=workers, mode=mode, start_method=FAST,
                          initializer=failing_initializer))
    assert "RuntimeError: dictionary not found" in info.value.traceback
    assert info.value.index in range(4)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("ordered", [True, False])
def test_worker_killed_by_the_os_raises_worker_crashed(ordered):
    got = []
    with pytest.raises(WorkerCrashed, match="SIGKILL"):
        for value in parallel_map(kill_self_on, range(12), workers=2, ordered=ordered,
                                  start_method=FAST):
            got.append(value)
    assert 5 not in got


@pytest.mark.timeout(60)
def test_exception_from_the_input_iterable_reaches_the_caller_after_earlier_results():
    def source():
        yield from range(5)
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for value in parallel_map(square, source(), workers=2, chunksize=2, start_method=FAST):
            got.append(value)
    assert got == [0, 1, 4, 9, 16]


# -------------------------------------------------------------- shutdown and back-pressure


@pytest.mark.timeout(60)
def test_break_shuts_the_pool_down_without_leaking_processes():
    seen = []
    for pid in parallel_map(pid_after_sleep, itertools.repeat(0.05), workers=2,
                            start_method=FAST):
        seen.append(pid)
        if len(seen) == 6:
            break
    assert _wait_gone(seen) == []
    leftover = [
        child for child in psutil.Process().children(recursive=True)
        if child.status() != psutil.STATUS_ZOMBIE
        and not any(s in " ".join(child.cmdline()) for s in ("forkserver", "resource_tracker"))
    ]
    assert leftover == []


@pytest.mark.timeout(60)
def test_close_terminates_long_running_workers(tmp_path):
    # Each worker touches a file as it enters its 30-second sleep; close() must kill them
    # there rather than wait for the sleeps to end.
    items = [(str(tmp_path), 0.0)] + [(str(tmp_path), 30.0)] * 3
    results = parallel_map(touch_then_sleep, items, workers=2, start_method=FAST)
    first = next(results)
    _wait_for(lambda: len(list(tmp_path.glob("*.started"))) >= 3)  # both workers sleep now
    sleeping = _started_pids(tmp_path)
    results.close()
    assert _wait_gone([first, *sleeping], timeout=20.0) == []


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("mode", "chunksize", "max_in_flight"),
                         [("process", 1, 3), ("process", 4, 2), ("thread", 3, 5)])
def test_back_pressure_on_an_endless_generator(mode, chunksize, max_in_flight):
    pulled = 0

    def endless():
        nonlocal pulled
        for i in itertools.count():
            pulled += 1
            yield i

    ahead = []
    for yielded, value in enumerate(parallel_map(
        square, endless(), workers=2, mode=mode, chunksize=chunksize,
        max_in_flight=max_in_flight, start_method=FAST,
    ), start=1):
        assert value == (yielded - 1) ** 2
        ahead.append(pulled - yielded)
        if yielded == 60:
            break
    bound = max_in_flight * chunksize
    assert max(ahead) <= bound
    assert max(ahead) >= bound - chunksize  # it does read ahead, up to the bound


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", ["process", "thread"])
def test_waiting_does_not_burn_cpu(mode):
    results = parallel_map(sleep_then_identity, [0.0, 1.5], workers=1, mode=mode,
                           start_method=FAST)
    assert next(results) == 0.0
    cpu_before = time.process_time()
    assert next(results) == 1.5
    # Blocked on the future for the worker's 1.5 s sleep: a polling loop would spend about
    # that much CPU time in the caller; a blocking wait spends next to none.
    assert time.process_time() - cpu_before < 0.3
    results.close()


def test_progress_reports_running_totals():
    calls = []
    got = list(parallel_map(square, range(10), workers=2, chunksize=3, progress=calls.append,
                            start_method=FAST))
    assert got == [x * x for x in range(10)]
    assert calls == sorted(calls) and calls[-1] == 10
    assert all(b - a in (1, 3) for a, b in zip([0, *calls[:-1]], calls, strict=True))
    serial = []
    list(parallel_map(square, range(4), workers=0, progress=serial.append))
    assert serial == [1, 2, 3, 4]


# ------------------------------------------------------------------------------- seeding


def _expected_first_draws(seed: int, n_workers: int) -> set[tuple[float, float]]:
    """Documented derivation: worker i <- numpy.random.SeedSequence(seed).spawn(n)[i]."""
    expected = set()
    for child in np.random.SeedSequence(seed).spawn(n_workers):
        state = child.generate_state(4)
        python = random.Random(int.from_bytes(state.tobytes(), "little")).random()
        expected.add((python, float(np.random.RandomState(state).random_sample())))
    return expected


@pytest.mark.timeout(120)
def test_per_worker_seeding_is_reproducible_and_distinct():
    def first_draws(seed):
        firsts = {}
        for pid, python, numpy_draw in parallel_map(random_draws, range(8), workers=2,
                                                    seed=seed, start_method=FAST):
            firsts.setdefault(pid, (python, numpy_draw))  # ordered: a worker's first item
        return set(firsts.values())

    run = first_draws(2019)
    assert run <= _expected_first_draws(2019, 2)
    assert len(run) >= 1
    # one worker: the whole sequence of draws is reproducible, and differs for another seed
    one = [d[1:] for d in parallel_map(random_draws, range(3), workers=1, seed=7,
                                       start_method=FAST)]
    again = [d[1:] for d in parallel_map(random_draws, range(3), workers=1, seed=7,
                                         start_method=FAST)]
    other = [d[1:] for d in parallel_map(random_draws, range(3), workers=1, seed=8,
                                         start_method=FAST)]
    assert one == again and one != other
    assert one[0] in _expected_first_draws(7, 1)
    assert len(set(one)) == 3  # the generator advances within a worker


def test_fork_without_seed_gives_workers_different_numpy_states():
    if "fork" not in __import__("multiprocessing").get_all_start_methods():
        pytest.skip("fork not available")
    draws = list(parallel_map(random_draws, range(6), workers=2, start_method="fork"))
    firsts = {}
    for pid, _, numpy_draw in draws:
        firsts.setdefault(pid, numpy_draw)
    # the parent imported NumPy, so without reseeding both forks would draw the same number
    assert len(firsts) == 2 and len(set(firsts.values())) == 2


def test_serial_and_thread_modes_seed_the_caller_as_worker_zero():
    expected = _expected_first_draws(11, 1)
    for workers, mode in ((0, "process"), (1, "thread")):
        (_, python, numpy_draw), = parallel_map(random_draws, [0], workers=workers, mode=mode,
                                                seed=11)
        assert (python, numpy_draw) in expected


# ---------------------------------------------------------------------------- threads


def test_thread_mode_runs_in_threads_of_this_process():
    import threading

    names = list(parallel_map(lambda _: threading.current_thread().name, range(6), workers=3,
                              mode="thread"))
    assert all(name.startswith("kexue-parallel") for name in names)
    assert set(parallel_map(lambda _: os.getpid(), range(4), workers=2, mode="thread")) == {
        os.getpid()
    }


# ---------------------------------------------------------------------------- Ctrl-C


@pytest.mark.timeout(60)
@pytest.mark.parametrize("mode", ["process", "thread"])
def test_keyboard_interrupt_from_progress_terminates_the_pool(mode, tmp_path):
    def progress(n_done):
        if n_done >= 3:
            raise KeyboardInterrupt

    # Three short items, then four long ones; two workers. Processes are killed inside their
    # long sleeps; threads cannot be killed and finish their current item, but the queued
    # long items must never start.
    long = 20.0 if mode == "process" else 1.0
    items = [(str(tmp_path), 0.05)] * 3 + [(str(tmp_path), long)] * 4
    seen = []
    with pytest.raises(KeyboardInterrupt):
        for pid in parallel_map(touch_then_sleep, items, workers=2, mode=mode,
                                start_method=FAST, progress=progress):
            seen.append(pid)
    started = len(list(tmp_path.glob("*.started")))
    assert started < len(items)
    if mode == "process":
        assert _wait_gone(seen + _started_pids(tmp_path)) == []


@pytest.mark.timeout(60)
def test_keyboard_interrupt_in_the_consuming_loop_terminates_the_pool():
    seen = []
    with pytest.raises(KeyboardInterrupt):
        for pid in parallel_map(pid_after_sleep, itertools.repeat(0.05), workers=2,
                                start_method=FAST):
            seen.append(pid)
            if len(seen) == 4:
                raise KeyboardInterrupt
    assert _wait_gone(seen) == []


@pytest.mark.timeout(60)
def test_sigint_to_a_script_stops_it_cleanly(tmp_path):
    # A real Ctrl-C: SIGINT to the whole process group of a script using the pool.
    script = tmp_path / "ctrl_c.py"
    script.write_text(
        "import itertools, os, signal, sys, time\n"
        # A shell starts programs with Python's default Ctrl-C handling; a test runner may
        # hand its children SIGINT ignored, which Python would then keep.
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from _parallel_helpers import pid_after_sleep\n"
        "from kexue.parallel import parallel_map\n"
        "if __name__ == '__main__':\n"
        "    try:\n"
        "        for pid in parallel_map(pid_after_sleep, itertools.repeat(0.05), workers=2,\n"
        "                                start_method='spawn'):\n"
        "            print(pid, flush=True)\n"
        "    except KeyboardInterrupt:\n"
        "        print('interrupted', flush=True)\n"
        "        sys.exit(130)\n"
    )
    process = subprocess.Popen(
        [sys.executable, str(script), os.path.dirname(__file__)],
        stdout=subprocess.PIPE, text=True, start_new_session=True,
    )
    pids = set()
    while len(pids) < 2:  # both workers are up and producing
        line = process.stdout.readline()
        assert line, "the script ended before producing results"
        pids.add(int(line))
    os.killpg(process.pid, __import__("signal").SIGINT)
    try:
        out, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:  # never leave the script running past the test
            os.killpg(process.pid, __import__("signal").SIGKILL)
    assert process.returncode == 130 and out.strip().endswith("interrupted")
    assert "Traceback" not in out
    assert _wait_gone(pids) == []


def test_import_is_light():
    code = (
        "import sys, kexue.parallel\n"
        "heavy = {'numpy', 'keras', 'jax', 'tensorflow', 'torch'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
