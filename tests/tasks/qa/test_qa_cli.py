"""``kexue qa``: score (fast, no Keras), bad input → exit 2, and the end-to-end pipeline."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from kexue.cli.main import app
from kexue.metrics import qa as qa_metrics

runner = CliRunner()


def _run(*args):
    return runner.invoke(app, ["qa", *map(str, args)])


@pytest.fixture
def squad_gold(tmp_path):
    path = tmp_path / "gold.json"
    path.write_text(json.dumps({"version": "v2.0", "data": [{"paragraphs": [{
        "context": "红楼梦的作者是曹雪芹。",
        "qas": [{"id": "a", "question": "作者", "answers": [{"text": "曹雪芹",
                                                            "answer_start": 7}]},
                {"id": "b", "question": "书名", "answers": [{"text": "红楼梦",
                                                            "answer_start": 0}]},
                {"id": "c", "question": "出版", "answers": [], "is_impossible": True}]}]}]},
        ensure_ascii=False), encoding="utf-8")
    return path


def test_score_cmrc_json_and_mismatched_ids(tmp_path, squad_gold):
    preds = tmp_path / "p.json"
    preds.write_text(json.dumps({"a": "曹雪芹", "b": "红楼", "zzz": "x"}, ensure_ascii=False),
                     encoding="utf-8")
    result = _run("score", preds, squad_gold, "--metric", "cmrc", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout[result.stdout.index("{"):])
    expected = qa_metrics.cmrc_score({"a": "曹雪芹", "b": "红楼", "zzz": "x"},
                                     {"a": ["曹雪芹"], "b": ["红楼梦"], "c": []})
    assert payload["f1"] == pytest.approx(expected.scores["f1"])
    assert payload["missing_ids"] == ["c"] and payload["extra_ids"] == ["zzz"]
    assert "1 gold ids have no prediction" in result.stderr
    assert "not in the gold set" in result.stderr


def test_score_sogou_expanded_file_with_lines(tmp_path):
    gold = tmp_path / "gold.tsv"
    gold.write_text("1\t林海音\t林海音|林含英\n2\t巴西\t巴西\n", encoding="utf-8")
    preds = tmp_path / "p.tsv"
    preds.write_text("1\t林含英\n2\t巴\n", encoding="utf-8")
    lines = tmp_path / "lines.tsv"
    result = _run("score", preds, gold, "--metric", "sogou", "--lines", lines, "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    # q1 correct, F1 1; q2 wrong, F1 = 2·1·0.5/1.5
    assert payload["accuracy"] == 0.5
    assert payload["f1"] == pytest.approx((1 + 2 / 3) / 2)
    rows = lines.read_text(encoding="utf-8").splitlines()
    assert rows[0].split("\t") == ["id", "answer", "correct", "f1", "precision", "recall",
                                   "gold"]
    assert rows[2].split("\t")[:3] == ["2", "巴", "0"]


def test_score_does_not_import_keras(tmp_path, squad_gold):
    preds = tmp_path / "p.json"
    preds.write_text(json.dumps({"a": "曹雪芹"}, ensure_ascii=False), encoding="utf-8")
    code = ("import sys; from typer.testing import CliRunner; from kexue.cli.main import app;"
            f"r = CliRunner().invoke(app, ['qa', 'score', {str(preds)!r}, {str(squad_gold)!r},"
            " '--json']); assert r.exit_code == 0, r.output;"
            "print('keras' in sys.modules, 'jax' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ}, check=True)
    assert out.stdout.strip() == "False False"


def test_bad_input_exits_2_naming_what(tmp_path, squad_gold):
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\tc\td\n", encoding="utf-8")
    result = _run("score", bad, squad_gold)
    assert result.exit_code == 2 and "bad.tsv:1" in result.stderr
    odd = tmp_path / "odd.json"
    odd.write_text('{"x": 1}', encoding="utf-8")
    preds = tmp_path / "p.json"
    preds.write_text('{"a": "x"}', encoding="utf-8")
    result = _run("score", preds, odd)
    assert result.exit_code == 2 and "odd.json: in none of the QA formats" in result.stderr
    result = _run("score", tmp_path / "missing.json", squad_gold)
    assert result.exit_code == 2
    result = _run("answer", "--run", tmp_path, "--question", "谁")
    assert result.exit_code == 2 and "--passage" in result.stderr
    result = _run("answer", "--run", tmp_path, "--question", " ", "--passage", "x")
    assert result.exit_code == 2 and "--question is empty" in result.stderr
    result = _run("answer", "--run", tmp_path / "none", "--question", "谁", "--passage", "x")
    assert result.exit_code == 2 and "does not exist" in result.stderr
    result = _run("train", "--out", tmp_path / "r", "--data", odd)
    assert result.exit_code == 2 and "odd.json" in result.stderr
    result = _run("train", "--out", tmp_path / "r", "--encoder", "gru")
    assert result.exit_code == 2 and "--encoder" in result.stderr


@pytest.mark.slow
def test_make_cloze_train_answer_score_end_to_end(tmp_path, monkeypatch):
    """make-cloze → train → answer → score through the CLI; the trained reader scores far
    above the untrained one (scored on its own training questions: a pipeline test)."""
    monkeypatch.setenv("KEXUE_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "cloze"
    result = _run("make-cloze", "--out", data, "--limit", "60", "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["train"]["questions"] > 40
    for split in ("train", "dev", "test"):
        assert (data / f"{split}.webqa.json").exists() and (data / f"{split}.squad.json").exists()
    train_file = data / "train.webqa.json"
    small = tmp_path / "small.webqa.json"
    records = json.loads(train_file.read_text(encoding="utf-8"))[:48]
    small.write_text(json.dumps(records, ensure_ascii=False), encoding="utf-8")

    def answer_and_score(run_dir, name):
        out = tmp_path / f"{name}.jsonl"
        result = _run("answer", "--run", run_dir, "--input", small, "--output", out)
        assert result.exit_code == 0, result.output
        result = _run("score", out, small, "--metric", "cmrc", "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout[result.stdout.index("{"):])

    run = tmp_path / "run"
    result = _run("train", "--data", small, "--dev", small, "--out", run, "--epochs", "1",
                  "--dim", "32", "--batch-size", "16", "--lr", "0.005", "--ema", "0.9")
    assert result.exit_code == 0, result.output
    untrained = answer_and_score(run, "before")  # after one epoch: barely trained
    result = _run("train", "--data", small, "--dev", small, "--out", run, "--epochs", "25",
                  "--resume")
    assert result.exit_code == 0, result.output
    trained = answer_and_score(run, "after")
    assert trained["f1"] > untrained["f1"] + 30, (untrained, trained)
    single = _run("answer", "--run", run, "--question", records[0]["question"],
                  *sum((["--passage", p["passage"]] for p in records[0]["passages"]), []))
    assert single.exit_code == 0, single.output
    assert set(json.loads(single.stdout)) >= {"answer", "score", "passage", "offset"}


def test_answer_loads_a_run_in_a_fresh_process(tmp_path):
    """`kexue qa answer` in a new interpreter: the saved model's custom layers must load."""
    from dataclasses import asdict

    import keras

    from kexue.tasks.qa.features import QAVocabulary
    from kexue.tasks.qa.model import QAModelConfig, build_model
    from kexue.tasks.qa.train import TrainSettings
    from kexue.tasks.runs import RunDirectory

    keras.utils.set_random_seed(0)
    vocab = QAVocabulary(list("北京是中国的首都"), ["北京", "中国"])
    model = build_model(QAModelConfig(char_count=vocab.char_count, word_count=2, word_dim=3,
                                      dim=8, question_rates=(1,), passage_rates=(1,)),
                        [[1, 0, 0], [0, 1, 0]])
    run = RunDirectory.create(tmp_path / "run", "qa", asdict(TrainSettings(dim=8)))
    run.write_text("vocab.json", vocab.to_json())
    run.save_model(model, "best.keras")
    code = ("from kexue.cli.main import app; import sys; sys.argv = ['kexue'] + sys.argv[1:];"
            "app()")
    out = subprocess.run(
        [sys.executable, "-c", code, "qa", "answer", "--run", str(tmp_path / "run"),
         "--question", "____是首都", "--passage", "北京是中国的首都", "--threshold", "0"],
        capture_output=True, text=True, env={**os.environ, "KERAS_BACKEND": "jax"})
    assert out.returncode == 0, out.stderr[-2000:]
    payload = json.loads(out.stdout)
    assert payload["passage"] == 0 and payload["answer"] in "北京是中国的首都"
