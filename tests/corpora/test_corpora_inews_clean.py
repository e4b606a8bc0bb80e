"""inews cleaning and cross-split deduplication, checked against a naive re-count."""

import dataclasses
import pickle

import pytest

from kexue.corpora import InewsArticle, inews_articles
from kexue.corpora.inews import inews_dir

# The counts stated in issue 19 (train, dev, test); the naive re-count below must agree.
ISSUE_COUNTS = {
    "empty_content": (57, 5, 9),
    "underscore": (743, 151, 125),
    "truncated_title": (454, 85, 73),
    "duplicate_of_train": (0, 37, 33),
}


def _raw(split):
    # Independent of kexue's safe loader: the files hold only lists of str/int.
    with open(inews_dir() / f"{split}.pkl", "rb") as handle:
        return pickle.load(handle)


def _naive(split):
    titles, contents, labels = _raw(split)
    train_titles, train_contents, _ = _raw("train")
    seen_titles = set(train_titles) if split != "train" else set()
    seen_contents = {c for c in train_contents if c.strip()} if split != "train" else set()
    counts = dict.fromkeys(("empty_content", "prefix", "underscore", "truncated_title",
                            "duplicate_of_train"), 0)
    kept = []
    for i in range(len(titles)):
        title, content = titles[i], contents[i]
        empty = content.strip() == ""
        counts["empty_content"] += empty
        counts["underscore"] += "_" in title
        prefix = title.strip() != "" and not empty and content[:len(title)] == title
        counts["prefix"] += prefix
        new_title = title
        if "_" in title and len(title[:title.index("_")].strip()) >= 4:
            new_title = title[:title.index("_")].strip()
        truncated = new_title.rstrip()[-1:] == "…" or new_title.rstrip()[-3:] == "..."
        counts["truncated_title"] += truncated
        dup = content in seen_contents or title in seen_titles
        counts["duplicate_of_train"] += dup
        body = content[len(title):] if prefix else content
        if not prefix and not empty and new_title != title \
                and content[:len(new_title)] == new_title:
            body = content[len(new_title):]
        body = body.replace("\\n", "\n").strip()
        if empty or dup or title.strip() == "" or body == "":
            continue
        kept.append((i, new_title, body, labels[i], truncated))
    return counts, kept


@pytest.mark.parametrize("position,split", [(0, "train"), (1, "dev"), (2, "test")])
def test_counts_match_naive_recount_and_issue(position, split):
    articles = inews_articles(split)
    counts, kept = _naive(split)
    report = articles.report
    assert report["empty_content"] == counts["empty_content"] \
        == ISSUE_COUNTS["empty_content"][position]
    assert report["site_suffix_removed"] + report["underscore_kept"] == counts["underscore"] \
        == ISSUE_COUNTS["underscore"][position]
    assert report["truncated_title"] == counts["truncated_title"] \
        == ISSUE_COUNTS["truncated_title"][position]
    assert report["duplicate_of_train"] == counts["duplicate_of_train"] \
        == ISSUE_COUNTS["duplicate_of_train"][position]
    assert report["title_prefix_stripped"] == counts["prefix"]
    got = [(a.index, a.title, a.content, a.label, a.truncated) for a in articles.articles]
    assert got == kept
    assert report["kept"] == len(kept) and report["shipped"] == len(_raw(split)[0])


def test_prefix_count_matches_issue_except_blank_title():
    # The issue's 390 / 72 / 77 counts contents starting with their title; dev's 72 includes
    # one blank title (which every content "starts with"), reported as empty_title instead.
    for split, expected in (("train", 390), ("dev", 72), ("test", 77)):
        titles, contents, _ = _raw(split)
        assert sum(c.startswith(t) for t, c in zip(titles, contents, strict=True)) == expected
        report = inews_articles(split).report
        assert report["title_prefix_stripped"] + report["empty_title"] == expected


def test_cleaned_articles_have_no_defects():
    for split in ("train", "dev", "test"):
        for article in inews_articles(split).articles:
            assert article.content and article.title.strip()
            assert "\\n" not in article.content
        # a few contents repeat their title twice; well under 1% still begin with it
        starts = [a.content.startswith(a.title) for a in inews_articles(split).articles]
        assert sum(starts) < 0.005 * len(starts)


def test_no_cleaning_keeps_shipped_text():
    titles, contents, _ = _raw("dev")
    raw = inews_articles("dev", clean=False, deduplicate=False)
    for article in raw.articles:
        assert article.title == titles[article.index]
        assert article.content == contents[article.index].replace("\\n", "\n")
    assert len(raw) == 999 - 5 - 1  # empty contents and the blank title are always skipped
    assert len(inews_articles("dev", deduplicate=False)) > len(inews_articles("dev"))


def test_article_is_frozen_and_summary_names_rules():
    articles = inews_articles("test")
    with pytest.raises(dataclasses.FrozenInstanceError):
        articles.articles[0].title = "x"
    assert isinstance(articles.articles[0], InewsArticle)
    text = articles.summary()
    assert "inews:test" in text and "duplicate of train: 33" in text


def test_bad_arguments():
    with pytest.raises(ValueError, match="`split`"):
        inews_articles("valid")
    with pytest.raises(TypeError, match="`clean`"):
        inews_articles("dev", clean=1)
