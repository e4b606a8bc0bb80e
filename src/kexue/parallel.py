"""A process (or thread) pool ``map`` with back-pressure, ordering and honest error handling.

This replaces the ``parallel_apply`` helper of Su Jianlin's "什么时候多进程的加速比可以大于1?"
(kexue.fm/archives/7031, 2019), later ``bert4keras.snippets.parallel_apply``, without its
defects: the worker function there is a closure (so it fails under the ``spawn`` and
``forkserver`` start methods), an exception in a worker loses the item and hangs the caller,
a full input queue is busy-waited on and the output queue is unbounded.

Here the pool is a :mod:`concurrent.futures` executor; the caller's generator submits at most
``max_in_flight`` tasks of ``chunksize`` items ahead of what it has yielded and blocks on the
futures (``wait(FIRST_COMPLETED)``), never on a polling loop.

Example:
    >>> from kexue.parallel import parallel_map
    >>> list(parallel_map(abs, [-3, 1, -2], workers=2, mode="thread"))
    [3, 1, 2]
    >>> sorted(parallel_map(abs, range(-3, 3), workers=0, ordered=False))
    [0, 1, 1, 2, 2, 3]

Arguments are checked by :mod:`kexue._validation`; NumPy is otherwise used only inside the
workers, to seed its global random generator.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import pickle
import random
import signal
import sys
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kexue._validation import (
    check_bool,
    check_callable,
    check_choice,
    check_int,
    check_positive_int,
    describe,
)

__all__ = ["WorkerCrashed", "WorkerError", "parallel_map"]

_MODES = ("process", "thread")


class WorkerError(RuntimeError):
    """``func`` raised an exception on one item.

    Attributes:
        index: input position (0-based) of the item that failed.
        traceback: the formatted traceback, as text, from where ``func`` raised it.

    ``__cause__`` is the original exception when it could be sent back from the worker
    (picklable); its type and message are always part of ``traceback``.

    Example:
        >>> from kexue.parallel import WorkerError, parallel_map
        >>> try:
        ...     list(parallel_map(int, ["1", "x"], workers=0))
        ... except WorkerError as error:
        ...     print(error.index, type(error.__cause__).__name__)
        1 ValueError
    """

    def __init__(self, index: int, traceback: str, message: str | None = None) -> None:
        self.index = index
        self.traceback = traceback
        if message is None:
            last_line = traceback.strip().splitlines()[-1] if traceback.strip() else "error"
            message = f"func failed on the item at input position {index}: {last_line}"
        self.message = message
        super().__init__(f"{message}\n\nWorker traceback:\n{traceback.rstrip()}")

    def __reduce__(self):
        return type(self), (self.index, self.traceback, self.message)


class WorkerCrashed(RuntimeError):
    """A worker process died without reporting a result (killed by the OS, out of memory,
    a segfault in an extension, ``os._exit``...): the pool cannot go on.

    Example:
        >>> from kexue.parallel import WorkerCrashed
        >>> issubclass(WorkerCrashed, RuntimeError)
        True
    """


# --------------------------------------------------------------------------- worker side

_worker_state = threading.local()


def _seed_generators(seed: int | None, worker_index: int) -> None:
    """Seed ``random`` and NumPy's global generator for worker ``worker_index``.

    The worker's seed sequence is ``numpy.random.SeedSequence(seed).spawn(n)[worker_index]``
    (equal to ``SeedSequence(seed, spawn_key=(worker_index,))``); its
    ``generate_state(4)`` (four uint32 words) seeds NumPy directly and, read as one
    little-endian integer, seeds ``random``. With ``seed=None`` only NumPy, if a fork already
    imported it, is reseeded from fresh OS entropy, so forked workers do not share the state
    they inherited (``random`` reseeds itself after a fork).
    """
    if seed is None:
        numpy = sys.modules.get("numpy")
        if numpy is not None:
            numpy.random.seed(numpy.random.SeedSequence().generate_state(4))
        return
    try:
        import numpy
    except ImportError:  # NumPy is optional here: derive the seed for `random` alone.
        import hashlib

        digest = hashlib.sha256(f"kexue.parallel:{seed}:{worker_index}".encode()).digest()
        random.seed(int.from_bytes(digest[:16], "little"))
        return
    state = numpy.random.SeedSequence(seed, spawn_key=(worker_index,)).generate_state(4)
    random.seed(int.from_bytes(state.tobytes(), "little"))
    numpy.random.seed(state)


def _run_user_initializer(initializer: Callable[..., Any] | None, initargs: tuple) -> None:
    # A failing initializer would otherwise break the whole pool with an uninformative
    # BrokenProcessPool; keep its traceback and report it with the first task instead.
    _worker_state.init_error = None
    if initializer is None:
        return
    try:
        initializer(*initargs)
    except Exception as exc:
        _worker_state.init_error = (traceback.format_exc(), _sendable(exc))


def _process_worker_init(counter, seed: int | None, initializer, initargs: tuple) -> None:
    # Ctrl-C reaches the whole process group; the parent alone handles it (and terminates
    # the workers), so a worker never reports a KeyboardInterrupt as a task result.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with counter.get_lock():
        worker_index = counter.value
        counter.value += 1
    _seed_generators(seed, worker_index)
    _run_user_initializer(initializer, initargs)


def _sendable(exc: BaseException) -> BaseException | None:
    """``exc`` if it survives a pickle round trip (to cross a process boundary), else None."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return None
    return exc


def _run_chunk(func: Callable[[Any], Any], items: list, in_process: bool) -> tuple:
    """Apply ``func`` to each item: ``("ok", results)`` or, at the first failure,
    ``("error", results_before_failure, offset_in_chunk, traceback_text, exception|None)``."""
    init_error = getattr(_worker_state, "init_error", None)
    if init_error is not None:
        text, exc = init_error
        return "init_error", [], 0, text, exc
    results = []
    for offset, item in enumerate(items):
        try:
            results.append(func(item))
        except BaseException as exc:
            # In a worker process SystemExit and the like are item failures too; a thread
            # leaves anything that is not an Exception to the executor.
            if not (in_process or isinstance(exc, Exception)):
                raise
            text = traceback.format_exc()
            return "error", results, offset, text, (_sendable(exc) if in_process else exc)
    return "ok", results


# --------------------------------------------------------------------------- caller side


@dataclass(eq=False)
class _Task:
    start: int
    size: int
    future: concurrent.futures.Future
    arrived: bool = field(default=False)


def _check_picklable(name: str, obj: Any, start_method: str) -> None:
    hint = (
        "define it at module top level (lambdas, closures and functions defined inside "
        "other functions cannot be sent to worker processes), or use mode='thread'"
    )
    try:
        pickle.dumps(obj)
    except Exception as exc:
        raise ValueError(
            f"`{name}` must be picklable to run in worker processes (mode='process', "
            f"start_method={start_method!r}); received {obj!r}, which cannot be pickled "
            f"({type(exc).__name__}: {exc}); {hint}"
        ) from None
    main = sys.modules.get("__main__")
    if (
        start_method != "fork"
        and getattr(obj, "__module__", None) == "__main__"
        and not getattr(main, "__file__", None)
    ):
        raise ValueError(
            f"{name} {obj!r} is defined in an interactive __main__ (no file), which worker "
            f"processes started with start_method={start_method!r} cannot import; move it to "
            f"an importable module, use start_method='fork' (POSIX) or mode='thread'"
        )


def _broken_message(known_processes: dict, task: _Task, last_in_flight: int) -> str:
    details = []
    for pid, process in sorted(known_processes.items()):
        code = process.exitcode
        if code is None:
            # The pool noticed the death through the process sentinel; on a loaded machine
            # the dead process may not have been reaped yet, so give it a moment.
            process.join(timeout=1.0)
            code = process.exitcode
        if code is None or code == 0:
            continue
        if code < 0:
            try:
                details.append(f"pid {pid} killed by {signal.Signals(-code).name}")
            except ValueError:
                details.append(f"pid {pid} killed by signal {-code}")
        else:
            details.append(f"pid {pid} exited with code {code}")
    # After the first death the pool itself SIGTERMs the other workers: name the cause.
    causes = [d for d in details if not d.endswith("SIGTERM")] or details
    how = "; ".join(causes) if causes else "a worker process terminated abruptly"
    last = max(last_in_flight, task.start + task.size - 1)
    return (
        f"a worker process died ({how}) while the pool worked on items up to input position "
        f"{last}; item {task.start} and possibly later ones have no results. Causes: killed by "
        f"the OS (out of memory?), a crash in native code, or os._exit() in func"
    )


def _shut_down(executor: concurrent.futures.Executor, known_processes: dict,
               terminate: bool, wait: bool) -> None:
    """Stop ``executor``; with ``terminate`` (early exit, error, Ctrl-C) worker processes are
    killed instead of finishing their current tasks. Threads cannot be killed: queued tasks
    are cancelled and, with ``wait``, running ones are waited for."""
    if not terminate:
        executor.shutdown(wait=True)
        return
    if isinstance(executor, concurrent.futures.ProcessPoolExecutor):
        terminate_workers = getattr(executor, "terminate_workers", None)  # Python >= 3.14
        if terminate_workers is not None:
            terminate_workers()
        else:
            known_processes.update(getattr(executor, "_processes", None) or {})
            for process in list(known_processes.values()):
                if process.exitcode is None:
                    process.terminate()
        executor.shutdown(wait=True, cancel_futures=True)
        for process in list(known_processes.values()):
            process.join(timeout=5)
            if process.exitcode is None:
                process.kill()
                process.join(timeout=5)
    else:
        executor.shutdown(wait=wait, cancel_futures=True)


def _serial_map(func, iterable, seed, initializer, initargs, progress) -> Iterator:
    if seed is not None:
        _seed_generators(seed, 0)
    init_failure = None
    if initializer is not None:
        try:
            initializer(*initargs)
        except Exception as exc:
            init_failure = (traceback.format_exc(), exc)
    for index, item in enumerate(iterable):
        if init_failure is not None:
            raise _initializer_error(index, init_failure[0]) from init_failure[1]
        try:
            result = func(item)
        except Exception as exc:
            raise WorkerError(index, traceback.format_exc()) from exc
        if progress is not None:
            progress(index + 1)
        yield result


def _pool_map(make_executor, func, source, *, in_process, ordered, chunksize, max_in_flight,
              progress) -> Iterator:
    # Built here, at the first next(), so an iterator that is never started holds no pool.
    executor = make_executor()
    known_processes: dict = {}  # pid -> Process, to name the one that died
    in_flight: deque[_Task] = deque()  # submitted, not yet fully yielded; submission order
    arrived: deque[_Task] = deque()  # completed, not yet yielded; completion order
    next_start = 0
    items_done = 0
    input_error: Exception | None = None
    exhausted = False
    finished = False
    wait_for_running = True

    def refill() -> None:
        nonlocal next_start, exhausted, input_error
        while not exhausted and len(in_flight) < max_in_flight:
            chunk = []
            try:
                for item in source:
                    chunk.append(item)
                    if len(chunk) == chunksize:
                        break
                else:
                    exhausted = True
            except Exception as exc:  # raised after the results of the items before it
                input_error, exhausted = exc, True
            if not chunk:
                return
            try:
                future = executor.submit(_run_chunk, func, chunk, in_process)
            except concurrent.futures.BrokenExecutor as exc:  # a worker died meanwhile
                future = concurrent.futures.Future()
                future.set_exception(exc)
            in_flight.append(_Task(next_start, len(chunk), future))
            next_start += len(chunk)
            if in_process:
                known_processes.update(getattr(executor, "_processes", None) or {})

    try:
        refill()
        while in_flight:
            newly_arrived = [t for t in in_flight if not t.arrived and t.future.done()]
            if not newly_arrived and not (in_flight[0].arrived if ordered else arrived):
                concurrent.futures.wait(
                    [t.future for t in in_flight if not t.arrived],
                    return_when=concurrent.futures.FIRST_COMPLETED,
                )
                continue
            for task in newly_arrived:
                task.arrived = True
                arrived.append(task)
                if progress is not None and not task.future.exception() and (
                    task.future.result()[0] == "ok"
                ):
                    items_done += task.size
                    progress(items_done)
            if ordered:
                if not in_flight[0].arrived:
                    continue
                task = in_flight.popleft()
                arrived.remove(task)
            else:
                task = arrived.popleft()
                in_flight.remove(task)
            last_in_flight = max((t.start + t.size for t in in_flight), default=0) - 1
            yield from _task_results(task, known_processes, last_in_flight)
            refill()
        finished = True
    except KeyboardInterrupt:
        wait_for_running = False
        raise
    finally:
        _shut_down(executor, known_processes, terminate=not finished, wait=wait_for_running)
    if input_error is not None:
        raise input_error


def _task_results(task: _Task, known_processes: dict, last_in_flight: int) -> Iterator:
    exc = task.future.exception()
    if exc is not None:
        if isinstance(exc, concurrent.futures.BrokenExecutor):
            message = _broken_message(known_processes, task, last_in_flight)
            raise WorkerCrashed(message) from exc
        # Raised outside func: the chunk or a result could not be pickled, for example.
        text = "".join(traceback.format_exception(exc))
        last = task.start + task.size - 1
        raise WorkerError(
            task.start, text,
            f"sending items {task.start}..{last} to a worker or their results back failed: "
            f"{type(exc).__name__}: {exc}",
        ) from exc
    outcome = task.future.result()
    if outcome[0] == "ok":
        yield from outcome[1]
        return
    kind, partial, offset, text, original = outcome
    yield from partial
    index = task.start + offset
    if kind == "init_error":
        raise _initializer_error(index, text) from original
    raise WorkerError(index, text) from original


def _initializer_error(index: int, text: str) -> WorkerError:
    return WorkerError(
        index, text,
        f"the worker initializer failed, so the item at input position {index} could not be "
        f"processed: {text.strip().splitlines()[-1]}",
    )


def parallel_map(
    func: Callable[[Any], Any],
    iterable: Iterable[Any],
    *,
    workers: int | None = None,
    mode: str = "process",
    ordered: bool = True,
    chunksize: int = 1,
    max_in_flight: int | None = None,
    start_method: str | None = None,
    seed: int | None = None,
    initializer: Callable[..., Any] | None = None,
    initargs: tuple = (),
    progress: Callable[[int], Any] | None = None,
) -> Iterator[Any]:
    """Yield ``func(item)`` for each item of ``iterable``, computed by a pool of workers.

    Arguments are validated at once (a lambda or closure in process mode is a ``ValueError``
    here, not a pickling traceback later); the work starts at the first ``next()``.

    Args:
        func: a function of one argument. In process mode it must be picklable: a module-level
            function (or a ``functools.partial`` of one, a builtin, a method of a picklable
            object), importable by the workers.
        iterable: the items; consumed lazily, so an endless generator works as long as the
            caller stops (``break``) at some point.
        workers: number of workers; ``None`` means ``os.cpu_count()``; ``0`` runs everything
            serially in the calling process with the same semantics (errors, progress,
            seeding), which is handy for debugging and profiling.
        mode: ``"process"`` (a ``ProcessPoolExecutor``; for CPU-bound Python code) or
            ``"thread"`` (a ``ThreadPoolExecutor``; for I/O or code that releases the GIL).
        ordered: ``True`` yields results in input order; ``False`` in completion order.
        chunksize: items sent to a worker per task; results are still yielded one per item.
            A process task costs about 0.2 ms of pool overhead (20,000 trivial items at
            chunksize 1 took 3.8 s on 2 cores, as ``ProcessPoolExecutor.map`` does), so give
            cheap functions chunks that take a few milliseconds or more.
        max_in_flight: most tasks submitted but not yet yielded (default ``2 * workers``), so
            at most ``max_in_flight * chunksize`` items are pulled from ``iterable`` ahead of
            the caller; this bounds memory whatever the input size. Below ``workers`` it
            also leaves workers idle.
        start_method: ``"fork"``, ``"spawn"``, ``"forkserver"`` or ``None`` (the platform
            default); process mode only.
        seed: process worker ``i`` seeds ``random`` and NumPy's global generator from
            ``numpy.random.SeedSequence(seed).spawn(n)[i]`` (see ``_seed_generators``); the
            set of worker seeds is reproducible for a given seed and worker count (which
            worker gets which item is up to the scheduler unless ``workers=1``). Threads share
            the process's generators, so in thread and serial mode the calling process is
            seeded once, as worker 0. ``None``: fresh entropy in every worker.
        initializer: called as ``initializer(*initargs)`` once in every worker (in the caller
            for ``workers=0``), e.g. to load a dictionary. If it raises, the items fail with
            a ``WorkerError`` carrying its traceback.
        initargs: arguments for ``initializer``.
        progress: called in the caller's process as ``progress(n_items_done)`` with the
            running total of items whose results have arrived.

    Returns:
        An iterator (a generator) over the results. Leaving it early (``break``, an
        exception, Ctrl-C) terminates the worker processes; if you keep a reference to an
        unfinished iterator, call its ``close()`` (or use ``contextlib.closing``) to stop
        the pool at once. An exception raised by ``iterable`` itself reaches the caller
        after the results of the items before it.

    Raises:
        TypeError: an argument of the wrong type (named in the message).
        ValueError: an argument with a wrong value (named in the message).
        WorkerError: ``func`` raised on an item; ``.index`` is the item's input position,
            ``.traceback`` the worker's traceback text, ``__cause__`` the original exception
            when picklable. Results before it (in input order if ``ordered``) were yielded.
        WorkerCrashed: a worker process died (killed by the OS, segfault, ``os._exit``).

    Example:
        >>> import math
        >>> from kexue.parallel import parallel_map
        >>> list(parallel_map(math.sqrt, [1, 4, 9, 16], workers=2, chunksize=2))
        [1.0, 2.0, 3.0, 4.0]
        >>> done = []
        >>> sorted(parallel_map(len, ["a", "bb", "ccc"], workers=2, ordered=False,
        ...                     mode="thread", progress=done.append))
        [1, 2, 3]
        >>> done[-1]
        3
    """
    check_callable(func, "func")
    mode = check_choice(mode, "mode", _MODES)
    ordered = check_bool(ordered, "ordered")
    if workers is None:
        workers = os.cpu_count() or 1
    workers = check_int(workers, "workers", minimum=0)
    chunksize = check_positive_int(chunksize, "chunksize")
    if max_in_flight is None:
        max_in_flight = 2 * max(workers, 1)
    max_in_flight = check_positive_int(max_in_flight, "max_in_flight")
    seed = check_int(seed, "seed", minimum=0, allow_none=True)
    check_callable(initializer, "initializer", allow_none=True)
    if not isinstance(initargs, tuple):
        raise TypeError(f"`initargs` must be a tuple; received {describe(initargs)}")
    check_callable(progress, "progress", allow_none=True)
    if start_method is not None:
        check_choice(start_method, "start_method", multiprocessing.get_all_start_methods())
    try:
        source = iter(iterable)
    except TypeError:
        raise TypeError(f"`iterable` must be iterable; received {describe(iterable)}") from None

    if workers == 0:
        return _serial_map(func, source, seed, initializer, initargs, progress)

    if mode == "thread":

        def make_executor() -> concurrent.futures.Executor:
            if seed is not None:
                _seed_generators(seed, 0)
            return concurrent.futures.ThreadPoolExecutor(
                max_workers=workers,
                thread_name_prefix="kexue-parallel",
                initializer=_run_user_initializer,
                initargs=(initializer, initargs),
            )

    else:
        if sys.platform == "win32":
            workers = min(workers, 61)  # ProcessPoolExecutor's limit on Windows
        context = multiprocessing.get_context(start_method)
        method = context.get_start_method()
        _check_picklable("func", func, method)
        if method != "fork" and initializer is not None:
            _check_picklable("initializer", initializer, method)
            _check_picklable("initargs", initargs, method)

        def make_executor() -> concurrent.futures.Executor:
            return concurrent.futures.ProcessPoolExecutor(
                max_workers=workers,
                mp_context=context,
                initializer=_process_worker_init,
                initargs=(context.Value("i", 0), seed, initializer, initargs),
            )

    return _pool_map(
        make_executor, func, source, in_process=mode == "process", ordered=ordered,
        chunksize=chunksize, max_in_flight=max_in_flight, progress=progress,
    )
