"""Training into run directories: resume continues the same run; two-stage; DataParallel
over two forced host devices gives the single-device loss."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from kexue.tasks.runs import RunDirectory
from kexue.tasks.title.train import TrainSettings, open_title_run, train_title


def test_settings_are_validated():
    with pytest.raises(ValueError, match="`model`"):
        TrainSettings(model="both")
    with pytest.raises(ValueError, match="`two_stage`"):
        TrainSettings(model="l2r", two_stage=True)
    with pytest.raises(ValueError, match="`epochs`"):
        TrainSettings(epochs=0)
    defaults = TrainSettings()
    assert (defaults.max_source_length, defaults.epochs, defaults.min_count) == (200, 8, 5)


@pytest.mark.slow
def test_two_stage_training_writes_stage_one(trained_run):
    assert trained_run.result.exit_code == 0, trained_run.result.output
    run = RunDirectory.open(trained_run.path, "title")
    assert {"stage1/l2r", "stage1/r2l", "stage1/pseudo.jsonl", "best.keras"} <= set(run.files)
    rows = [json.loads(line) for line in run.read_text("stage1/pseudo.jsonl").splitlines()]
    training = len(trained_run.records) - max(1, len(trained_run.records) // 20)
    assert len(rows) == training and {"id", "l2r", "r2l"} <= set(rows[0])
    for direction in ("l2r", "r2l"):
        stage = RunDirectory.open(trained_run.path / "stage1" / direction, "title")
        assert stage.settings["model"] == direction and stage.state["epoch"] == 2
    assert "l2r_partner" in open_title_run(trained_run.path).model.input


@pytest.mark.slow
def test_resume_continues_the_same_run(trained_run, tmp_path):
    path = tmp_path / "run"
    shutil.copytree(trained_run.path, path)
    run = RunDirectory.open(path, "title")
    history = run.read_history()
    assert [row["epoch"] for row in history] == [1, 2]
    # simulate an interruption after epoch 1: the state and history of that moment
    run.write_history(history[:1])
    run.update_state(epoch=1)
    train_title(TrainSettings(), path, resume=True, verbose=0, log=lambda m: None)
    run = RunDirectory.open(path, "title")
    resumed = run.read_history()
    assert [row["epoch"] for row in resumed] == [1, 2]
    assert resumed[0] == history[0]
    assert run.state["epoch"] == 2 and run.settings["optimizer"] == "lookahead"
    assert run.read_text("stage1/pseudo.jsonl") == \
        RunDirectory.open(trained_run.path, "title").read_text("stage1/pseudo.jsonl")
    assert open_title_run(path).generate(["北京下雨"], beam=1)[0][0]["title"] is not None


DISTRIBUTED = textwrap.dedent("""
    import json, keras, numpy as np
    from kexue.tasks.title.model import build_title_model
    from kexue.tasks.title.train import TrainSettings, _compile
    rng = np.random.default_rng(0)
    x = {"source": rng.integers(1, 40, (8, 12)).astype("int32"),
         "l2r_input": rng.integers(1, 40, (8, 5)).astype("int32"),
         "r2l_input": rng.integers(1, 40, (8, 5)).astype("int32")}
    y = {"l2r": rng.integers(1, 40, (8, 5)).astype("int32"),
         "r2l": rng.integers(1, 40, (8, 5)).astype("int32")}
    widths = dict(embedding_dim=8, encoder_units=4, decoder_units=8, attention_heads=2,
                  attention_key_dim=4, hidden_units=8)
    keras.utils.set_random_seed(0)
    single = build_title_model(40, **widths)
    _compile(single, TrainSettings())
    loss_single = single.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)["loss"]
    devices = keras.distribution.list_devices()
    keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices))
    parallel = build_title_model(40, **widths)
    parallel.set_weights(single.get_weights())
    _compile(parallel, TrainSettings())
    loss_parallel = parallel.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)["loss"]
    print(json.dumps({"devices": len(devices), "single": float(loss_single),
                      "parallel": float(loss_parallel)}))
""")


@pytest.mark.slow
def test_data_parallel_on_two_host_devices_gives_the_same_loss():
    env = {**os.environ, "KERAS_BACKEND": "jax",
           "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    done = subprocess.run([sys.executable, "-c", DISTRIBUTED], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["devices"] == 2
    assert result["parallel"] == pytest.approx(result["single"], rel=1e-5)
