"""``kexue hsic``: HSIC statistic and independence test between columns of a data file."""

from __future__ import annotations

import contextlib
import json
import sys
from pathlib import Path

import typer

TESTS = ("gamma", "permutation", "rff", "nystrom", "block")
KERNELS = ("gaussian", "laplacian", "linear", "polynomial")


def _kernel(name: str, bandwidth: float | None, option: str):
    from kexue.stats.kernels import GaussianKernel, LaplacianKernel, resolve_kernel

    if name not in KERNELS:
        raise ValueError(f"{option} must be one of {', '.join(KERNELS)}, got {name!r}")
    if bandwidth is None:
        return resolve_kernel(name)
    if name == "gaussian":
        return GaussianKernel(bandwidth=bandwidth)
    if name == "laplacian":
        return LaplacianKernel(bandwidth=bandwidth)
    raise ValueError(f"a bandwidth applies to the gaussian and laplacian kernels only, "
                     f"not to {option} {name!r}")


@contextlib.contextmanager
def _naming(path: Path):
    """Prefix the file name to input errors raised while analysing its columns."""
    try:
        yield
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def _describe(kernel: dict) -> str:
    extra = ", ".join(f"{key}={value:.6g}" if isinstance(value, float) else f"{key}={value}"
                      for key, value in kernel.items() if key != "name")
    return f"{kernel['name']}({extra})" if extra else kernel["name"]


def hsic(
    data: Path = typer.Argument(..., help="CSV, TSV, .npy or Parquet file with numeric columns."),
    x: str = typer.Option(..., "--x", help="Columns of the first variable: names or 0-based "
                          "indices, comma-separated."),
    y: str = typer.Option(..., "--y", help="Columns of the second variable."),
    test: str = typer.Option("gamma", "--test", help="gamma (Gretton 2007) | permutation | "
                             "rff | nystrom | block (the last three for large n)."),
    kernel: str = typer.Option("gaussian", "--kernel", help="Kernel of x (and of y unless "
                               "--kernel-y): gaussian | laplacian | linear | polynomial."),
    kernel_y: str | None = typer.Option(None, "--kernel-y", help="Kernel of y."),
    bandwidth_x: float | None = typer.Option(None, "--bandwidth-x", help="Bandwidth of x's "
                                             "kernel (default: median heuristic, "
                                             "sigma = sqrt(median(d^2)/2))."),
    bandwidth_y: float | None = typer.Option(None, "--bandwidth-y", help="Bandwidth of y's "
                                             "kernel (default: median heuristic on y)."),
    permutations: int = typer.Option(1000, "--permutations", min=1,
                                     help="Permutations for --test permutation."),
    features: int = typer.Option(100, "--features", min=1, help="Random features (rff), "
                                 "landmarks (nystrom) or block size (block)."),
    seed: int | None = typer.Option(None, "--seed", help="Seed of permutations / random "
                                    "features (default: permutation draws one and reports "
                                    "it; rff, nystrom and block use 0)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Measure the dependence of two column groups with HSIC and test their independence."""
    from kexue.cli._common import fail, user_errors

    if test not in TESTS:
        raise fail(f"--test must be one of {', '.join(TESTS)}, got {test!r}")
    with user_errors():
        from kexue.stats import estimators, independence, large_scale
        from kexue.stats.io import load_table

        table = load_table(data)
        xs = table.select(x, "--x")
        ys = table.select(y, "--y")
        kx = _kernel(kernel, bandwidth_x, "--kernel")
        ky = _kernel(kernel_y or kernel, bandwidth_y, "--kernel-y" if kernel_y else "--kernel")
        status = contextlib.nullcontext()
        if sys.stderr.isatty():
            from rich.console import Console

            status = Console(stderr=True).status(f"HSIC {test} test on {len(xs):,} rows")
        extra: dict[str, float] = {}
        with status, _naming(data):
            if test in ("gamma", "permutation"):
                result = independence.hsic_test(xs, ys, test, kernel_x=kx, kernel_y=ky,
                                                n_permutations=permutations, seed=seed)
                xv, yv, fx, fy = estimators.prepare(xs, ys, kx, ky, 4, "HSIC")
                sums = estimators.kernel_sums(xv, yv, fx, fy)
                extra = {"hsic_unbiased": sums.hsic_unbiased(), "cka": sums.cka()}
            else:
                function = {"rff": large_scale.rff_hsic, "nystrom": large_scale.nystrom_hsic,
                            "block": large_scale.block_hsic}[test]
                if test == "rff" and features % 2:
                    features += 1
                result = function(xs, ys, features, kernel_x=kx, kernel_y=ky,
                                  seed=0 if seed is None else seed)
    payload = {"file": str(data), "x": x, "y": y, **result.to_dict(), **extra}
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
    if extra:
        out.add_row("HSIC (unbiased)", f"{extra['hsic_unbiased']:.6g}")
        out.add_row("CKA (normalised)", f"{extra['cka']:.6g}")
    out.add_row("test", result.method)
    out.add_row("p-value", f"{result.p_value:.4g}")
    for key, value in result.details.items():
        out.add_row(f"  {key}", f"{value:.6g}" if isinstance(value, float) else str(value))
    Console().print(out)
