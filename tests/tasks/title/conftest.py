"""One tiny two-stage run trained through the CLI, shared by the slow title tests (the
end-to-end CLI test, two-stage, resume): training is what costs, so it happens once."""

import json
from types import SimpleNamespace

import keras
import pytest
from typer.testing import CliRunner

from kexue.cli.main import app
from kexue.tasks.title.data import load_records

TINY_OPTIONS = ["--embedding-dim", "8", "--encoder-units", "4", "--decoder-units", "8",
                "--attention-heads", "2", "--attention-key-dim", "4", "--hidden-units", "8"]
RECORDS = 24


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory):
    """``kexue title train --two-stage`` (stage-1 L2R and R2L, pseudo targets, stage-2
    bidirectional) for 2 epochs with Lookahead on a JSONL file with its own field names."""
    keras.utils.set_random_seed(0)
    folder = tmp_path_factory.mktemp("title")
    records = load_records("inews", max_records=RECORDS).records
    data = folder / "train.jsonl"
    data.write_text("".join(json.dumps({"body": r.source, "head": r.target},
                                       ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    run = folder / "run"
    result = CliRunner().invoke(app, [
        "title", "train", "--data", str(data), "--source-field", "body", "--target-field",
        "head", "--model", "bidirectional", "--two-stage", "--optimizer", "lookahead",
        "--epochs", "2", "--batch-size", "12", "--max-source-len", "30",
        "--max-target-len", "6", "--min-count", "1", "--out", str(run), *TINY_OPTIONS])
    return SimpleNamespace(path=run, data=data, records=records, result=result,
                           folder=folder)
