"""``kexue link``: exit codes, score without Keras, predict with a tiny run, and the slow
end-to-end make-set → train → predict → score."""

import json
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from kexue.cli.main import app

runner = CliRunner()


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    return path


GOLD = [{"text_id": "1", "text": "北京和欧洲", "mention_data": [
    {"kb_id": "B", "mention": "北京", "offset": "0"},
    {"kb_id": "NIL", "mention": "欧洲", "offset": "3"}]}]


def test_score_cli_by_hand(tmp_path):
    gold = _jsonl(tmp_path / "gold.json", GOLD)
    pred = _jsonl(tmp_path / "pred.json", [{"text_id": "1", "text": "北京和欧洲",
                                             "mention_data": [
        {"kb_id": "B", "mention": "北京", "offset": "0"},
        {"kb_id": "E", "mention": "欧洲", "offset": "3"}]}])
    result = runner.invoke(app, ["link", "score", str(pred), str(gold)])
    assert result.exit_code == 0, result.output
    assert "1.0000" in result.output and "1 / 1 / 1" in result.output
    result = runner.invoke(app, ["link", "score", str(pred), str(gold), "--nil", "strict"])
    assert "0.5000" in result.output and "1 / 2 / 2" in result.output


def test_score_cli_bad_files_exit_2(tmp_path):
    gold = _jsonl(tmp_path / "gold.json", GOLD)
    bad = tmp_path / "bad.json"
    bad.write_text('{"text_id": "1", "text": "北京和欧洲", "mention_data": []}\nnot json\n',
                   encoding="utf-8")
    result = runner.invoke(app, ["link", "score", str(bad), str(gold), "--strict"])
    assert result.exit_code == 2 and "bad.json, line 2" in result.output
    result = runner.invoke(app, ["link", "score", str(bad), str(gold)])
    assert result.exit_code == 0 and "bad.json, line 2: not valid JSON" in result.output
    missing = runner.invoke(app, ["link", "score", str(tmp_path / "none.json"), str(gold)])
    assert missing.exit_code == 2


def test_score_does_not_import_keras(tmp_path):
    gold = _jsonl(tmp_path / "gold.json", GOLD)
    code = ("import sys; from kexue.cli.main import app\n"
            "try:\n    app(['link', 'score', sys.argv[1], sys.argv[1]])\n"
            "except SystemExit:\n    pass\n"
            "print('keras' in sys.modules, 'jax' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(gold)], capture_output=True,
                         text=True, check=True).stdout.split()
    assert out[-2:] == ["False", "False"]


def test_predict_cli(tiny_run, tmp_path):
    out, _ = tiny_run
    result = runner.invoke(app, ["link", "predict", "--run", str(out), "我们去北京开会。"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.output.strip().splitlines()[-1])
    assert row["text"] == "我们去北京开会。"
    for m in row["mention_data"]:
        assert row["text"][int(m["offset"]):].startswith(m["mention"])
    lines = tmp_path / "in.txt"
    lines.write_text("我们去上海开会。\n北京大学招生\n", encoding="utf-8")
    target = tmp_path / "out.json"
    result = runner.invoke(app, ["link", "predict", "--run", str(out), "--input", str(lines),
                                 "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert len(target.read_text(encoding="utf-8").splitlines()) == 2
    lines.write_text("我们去上海开会。\n\n", encoding="utf-8")
    result = runner.invoke(app, ["link", "predict", "--run", str(out), "--input", str(lines)])
    assert result.exit_code == 2 and "line 2: empty text" in result.output
    result = runner.invoke(app, ["link", "predict", "--run", str(tmp_path), "北京"])
    assert result.exit_code == 2 and "config.json" in result.output
    result = runner.invoke(app, ["link", "predict", "--run", str(out)])
    assert result.exit_code == 2


def test_train_cli_bad_kb_exit_2(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "kb_data.json").write_text('{"subject": "无编号"}\n', encoding="utf-8")
    _jsonl(folder / "train.json", GOLD)
    _jsonl(folder / "dev.json", GOLD)
    result = runner.invoke(app, ["link", "train", "--data", str(folder), "--out",
                                 str(tmp_path / "run"), "--strict"])
    assert result.exit_code == 2 and "kb_data.json, line 1" in result.output


@pytest.mark.slow
def test_end_to_end_make_set_train_predict_score(tmp_path):
    """The embedded set through the CLI, with neither pruning nor restriction, so that the
    network itself must learn which dictionary matches the annotators tag: the trained F1
    ends well above the untrained network's (which passes about every match)."""
    from kexue.metrics.linking import linking_scores
    from kexue.tasks.linking.data import read_texts
    from kexue.tasks.linking.decode import EntityLinker
    from kexue.tasks.linking.model import build_model

    data = tmp_path / "set"
    assert runner.invoke(app, ["link", "make-set", "--out", str(data)]).exit_code == 0
    run = tmp_path / "run"
    result = runner.invoke(app, ["link", "train", "--data", str(data), "--out", str(run),
                                 "--epochs", "2", "--steps", "80", "--train-texts", "12000",
                                 "--learning-rate", "0.003",
                                 "--threshold", "1e9", "--min-count", "0"])
    assert result.exit_code == 0, result.output
    test, _ = read_texts(data / "test.json")
    test = test[:1000]
    subset = tmp_path / "test_subset.json"
    subset.write_text("".join(json.dumps(t.to_json(), ensure_ascii=False) + "\n"
                              for t in test), encoding="utf-8")
    predictions = tmp_path / "pred.json"
    result = runner.invoke(app, ["link", "predict", "--run", str(run), "--input", str(subset),
                                 "--output", str(predictions)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["link", "score", str(predictions), str(subset)])
    assert result.exit_code == 0, result.output
    predicted, _ = read_texts(predictions)
    gold = {t.text_id: [(m.mention, m.offset, m.kb_id) for m in t.mentions] for t in test}
    trained = linking_scores({t.text_id: [(m.mention, m.offset, m.kb_id) for m in t.mentions]
                              for t in predicted}, gold).f1
    linker = EntityLinker.from_run(run)
    untrained = EntityLinker(
        build_model(linker.featurizer.vocabulary_size, linker.featurizer.word_vectors.dim),
        linker.featurizer, linker.dictionary)
    baseline = linking_scores({t.text_id: [(m.mention, m.offset, m.kb_id) for m in t.mentions]
                               for t in untrained.link_texts(test)}, gold).f1
    print(f"end-to-end test F1: trained {trained:.4f}, untrained {baseline:.4f}")
    assert trained > 0.85 and trained > baseline + 0.05, (trained, baseline)


def test_candidates_report_on_a_ccks_folder(tmp_path):
    from linking_tiny import tiny_kb, tiny_texts

    from kexue.tasks.linking.data import Mention, Text, write_kb, write_texts

    folder = tmp_path / "data"
    folder.mkdir()
    write_kb(folder / "kb_data.json", tiny_kb())
    write_texts(folder / "train.json", tiny_texts(60, 0))
    write_texts(folder / "dev.json", tiny_texts(10, 1))
    # test: 北京 twice, once inside 北京大学 (not a mention): dictionary precision 1/2
    write_texts(folder / "test.json", [Text("x", "北京大学在北京", [Mention("北京", 5, "BJ")])])
    result = runner.invoke(app, ["link", "candidates", "--data", str(folder)])
    assert result.exit_code == 0, result.output
    assert "dictionary: mention F1 0.6667, link F1 0.6667, recall cap 1.0000" in result.output
    result = runner.invoke(app, ["link", "candidates", "--data", str(folder), "--report"])
    assert result.exit_code == 0 and "dictionary ablation on test (1 texts" in result.output
