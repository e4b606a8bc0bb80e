"""The DGCNN reader: padding invariance, loss, .keras round trip, training and resume."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from kexue.tasks.qa.data import Passage, QADataset, Question
from kexue.tasks.qa.features import QAVocabulary, pad_batch
from kexue.tasks.qa.model import QAModelConfig, SpanFocalLoss, build_model
from kexue.tasks.qa.reader import Reader
from kexue.tasks.runs import RunDirectory

TINY = {"dim": 8, "question_rates": (1, 2), "passage_rates": (1, 2, 1)}


def _model(mixed: bool, seed: int = 0):
    keras.utils.set_random_seed(seed)
    config = QAModelConfig(char_count=30, word_count=6 if mixed else 0, word_dim=4, **TINY)
    vectors = np.random.default_rng(seed).normal(size=(6, 4)) if mixed else None
    return build_model(config, vectors)


def _inputs(mixed, q, p, q_len, p_len, qw=None, pw=None):
    qw = qw if qw is not None else [[(c % 6) + 1 if c % 3 else 0 for c in row] for row in q]
    pw = pw if pw is not None else [[(c % 6) + 1 if c % 2 else 0 for c in row] for row in p]
    out = [pad_batch(q, q_len)]
    if mixed:
        out.append(pad_batch(qw, q_len))
    out.append(pad_batch(p, p_len))
    if mixed:
        out.append(pad_batch(pw, p_len))
    return out


@pytest.mark.parametrize("mixed", [True, False])
def test_padding_invariance_of_both_encoders(mixed):
    model = _model(mixed)
    q = [[3, 4, 5, 6], [7, 8]]
    p = [[9, 10, 11, 12, 13, 14, 15], [16, 17, 18]]
    base = np.asarray(model(_inputs(mixed, q, p, 4, 7), training=False))
    # more question padding: the question encoder and its pooled vector must not change
    longer_q = np.asarray(model(_inputs(mixed, q, p, 11, 7), training=False))
    # more passage padding: the passage encoder's valid outputs must not change
    longer_p = np.asarray(model(_inputs(mixed, q, p, 4, 19), training=False))
    for k, row in enumerate(p):
        np.testing.assert_allclose(longer_q[k, :len(row)], base[k, :len(row)], atol=1e-6)
        np.testing.assert_allclose(longer_p[k, :len(row)], base[k, :len(row)], atol=1e-6)
        assert np.all(longer_p[k, len(row):] == 0.0)
    assert np.all((base >= 0) & (base <= 1))


def test_span_focal_loss_matches_numpy():
    rng = np.random.default_rng(0)
    y_pred = rng.uniform(0.01, 0.99, size=(2, 5, 2)).astype("float32")
    targets = (rng.random((2, 5, 2)) < 0.3).astype("float32")
    valid = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], "float32")[..., None]
    y_true = np.concatenate([targets, valid], axis=-1)
    alpha, gamma = 0.25, 2.0
    element = (-alpha * targets * np.log(y_pred) * (1 - y_pred) ** gamma
               - (1 - alpha) * (1 - targets) * np.log(1 - y_pred) * y_pred ** gamma)
    expected = 100 * (element * valid).sum() / valid.sum()
    got = float(SpanFocalLoss()(y_true, y_pred))
    assert got == pytest.approx(expected, rel=1e-5)
    again = SpanFocalLoss.from_config(SpanFocalLoss(alpha=0.5).get_config())
    assert again.alpha == 0.5


def test_keras_round_trip_gives_identical_answers(tmp_path):
    model = _model(True, seed=3)
    chars = list("北京上海是中国的首都城市大")
    vocab = QAVocabulary(chars, ["北京", "上海", "中国", "首都", "城市", "是"])
    run = RunDirectory.create(tmp_path / "run", "qa", {})
    run.save_model(model, "best.keras")
    loaded = run.load_model("best.keras", compile=False)
    items = [("____是中国的首都", ["北京是中国的首都。", "上海是大城市。"]),
             ("中国的首都", ["首都北京"])]
    first = Reader(model, vocab, batch_size=4)
    second = Reader(loaded, vocab, batch_size=4)
    probs_a, probs_b = first.probabilities(items), second.probabilities(items)
    for a, b in zip(probs_a, probs_b, strict=True):
        np.testing.assert_array_equal(a, b)
    assert first.answer(items, threshold=0.0) == second.answer(items, threshold=0.0)
    assert [len(p) for p in probs_a] == [9, 7, 4]


def test_reader_rejects_bad_questions():
    reader = Reader(_model(False), QAVocabulary(list("ab")), batch_size=2)
    with pytest.raises(ValueError, match="no passages"):
        reader.answer([("a", [])])
    with pytest.raises(ValueError, match="non-empty"):
        reader.answer([("  ", ["a"])])


def _toy(n: int, seed: int) -> QADataset:
    """Answer = the name after 我叫 in the passage; a second passage never holds it."""
    rng = np.random.default_rng(seed)
    names = ["张三", "李四", "王五", "赵六", "孙七", "周八"]
    questions = []
    for i in range(n):
        name = names[int(rng.integers(len(names)))]
        text = f"你好，我叫{name}，今天天气好。"
        questions.append(Question(f"t{i}", "他叫____", (
            Passage(text, ((text.index(name), text.index(name) + 2),)),
            Passage("今天下雨了，大家在家。", ())), (name,)))
    return QADataset(questions, "webqa", "toy")


@pytest.mark.slow
def test_training_learns_and_resumes(tmp_path, monkeypatch):
    from kexue.tasks.qa.train import TrainSettings, load_reader, train_reader

    monkeypatch.setenv("KEXUE_CACHE_DIR", str(tmp_path / "cache"))
    train, dev = _toy(128, 0), _toy(24, 1)
    settings = TrainSettings(epochs=2, batch_size=32, dim=16, word_dim=8, dev_limit=24,
                             learning_rate=5e-3, ema_momentum=0.9, char_min_count=1)
    run = tmp_path / "run"
    train_reader(run, train, dev, settings, verbose=0)
    state = RunDirectory.open(run, "qa").state
    assert state["epoch"] == 2
    settings.epochs = 6
    metrics = train_reader(run, train, dev, settings, resume=True, verbose=0)
    opened = RunDirectory.open(run, "qa")
    assert opened.state["epoch"] == 6
    assert [row["epoch"] for row in opened.read_history()] == [1, 2, 3, 4, 5, 6]
    assert opened.has("word_vectors.bin") and opened.has("vocab.json")
    assert metrics["cmrc_em"] > 50.0
    reader, _ = load_reader(run)
    assert json.loads(opened.read_text("vocab.json"))["words"]
    assert reader.answer([("他叫____", ["我叫王五，你好。"])])[0].text == "王五"


def _bilstm(mixed: bool, seed: int = 0):
    keras.utils.set_random_seed(seed)
    config = QAModelConfig(char_count=30, word_count=6 if mixed else 0, word_dim=4, dim=8,
                           encoder="bilstm")
    vectors = np.random.default_rng(seed).normal(size=(6, 4)) if mixed else None
    return build_model(config, vectors)


def _lstm_layers(model) -> list[str]:
    return [layer.name for layer in model.layers
            if isinstance(layer, keras.layers.Bidirectional)]


def test_bilstm_reader_layers_and_padding_invariance():
    model = _bilstm(True)
    assert model.name == "bilstm_reader"
    assert _lstm_layers(model) == ["question_bilstm_0", "passage_bilstm_0", "passage_bilstm_1"]
    assert not any("dgcnn" in layer.name for layer in model.layers)
    for name in ("mixed_embedding", "question_pooling", "passage_pooling", "span_head"):
        model.get_layer(name)
    with pytest.raises(ValueError, match="encoder"):
        build_model(QAModelConfig(char_count=30, encoder="gru"))
    # padding (question and passage) changes no valid output, and padding outputs are 0;
    # the char-only variant shares the encoders (the LSTMs are what is tested here)
    q = [[3, 4, 5, 6], [7, 8]]
    p = [[9, 10, 11, 12, 13, 14, 15], [16, 17, 18]]
    base = np.asarray(model(_inputs(True, q, p, 4, 7), training=False))
    padded = np.asarray(model(_inputs(True, q, p, 9, 16), training=False))
    for k, row in enumerate(p):
        np.testing.assert_allclose(padded[k, :len(row)], base[k, :len(row)], atol=1e-6)
        assert np.all(padded[k, len(row):] == 0.0)
    # the backward LSTM sees the whole passage: changing its last character changes the
    # first position's output (a causal or masked-out encoder would not)
    changed = [list(p[0][:-1]) + [20], p[1]]
    other = np.asarray(model(_inputs(True, q, changed, 4, 7), training=False))
    assert not np.allclose(other[0, 0], base[0, 0])
    # (sizes at the default width: benchmarks/results/qa.md, trainable params column)


def test_bilstm_trains_a_step_and_round_trips(tmp_path):
    from kexue.tasks.qa.train import TrainSettings, _compile

    model = _bilstm(True, seed=2)
    _compile(model, TrainSettings(encoder="bilstm"))
    q = [[3, 4, 5, 6], [7, 8]]
    p = [[9, 10, 11, 12, 13, 14, 15], [16, 17, 18]]
    x = _inputs(True, q, p, 4, 8)
    y = np.zeros((2, 8, 3), "float32")
    y[0, :7, 2] = y[1, :3, 2] = 1.0
    y[0, 2, 0] = y[0, 3, 1] = y[1, 0, 0] = y[1, 1, 1] = 1.0
    before = [np.array(w) for w in model.trainable_weights]
    loss = model.train_on_batch(x, y)
    assert np.isfinite(loss)
    assert any(not np.array_equal(a, np.array(w))
               for a, w in zip(before, model.trainable_weights, strict=True))
    chars = list("北京上海是中国的首都城市大")
    vocab = QAVocabulary(chars, ["北京", "上海", "中国", "首都", "城市", "是"])
    run = RunDirectory.create(tmp_path / "run", "qa", {})
    run.save_model(model, "best.keras")
    loaded = run.load_model("best.keras", compile=False)
    assert loaded.name == "bilstm_reader"
    items = [("____是中国的首都", ["北京是中国的首都。", "上海是大城市。"])]
    first, second = Reader(model, vocab, batch_size=4), Reader(loaded, vocab, batch_size=4)
    for a, b in zip(first.probabilities(items), second.probabilities(items), strict=True):
        np.testing.assert_array_equal(a, b)
    assert first.answer(items, threshold=0.0) == second.answer(items, threshold=0.0)


def test_settings_reject_an_unknown_encoder():
    from kexue.tasks.qa.train import TrainSettings

    assert TrainSettings().encoder == "dgcnn"
    assert TrainSettings.from_dict({"variant": "char"}).encoder == "dgcnn"
    with pytest.raises(ValueError, match="encoder"):
        TrainSettings(encoder="cnn").validate()
