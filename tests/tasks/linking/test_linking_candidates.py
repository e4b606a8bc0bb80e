"""Dictionary matching, pruning and restriction against hand-computed small examples."""

import itertools

import pytest

from kexue.tasks.linking.candidates import AliasMatcher, AliasStatistics, CandidateDictionary
from kexue.tasks.linking.data import NIL, Entity, KnowledgeBase, Mention, Text


def _brute_max_match(aliases, text):
    """Forward maximum matching by trying every length at every position."""
    out, i = [], 0
    longest = max(map(len, aliases))
    while i < len(text):
        for n in range(min(longest, len(text) - i), 0, -1):
            if text[i:i + n] in aliases:
                out.append((i, i + n, text[i:i + n]))
                i += n
                break
        else:
            i += 1
    return out


def test_max_match_against_brute_force():
    aliases = {"吉林", "吉林市", "林市", "市长", "长春", "春", "吉"}
    matcher = AliasMatcher(aliases)
    alphabet = "吉林市长春"
    for n in range(1, 7):
        for chars in itertools.product(alphabet, repeat=n):
            text = "".join(chars)
            assert matcher.max_match(text) == _brute_max_match(aliases, text), text


def test_all_matches_and_empty_matcher():
    assert AliasMatcher(["ab", "b"]).all_matches("abb") == [(0, 2, "ab"), (1, 2, "b"),
                                                            (2, 3, "b")]
    assert AliasMatcher([]).max_match("任何") == []


@pytest.fixture()
def example():
    kb = KnowledgeBase([
        Entity("BJ", "北京市", ("北京市", "北京")),
        Entity("CY1", "朝阳区", ("朝阳区", "朝阳")),     # Beijing
        Entity("CY2", "朝阳区", ("朝阳区", "朝阳")),     # Changchun
        Entity("HX", "新华区", ("新华区", "新华")),
    ])
    texts = [
        # 北京 annotated twice (BJ), 北京 inside 北京大学 not annotated once
        Text("1", "北京大学在北京", [Mention("北京", 5, "BJ")]),
        Text("2", "北京朝阳区", [Mention("北京", 0, "BJ"), Mention("朝阳区", 2, "CY1")]),
        # 朝阳区 annotated as CY1 again; 朝阳 (word) matched, not annotated
        Text("3", "朝阳区的朝阳", [Mention("朝阳区", 0, "CY1")]),
        # 新华 matched four times, never annotated; one NIL mention elsewhere
        Text("4", "新华社新华网新华书店新华", [Mention("书店", 8, NIL)]),
        Text("5", "朝阳区", [Mention("朝阳区", 0, "CY2")]),
    ]
    return kb, texts


def test_statistics_by_hand(example):
    kb, texts = example
    stats = AliasStatistics.count(texts, AliasMatcher(kb.alias_index))
    # annotated = gold mentions with that string
    assert stats.annotated == {"北京": 2, "朝阳区": 3, "书店": 1}
    # unannotated = max-matches whose span is not gold: 北京(大学), 朝阳 (text 3), 新华 x4
    assert stats.unannotated == {"北京": 1, "朝阳": 1, "新华": 4}
    assert stats.links == {"北京": {"BJ": 2}, "朝阳区": {"CY1": 2, "CY2": 1}}
    assert stats.ratio("北京") == pytest.approx((1 + 1) / (2 + 1))
    assert stats.ratio("朝阳") == pytest.approx((1 + 1) / (0 + 1))
    assert stats.ratio("新华") == pytest.approx((4 + 1) / (0 + 1))
    assert stats.ratio("北京市") == 1.0


def test_pruning_and_restriction_by_hand(example):
    kb, texts = example
    d = CandidateDictionary.fit(kb, texts, threshold=5)
    assert d.pruned == {"新华"}                       # 5/1 >= 5; 朝阳's 2/1 < 5
    assert CandidateDictionary.fit(kb, texts, threshold=2).pruned == {"新华", "朝阳"}
    assert d.candidates("朝阳区", "pruned") == ["CY1", "CY2"]
    assert d.candidates("朝阳区") == ["CY1"]          # CY2 linked once < 2
    assert d.candidates("北京") == ["BJ"] and d.candidates("北京市") == []
    assert d.aliases("restricted") == ["北京", "朝阳区"]
    assert d.match("新华区北京市", "dictionary") == [(0, 3, "新华区"), (3, 6, "北京市")]
    assert d.match("新华北京市") == [(2, 4, "北京")]
    assert d.most_frequent("朝阳区", "pruned") == "CY1"
    unrestricted = CandidateDictionary.fit(kb, texts, min_count=0)
    assert unrestricted.candidates("北京市") == ["BJ"]


def test_recall_cap_by_hand(example):
    kb, texts = example
    d = CandidateDictionary.fit(kb, texts)
    test = [Text("t", "朝阳区和北京", [Mention("朝阳区", 0, "CY2"), Mention("北京", 4, "BJ")])]
    # CY2 was linked once: restricted away -> 1 of 2 reachable
    assert d.recall_cap(test) == 0.5
    assert d.recall_cap(test, "pruned") == 1.0


def test_json_round_trip(example):
    kb, texts = example
    d = CandidateDictionary.fit(kb, texts, threshold=3, min_count=1)
    again = CandidateDictionary.from_json(d.to_json(), kb)
    assert again.pruned == d.pruned and again.threshold == 3 and again.min_count == 1
    assert again.candidates("朝阳区") == d.candidates("朝阳区") == ["CY1", "CY2"]


def test_bad_arguments(example):
    kb, texts = example
    with pytest.raises(ValueError, match="`threshold` must be"):
        CandidateDictionary.fit(kb, texts, threshold=0)
    with pytest.raises(TypeError, match="`min_count` must be"):
        CandidateDictionary.fit(kb, texts, min_count=1.5)
    with pytest.raises(ValueError, match="`stage` must be one of"):
        CandidateDictionary.fit(kb, texts).aliases("final")
