"""Character ROUGE against rouge-score (char tokenizer) and a brute-force LCS."""

import itertools
import random

import pytest
from rouge_score import rouge_scorer

from kexue.metrics.rouge import (
    char_tokens,
    positional_accuracy,
    rouge_l,
    rouge_n,
    rouge_scores,
    title_scores,
)


class _CharTokenizer:
    def tokenize(self, text):
        return [c for c in text.lower() if not c.isspace()]


def _random_titles(seed, count=60):
    rng = random.Random(seed)
    alphabet = "北京上海下雨天气经济增长5.7%Ab c"
    return [("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))),
             "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12))))
            for _ in range(count)]


def _brute_lcs(a, b):
    # longest common subsequence by trying every subsequence of the shorter string
    short, long_ = (a, b) if len(a) <= len(b) else (b, a)
    for size in range(len(short), 0, -1):
        for picks in itertools.combinations(range(len(short)), size):
            it = iter(long_)
            if all(short[i] in it for i in picks):
                return size
    return 0


def test_matches_rouge_score_with_char_tokenizer():
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], tokenizer=_CharTokenizer())
    pairs = _random_titles(0)
    for prediction, reference in pairs:
        expected = scorer.score(reference, prediction)
        assert rouge_n(prediction, reference, 1) == pytest.approx(expected["rouge1"].fmeasure)
        assert rouge_n(prediction, reference, 2) == pytest.approx(expected["rouge2"].fmeasure)
        assert rouge_l(prediction, reference) == pytest.approx(expected["rougeL"].fmeasure)
    means = rouge_scores([p for p, _ in pairs], [r for _, r in pairs])
    mean_l = sum(scorer.score(r, p)["rougeL"].fmeasure for p, r in pairs) / len(pairs)
    assert means["rouge_l"] == pytest.approx(mean_l)


def test_lcs_matches_brute_force():
    for prediction, reference in _random_titles(1, 40):
        p, r = char_tokens(prediction), char_tokens(reference)
        lcs = _brute_lcs(p, r)
        expected = 0.0 if lcs == 0 else 2 * lcs / (len(p) + len(r))
        assert rouge_l(prediction, reference) == pytest.approx(expected)


def test_conventions():
    assert char_tokens("A b\u3000C") == ["a", "b", "c"]
    assert rouge_l("GDP增长5.7%", "gdp 增长 5.7%") == 1.0  # no split on ".", case, spaces
    assert rouge_n("", "北京", 1) == 0.0 and rouge_l("北京", "") == 0.0


def test_positional_accuracy_counts_short_titles_as_wrong():
    predictions = ["北京下雨", "上海", "abcdefg"]
    references = ["北京下雪", "上海天气", "xbcdefg"]
    got = positional_accuracy(predictions, references)
    # first: [1,1,1,0] + [1,1,0,0] + [0,1,1,1]; last: [0,1,1,1] + [0,0,0,0] + [1,1,1,1]
    assert got == {"first": pytest.approx(8 / 12), "last": pytest.approx(7 / 12)}
    scores = title_scores(predictions, references)
    assert scores["first4"] == got["first"] and scores["titles"] == 3


def test_errors():
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        rouge_scores(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="`n`"):
        rouge_n("a", "a", 0)
    with pytest.raises(ValueError, match="no titles"):
        rouge_scores([], [])
