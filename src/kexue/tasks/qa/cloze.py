"""The embedded cloze reading-comprehension set, built from real iNews articles.

No Chinese QA set is installable offline, so kexue builds one the way the CNN/Daily Mail
set was built (Hermann et al., 2015, "Teaching machines to read and comprehend"): the
question is an article's title with one answer span blanked out, and the passages are the
article's content. The answer is a span of two or more characters that occurs both in the
title and in the content and that jieba's part-of-speech tagger marks as a name, place,
organisation, other proper noun, time or number (consecutive such words are merged:
"蔡"/nr + "英文"/nz is one name; a numeral keeps its measure word: "8次"). Up to
``per_article`` questions per article, each blanking a different span.

The content is cut at sentence ends (。！？ and line breaks) into pieces of at most
``max_chars`` characters (a longer sentence is cut at that length), so a question has
several passages, some without the answer, as in WebQA. The splits are iNews'
train/dev/test after the cleaning and cross-split deduplication of
:func:`kexue.corpora.inews_articles`, so no dev/test article repeats a training one.

Example:
    >>> sentences = split_passages("第一句。第二句很长很长！第三句？", max_chars=8)
    >>> sentences
    ['第一句。', '第二句很长很长！', '第三句？']
"""

from __future__ import annotations

import hashlib
import random
import re
import statistics
from collections.abc import Iterable
from dataclasses import dataclass

from kexue._validation import check_choice, check_int, check_positive_int
from kexue.tasks.qa.data import Passage, QADataset, Question, every_occurrence

__all__ = [
    "BLANK",
    "ENTITY_TAGS",
    "answer_candidates",
    "cloze_statistics",
    "load_cloze",
    "make_cloze_questions",
    "split_passages",
]

#: what replaces the answer in the title.
BLANK = "____"
#: jieba part-of-speech tags of answer words: person (nr, nrt, nrfg), place (ns),
#: organisation (nt), other proper noun (nz), time (t), numeral (m).
ENTITY_TAGS = frozenset({"nr", "nrt", "nrfg", "ns", "nt", "nz", "t", "m"})
_SENTENCE_END = re.compile(r"(?<=[。！？!?\n])")
_DIGITS = re.compile(r"^[0-9０-９.]+$")
_NUMERAL = re.compile(r"[0-9０-９]|[〇零一二两三四五六七八九十百千万亿]{2,}")


def split_passages(content: str, max_chars: int = 200) -> list[str]:
    """Cut ``content`` at sentence ends into pieces of at most ``max_chars`` characters.

    Consecutive sentences are packed into one piece while it stays within ``max_chars``; a
    longer sentence is cut into ``max_chars`` pieces. Pieces are stripped; blank ones
    dropped.
    """
    max_chars = check_positive_int(max_chars, "max_chars")
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(content):
        sentence = sentence.strip()
        if not sentence:
            continue
        while len(sentence) > max_chars:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(sentence[:max_chars])
            sentence = sentence[max_chars:]
        if len(current) + len(sentence) > max_chars:
            pieces.append(current)
            current = ""
        current += sentence
    if current:
        pieces.append(current)
    return [p.strip() for p in pieces if p.strip()]


def _tagged(text: str) -> list[tuple[str, str]]:
    import logging

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return [(pair.word, pair.flag) for pair in jieba.posseg.lcut(text, HMM=False)]


def answer_candidates(title: str) -> list[str]:
    """Entity, time and number spans of ``title`` (>= 2 characters), in order, distinct."""
    spans: list[str] = []
    run: list[str] = []
    numeric = False
    numbers_only = True

    def flush() -> None:
        text = "".join(run).strip()
        # a run of numerals alone must hold a number ("22人", "二十"), not just "一个"
        if numbers_only and not _NUMERAL.search(text):
            text = ""
        if len(text) >= 2 and text not in spans:
            spans.append(text)
        run.clear()

    for word, tag in _tagged(title):
        is_number = tag == "m" or (tag == "eng" and bool(_DIGITS.match(word)))
        if tag in ENTITY_TAGS or is_number:
            if not run:
                numbers_only = True
            run.append(word)
            numeric = is_number
            numbers_only = numbers_only and is_number
        elif tag == "q" and run and numeric:
            run.append(word)
            numeric = False
        else:
            flush()
            numeric = False
    flush()
    return spans


def make_cloze_questions(articles: Iterable, *, split: str, per_article: int = 3,
                         max_chars: int = 200, max_passages: int = 10) -> list[Question]:
    """Cloze questions from articles with ``index``, ``title`` and ``content`` attributes.

    Args:
        articles: e.g. ``kexue.corpora.inews_articles(split).articles``.
        split: used in the question ids (``inews-<split>-<index>-<k>``).
        per_article: questions per article at most (each blanks a different span).
        max_chars: longest passage.
        max_passages: passages per question at most (the first ones of the content); an
            answer that only occurs later gives no question.

    The spans an article uses are drawn at random with a seed derived from the article
    text, so the set is the same on every machine.
    """
    per_article = check_positive_int(per_article, "per_article")
    max_passages = check_positive_int(max_passages, "max_passages")
    questions = []
    for article in articles:
        title, content = article.title, article.content
        passages = split_passages(content, max_chars)[:max_passages]
        if not passages:
            continue
        kept = "\n".join(passages)
        candidates = [c for c in answer_candidates(title)
                      if c in kept and len(title.replace(c, "").strip()) >= 2]
        seed = int.from_bytes(hashlib.sha256((title + content).encode("utf-8")).digest()[:8],
                              "little")
        random.Random(seed).shuffle(candidates)
        for k, answer in enumerate(candidates[:per_article]):
            questions.append(Question(
                id=f"inews-{split}-{article.index}-{k}",
                question=title.replace(answer, BLANK),
                passages=tuple(Passage(p, every_occurrence(p, answer)) for p in passages),
                answers=(answer,)))
    return questions


def load_cloze(split: str = "train", *, per_article: int = 3, max_chars: int = 200,
               max_passages: int = 10, limit: int | None = None) -> QADataset:
    """The cloze set of one iNews split (cleaned and deduplicated iNews articles).

    Args:
        split: ``"train"``, ``"dev"`` or ``"test"``.
        per_article, max_chars, max_passages: see :func:`make_cloze_questions`.
        limit: keep only the first ``limit`` articles (for quick tests).
    """
    from kexue.corpora import inews_articles

    split = check_choice(split, "split", ("train", "dev", "test"))
    limit = check_int(limit, "limit", minimum=1, allow_none=True)
    articles = inews_articles(split).articles
    if limit is not None:
        articles = articles[:limit]
    questions = make_cloze_questions(articles, split=split, per_article=per_article,
                                     max_chars=max_chars, max_passages=max_passages)
    return QADataset(questions, "cloze", f"inews:{split}")


@dataclass
class ClozeStatistics:
    """Sizes of a cloze split (see :func:`cloze_statistics`)."""

    questions: int
    articles: int
    passages_mean: float
    passages_median: float
    single_passage_share: float
    answerable_passage_share: float
    answer_length_median: float
    answer_length_mean: float
    passage_length_mean: float

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def cloze_statistics(dataset: QADataset) -> ClozeStatistics:
    """Questions, passages per question, answerable share, answer and passage lengths."""
    qs = dataset.questions
    counts = [len(q.passages) for q in qs]
    passages = [p for q in qs for p in q.passages]
    lengths = [len(q.answers[0]) for q in qs if q.answers]
    articles = {q.id.rsplit("-", 1)[0] for q in qs}
    return ClozeStatistics(
        questions=len(qs), articles=len(articles),
        passages_mean=statistics.fmean(counts) if counts else 0.0,
        passages_median=statistics.median(counts) if counts else 0.0,
        single_passage_share=sum(c == 1 for c in counts) / len(counts) if counts else 0.0,
        answerable_passage_share=(sum(p.has_answer for p in passages) / len(passages)
                                  if passages else 0.0),
        answer_length_median=statistics.median(lengths) if lengths else 0.0,
        answer_length_mean=statistics.fmean(lengths) if lengths else 0.0,
        passage_length_mean=(statistics.fmean(len(p.text) for p in passages)
                             if passages else 0.0))
