"""``kexue hsic``: HSIC statistic and independence test between columns of a data file."""

from __future__ import annotations

import contextlib
import json
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
          "n_landmarks": "--features", "block_size": "--features"}


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
    permutations: Annotated[int, typer.Option(
        "--permutations", min=1, help="Permutations for --test permutation.")] = 1000,
    features: Annotated[int, typer.Option(
        "--features", min=1,
        help="Random features (rff), landmarks (nystrom) or block size (block).")] = 100,
    seed: Annotated[int | None, typer.Option(
        "--seed", help="Seed of permutations / random features (default: permutation draws "
                       "one and reports it; rff, nystrom and block use 0).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Measure the dependence of two column groups with HSIC and test their independence."""
    from kexue.cli._common import user_errors

    test = test.value
    kernel_y = kernel if kernel_y is None else kernel_y
    with user_errors(_FLAGS):
        from kexue._io import load_table
        from kexue.stats import independence, large_scale

        table = load_table(data)
        xs = table.select(x, "--x")
        ys = table.select(y, "--y")
        kx, ky = kernel.value, kernel_y.value
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
                result = function(xs, ys, features, kernel_x=kx, kernel_y=ky,
                                  bandwidth_x=bandwidth_x, bandwidth_y=bandwidth_y,
                                  rng=0 if seed is None else seed)
    payload = {"file": str(data), "x": x, "y": y, **result.to_dict()}
    if as_json:
        typer.echo(json.dumps(payload, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    out = Table(title=f"HSIC: {data.name}  ({x})  vs  ({y})", show_header=False)
    out.add_column("quantity", style="bold")
    out.add_column("value")
    out.add_row("n", f"{result.n:,}")
    out.add_row("kernel x", _describe(result.kernel_x))
    out.add_row("kernel y", _describe(result.kernel_y))
    out.add_row("HSIC (biased)" if test != "block" else "HSIC (block mean, unbiased)",
                f"{result.statistic:.6g}")
    out.add_row("test", result.method)
    out.add_row("p-value", f"{result.pvalue:.4g}")
    for key, value in result.details.items():
        out.add_row(f"  {key}", f"{value:.6g}" if isinstance(value, float) else str(value))
    Console().print(out)
