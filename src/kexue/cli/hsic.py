"""``kexue hsic``: HSIC statistic and independence test between columns of a data file."""

from __future__ import annotations

import contextlib
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer


class Test(str, Enum):
    gamma = "gamma"
    permutation = "permutation"
    rff = "rff"
    nystrom = "nystrom"
    block = "block"


class KernelName(str, Enum):
    """The kernel names of :data:`kexue.stats.kernels.KERNEL_NAMES` (a test keeps them equal)."""

    gaussian = "gaussian"
    laplacian = "laplacian"
    linear = "linear"
    polynomial = "polynomial"


@contextlib.contextmanager
def _naming(path: Path):
    """Prefix the file name to input errors raised while analysing its columns."""
    try:
        yield
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


_FLAGS = {"bandwidth_x": "--bandwidth-x", "bandwidth_y": "--bandwidth-y",
          "kernel_x": "--kernel", "kernel_y": "--kernel-y", "rng": "--seed",
          "n_permutations": "--permutations", "n_features": "--features",
          "n_landmarks": "--features", "block_size": "--features",
          "kernel_x.bandwidth": "--bandwidth-x", "kernel_y.bandwidth": "--bandwidth-y"}


def _describe(kernel: dict) -> str:
    extra = ", ".join(f"{key}={value:.6g}" if isinstance(value, float) else f"{key}={value}"
                      for key, value in kernel.items() if key != "name")
    return f"{kernel['name']}({extra})" if extra else kernel["name"]


def hsic(
    data: Annotated[Path, typer.Argument(
        help="CSV, TSV, .npy or Parquet file with numeric columns.")],
    x: Annotated[str, typer.Option(
        "--x", help="Columns of the first variable: names or 0-based indices, comma-separated.")],
    y: Annotated[str, typer.Option("--y", help="Columns of the second variable.")],
    test: Annotated[Test, typer.Option(
        "--test", help="gamma (Gretton 2007), permutation, or for large n rff, nystrom, block.",
    )] = Test.gamma,
    kernel: Annotated[KernelName, typer.Option(
        "--kernel", help="Kernel of x (and of y unless --kernel-y).")] = KernelName.gaussian,
    kernel_y: Annotated[KernelName | None, typer.Option(
        "--kernel-y", help="Kernel of y.")] = None,
    bandwidth_x: Annotated[float | None, typer.Option(
        "--bandwidth-x", help="Bandwidth of x's kernel (default: median heuristic, "
                              "sigma = sqrt(median(d^2)/2)).")] = None,
    bandwidth_y: Annotated[float | None, typer.Option(
        "--bandwidth-y", help="Bandwidth of y's kernel (default: median heuristic on y).",
    )] = None,
    permutations: Annotated[int | None, typer.Option(
        "--permutations", min=1,
        help="Permutations for --test permutation (default 1000).")] = None,
    features: Annotated[int | None, typer.Option(
        "--features", min=1, help="Random features (rff), landmarks (nystrom) or block size "
                                  "(block); default 100.")] = None,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Seed of permutations / random features (default: permutation draws "
                       "one and reports it; rff, nystrom and block use 0).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Measure the dependence of two column groups with HSIC and test their independence."""
    from kexue.cli._common import fail, json_text, markup_safe, user_errors, warn

    test = test.value
    # An option the chosen test does not use is an error, not silently ignored.
    if permutations is not None and test != "permutation":
        raise fail(f"--permutations applies to --test permutation only, not to --test {test}")
    if features is not None and test in ("gamma", "permutation"):
        raise fail(f"--features applies to --test rff, nystrom and block, not to --test {test}")
    permutations = 1000 if permutations is None else permutations
    default_features = features is None
    features = 100 if features is None else features
    kernel_y = kernel if kernel_y is None else kernel_y
    with user_errors(_FLAGS):
        from kexue._io import load_table
        from kexue.stats import independence, large_scale

        table = load_table(data)
        xs = table.select(x, "--x")
        ys = table.select(y, "--y")
        shared = sorted(set(table.indices(x, "--x")) & set(table.indices(y, "--y")))
        if shared:
            raise ValueError(f"--x and --y share the column(s) "
                             f"{', '.join(repr(table.columns[i]) for i in shared)}: a variable "
                             "is trivially dependent on itself")
        kx, ky = kernel.value, kernel_y.value
        if test in ("gamma", "permutation") and len(xs) > 20_000:
            warn(f"exact HSIC on {len(xs):,} rows takes O(n^2) time and memory; "
                 "--test rff, nystrom or block scale to large n")
        status = contextlib.nullcontext()
        if sys.stderr.isatty():
            from rich.console import Console

            status = Console(stderr=True).status(f"HSIC {test} test on {len(xs):,} rows")
        with status, _naming(data):
            if test in ("gamma", "permutation"):
                result = independence.hsic_test(xs, ys, test, kernel_x=kx, kernel_y=ky,
                                                bandwidth_x=bandwidth_x,
                                                bandwidth_y=bandwidth_y,
                                                n_permutations=permutations, rng=seed)
            else:
                function = {"rff": large_scale.rff_hsic, "nystrom": large_scale.nystrom_hsic,
                            "block": large_scale.block_hsic}[test]
                if test == "rff" and features % 2:
                    features += 1
                if default_features and test == "nystrom":
                    features = min(features, len(xs))  # the default adapts to small files
                if default_features and test == "block":
                    features = max(6, min(features, len(xs) // 2))
                result = function(xs, ys, features, kernel_x=kx, kernel_y=ky,
                                  bandwidth_x=bandwidth_x, bandwidth_y=bandwidth_y,
                                  rng=0 if seed is None else seed)
    payload = {"file": str(data), "x": x, "y": y, **result.to_dict()}
    if as_json:
        typer.echo(json_text(payload, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    out = Table(title=f"HSIC: {markup_safe(data.name)}  ({markup_safe(x)})  vs  "
                      f"({markup_safe(y)})", show_header=False)
    out.add_column("quantity", style="bold")
    out.add_column("value")
    out.add_row("n", f"{result.n:,}")
    out.add_row("kernel x", _describe(result.kernel_x))
    out.add_row("kernel y", _describe(result.kernel_y))
    out.add_row("HSIC (biased)" if test != "block" else "HSIC (block mean, unbiased)",
                f"{result.statistic:.6g}")
    details = dict(result.details)
    if "hsic_unbiased" in details:
        out.add_row("HSIC (unbiased)", f"{details.pop('hsic_unbiased'):.6g}")
    if "cka" in details:
        out.add_row("CKA (normalised)", f"{details.pop('cka'):.6g}")
    out.add_row("test", result.method)
    out.add_row("p-value", f"{result.pvalue:.4g}")
    for key, value in details.items():
        out.add_row(f"  {key}", f"{value:.6g}" if isinstance(value, float) else str(value))
    Console().print(out)
