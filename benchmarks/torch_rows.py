"""Why lazy row updates cost what they do on PyTorch: the primitives, timed on one table.

Lazy optimizers update only the rows of an embedding table that the batch touched. On
PyTorch every ``keras.ops`` result is a new tensor and Keras has no in-place row scatter, so
the ``keras.ops`` route (kept in ``kexue.optimizers.lazy`` as the reference) goes through
``ops.scatter_update`` (which clones the table) and ``Variable.assign`` (a copy); the fast
route (``kexue.optimizers._torch_rows``) finds the present rows with ``amax``/``amin`` and
writes them in place with ``index_copy_`` under ``no_grad``. This script times those
primitives on a 50,000 x 128 float32 table with 1,000 present rows, next to the in-place
PyTorch calls Keras' own optimizers use (``torch._foreach_mul_``). Median of ``--repeats``
calls each, after 3 warm-up calls.

Usage:
    .venv/bin/python benchmarks/torch_rows.py [--repeats 20]
Writes benchmarks/results/torch_rows.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

os.environ["KERAS_BACKEND"] = "torch"

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from keras import ops  # noqa: E402

from _machine import cpu_model, write_results  # noqa: E402

ROWS, DIM, PRESENT = 50_000, 128, 1_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    gradient = np.zeros((ROWS, DIM), "float32")
    rows = rng.choice(ROWS // 10, PRESENT, replace=False)
    gradient[rows] = rng.normal(size=(PRESENT, DIM))
    grad = ops.convert_to_tensor(gradient)
    table = keras.Variable(rng.normal(size=(ROWS, DIM)).astype("float32"))
    other = keras.Variable(np.zeros((ROWS, DIM), "float32"))
    present = ops.reshape(ops.any(grad, axis=1), (ROWS, 1))
    index = ops.nonzero(ops.reshape(present, (-1,)))[0]
    new_rows = ops.take(table.value, index, axis=0)
    zero = ops.zeros((), dtype="float32")

    cases = [
        ("presence: ops.any(g, axis=1)", "keras.ops", lambda: ops.any(grad, axis=1)),
        (
            "presence: max(g) != 0 or min(g) != 0",
            "keras.ops (reference route)",
            lambda: ops.logical_or(
                ops.not_equal(ops.max(grad, axis=1), zero),
                ops.not_equal(ops.min(grad, axis=1), zero),
            ),
        ),
        (
            "presence: amax(g) != 0 | amin(g) != 0",
            "torch (fast route)",
            lambda: (grad.amax(1) != 0) | (grad.amin(1) != 0),
        ),
        (
            "presence: aminmax (one call, not used)",
            "torch",
            lambda: torch.aminmax(grad, dim=1),
        ),
        ("present row indices: ops.nonzero", "keras.ops", lambda: ops.nonzero(present)),
        ("gather present rows: ops.take", "keras.ops", lambda: ops.take(grad, index, axis=0)),
        ("copy of the table: ops.copy", "keras.ops", lambda: ops.copy(table.value)),
        ("Variable.assign (copy_)", "keras", lambda: table.assign(other.value)),
        (
            "row scatter: assign(ops.scatter_update(...))",
            "keras.ops (reference route)",
            lambda: table.assign(
                ops.scatter_update(table.value, ops.expand_dims(index, -1), new_rows)
            ),
        ),
        (
            "select: ops.where(present, a, b)",
            "keras.ops",
            lambda: ops.where(present, table.value, other.value),
        ),
        (
            "row scatter in place: index_put_",
            "torch",
            lambda: table.value.data.index_put_((index,), new_rows),
        ),
        (
            "row write in place: index_copy_",
            "torch (fast route)",
            lambda: table.value.data.index_copy_(0, index.long(), new_rows),
        ),
        (
            "in-place scale: torch._foreach_mul_",
            "torch (Keras' own optimizers)",
            lambda: torch._foreach_mul_([other.value.data], 0.9),
        ),
    ]
    lines = [
        "# PyTorch: cost of the row primitives behind lazy updates",
        "",
        f"Command: `.venv/bin/python benchmarks/torch_rows.py --repeats {args.repeats}`",
        "",
        f"Machine: {os.cpu_count()} cores, {cpu_model()}; Python {platform.python_version()}; "
        f"keras {keras.__version__}, torch {torch.__version__}; load average (1 min) "
        f"{os.getloadavg()[0]:.2f}.",
        f"Table: {ROWS:,} x {DIM} float32 ({ROWS * DIM * 4 / 1e6:.1f} MB), {PRESENT:,} present "
        f"rows; median of {args.repeats} calls after 3 warm-up calls.",
        "",
        "| operation | API | ms (median) | min |",
        "|---|---|---:|---:|",
    ]
    for name, api, function in cases:
        for _ in range(3):
            function()
        times = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
        lines.append(f"| {name} | {api} | {1e3 * np.median(times):.3f} | {1e3 * min(times):.3f} |")
        print(lines[-1], flush=True)
    print(write_results("torch_rows.md", lines))


if __name__ == "__main__":
    main()
