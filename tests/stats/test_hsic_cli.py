"""`kexue hsic` on CSV, TSV, .npy and Parquet files."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from kexue.cli.main import app
from kexue.stats import cka, hsic_biased, hsic_test

runner = CliRunner()


@pytest.fixture(scope="module")
def columns():
    rng = np.random.default_rng(0)
    a = rng.standard_normal(120)
    b = np.sin(2 * a) + 0.5 * rng.standard_normal(120)
    c = rng.standard_normal(120)
    return a, b, c


def _write_text(path, columns, delimiter, header=True):
    lines = [delimiter.join(["a", "b", "c"])] if header else []
    lines += [delimiter.join(repr(float(v)) for v in row) for row in zip(*columns, strict=True)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _run_json(*args):
    result = runner.invoke(app, ["hsic", *map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.parametrize("kind", ["csv", "tsv", "npy", "parquet", "headerless"])
def test_every_format_gives_the_library_result(tmp_path, columns, kind):
    a, b, c = columns
    if kind == "csv":
        path, x, y = _write_text(tmp_path / "d.csv", columns, ","), "a", "b,c"
    elif kind == "headerless":
        path, x, y = _write_text(tmp_path / "d.csv", columns, ",", header=False), "0", "1,2"
    elif kind == "tsv":
        path, x, y = _write_text(tmp_path / "d.tsv", columns, "\t"), "0", "b,2"
    elif kind == "npy":
        path, x, y = tmp_path / "d.npy", "0", "1,2"
        np.save(path, np.column_stack(columns))
    else:
        pq = pytest.importorskip("pyarrow.parquet")
        pa = pytest.importorskip("pyarrow")
        path, x, y = tmp_path / "d.parquet", "a", "b,c"
        pq.write_table(pa.table({"a": a, "b": b, "c": c, "label": ["u"] * 120}), path)
    out = _run_json(path, "--x", x, "--y", y)
    expected = hsic_test(a, np.column_stack([b, c]))
    assert out["statistic"] == pytest.approx(expected.statistic, rel=1e-12)
    assert out["pvalue"] == pytest.approx(expected.pvalue, rel=1e-9)
    assert out["details"]["cka"] == pytest.approx(cka(a, np.column_stack([b, c])), rel=1e-12)
    assert out["n"] == 120 and out["method"] == "gamma"


def test_permutation_kernel_and_bandwidth_options(tmp_path, columns):
    path = _write_text(tmp_path / "d.csv", columns, ",")
    out = _run_json(path, "--x", "a", "--y", "c", "--test", "permutation", "--permutations",
                    "99", "--seed", "5", "--kernel", "laplacian", "--bandwidth-y", "0.7")
    assert out["details"] == {"n_permutations": 99, "seed": 5}
    assert out["kernel_y"] == {"name": "laplacian", "bandwidth": 0.7}
    again = _run_json(path, "--x", "a", "--y", "c", "--test", "permutation", "--permutations",
                      "99", "--seed", "5", "--kernel", "laplacian", "--bandwidth-y", "0.7")
    assert again["pvalue"] == out["pvalue"]
    linear = _run_json(path, "--x", "a", "--y", "b", "--kernel", "linear")
    assert linear["statistic"] == pytest.approx(hsic_biased(columns[0], columns[1], "linear"))


@pytest.mark.parametrize("test", ["rff", "nystrom", "block"])
def test_large_scale_tests_from_the_command_line(tmp_path, columns, test):
    path = _write_text(tmp_path / "d.csv", columns, ",")
    out = _run_json(path, "--x", "a", "--y", "b", "--test", test, "--features", "20")
    assert out["method"] == test
    assert out["pvalue"] < 0.01


def test_table_output(tmp_path, columns):
    path = _write_text(tmp_path / "d.csv", columns, ",")
    result = runner.invoke(app, ["hsic", str(path), "--x", "a", "--y", "b"])
    assert result.exit_code == 0, result.output
    assert "p-value" in result.output and "CKA" in result.output


def test_bad_input_exits_2_naming_the_file(tmp_path, columns):
    path = _write_text(tmp_path / "d.csv", columns, ",")
    lines = path.read_text().splitlines()
    lines[5] = "1.0,nan,2.0"
    lines[9] = "1.0,oops,2.0"
    nan_file = tmp_path / "nan.csv"
    nan_file.write_text("\n".join(lines[:9]) + "\n")
    word_file = tmp_path / "word.csv"
    word_file.write_text("\n".join(lines) + "\n")
    constant = tmp_path / "constant.csv"
    constant.write_text("a,b\n" + "".join(f"{i},1\n" for i in range(20)))
    cases = [
        (["hsic", str(nan_file), "--x", "a", "--y", "b"], [str(nan_file), "line 6", "nan"]),
        (["hsic", str(word_file), "--x", "a", "--y", "b"], [str(word_file), "line 10", "oops"]),
        (["hsic", str(path), "--x", "a", "--y", "zz"], [str(path), "no column 'zz'"]),
        (["hsic", str(path), "--x", "a", "--y", "7"], ["no column '7'"]),
        (["hsic", str(tmp_path / "missing.csv"), "--x", "a", "--y", "b"], ["missing.csv"]),
        (["hsic", str(constant), "--x", "a", "--y", "b"], [str(constant), "is constant"]),
        (["hsic", str(path), "--x", "a", "--y", "b", "--test", "chi2"],
         ["Invalid value for '--test'", "'chi2' is not one of"]),
        (["hsic", str(path), "--x", "a", "--y", "b", "--kernel", "linear", "--bandwidth-x",
          "1"], ["`--bandwidth-x` applies to gaussian/laplacian kernels"]),
    ]
    for args, fragments in cases:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        text = " ".join(result.output.split())
        for fragment in fragments:
            assert fragment in text, (fragment, result.output)


def test_kernel_choices_are_the_library_kernel_names():
    from kexue.cli.hsic import KernelName
    from kexue.stats.kernels import KERNEL_NAMES

    assert tuple(k.value for k in KernelName) == KERNEL_NAMES
