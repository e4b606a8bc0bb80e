"""Composition overhead of kexue.layers: a 6-block DGCNN stack, composed vs hand-fused.

Forward + backward throughput (sequences/s, one SGD training step per batch) of six
``DilatedGatedConv1D`` blocks (width 128, length 256, batch 64, dilations 1, 2, 4, 8, 16, 1)
built from Keras layers, against one hand-written layer doing the same math with raw
``keras.ops`` and its own weights. Each backend (JAX, TensorFlow, PyTorch) runs in its own
process; inside a process the two variants alternate, repeat after repeat, and the medians
are reported. Writes benchmarks/results/layers.md and layers.png.

Run:  .venv/bin/python benchmarks/layers.py            (full size, a few minutes)
      .venv/bin/python benchmarks/layers.py --quick    (tiny sizes, smoke test, writes nothing)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DILATIONS = (1, 2, 4, 8, 16, 1)
BACKENDS = ("jax", "tensorflow", "torch")


def build_models(width: int, steps: int, gate_dropout: float):
    import keras
    from keras import ops

    import kexue.layers as kl

    class FusedDGCNNStack(keras.layers.Layer):
        """The six blocks in one layer: raw weights and keras.ops, no sublayers."""

        def build(self, input_shape):
            self.kernels, self.biases = [], []
            for i, _ in enumerate(DILATIONS):
                self.kernels.append(self.add_weight((3, width, 2 * width), "glorot_uniform",
                                                    name=f"kernel_{i}"))
                self.biases.append(self.add_weight((2 * width,), "zeros", name=f"bias_{i}"))
            self.seed = keras.random.SeedGenerator(0)

        def call(self, x, mask, training=None):
            m = ops.cast(ops.expand_dims(mask, -1), x.dtype)
            for kernel, bias, rate in zip(self.kernels, self.biases, DILATIONS, strict=True):
                x = x * m
                hg = ops.conv(x, kernel, padding="same", dilation_rate=rate) + bias
                h, g = ops.split(hg, 2, axis=-1)
                if training and gate_dropout:
                    g = keras.random.dropout(g, gate_dropout, seed=self.seed)
                g = ops.sigmoid(g)
                x = (x * (1.0 - g) + h * g) * m
            return x

    x_in = keras.Input((steps, width))
    m_in = keras.Input((steps,), dtype="bool")
    h = x_in
    for rate in DILATIONS:
        h = kl.DilatedGatedConv1D(kernel_size=3, dilation_rate=rate, gate_dropout=gate_dropout,
                                  seed=rate)(h, mask=m_in)
    composed = keras.Model([x_in, m_in], h, name="composed")
    fused = keras.Model([x_in, m_in], FusedDGCNNStack()(x_in, m_in), name="fused")
    for model in (composed, fused):
        model.compile(optimizer=keras.optimizers.SGD(1e-3), loss="mse")
    return composed, fused


def xla_cost(models: dict, x, mask) -> dict:
    """XLA's own cost analysis (flops, bytes accessed) of each jitted forward+backward step.

    Deterministic: unaffected by the machine's load. Equal numbers mean that composing
    layers compiled to the same work as the hand-fused layer.
    """
    import jax
    from keras import ops

    costs = {}
    for name, model in models.items():
        def loss(trainable, non_trainable, model=model):
            out, _ = model.stateless_call(trainable, non_trainable, [x, mask], training=True)
            return ops.mean(ops.square(out))

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        compiled = jax.jit(jax.grad(loss)).lower(trainable, non_trainable).compile()
        analysis = compiled.cost_analysis()
        if isinstance(analysis, list):
            analysis = analysis[0]
        costs[name] = {"flops": float(analysis.get("flops", float("nan"))),
                       "bytes": float(analysis.get("bytes accessed", float("nan")))}
    return costs


def worker(args: argparse.Namespace) -> None:
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.batch, args.steps, args.width)).astype("float32")
    lengths = rng.integers(args.steps // 2, args.steps + 1, size=args.batch)
    mask = np.arange(args.steps)[None, :] < lengths[:, None]
    y = np.zeros_like(x)
    composed, fused = build_models(args.width, args.steps, args.gate_dropout)
    models = {"composed": composed, "fused": fused}
    # Same math check: with identical weights, inference outputs agree.
    blocks = [layer for layer in composed.layers if hasattr(layer, "conv")]
    stack = fused.layers[-1]
    for block, kernel, bias in zip(blocks, stack.kernels, stack.biases, strict=True):
        kernel.assign(keras.ops.convert_to_numpy(block.conv.kernel.value))
        bias.assign(keras.ops.convert_to_numpy(block.conv.bias.value))
    diff = float(np.max(np.abs(keras.ops.convert_to_numpy(composed([x, mask]))
                               - keras.ops.convert_to_numpy(fused([x, mask])))))
    for model in models.values():
        for _ in range(args.warmup):
            model.train_on_batch([x, mask], y)
    times = {name: [] for name in models}
    cpu = {name: [] for name in models}
    for repeat in range(args.repeats):
        order = list(models) if repeat % 2 == 0 else list(models)[::-1]
        for name in order:
            start, start_cpu = time.perf_counter(), time.process_time()
            for _ in range(args.iterations):
                loss = models[name].train_on_batch([x, mask], y)
            float(loss)
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    sequences = args.batch * args.iterations
    result = {
        "backend": keras.backend.backend(),
        "jit_compile": bool(composed.jit_compile),
        "max_abs_output_difference": diff,
        "seconds": times,
        "cpu_seconds": cpu,
        "sequences_per_s": {n: sequences / statistics.median(t) for n, t in times.items()},
        # Adjacent runs share the machine's momentary load: their ratio is the robust figure.
        "paired_ratio": statistics.median(
            c / f for c, f in zip(times["composed"], times["fused"], strict=True)),
        # CPU time of the process (all threads) is less sensitive to other processes' load.
        "cpu_ratio": statistics.median(cpu["composed"]) / statistics.median(cpu["fused"]),
        "xla_cost": xla_cost(models, x, mask) if keras.backend.backend() == "jax" else None,
    }
    print(json.dumps(result))


def machine() -> dict:
    model = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in ("keras", "jax", "tensorflow", "torch", "numpy"):
        try:
            from importlib.metadata import version

            versions[package] = version(package if package != "tensorflow" else "tensorflow-cpu")
        except Exception:  # noqa: BLE001 - a missing package is reported as such
            versions[package] = "not installed"
    return {"cores": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "load_average_at_start": os.getloadavg(), "versions": versions}


def write_report(args: argparse.Namespace, info: dict, results: list[dict], wall: float) -> None:
    lines = [
        "# kexue.layers benchmark: 6-block DGCNN stack, composed vs hand-fused",
        "",
        f"Command: `.venv/bin/python benchmarks/layers.py{' --quick' if args.quick else ''}` "
        f"({wall:.0f} s wall).",
        "",
        f"Workload: forward + backward + SGD update of 6 `DilatedGatedConv1D` blocks "
        f"(dilations {', '.join(map(str, DILATIONS))}, kernel 3, gate dropout "
        f"{args.gate_dropout}), width {args.width}, length {args.steps}, batch {args.batch}, "
        f"random lengths in [{args.steps // 2}, {args.steps}]. `composed` = kexue layers "
        "(Conv1D + Dropout sublayers, masks applied per block); `fused` = one layer, raw "
        "weights and `keras.ops`, same math. Medians of "
        f"{args.repeats} repeats x {args.iterations} steps, the two variants alternating "
        f"(after {args.warmup} warm-up steps each), one process per backend.",
        "",
        f"Machine: {info['cores']} cores, {info['cpu']}, Python {info['python']}, load "
        f"average at start {', '.join(f'{v:.1f}' for v in info['load_average_at_start'])} "
        "(shared machine: absolute numbers are noisy, the ratio is the measurement).",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()) + ".",
        "",
        "| backend | jit | composed seq/s | fused seq/s | wall ratio (medians) |"
        " wall ratio (paired) | CPU-time ratio | overhead (CPU time) | max output diff |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        c, f = r["sequences_per_s"]["composed"], r["sequences_per_s"]["fused"]
        paired, cpu = r["paired_ratio"], r["cpu_ratio"]
        lines.append(
            f"| {r['backend']} | {'yes' if r['jit_compile'] else 'no'} | {c:.1f} | {f:.1f} | "
            f"{f / c:.3f} | {paired:.3f} | {cpu:.3f} | {100 * (cpu - 1):+.1f}% | "
            f"{r['max_abs_output_difference']:.1e} |")
    for r in results:
        if r.get("xla_cost"):
            c, f = r["xla_cost"]["composed"], r["xla_cost"]["fused"]
            lines += ["", "XLA cost analysis of the jitted forward+backward step (JAX, "
                      "deterministic): composed "
                      f"{c['flops'] / 1e9:.3f} GFLOP, {c['bytes'] / 1e9:.3f} GB accessed; fused "
                      f"{f['flops'] / 1e9:.3f} GFLOP, {f['bytes'] / 1e9:.3f} GB accessed "
                      f"(ratios {c['flops'] / f['flops']:.4f}, {c['bytes'] / f['bytes']:.4f})."]
    lines += ["", "Per-repeat seconds:", ""]
    for r in results:
        for name, secs in r["seconds"].items():
            lines.append(f"- {r['backend']} {name}: wall " + ", ".join(f"{s:.2f}" for s in secs)
                         + "; CPU " + ", ".join(f"{s:.2f}" for s in r["cpu_seconds"][name]))
    lines += ["", "Ratios are composed time / fused time (> 1: composition costs). Wall ratio "
              "(paired) = median over repeats of the ratio of the two adjacent runs. Overhead = "
              "CPU-time ratio - 1 (process CPU time, all threads, medians). Target: composition "
              "overhead < 5% on JAX with jit.", ""]
    print("\n".join(lines))
    if args.quick:
        return
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "layers.md").write_text("\n".join(lines), encoding="utf-8")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    names = [r["backend"] for r in results]
    xs = range(len(names))
    ax.bar([i - 0.2 for i in xs], [r["sequences_per_s"]["composed"] for r in results], 0.4,
           label="composed (kexue layers)")
    ax.bar([i + 0.2 for i in xs], [r["sequences_per_s"]["fused"] for r in results], 0.4,
           label="hand-fused")
    ax.set_xticks(list(xs), names)
    ax.set_ylabel("sequences / s (fwd + bwd)")
    ax.set_title("6-block DGCNN, width 128, length 256, batch 64")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "layers.png", dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=256)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--gate-dropout", type=float, default=0.1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    if args.quick:
        args.batch, args.steps, args.width, args.repeats = 4, 32, 16, 3
    if args.worker:
        worker(args)
        return
    info = machine()
    start = time.perf_counter()
    results = []
    for backend in args.backends.split(","):
        command = [sys.executable, __file__, "--worker"] + [
            f"--{k.replace('_', '-')}={v}" for k, v in vars(args).items()
            if k not in ("quick", "worker", "backends")]
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        print(f"running {backend} ...", flush=True)
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"{backend} worker failed")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    write_report(args, info, results, time.perf_counter() - start)


if __name__ == "__main__":
    main()
