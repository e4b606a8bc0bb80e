"""Title data: JSONL (plain and .gz) and THUCNews readers, bad-input accounting, the char
vocabulary, teacher-forcing arrays, the lead baseline."""

import gzip
import json
from collections import Counter

import numpy as np
import pytest

from kexue.tasks.title.data import (
    END,
    START,
    UNK,
    CharVocabulary,
    TitleRecord,
    encode_records,
    lead_baseline,
    load_records,
)


def _write_jsonl(path, rows, *, raw_lines=()):
    lines = [json.dumps(r, ensure_ascii=False).encode() for r in rows] + list(raw_lines)
    data = b"\n".join(lines) + b"\n"
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


@pytest.mark.parametrize("name", ["data.jsonl", "data.jsonl.gz"])
def test_jsonl_counts_every_skipped_record(tmp_path, name):
    path = tmp_path / name
    rows = [{"text": "正文一", "headline": "标题一"}, {"text": "正文二", "headline": ""},
            {"text": "正文三"}, {"text": " ", "headline": "标题"},
            {"text": "正文四", "headline": "标题四", "id": "x4"}]
    _write_jsonl(path, rows, raw_lines=[b"{not json", b'{"text": "\xff\xfe", "headline": "t"}'])
    data = load_records(path, source_field="text", target_field="headline")
    assert [(r.id, r.source, r.target) for r in data.records] == [
        ("1", "正文一", "标题一"), ("x4", "正文四", "标题四")]
    assert data.skipped == {"empty title": 1, "missing field": 1, "empty source": 1,
                            "not JSON": 1, "undecodable bytes": 1}
    assert "skipped 1 (not JSON)" in data.summary()


def test_jsonl_without_usable_records_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    _write_jsonl(path, [{"content": "x"}, {"content": "y"}])
    with pytest.raises(ValueError, match=r"bad.jsonl.*line 1: missing field"):
        load_records(path)
    with pytest.raises(FileNotFoundError, match="nowhere.jsonl"):
        load_records(tmp_path / "nowhere.jsonl")


def test_thucnews_folder_layout(tmp_path):
    for category, name, text in (("体育", "1.txt", "球队夺冠\n昨晚的决赛中……\n第二段"),
                                 ("财经", "7.txt", "股市上涨\n今日大盘……"),
                                 ("财经", "8.txt", "只有标题\n")):
        folder = tmp_path / category
        folder.mkdir(exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    data = load_records(tmp_path)
    assert [(r.id, r.target) for r in data.records] == [("体育/1.txt", "球队夺冠"),
                                                        ("财经/7.txt", "股市上涨")]
    assert data.records[0].source == "昨晚的决赛中……\n第二段"
    assert data.skipped == {"empty source": 1}


def test_inews_records_are_the_cleaned_corpus():
    data = load_records("inews:test")
    assert len(data) == data.report["kept"] == 928
    assert sum(r.truncated for r in data.records) > 0
    assert all(r.target and r.source for r in data.records)


def test_vocabulary_counts_characters_like_a_counter():
    texts = ["北京下雨 了", "北京晴", "上海下雨"]
    vocab = CharVocabulary.build(texts, min_count=2)
    counts = Counter(c for t in texts for c in t if not c.isspace())
    expected = sorted((c for c, n in counts.items() if n >= 2), key=lambda c: (-counts[c], c))
    assert vocab.tokens == ["<pad>", "<unk>", "<start>", "<end>", *expected]
    assert vocab.encode("北京 上海") == [vocab.ids["北"], vocab.ids["京"], UNK, UNK]
    assert vocab.decode([vocab.ids["北"], UNK, END, vocab.ids["京"]]) == "北□"
    assert CharVocabulary.from_json(vocab.to_json()).tokens == vocab.tokens
    with pytest.raises(ValueError, match="`min_count`"):
        CharVocabulary.build(texts, min_count=0)


def test_teacher_forcing_arrays():
    vocab = CharVocabulary(["<pad>", "<unk>", "<start>", "<end>", "a", "b", "c"])
    arrays = encode_records([TitleRecord("1", "abcab", "abc")], vocab, max_source_length=4,
                            max_target_length=5)
    assert arrays["source"].tolist() == [[4, 5, 6, 4]]
    assert arrays["l2r_input"].tolist() == [[START, 4, 5, 6, 0, 0]]
    assert arrays["l2r_target"].tolist() == [[4, 5, 6, END, 0, 0]]
    assert arrays["r2l_input"].tolist() == [[END, 6, 5, 4, 0, 0]]
    assert arrays["r2l_target"].tolist() == [[6, 5, 4, START, 0, 0]]
    assert all(a.dtype == np.int32 for a in arrays.values())


def test_lead_baseline():
    assert lead_baseline("  今天北京下雨。明天晴。", 20) == "今天北京下雨"
    assert lead_baseline("没有句号的一段很长的文字", 5) == "没有句号的"
