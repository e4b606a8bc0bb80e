"""Benchmark of ``kexue.stats`` HSIC: speed and memory, large-n accuracy, statistical power.

Run by hand: ``.venv/bin/python benchmarks/hsic.py`` (about 10 minutes; ``--quick`` for a
smoke run). Prints and writes ``benchmarks/results/hsic.md`` and ``hsic_power.png``.

Competitors, all measured in this run:
- hyppo 0.5.2 ``Hsic`` (statistic; ``test`` with its default chi-square approximation);
- dcor ``distance_correlation`` (O(n log n) in 1-D) and ``distance_correlation_t_test``;
- kexue exact ``hsic_biased`` and ``hsic_test(method="gamma")``, and the large-n
  ``rff_hsic`` / ``nystrom_hsic`` / ``block_hsic``.

Every timing case runs in its own subprocess, so its peak memory (peak RSS minus the RSS
before the timed calls) is its own; times are medians of 3 calls (1 when a call exceeds
``SLOW_CALL_S``). Subprocesses use one BLAS thread (``OPENBLAS_NUM_THREADS=1``) for every
library alike: on a shared machine OpenBLAS threads spin and stall.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from _machine import cpu_model

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
SLOW_CALL_S = 30.0
CASE_TIMEOUT_S = 300


def make_data(n: int, seed: int = 0, dims: int = 1,
              noise: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dims))
    signal = np.sin(2 * x.sum(axis=1, keepdims=True) / np.sqrt(dims))
    return x, signal + noise * rng.standard_normal((n, 1))


def _case_function(name: str, size: int | None):
    if name.startswith("kexue"):
        import scipy.stats  # noqa: F401  (imported lazily by the tests; not their memory)

        from kexue.stats import block_hsic, hsic_biased, hsic_test, nystrom_hsic, rff_hsic

        return {"kexue_statistic": lambda x, y: hsic_biased(x, y),
                "kexue_gamma": lambda x, y: hsic_test(x, y).pvalue,
                "kexue_rff": lambda x, y: rff_hsic(x, y, size).pvalue,
                "kexue_nystrom": lambda x, y: nystrom_hsic(x, y, size).pvalue,
                "kexue_block": lambda x, y: block_hsic(x, y, size).pvalue}[name]
    if name.startswith("hyppo"):
        from hyppo.independence import Hsic

        Hsic().test(*make_data(50))  # numba compilation outside the timing
        return {"hyppo_statistic": lambda x, y: Hsic().statistic(x, y),
                "hyppo_test": lambda x, y: Hsic().test(x, y).pvalue}[name]
    import dcor

    dcor.distance_correlation(*[a[:, 0] for a in make_data(50)])
    return {"dcor_statistic": lambda x, y: dcor.distance_correlation(x[:, 0], y[:, 0]),
            "dcor_test": lambda x, y: dcor.independence.distance_correlation_t_test(
                x[:, 0], y[:, 0]).pvalue}[name]


def _peak_rss() -> int:
    """VmHWM of this process (ru_maxrss would carry the parent's peak across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def worker(spec: str) -> None:
    """Run one timing case (in a subprocess) and print JSON."""
    import psutil

    case = json.loads(spec)
    function = _case_function(case["name"], case.get("size"))
    x, y = make_data(case["n"])
    baseline = psutil.Process().memory_info().rss
    times = []
    for _ in range(3):
        start = time.perf_counter()
        value = function(x, y)
        times.append(time.perf_counter() - start)
        if times[-1] > SLOW_CALL_S:
            break
    peak = _peak_rss()
    print(json.dumps({"time": statistics.median(times), "runs": len(times),
                      "peak_mb": max(0.0, (peak - baseline) / 2**20), "value": float(value)}))


def run_case(name: str, n: int, size: int | None = None) -> dict:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    spec = json.dumps({"name": name, "n": n, "size": size})
    try:
        done = subprocess.run([sys.executable, __file__, "--worker", spec], env=env,
                              capture_output=True, text=True, timeout=CASE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"skipped": f"over the {CASE_TIMEOUT_S} s cap"}
    if done.returncode != 0:
        return {"skipped": f"failed (exit {done.returncode}): "
                           f"{done.stderr.strip().splitlines()[-1:] or ''}"}
    return json.loads(done.stdout.strip().splitlines()[-1])



def versions() -> str:
    import dcor
    import hyppo
    import scipy

    import kexue

    return (f"Python {platform.python_version()}, NumPy {np.__version__}, SciPy "
            f"{scipy.__version__}, hyppo {hyppo.__version__}, dcor {dcor.__version__}, "
            f"kexue {kexue.__version__}")


def fmt_time(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def timing_section(sizes: list[int], lines: list[str]) -> None:
    import psutil

    lines += ["## Exact statistic and test: time and peak memory",
              "",
              "Data: x ~ N(0, 1), y = sin(2x) + N(0, 1). Peak memory = peak RSS of the case's "
              "subprocess minus its RSS before the timed calls.",
              "",
              "| n | method | time (median) | runs | peak memory | value | vs hyppo |",
              "|---|---|---|---|---|---|---|"]
    names = [("kexue_statistic", "kexue `hsic_biased`"),
             ("hyppo_statistic", "hyppo `Hsic().statistic`"),
             ("dcor_statistic", "dcor `distance_correlation` (1-D fast)"),
             ("kexue_gamma", "kexue `hsic_test` gamma (statistic + p)"),
             ("hyppo_test", "hyppo `Hsic().test` (chi2 approx)"),
             ("dcor_test", "dcor `distance_correlation_t_test`")]
    partner = {"kexue_statistic": "hyppo_statistic", "kexue_gamma": "hyppo_test"}
    for n in sizes:
        results = {}
        for name, _ in names:
            if name.startswith("hyppo") and n > 8000 and \
                    psutil.virtual_memory().available < 14 * 2**30:
                results[name] = {"skipped": "less than 14 GB RAM free (hyppo holds several "
                                            "n x n float64 matrices)"}
            else:
                results[name] = run_case(name, n)
            print(n, name, results[name], flush=True)
        for name, label in names:
            result = results[name]
            if "skipped" in result:
                lines.append(f"| {n:,} | {label} | skipped: {result['skipped']} | | | | |")
                continue
            other = results.get(partner.get(name, ""), {})
            ratio = f"**{other['time'] / result['time']:.1f}x faster**" if "time" in other else ""
            lines.append(f"| {n:,} | {label} | {fmt_time(result['time'])} | {result['runs']} | "
                         f"{result['peak_mb']:.0f} MB | {result['value']:.4g} | {ratio} |")
    lines.append("")


def large_n_section(n: int, lines: list[str]) -> None:
    lines += [f"## Large n: n = {n:,} (time, peak memory, p-value)", "",
              "| method | time (median of 3) | peak memory | p-value |", "|---|---|---|---|"]
    for name, size, label in [("kexue_rff", 100, "RFF, D = 100 features"),
                              ("kexue_rff", 50, "RFF, D = 50 features"),
                              ("kexue_nystrom", 100, "Nystrom, m = 100 landmarks"),
                              ("kexue_nystrom", 30, "Nystrom, m = 30 landmarks"),
                              ("kexue_block", 100, "block HSIC, B = 100")]:
        result = run_case(name, n, size)
        print(n, name, size, result, flush=True)
        if "skipped" in result:
            lines.append(f"| {label} | skipped: {result['skipped']} | | |")
            continue
        lines.append(f"| {label} | {fmt_time(result['time'])} | {result['peak_mb']:.0f} MB | "
                     f"{result['value']:.3g} |")
    lines.append("")


def error_section(n: int, seeds: int, lines: list[str]) -> None:
    from kexue.stats import (
        block_hsic,
        hsic_biased,
        hsic_unbiased,
        nystrom_hsic,
        rff_hsic,
    )

    lines += [f"## Large-n error against exact HSIC (n = {n:,}, {seeds} seeds)", "",
              "Relative error |approx - exact| / exact of the statistic; RFF and Nystrom "
              "against exact HSIC_b, block HSIC against exact HSIC_u (both estimate HSIC). "
              "Data: x ~ N(0, I_d), y = sin(2 sum(x) / sqrt(d)) + 0.5 N(0, 1).", "",
              "| d | method | size | mean rel. error | max rel. error |", "|---|---|---|---|---|"]
    for dims in (1, 5):
        errors_for = {}
        x, y = make_data(n, seed=1, dims=dims, noise=0.5)
        exact_b = hsic_biased(x, y)
        exact_u = hsic_unbiased(x, y)
        plan = [("RFF", rff_hsic, [50, 100, 200, 500, 1000], exact_b),
                ("Nystrom", nystrom_hsic, [5, 10, 20, 50, 100, 200], exact_b),
                ("block", block_hsic, [50, 100, 200, 400], exact_u)]
        for label, function, sizes, exact in plan:
            for size in sizes:
                errors = [abs(function(x, y, size, rng=seed).statistic - exact) / exact
                          for seed in range(seeds)]
                errors_for[(label, size)] = errors
                lines.append(f"| {dims} | {label} | {size} | {np.mean(errors):.2%} | "
                             f"{np.max(errors):.2%} |")
                print(dims, label, size, np.mean(errors), flush=True)
    lines.append("")


def power_section(sizes: list[int], reps: int, lines: list[str]) -> dict:
    import dcor
    from hyppo.independence import Hsic

    from kexue.stats import hsic_test

    relations = {
        "linear": lambda x, e: x + 3.0 * e,
        "quadratic": lambda x, e: x**2 + 2.0 * e,
        "sinusoidal": lambda x, e: np.sin(4 * x) + 1.0 * e,
        "independent": lambda x, e: e,
    }
    tests = {
        "kexue gamma": lambda x, y: hsic_test(x, y).pvalue,
        "hyppo Hsic": lambda x, y: Hsic().test(x[:, None], y[:, None]).pvalue,
        "dcor t-test": lambda x, y: dcor.independence.distance_correlation_t_test(x, y).pvalue,
    }
    power: dict = {}
    lines += [f"## Power at alpha = 0.05 ({reps} draws per cell)", "",
              "linear: y = x + 3e; quadratic: y = x^2 + 2e; sinusoidal: y = sin(4x) + e; "
              "independent: y = e (the rejection rate is the size). x, e ~ N(0, 1).", "",
              "| relation | test | " + " | ".join(f"n = {n}" for n in sizes) + " |",
              "|---|---|" + "---|" * len(sizes)]
    rng = np.random.default_rng(2019)
    for relation, make_y in relations.items():
        for label in tests:
            power[(relation, label)] = []
        for n in sizes:
            hits = dict.fromkeys(tests, 0)
            for _ in range(reps):
                x, e = rng.standard_normal((2, n))
                y = make_y(x, e)
                for label, test in tests.items():
                    hits[label] += test(x, y) <= 0.05
            for label in tests:
                power[(relation, label)].append(hits[label] / reps)
            print(relation, n, {k: v / reps for k, v in hits.items()}, flush=True)
        for label in tests:
            lines.append(f"| {relation} | {label} | "
                         + " | ".join(f"{p:.2f}" for p in power[(relation, label)]) + " |")
    lines.append("")
    return power


def plot_power(power: dict, sizes: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    relations = list(dict.fromkeys(relation for relation, _ in power))
    fig, axes = plt.subplots(1, len(relations), figsize=(4 * len(relations), 3.4), sharey=True)
    for axis, relation in zip(axes, relations, strict=True):
        for (rel, label), values in power.items():
            if rel == relation:
                axis.plot(sizes, values, marker="o", label=label)
        axis.axhline(0.05, color="grey", lw=0.8, ls="--")
        axis.set_xscale("log")
        axis.minorticks_off()
        axis.set_xticks(sizes, [str(n) for n in sizes])
        axis.set_title(relation)
        axis.set_xlabel("n")
    axes[0].set_ylabel("rejection rate at alpha = 0.05")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker)
        return
    quick = args.quick
    started = time.perf_counter()
    command = ".venv/bin/python benchmarks/hsic.py" + (" --quick" if quick else "")
    lines = ["# kexue HSIC benchmark", "",
             f"- command: `{command}`",
             f"- machine: {os.cpu_count()} cores, {cpu_model()}; shared with other jobs while "
             "measured (load varies): compare ratios within a table, not absolute times",
             f"- versions: {versions()}",
             "- timing cases run in separate subprocesses with one BLAS thread each", ""]
    timing_section([500, 1000] if quick else [1000, 4000, 16000], lines)
    large_n_section(20_000 if quick else 1_000_000, lines)
    error_section(1000 if quick else 4000, 2 if quick else 5, lines)
    sizes = [25, 50] if quick else [25, 50, 100, 200, 400]
    power = power_section(sizes, 10 if quick else 100, lines)
    RESULTS.mkdir(exist_ok=True)
    plot_power(power, sizes, RESULTS / "hsic_power.png")
    lines += ["![power vs n](hsic_power.png)", "",
              f"Total benchmark time: {time.perf_counter() - started:.0f} s.", ""]
    text = "\n".join(lines)
    print(text)
    (RESULTS / "hsic.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
