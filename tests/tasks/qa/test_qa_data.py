"""kexue.tasks.qa.data readers and the cloze construction, on files written here."""

from __future__ import annotations

import json

import pytest

from kexue.tasks.qa import cloze, data


def _write(path, obj):
    path.write_text(json.dumps(obj, ensure_ascii=False), encoding="utf-8")
    return path


WEBQA = [
    {"id": "w1", "question": "中国的首都是哪里", "passages": [
        {"passage": "北京是首都。北京很大。", "answer": "北京"},
        {"passage": "上海是城市。", "answer": ""},
        "没有标注的段落。"]},
    {"id": "w2", "question": "   ", "passages": [{"passage": "x", "answer": "x"}]},
    {"id": "w3", "question": "问题", "passages": []},
    {"id": "w4", "question": "问题", "passages": [{"passage": "   ", "answer": ""}]},
]

SQUAD = {"version": "v2.0", "data": [{"title": "t", "paragraphs": [{
    "context": "红楼梦的作者是曹雪芹。曹雪芹生于南京。",
    "qas": [
        {"id": "s1", "question": "红楼梦的作者是谁", "answers": [
            {"text": "曹雪芹", "answer_start": 7}]},
        {"id": "s2", "question": "作者是谁", "answers": [
            {"text": "曹雪芹", "answer_start": 3}]},          # does not hold its text
        {"id": "s3", "question": "哪年出版", "answers": [], "is_impossible": True},
        {"id": "s4", "question": "", "answers": [{"text": "南京", "answer_start": 16}]},
    ]}]}]}


def test_webqa_labels_every_occurrence_and_counts_skips(tmp_path):
    dataset = data.read_qa(_write(tmp_path / "w.json", WEBQA))
    assert dataset.format == "webqa" and [q.id for q in dataset.questions] == ["w1"]
    q = dataset.questions[0]
    assert [p.spans for p in q.passages] == [((0, 2), (6, 8)), (), ()]
    assert q.answers == ("北京",)
    assert dataset.skipped == {"empty_question": ["w2"], "no_passages": ["w3", "w4"]}
    assert "skipped 2 (no passages): w3, w4" in dataset.skip_report()
    assert dataset.gold() == {"w1": ["北京"]}


def test_squad_given_offsets_every_and_strict(tmp_path):
    path = _write(tmp_path / "s.json", SQUAD)
    given = data.read_qa(path)
    assert given.format == "squad"
    assert [q.id for q in given.questions] == ["s1", "s3"]
    assert given.questions[0].passages[0].spans == ((7, 10),)
    assert given.questions[1].answers == () and not given.questions[1].passages[0].spans
    assert given.skipped == {"answer_start_mismatch": ["s2"], "empty_question": ["s4"]}
    every = data.read_qa(path, label="every")
    assert [q.id for q in every.questions] == ["s1", "s2", "s3"]
    assert every.questions[0].passages[0].spans == ((7, 10), (11, 14))
    with pytest.raises(ValueError, match=r"s\.json: record 's2': answer start mismatch"):
        data.read_qa(path, strict=True)


def test_jsonl_both_record_shapes(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text(
        json.dumps({"id": "a", "question": "谁", "passages": [{"passage": "张三来了",
                                                                "answer": "张三"}]},
                   ensure_ascii=False) + "\n\n"
        + json.dumps({"id": "b", "question": "哪", "context": "在杭州",
                      "answers": [{"text": "杭州", "answer_start": 1}]}, ensure_ascii=False)
        + "\n", encoding="utf-8")
    dataset = data.read_qa(path)
    assert dataset.format == "jsonl"
    assert [q.passages[0].spans for q in dataset.questions] == [((0, 2),), ((1, 3),)]


def test_bad_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.json"):
        data.read_qa(tmp_path / "nope.json")
    odd = _write(tmp_path / "odd.json", {"hello": 1})
    with pytest.raises(ValueError, match="odd.json: in none of the QA formats"):
        data.read_qa(odd)
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"id": 1}\n{oops\n', encoding="utf-8")
    with pytest.raises(ValueError, match="broken.jsonl:2"):
        data.read_qa(broken)
    useless = _write(tmp_path / "useless.json", WEBQA[1:])
    with pytest.raises(ValueError, match="useless.json: no usable question"):
        data.read_qa(useless)
    with pytest.raises(ValueError, match="`label`"):
        data.read_qa(useless, label="all")


def test_writers_round_trip_through_the_readers(tmp_path):
    questions = data.read_qa(_write(tmp_path / "w.json", WEBQA)).questions
    data.write_webqa(questions, tmp_path / "out.webqa.json")
    data.write_squad(questions, tmp_path / "out.squad.json")
    data.write_jsonl(questions, tmp_path / "out.jsonl")
    again = data.read_qa(tmp_path / "out.webqa.json").questions
    assert again == questions
    assert data.read_qa(tmp_path / "out.jsonl").questions == questions
    squad = data.read_qa(tmp_path / "out.squad.json")
    # one SQuAD question per passage; the passages without the answer are unanswerable
    assert [q.id for q in squad.questions] == ["w1#0", "w1#1", "w1#2"]
    assert [q.passages[0].spans for q in squad.questions] == [((0, 2), (6, 8)), (), ()]
    assert [q.answers for q in squad.questions] == [("北京",), (), ()]


def test_split_passages_respects_sentence_ends_and_length():
    text = "甲" * 5 + "。" + "乙" * 3 + "！\n" + "丙" * 12 + "？"
    pieces = cloze.split_passages(text, max_chars=10)
    assert all(len(p) <= 10 for p in pieces)
    assert "".join(pieces) == text.replace("\n", "")
    # two sentences fit in 10 characters; the long one is cut at 10
    assert pieces == ["甲" * 5 + "。" + "乙" * 3 + "！", "丙" * 10, "丙" * 2 + "？"]
    assert cloze.split_passages("甲" * 5 + "。" + "乙" * 5 + "！", max_chars=10) == [
        "甲" * 5 + "。", "乙" * 5 + "！"]


def test_answer_candidates_use_pos_tags():
    assert cloze.answer_candidates("北京大学发布2024年报告") == ["北京大学", "2024年"]
    # a numeral alone must hold a number: "一个" is not an answer
    assert "一个" not in cloze.answer_candidates("我有一个梦想")


class _Article:
    def __init__(self, index, title, content):
        self.index, self.title, self.content = index, title, content


def test_make_cloze_questions_blank_and_label():
    article = _Article(7, "北京大学发布2024年报告", "北京大学今天发布报告。内容很多。"
                       "报告来自2024年的调查。北京大学很有名。")
    questions = cloze.make_cloze_questions([article], split="dev", per_article=3,
                                           max_chars=12)
    assert sorted(q.answers[0] for q in questions) == ["2024年", "北京大学"]
    for q in questions:
        answer = q.answers[0]
        assert q.question == article.title.replace(answer, cloze.BLANK)
        assert q.id.startswith("inews-dev-7-")
        assert len(q.passages) > 1
        for p in q.passages:
            assert list(p.spans) == list(data.every_occurrence(p.text, answer))
        assert any(p.has_answer for p in q.passages)
        assert not all(p.has_answer for p in q.passages)


def test_embedded_cloze_splits_do_not_share_articles():
    train = cloze.load_cloze("train", limit=200)
    test = cloze.load_cloze("test", limit=200)
    stats = cloze.cloze_statistics(test)
    assert stats.questions == len(test) > 0 and stats.passages_mean > 1
    assert 0 < stats.answerable_passage_share < 1
    train_passages = {p.text for q in train.questions for p in q.passages}
    shared = [p.text for q in test.questions for p in q.passages if p.text in train_passages]
    assert len(shared) <= 0.02 * sum(len(q.passages) for q in test.questions)
