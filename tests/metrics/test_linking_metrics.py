"""CCKS linking scores against hand-computed triples."""

import pytest

from kexue.metrics.linking import linking_accuracy, linking_scores, mention_scores

GOLD = {
    "a": [("北京", 0, "B"), ("吉林", 3, "P"), ("欧洲", 6, "NIL")],
    "b": [("上海", 0, "S")],
    "c": [],
}
PRED = {
    "a": [("北京", 0, "B"), ("吉林", 3, "C"), ("欧洲", 6, "E"), ("朝阳", 9, "Z")],
    "b": [("上海", 0, "S")],
}


def test_linking_scores_ignore_nil_by_hand():
    # gold without NIL: 2 + 1 = 3 triples; predictions without the one on the NIL span:
    # 3 + 1 = 4; correct: 北京/B, 上海/S -> A = 2, B = 4, C = 3
    s = linking_scores(PRED, GOLD)
    assert (s.correct, s.predicted, s.gold) == (2, 4, 3)
    assert s.precision == pytest.approx(2 / 4)
    assert s.recall == pytest.approx(2 / 3)
    assert s.f1 == pytest.approx(2 * 2 / (4 + 3))


def test_linking_scores_strict_nil_by_hand():
    # the NIL span counts: gold C = 4, predictions B = 5, correct still 2
    s = linking_scores(PRED, GOLD, nil="strict")
    assert (s.correct, s.predicted, s.gold) == (2, 5, 4)
    assert s.f1 == pytest.approx(4 / 9)
    # predicting NIL on the NIL span is right in strict mode
    pred = {"a": [("欧洲", 6, "NIL")]}
    assert linking_scores(pred, GOLD, nil="strict").correct == 1


def test_extra_ignored_spans():
    s = linking_scores(PRED, GOLD, ignore={"a": [("朝阳", 9), ("吉林", 3)]})
    # gold: 北京, 上海 (吉林 ignored); predictions: 北京, 上海 -> perfect
    assert (s.correct, s.predicted, s.gold, s.f1) == (2, 2, 2, 1.0)


def test_mention_scores_by_hand():
    # spans: gold {北京0, 吉林3} + {上海0}; predicted {北京0, 吉林3, 朝阳9} + {上海0}
    s = mention_scores(PRED, GOLD)
    assert (s.correct, s.predicted, s.gold) == (3, 4, 3)
    assert s.precision == pytest.approx(0.75) and s.recall == 1.0


def test_linking_accuracy_by_hand():
    # gold non-NIL mentions: 北京 (right), 吉林 (wrong), 上海 (right)
    assert linking_accuracy(PRED, GOLD) == pytest.approx(2 / 3)
    assert linking_accuracy({}, {"x": [("欧洲", 0, "NIL")]}) == 0.0


def test_duplicates_count_once_and_empty_inputs():
    s = linking_scores({"b": [("上海", 0, "S"), ("上海", "0", "S")]}, {"b": [("上海", 0, "S")]})
    assert (s.correct, s.predicted, s.gold) == (1, 1, 1)
    s = linking_scores({}, {})
    assert (s.precision, s.recall, s.f1) == (0.0, 0.0, 0.0)


def test_unknown_text_and_bad_mode():
    with pytest.raises(ValueError, match="not in the gold data"):
        linking_scores({"zzz": []}, GOLD)
    with pytest.raises(ValueError, match="`nil` must be one of"):
        linking_scores(PRED, GOLD, nil="lenient")
