"""The joint network, training into a run directory, decoding, the .keras round trip."""

import numpy as np
import pytest
from linking_tiny import TINY, tiny_kb, tiny_texts

from kexue.tasks.linking.data import NIL
from kexue.tasks.linking.train import ema_momentum


def test_model_inputs_outputs_and_validation(tiny_linker):
    from kexue.tasks.linking.model import INPUTS, build_model

    model = tiny_linker.model
    assert [i.name for i in model.inputs] == list(INPUTS)
    assert [tuple(o.shape) for o in model.outputs] == [(None, None, 1), (None, None, 1),
                                                       (None, 1)]
    with pytest.raises(ValueError, match="`lstm_units` must be a positive integer"):
        build_model(20, 4, lstm_units=0)
    with pytest.raises(TypeError, match="`heads` must be a positive integer"):
        build_model(20, 4, heads=2.0)


def test_detector_outputs_are_gated_by_flags(tiny_linker):
    # same padded shape as decoding (batch 64, length 50): no new compilation
    chars = np.zeros((64, 50), "int32")
    chars[0, :6] = [3, 4, 5, 6, 7, 8]
    flags = np.zeros((64, 50, 1), "float32")
    flags[0, [0, 3]] = 1.0
    words = np.ones((64, 50, tiny_linker.featurizer.word_vectors.dim), "float32")
    start, end = tiny_linker.detector.predict_on_batch([chars, words, flags, flags])
    start = np.asarray(start)[0, :, 0]
    assert np.all(start[[1, 2, 4, 5]] == 0) and np.all(start[[0, 3]] > 0)


def test_ema_momentum_range():
    assert ema_momentum(1) == 0.99 and ema_momentum(10**7) == 0.999
    assert 0.99 < ema_momentum(5000) < 0.999


def test_run_directory_contents(tiny_run):
    from kexue.tasks.runs import RunDirectory

    out, metrics = tiny_run
    run = RunDirectory.open(out, "linking")
    for name in ("candidates.json", "kb_data.json.gz", "chars.json", "word_vectors.txt",
                 "best.keras", "last.keras", "history.csv", "metrics.json"):
        assert run.has(name), name
    history = run.read_history()
    assert [row["epoch"] for row in history] == [1, 2]
    assert all(0.0 <= row["dev_f1"] <= 1.0 for row in history)
    assert metrics["best_dev_f1"] == max(row["dev_f1"] for row in history)
    assert run.settings["steps_per_epoch"] == TINY["steps_per_epoch"]


def test_keras_round_trip_gives_identical_links(tiny_linker, tmp_path):
    from kexue.tasks.linking.decode import EntityLinker
    from kexue.tasks.runs import RunDirectory

    linker = tiny_linker
    texts = [t.text for t in tiny_texts(16, 7)]
    first = linker.link(texts)
    copy = RunDirectory.create(tmp_path / "copy", "linking", {})
    copy.save_model(linker.model, "again.keras")
    reloaded = EntityLinker(copy.load_model("again.keras", compile=False), linker.featurizer,
                            linker.dictionary, mention_threshold=0.0, link_threshold=0.0)
    assert reloaded.link(texts) == first
    assert any(first)
    for text, mentions in zip(texts, first, strict=True):
        for m in mentions:
            assert text[m.offset:m.offset + len(m.mention)] == m.mention
            assert m.kb_id == NIL or m.kb_id in linker.dictionary.kb
            assert 0.0 <= m.score <= 1.0


def test_kb_override_and_gold_mention_linking(tiny_run, tmp_path):
    from kexue.tasks.linking.data import KnowledgeBase, write_kb
    from kexue.tasks.linking.decode import EntityLinker

    out, _ = tiny_run
    kb = tiny_kb()
    write_kb(tmp_path / "kb.json", KnowledgeBase(kb.entities.values()))
    linker = EntityLinker.from_run(out, kb=tmp_path / "kb.json")
    texts = tiny_texts(10, 3)
    given = linker.link_gold_mentions(texts)
    for gold, linked in zip(texts, given, strict=True):
        spans = {(m.mention, m.offset) for m in gold.mentions if m.kb_id != NIL}
        assert {(m.mention, m.offset) for m in linked.mentions} <= spans


@pytest.mark.slow
def test_resume_continues_epochs(tiny_run, tmp_path):
    import shutil

    from kexue.tasks.linking.train import TrainSettings, train
    from kexue.tasks.runs import RunDirectory

    out, _ = tiny_run
    copy = tmp_path / "resumed"
    shutil.copytree(out, copy)
    train(tiny_kb(), tiny_texts(40, 0), tiny_texts(10, 1), copy,
          TrainSettings(**{**TINY, "epochs": 3}), resume=True, verbose=0)
    run = RunDirectory.open(copy, "linking")
    assert run.state["epoch"] == 3 and len(run.read_history()) == 3
    with pytest.raises(ValueError, match="not empty"):
        train(tiny_kb(), tiny_texts(40, 0), tiny_texts(10, 1), copy, TrainSettings(**TINY))
