"""kexue.metrics.qa against hand-computed values of the official scripts' rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kexue.metrics import qa

SHARED = Path("/work/shared/data/sogouqa")


# --- SogouQA ------------------------------------------------------------------------------
def test_sogou_punctuation_matches_the_official_file_as_python2_reads_it():
    path = SHARED / "punctuation.txt"
    if not path.exists():
        pytest.skip("shared SogouQA data not present")
    marks = {line.strip(" \t\r\n\x0b\x0c") for line in
             path.read_text(encoding="utf-8").split("\n")} - {""}
    assert marks == set(qa.SOGOU_PUNCTUATION)
    assert "\u3000" in qa.SOGOU_PUNCTUATION and " " not in qa.SOGOU_PUNCTUATION


def test_sogou_normalize_rules():
    # full width -> half width happens before lower-casing; ideographic space is a space
    assert qa.sogou_normalize("ＡＢＣ\u3000d") == "abcd"
    # only ASCII letters are lower-cased (the script lower-cases UTF-8 byte strings)
    assert qa.sogou_normalize("ÉCOLE") == "École"
    assert qa.sogou_normalize("《红楼梦》第1回") == "红楼梦第1回"
    # "…" is a mark; tabs and newlines are removed, a non-breaking space is not
    assert qa.sogou_normalize("a…b\tc\nd\xa0e") == "abcd\xa0e"


def test_sogou_exact_match_cases():
    gold = qa.SogouGold("巴西 俄罗斯 印度", ("巴西俄罗斯印度",))
    assert qa.sogou_exact_match("巴西俄罗斯印度", gold) == 1      # normalised variant
    assert qa.sogou_exact_match("印度、巴西、俄罗斯", gold) == 1  # same pieces, any order
    assert qa.sogou_exact_match("巴西 印度", gold) == 0
    assert qa.sogou_exact_match("   ", gold) == 0                  # empty scores 0
    raw = qa.SogouGold("华特·迪士尼", ("华特.迪士尼",))
    assert qa.sogou_exact_match("华特迪士尼", raw) == 1            # "." and "·" are marks
    assert qa.sogou_exact_match("ＷＡＬＴ", qa.SogouGold("walt", ("walt",))) == 1


def test_sogou_char_f1_hand_computed():
    gold = qa.SogouGold("战国时期", ("战国", "战国时", "战国时期"))
    # "战国时代" vs 战国时期: 3 of 4 chars match both ways -> p = r = 0.75; vs 战国时:
    # p = 3/4, r = 1 -> f1 = 6/7, the best, reported with that variant
    f1, precision, recall, variant = qa.sogou_char_f1("战国时代", gold)
    assert variant == "战国时"
    assert f1 == pytest.approx(6 / 7) and precision == 0.75 and recall == 1.0
    # each gold character matches once: "哈哈哈" vs "哈" -> p = 1/3, r = 1 -> 0.5
    assert qa.sogou_char_f1("哈哈哈", qa.SogouGold("哈", ("哈",)))[0] == pytest.approx(0.5)
    assert qa.sogou_char_f1("毫无关系", gold) == (0.0, 0.0, 0.0, None)
    assert qa.sogou_char_f1("", gold) == (0.0, 0.0, 0.0, None)


def test_sogou_score_totals_missing_and_extra():
    gold = {"1": qa.SogouGold("林海音", ("林海音", "林含英")),
            "2": qa.SogouGold("10年", ("10年", "十年")),
            "3": qa.SogouGold("巴西", ("巴西",))}
    result = qa.sogou_score({"1": "林海音", "2": "10", "9": "x"}, gold)
    # the predicted questions are scored, as in the official script (q3 is only reported):
    # q1: 1 / f1 1; q2: 0 / f1 = 2*(1*2/3)/(1+2/3) = 0.8
    assert result.scores["accuracy"] == pytest.approx(1 / 2)
    assert result.scores["f1"] == pytest.approx(1.8 / 2)
    assert result.scores["final"] == pytest.approx((1 / 2 + 0.9) / 2)
    assert result.missing_ids == ["3"] and result.extra_ids == ["9"] and result.total == 2
    line = result.lines[1]
    assert (line["correct"], line["precision"], line["recall"], line["gold"]) == (0, 1.0,
                                                                                 2 / 3, "10年")


def test_sogou_gold_file_and_official_sample_lines(tmp_path):
    path = tmp_path / "gold.tsv"
    path.write_text("10000\t林海音\t林海音|林含英\n10001\t巴西 俄罗斯\t巴西俄罗斯|巴西 俄罗斯\n",
                    encoding="utf-8")
    gold = qa.load_sogou_gold(path)
    assert gold["10001"].expanded == ("巴西俄罗斯", "巴西 俄罗斯")
    result = qa.sogou_score({"10000": "林含英", "10001": "巴西 俄罗斯"}, gold)
    assert result.scores["final"] == 1.0
    bad = tmp_path / "bad.tsv"
    bad.write_text("1\t2\t3\nonly\ttwo\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.tsv:2"):
        qa.load_sogou_gold(bad)


def test_sogou_shared_gold_file_scores_its_own_answers_perfectly():
    path = SHARED / "qid_answer_expand.tsv"
    if not path.exists():
        pytest.skip("shared SogouQA data not present")
    gold = qa.load_sogou_gold(path)
    assert len(gold) == 30000
    some = dict(list(gold.items())[:500])
    result = qa.sogou_score({k: v.standard for k, v in some.items()}, some)
    assert result.scores["accuracy"] == 1.0 and result.scores["f1"] == 1.0


# --- CMRC2018 -----------------------------------------------------------------------------
def test_cmrc_segmentation():
    assert qa.cmrc_segment("我在2018年去了New York.") == [
        "我", "在", "2018", "年", "去", "了", "new", "york", "."]
    # with punctuation removal, a mark neither becomes a token nor ends an English run
    assert qa.cmrc_segment("a-b，中", remove_punctuation=True) == ["ab", "中"]
    assert qa.cmrc_segment("a-b，中") == ["a", "-", "b", "，", "中"]
    # a lone "…" is not in the list ("……" is one entry); ASCII "," is not either
    assert qa.cmrc_segment("中…", remove_punctuation=True) == ["中", "…"]


def test_cmrc_f1_uses_the_longest_common_substring():
    # tokens 北 京 大 学 / 北 京 的 大 学: LCS substring 2 -> p 2/4, r 2/5 -> 4/9
    assert qa.cmrc_f1("北京大学", ["北京的大学"]) == pytest.approx(4 / 9)
    # a bag-of-tokens F1 would give 1.0 here; the substring gives 1/3 each way
    assert qa.cmrc_f1("甲乙丙", ["丙乙甲"]) == pytest.approx(1 / 3)
    assert qa.cmrc_f1("北京大学", ["清华", "北京大学。"]) == 1.0
    assert qa.cmrc_f1("无关", ["北京"]) == 0.0
    assert qa.cmrc_f1("", []) == 1.0 and qa.cmrc_f1("x", []) == 0.0


def test_cmrc_em_removes_marks_but_keeps_spaces():
    assert qa.cmrc_em("《红楼梦》", ["红楼梦"]) == 1
    assert qa.cmrc_em("New York", ["new york"]) == 1
    assert qa.cmrc_em("NewYork", ["new york"]) == 0
    assert qa.cmrc_em("红楼梦…", ["红楼梦"]) == 0


def test_cmrc_score_totals():
    gold = {"a": ["北京的大学"], "b": ["红楼梦"], "c": ["三"]}
    result = qa.cmrc_score({"a": "北京大学", "b": "《红楼梦》", "z": "?"}, gold)
    f1 = 100 * (4 / 9 + 1 + 0) / 3
    em = 100 * (0 + 1 + 0) / 3
    assert result.scores["f1"] == pytest.approx(f1)
    assert result.scores["em"] == pytest.approx(em)
    assert result.scores["average"] == pytest.approx((f1 + em) / 2)
    assert result.missing_ids == ["c"] and result.extra_ids == ["z"]


# --- SQuAD --------------------------------------------------------------------------------
def test_squad_v11_hand_computed():
    assert qa.squad_normalize("The Cat, a  hat.") == "cat hat"
    assert qa.squad_em("the cat", ["Cat!"], "1.1") == 1
    # pred [big, red, dog], gold [red, dog, barked]: 2 common -> p = r = 2/3
    assert qa.squad_f1("a big red dog", ["red dog barked"], "1.1") == pytest.approx(2 / 3)
    assert qa.squad_f1("", ["x"], "1.1") == 0.0
    # whitespace tokens: Chinese without spaces is one token, so F1 equals EM
    assert qa.squad_f1("北京大学", ["北京的大学"], "1.1") == 0.0


def test_squad_v2_no_answer_handling():
    assert qa.squad_em("", [], "2.0") == 1 and qa.squad_f1("", [], "2.0") == 1.0
    assert qa.squad_em("paris", [], "2.0") == 0 and qa.squad_f1("paris", [], "2.0") == 0.0
    assert qa.squad_f1("", ["Paris"], "2.0") == 0.0
    # an answer that normalises to nothing counts as no answer
    assert qa.squad_em("", ["the"], "2.0") == 1
    result = qa.squad_score({"1": "Paris", "2": "", "3": "London"},
                            {"1": ["paris"], "2": [], "3": []}, version="2.0")
    assert result.scores["exact"] == pytest.approx(200 / 3)
    assert result.scores["HasAns_exact"] == 100.0 and result.scores["NoAns_exact"] == 50.0
    assert result.scores["NoAns_total"] == 2.0
    with pytest.raises(ValueError, match="version"):
        qa.squad_score({}, {}, version="3")


# --- files and dispatch -------------------------------------------------------------------
def test_read_predictions_three_formats(tmp_path):
    (tmp_path / "p.json").write_text(json.dumps({"a": "x", "b": ""}), encoding="utf-8")
    (tmp_path / "p.jsonl").write_text('{"id": "a", "answer": "x"}\n{"id": 2, "answer": null}\n',
                                      encoding="utf-8")
    (tmp_path / "p.tsv").write_text("a\tx\nb\t\n", encoding="utf-8")
    assert qa.read_predictions(tmp_path / "p.json") == {"a": "x", "b": ""}
    assert qa.read_predictions(tmp_path / "p.jsonl") == {"a": "x", "2": ""}
    assert qa.read_predictions(tmp_path / "p.tsv") == {"a": "x", "b": ""}


def test_read_predictions_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tx\nno tab here\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.tsv:2"):
        qa.read_predictions(bad)
    twice = tmp_path / "twice.tsv"
    twice.write_text("a\tx\na\ty\n", encoding="utf-8")
    with pytest.raises(ValueError, match="twice.tsv:2: id 'a'"):
        qa.read_predictions(twice)
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match="list.json"):
        qa.read_predictions(listed)


def test_score_dispatch_and_validation():
    assert qa.score({"q": "x"}, {"q": ["x"]}, "cmrc").scores["em"] == 100.0
    with pytest.raises(ValueError, match="`metric`"):
        qa.score({}, {}, "bleu")
    with pytest.raises(TypeError, match="prediction for 'q'"):
        qa.score({"q": 3}, {"q": ["x"]}, "cmrc")
