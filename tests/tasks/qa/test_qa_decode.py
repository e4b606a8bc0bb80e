"""kexue.tasks.qa.decode with fixed probability arrays against a brute-force reference."""

from __future__ import annotations

import numpy as np
import pytest

from kexue.tasks.qa.baseline import lexical_answer
from kexue.tasks.qa.decode import decode_batch, passage_candidates, vote


def brute_force(passages, probs, threshold, max_length):
    """Every (i, j) pair by loops; best per string per passage; Σs²/(1+Σs) vote."""
    per_string: dict[str, list[float]] = {}
    best_place: dict[str, tuple[float, int, int]] = {}
    for k, (text, p) in enumerate(zip(passages, probs, strict=True)):
        local: dict[str, tuple[float, int]] = {}
        for i in range(len(text)):
            for j in range(i, min(len(text), i + max_length)):
                if p[i, 0] > threshold and p[j, 1] > threshold:
                    s = float(p[i, 0]) * float(p[j, 1])
                    span = text[i:j + 1]
                    if span not in local or s > local[span][0]:
                        local[span] = (s, i)
        for span, (s, i) in local.items():
            per_string.setdefault(span, []).append(s)
            if span not in best_place or s > best_place[span][0]:
                best_place[span] = (s, k, i)
    if not per_string:
        return "", 0.0, None, None
    scores = {span: sum(x * x for x in v) / (1 + sum(v)) for span, v in per_string.items()}
    span = max(scores, key=scores.get)
    return span, scores[span], best_place[span][1], best_place[span][2]


@pytest.mark.parametrize("seed", range(8))
def test_decode_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    alphabet = "北京上海的是和"
    questions = []
    for _ in range(3):
        n_passages = int(rng.integers(1, 5))
        questions.append(["".join(rng.choice(list(alphabet), int(rng.integers(1, 30))))
                          for _ in range(n_passages)])
    # padded arrays: probabilities beyond the text must be ignored
    probs = [np.where(rng.random((len(t) + 7, 2)) < 0.3, rng.random((len(t) + 7, 2)), 0.0)
             for texts in questions for t in texts]
    for k in range(len(probs)):
        probs[k][-7:] = 0.99
    answers = decode_batch(questions, probs, threshold=0.1, max_length=4)
    k = 0
    for texts, answer in zip(questions, answers, strict=True):
        expected = brute_force(texts, [p[:len(t)] for p, t in
                                       zip(probs[k:k + len(texts)], texts, strict=True)], 0.1, 4)
        k += len(texts)
        assert (answer.text, answer.passage, answer.offset) == (expected[0], expected[2],
                                                               expected[3])
        assert answer.score == pytest.approx(expected[1])


def test_hand_computed_vote():
    text_a, text_b = "张三和李四", "李四来了"
    pa = np.zeros((5, 2))
    pa[0, 0], pa[1, 1], pa[3, 0], pa[4, 1] = 0.9, 0.9, 0.5, 0.5
    pb = np.zeros((4, 2))
    pb[0, 0], pb[1, 1] = 0.6, 0.5
    answer = vote([passage_candidates(text_a, pa[:, 0], pa[:, 1]),
                   passage_candidates(text_b, pb[:, 0], pb[:, 1])])
    # 张三: 0.81 -> 0.81²/1.81 = 0.3625; 李四: 0.25 and 0.30 -> (0.0625+0.09)/1.55 = 0.0984
    assert answer.text == "张三" and answer.score == pytest.approx(0.81 ** 2 / 1.81)
    # "张三和李四" (0.9·0.5 = 0.45) is a candidate too but scores 0.45²/1.45 = 0.1397
    cands = passage_candidates(text_a, pa[:, 0], pa[:, 1])
    assert set(cands) == {"张三", "李四", "张三和李四"}


def test_threshold_max_length_and_no_answer():
    text = "abcdef"
    p = np.zeros((6, 2))
    p[0, 0], p[5, 1] = 0.5, 0.5
    assert passage_candidates(text, p[:, 0], p[:, 1], max_length=5) == {}
    assert set(passage_candidates(text, p[:, 0], p[:, 1], max_length=6)) == {"abcdef"}
    assert passage_candidates(text, p[:, 0], p[:, 1], threshold=0.5) == {}
    answer = vote([{}, {}])
    assert (answer.text, answer.score, answer.passage, answer.offset) == ("", 0.0, None, None)
    with pytest.raises(ValueError, match="`threshold`"):
        passage_candidates(text, p[:, 0], p[:, 1], threshold=1.5)
    with pytest.raises(ValueError, match="one array per passage"):
        decode_batch([["a", "b"]], [p])


def test_lexical_baseline_picks_the_best_window():
    question = "____宣布在上海建设新工厂"
    passages = ["今天天气很好，大家出门散步。", "特斯拉宣布在上海建设新工厂，投资很大。"]
    answer = lexical_answer(question, passages)
    assert (answer.text, answer.passage, answer.offset) == ("特斯拉", 1, 0)
    assert lexical_answer("问题", ["。，！"]).text == ""
