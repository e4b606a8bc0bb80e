"""Module-level functions for tests/test_parallel.py: importable by spawned worker processes."""

from __future__ import annotations

import os
import random
import signal
import time
import uuid
from pathlib import Path


def square(x: int) -> int:
    return x * x


def fail_on_negative(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative item {x}")
    return x


class UnpicklableError(Exception):
    """An exception whose constructor cannot be replayed by pickle (two required args)."""

    def __init__(self, a: int, b: int) -> None:
        super().__init__(f"{a}-{b}")


def fail_unpicklable(x: int) -> int:
    if x == 3:
        raise UnpicklableError(x, x)
    return x


def exit_on_three(x: int) -> int:
    if x == 3:
        raise SystemExit(3)
    return x


def kill_self_on(x: int) -> int:
    if x == 5:
        os.kill(os.getpid(), signal.SIGKILL)
    return x


def pid_of(x: int) -> int:
    return os.getpid()


def pid_after_sleep(x: float) -> int:
    time.sleep(x)
    return os.getpid()


def touch_then_sleep(item: tuple) -> int:
    """Create ``<folder>/<pid>.<unique>.started`` (an event a test can wait for), then sleep."""
    folder, seconds = item
    (Path(folder) / f"{os.getpid()}.{uuid.uuid4().hex}.started").touch()
    time.sleep(seconds)
    return os.getpid()


def sleep_then_identity(x: float) -> float:
    time.sleep(x)
    return x


def random_draws(x: int) -> tuple:
    """(worker pid, first draws of `random` and NumPy) for the seeding tests."""
    import numpy

    time.sleep(0.05)  # let every worker take a task
    return os.getpid(), random.random(), float(numpy.random.random())


_loaded: list = []


def load_marker(value: str) -> None:
    _loaded.append(value)


def read_marker(x: int) -> tuple:
    return x, tuple(_loaded)


def failing_initializer() -> None:
    raise RuntimeError("dictionary not found")


def return_unpicklable(x: int):
    return lambda: x
