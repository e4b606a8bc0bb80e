"""Word vectors: gensim Word2Vec training with an on-disk cache, and word2vec files.

:func:`train_word_vectors` trains a skip-gram/CBOW model with gensim's ``Word2Vec`` on
tokenised sentences and caches the result in the user's cache directory, keyed on a hash
of the sentences and the settings, so a second call with the same inputs loads the file
instead of training, and any change of the inputs trains again. :func:`load_word_vectors`
reads any word2vec text or binary file (gensim's ``KeyedVectors``). Both return a
:class:`WordVectors`: a word list and a float32 matrix, with lookups that give zeros for
words out of the vocabulary (as the mixed char–word embedding of Su Jianlin's 2019
reading-comprehension model expects).

The cache directory is ``$KEXUE_CACHE_DIR/word_vectors`` when that variable is set, else
``$XDG_CACHE_HOME/kexue/word_vectors``, else ``~/.cache/kexue/word_vectors``.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from kexue._validation import check_bool, check_int, check_positive_int

__all__ = ["WordVectors", "cache_directory", "load_word_vectors", "train_word_vectors"]

#: bumped when the cache key or the training recipe changes incompatibly.
_CACHE_FORMAT = 1


class WordVectors:
    """A vocabulary of words and their vectors (one float32 row per word).

    Args:
        words: the words, in row order (no duplicates).
        vectors: a ``(len(words), dim)`` array.

    Example:
        >>> wv = WordVectors(["北京", "上海"], np.array([[1, 0], [0, 1]]))
        >>> wv.dim, len(wv), "北京" in wv, wv.index("广州")
        (2, 2, True, -1)
        >>> wv.lookup(["上海", "广州"]).tolist()
        [[0.0, 1.0], [0.0, 0.0]]
    """

    def __init__(self, words: Sequence[str], vectors: np.ndarray):
        words = list(words)
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(words):
            raise ValueError(
                f"`vectors` must have shape ({len(words)}, dim); received {vectors.shape}"
            )
        for word in words:
            if not isinstance(word, str) or not word:
                raise ValueError(f"`words` must be non-empty strings; received {word!r}")
        self.words = words
        self.vectors = vectors
        self._index = {word: i for i, word in enumerate(words)}
        if len(self._index) != len(words):
            raise ValueError("`words` must not contain duplicates")

    @property
    def dim(self) -> int:
        """The vector size."""
        return int(self.vectors.shape[1])

    def index(self, word: str) -> int:
        """The row of ``word``, or -1 when it is not in the vocabulary."""
        return self._index.get(word, -1)

    def lookup(self, tokens: Sequence[str]) -> np.ndarray:
        """A ``(len(tokens), dim)`` float32 array; zeros for words out of the vocabulary."""
        out = np.zeros((len(tokens), self.dim), dtype=np.float32)
        for i, token in enumerate(tokens):
            row = self._index.get(token)
            if row is not None:
                out[i] = self.vectors[row]
        return out

    def __contains__(self, word: object) -> bool:
        return word in self._index

    def __len__(self) -> int:
        return len(self.words)

    def __repr__(self) -> str:
        return f"WordVectors({len(self)} words, dim={self.dim})"

    def save(self, path: str | os.PathLike) -> None:
        """Write a word2vec file atomically: binary if ``path`` ends in ``.bin``, else text."""
        from gensim.models import KeyedVectors

        target = Path(path)
        if not target.parent.exists():
            raise FileNotFoundError(f"output directory does not exist: {target.parent}")
        keyed = KeyedVectors(self.dim, dtype=np.float32)
        if len(self):
            keyed.add_vectors(self.words, self.vectors)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp",
                                   dir=target.parent)
        os.close(fd)
        try:
            keyed.save_word2vec_format(tmp, binary=target.suffix == ".bin")
            umask = os.umask(0)  # mkstemp makes 0600 files; give what open() would
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise


def load_word_vectors(path: str | os.PathLike, *, binary: bool | None = None) -> WordVectors:
    """Read a word2vec text or binary file.

    Args:
        path: the file (``.bin``: binary, anything else: text, unless ``binary`` says).
        binary: force the binary (True) or text (False) format; ``None`` guesses from the
            suffix and falls back to binary when a text read fails to decode.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not a word2vec file (the message names it).

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "v.txt"
        >>> _ = path.write_text("2 3\\n你好 1 2 3\\n世界 4 5 6\\n", encoding="utf-8")
        >>> wv = load_word_vectors(path)
        >>> wv.words, wv.lookup(["世界"]).tolist()
        (['你好', '世界'], [[4.0, 5.0, 6.0]])
    """
    from gensim.models import KeyedVectors

    path = Path(path)
    if binary is not None:
        binary = check_bool(binary, "binary")
    if not path.exists():
        raise FileNotFoundError(f"word vector file not found: {path}")
    if path.is_dir():
        raise IsADirectoryError(f"word vector file is a directory: {path}")
    tries = [binary] if binary is not None else (
        [True] if path.suffix == ".bin" else [False, True])
    error: Exception | None = None
    for as_binary in tries:
        try:
            keyed = KeyedVectors.load_word2vec_format(str(path), binary=as_binary)
        except (ValueError, UnicodeDecodeError, EOFError, IndexError, OverflowError,
                MemoryError) as exc:
            error = exc
            continue
        return WordVectors(list(keyed.index_to_key), keyed.vectors)
    kind = "binary" if tries[-1] else "text"
    raise ValueError(f"{path}: not a word2vec {kind} file ({type(error).__name__}: {error})")


def cache_directory() -> Path:
    """Where trained word vectors are cached (see the module docstring)."""
    root = os.environ.get("KEXUE_CACHE_DIR")
    if root:
        return Path(root) / "word_vectors"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "kexue" / "word_vectors"


def _stable_hash(text: str) -> int:
    # gensim seeds each word's initial vector with ``hashfxn(word + str(seed))``; Python's
    # own str hash changes from process to process, which would defeat the seed.
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=4).digest(), "little")


class _Restartable:
    """An iterable that can be walked several times (gensim walks it once per epoch)."""

    def __init__(self, make: Callable[[], Iterable[Sequence[str]]]):
        self._make = make

    def __iter__(self) -> Iterator[list[str]]:
        for sentence in self._make():
            yield list(sentence)


def train_word_vectors(
    sentences: Iterable[Sequence[str]] | Callable[[], Iterable[Sequence[str]]],
    *,
    dim: int = 100,
    window: int = 5,
    min_count: int = 2,
    epochs: int = 5,
    seed: int = 0,
    workers: int = 1,
    cache: bool | str | os.PathLike = True,
    progress: bool = True,
) -> WordVectors:
    """Train word2vec (gensim ``Word2Vec``, skip-gram) on tokenised sentences, with a cache.

    Args:
        sentences: token lists, or a function returning a fresh iterable of them (used for
            large inputs that should not be held in memory; a one-shot iterator is read
            into memory once).
        dim: vector size.
        window: context window.
        min_count: drop words seen fewer times.
        epochs: passes over the sentences.
        seed: random seed (with ``workers=1`` the result is reproducible).
        workers: gensim worker threads.
        cache: ``True``: the user cache directory; a path: that directory; ``False``: no
            cache. The key is a hash of every token, the settings and the gensim version.
        progress: show a progress bar (per epoch) on stderr.

    Example:
        >>> sents = [["我", "爱", "北京"], ["我", "爱", "上海"]] * 20
        >>> wv = train_word_vectors(sents, dim=8, min_count=1, epochs=2, cache=False,
        ...                         progress=False)
        >>> wv.dim, sorted(wv.words)
        (8, ['上海', '北京', '我', '爱'])
    """
    import gensim
    from gensim.models import Word2Vec

    dim = check_positive_int(dim, "dim")
    window = check_positive_int(window, "window")
    min_count = check_positive_int(min_count, "min_count")
    epochs = check_positive_int(epochs, "epochs")
    seed = check_int(seed, "seed", minimum=0)
    workers = check_positive_int(workers, "workers")
    progress = check_bool(progress, "progress")
    if not isinstance(cache, (bool, str, os.PathLike)):
        raise TypeError(f"`cache` must be True, False or a directory; received {cache!r}")

    if callable(sentences):
        corpus: Iterable[Sequence[str]] = _Restartable(sentences)
    elif isinstance(sentences, (list, tuple)):
        corpus = sentences
    else:
        corpus = [list(s) for s in sentences]

    settings = (f"format={_CACHE_FORMAT} gensim={gensim.__version__} dim={dim} "
                f"window={window} min_count={min_count} epochs={epochs} seed={seed} "
                f"workers={workers} sg=1")
    digest = hashlib.sha256(settings.encode("utf-8"))
    total_sentences = 0
    for sentence in corpus:
        if isinstance(sentence, str):
            raise TypeError("`sentences` must hold token lists, not strings; "
                            f"received {sentence[:20]!r}")
        digest.update("\x1f".join(sentence).encode("utf-8"))
        digest.update(b"\x1e")
        total_sentences += 1
    if total_sentences == 0:
        raise ValueError("`sentences` is empty: nothing to train word vectors on")
    key = digest.hexdigest()[:24]

    target: Path | None = None
    if cache is not False:
        folder = cache_directory() if cache is True else Path(cache)
        target = folder / f"w2v-{key}-d{dim}.bin"
        if target.is_file():
            try:
                return load_word_vectors(target, binary=True)
            except ValueError:
                target.unlink()  # a damaged cache entry is rebuilt below

    model = Word2Vec(vector_size=dim, window=window, min_count=min_count, sg=1, seed=seed,
                     workers=workers, hashfxn=_stable_hash)
    model.build_vocab(corpus)
    if len(model.wv) == 0:
        raise ValueError(f"no word occurs at least `min_count`={min_count} times")
    callbacks = [_EpochProgress(epochs)] if progress else []
    try:
        model.train(corpus, total_examples=model.corpus_count, epochs=epochs,
                    callbacks=callbacks)
    finally:
        for callback in callbacks:
            callback.close()
    vectors = WordVectors(list(model.wv.index_to_key), model.wv.vectors)
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        vectors.save(target)
    return vectors


class _EpochProgress:
    """A rich progress bar over Word2Vec epochs (gensim callback protocol)."""

    def __init__(self, epochs: int):
        from rich.console import Console
        from rich.progress import Progress

        self._progress = Progress(console=Console(file=sys.stderr), transient=True)
        self._task = self._progress.add_task("word2vec epochs", total=epochs)
        self._progress.start()

    # gensim calls these hooks by name on every callback object.
    def on_train_begin(self, model: object) -> None:
        pass

    def on_epoch_begin(self, model: object) -> None:
        pass

    def on_batch_begin(self, model: object) -> None:
        pass

    def on_batch_end(self, model: object) -> None:
        pass

    def on_epoch_end(self, model: object) -> None:
        self._progress.advance(self._task)

    def on_train_end(self, model: object) -> None:
        pass

    def close(self) -> None:
        self._progress.stop()
