"""`kexue title`: exit code 2 for bad input (fast), and one slow end-to-end run through the
CLI: train -> generate -> evaluate -> score."""

import json

import pytest
from typer.testing import CliRunner

from kexue.cli.main import app
from kexue.tasks.runs import RunDirectory
from kexue.tasks.title.data import CharVocabulary
from kexue.tasks.title.model import build_title_model
from kexue.tasks.title.train import TrainSettings

TINY = dict(embedding_dim=8, encoder_units=4, decoder_units=8, attention_heads=2,
            attention_key_dim=4, hidden_units=8)
runner = CliRunner()


@pytest.fixture(scope="module")
def untrained_run(tmp_path_factory):
    """A run directory with an untrained tiny model (enough to test the CLI's checks)."""
    path = tmp_path_factory.mktemp("runs") / "run"
    settings = TrainSettings(model="l2r", max_source_length=20, max_target_length=6, **TINY)
    run = RunDirectory.create(path, "title", settings.__dict__)
    vocab = CharVocabulary.build(["北京上海天气新闻"], min_count=1)
    run.write_text("vocabulary.json", vocab.to_json())
    run.save_model(build_title_model(len(vocab), directions=("l2r",), **TINY), "best.keras")
    return path


def test_bad_input_exits_2(untrained_run, tmp_path):
    result = runner.invoke(app, ["title", "generate", "--run", str(tmp_path / "none"), "北京"])
    assert result.exit_code == 2 and "does not exist" in result.output
    result = runner.invoke(app, ["title", "generate", "--run", str(untrained_run), "--beam",
                                 "0", "北京"])
    assert result.exit_code == 2 and "`--beam` must be a positive integer" in result.output
    result = runner.invoke(app, ["title", "generate", "--run", str(untrained_run), "  "])
    assert result.exit_code == 2 and "empty" in result.output
    foreign = tmp_path / "foreign"
    RunDirectory.create(foreign, "qa", {})
    result = runner.invoke(app, ["title", "evaluate", "--run", str(foreign)])
    assert result.exit_code == 2 and "not 'title'" in result.output
    result = runner.invoke(app, ["title", "generate", "--run", str(untrained_run), "--decoder",
                                 "bi", "北京"])
    assert result.exit_code == 2 and "needs a bidirectional model" in result.output


def test_long_text_is_truncated_with_a_note(untrained_run):
    result = runner.invoke(app, ["title", "generate", "--run", str(untrained_run),
                                 "北京" * 30])
    assert result.exit_code == 0, result.output
    assert "truncated" in result.output
    row = json.loads(result.output.strip().splitlines()[-1])
    assert row["id"] == "1" and isinstance(row["title"], str)


def test_score_command(tmp_path):
    (tmp_path / "p.txt").write_text("北京下雨了\n上海\n", encoding="utf-8")
    (tmp_path / "r.txt").write_text("北京今天下雨\n上海\n", encoding="utf-8")
    result = runner.invoke(app, ["title", "score", str(tmp_path / "p.txt"),
                                 str(tmp_path / "r.txt"), "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)["all"]
    assert scores["rouge_l"] == pytest.approx((8 / 11 + 1) / 2)
    (tmp_path / "r.txt").write_text("北京\n", encoding="utf-8")
    result = runner.invoke(app, ["title", "score", str(tmp_path / "p.txt"),
                                 str(tmp_path / "r.txt")])
    assert result.exit_code == 2 and "has 2 lines" in result.output


@pytest.mark.slow
def test_end_to_end_train_generate_evaluate(trained_run, tmp_path):
    result = trained_run.result  # `kexue title train --two-stage ...` (conftest.py)
    assert result.exit_code == 0, result.output
    run, data, records = trained_run.path, trained_run.data, trained_run.records
    opened = RunDirectory.open(run, "title")
    assert {"vocabulary.json", "best.keras", "last.keras", "history.csv",
            "metrics.json"} <= set(opened.files)
    assert opened.state["epoch"] == 2
    inputs = tmp_path / "in.txt"
    inputs.write_text(records[0].source + "\n" + records[1].source + "\n", encoding="utf-8")
    out = tmp_path / "titles.jsonl"
    result = runner.invoke(app, ["title", "generate", "--run", str(run), "--input", str(inputs),
                                 "--beam", "2", "--decoder", "sb-half", "--n-best", "2",
                                 "-o", str(out)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["1", "2"] and len(rows[0]["n_best"]) == 2
    result = runner.invoke(app, ["title", "evaluate", "--run", str(run), "--data", str(data),
                                 "--source-field", "body", "--target-field", "head",
                                 "--max-records", "6", "--beam", "2", "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    assert scores["all"]["titles"] == 6 and 0.0 <= scores["all"]["rouge_l"] <= 1.0
