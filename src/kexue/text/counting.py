"""Exact word-frequency counting over large corpora, on one machine or a Dask cluster.

The method follows Su Jianlin, "什么时候多进程的加速比可以大于1?" (kexue.fm/archives/7031,
2019): every worker counts its part of the corpus into a small :class:`~collections.Counter`
and the caller merges the counters. Unlike the article, the workers read their parts
themselves (shards: byte ranges of plain files cut at line boundaries, whole compressed
files, runs of documents of embedded corpora), so the caller neither reads nor ships text;
only standard input is read by the caller and shipped in batches of lines. Unlike the
article's ``parallel_apply`` the pool here (:func:`kexue.parallel.parallel_map`) works under
every start method, bounds the work in flight and turns a worker failure into an error.

Exactness contract: whatever the engine, worker count and ordering, the counts equal those
of :func:`naive_count`, the serial loop
``for line in lines: for tok in tokenize(line): if tok.strip(): counts[tok] += 1``.
"""

from __future__ import annotations

import os
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, islice, repeat
from operator import add

from kexue._validation import check_bool, check_choice, check_int, check_positive_int
from kexue.corpora import Corpus, ReadStats, open_corpus
from kexue.corpora.reading import DEFAULT_MAX_LINE_CHARS
from kexue.corpora.sources import Shard
from kexue.parallel import WorkerError
from kexue.text.tokenizers import Tokenizer

#: counting engines.
ENGINES = ("local", "dask")


def naive_count(lines: Iterable[str], tokenize: Callable[[str], Iterable[str]]) -> dict[str, int]:
    """The reference: the article's serial loop, one dictionary update per token.

    Example:
        >>> naive_count(["a b a", " "], str.split)
        {'a': 2, 'b': 1}
    """
    counts: dict[str, int] = {}
    for line in lines:
        for token in tokenize(line):
            if token.strip():
                counts[token] = counts.get(token, 0) + 1
    return counts


def count_batch(tokenizer: Tokenizer, lines: Sequence[str]) -> tuple[Counter, int, int]:
    """Count one batch of lines; returns ``(counts, lines, characters)``. Runs in the workers.

    Tokens that are empty or whitespace-only are not counted.

    Example:
        >>> count_batch(Tokenizer("char"), ["ab a", ""])
        (Counter({'a': 2, 'b': 1}), 2, 4)
    """
    tokenize = tokenizer.function
    counts = Counter(filter(str.strip, chain.from_iterable(map(tokenize, lines))))
    return counts, len(lines), sum(map(len, lines))


def batches(lines: Iterable[str], *, batch_lines: int = 4000,
            batch_chars: int = 200_000) -> Iterator[list[str]]:
    """Group lines into lists of at most ``batch_lines`` lines and about ``batch_chars``
    characters (a batch closes once it reaches either).

    Example:
        >>> list(batches(["aa", "bb", "cc"], batch_lines=2))
        [['aa', 'bb'], ['cc']]
    """
    batch: list[str] = []
    size = 0
    for line in lines:
        batch.append(line)
        size += len(line)
        if len(batch) >= batch_lines or size >= batch_chars:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


@dataclass
class WordCounts:
    """The result of :func:`count_words`.

    Attributes:
        counts: token -> count (tokens below ``min_count`` removed).
        stats: what was read (documents, lines, characters, split lines, bad lines).
        tokens: tokens counted (before ``min_count``).
        vocabulary: distinct tokens counted (before ``min_count``).
        seconds: wall time of the count.
        tokenizer, engine, workers: how it was counted.
    """

    counts: Counter
    stats: ReadStats
    tokens: int
    vocabulary: int
    seconds: float
    tokenizer: str = "jieba"
    engine: str = "local"
    workers: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def chars_per_second(self) -> float:
        return self.stats.characters / self.seconds if self.seconds > 0 else float("inf")

    def sorted_items(self) -> list[tuple[str, int]]:
        """``(token, count)`` pairs by count descending, then token."""
        return sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))

    def top(self, k: int) -> list[tuple[str, int]]:
        """The ``k`` most frequent tokens (ties broken by token)."""
        import heapq

        return heapq.nsmallest(k, self.counts.items(), key=lambda item: (-item[1], item[0]))

    def summary(self) -> dict:
        """The run's figures as a JSON-ready dict."""
        return {
            "documents": self.stats.documents,
            "lines": self.stats.lines,
            "characters": self.stats.characters,
            "tokens": self.tokens,
            "vocabulary": self.vocabulary,
            "reported": len(self.counts),
            "seconds": round(self.seconds, 3),
            "chars_per_second": round(self.chars_per_second, 1),
            "tokenizer": self.tokenizer,
            "engine": self.engine,
            "workers": self.workers,
            "split_lines": self.stats.split_lines,
            "hard_splits": self.stats.hard_splits,
            "bad_lines": dict(self.stats.bad_lines),
        }


def merge_counts(total: dict, counts: dict) -> None:
    """Add ``counts`` into ``total`` in place (``Counter.update`` without its Python loop:
    the sums are built by C-level ``map`` and stored by one ``dict.update``).

    Example:
        >>> total = Counter(a=1, b=2)
        >>> merge_counts(total, Counter(b=3, c=1))
        >>> total
        Counter({'b': 5, 'a': 1, 'c': 1})
    """
    keys = counts.keys()
    sums = map(add, map(total.get, keys, repeat(0)), counts.values())
    dict.update(total, zip(keys, sums, strict=True))


class InputError(ValueError):
    """A worker could not read its shard (a bad record, invalid UTF-8 under ``"strict"``, a
    corrupt compressed file); ``count_words`` raises it as a plain ``ValueError`` message."""


def _guarded(lines: Iterable[str]) -> Iterator[str]:
    # Tells reading errors apart from tokenizer errors, which reach the caller as WorkerError.
    try:
        yield from lines
    except ValueError as exc:
        raise InputError(str(exc)) from None


def count_shard(tokenizer: Tokenizer, work: Shard | tuple[Shard, ...] | list[str], *,
                encoding_errors: str = "replace",
                max_line_chars: int = DEFAULT_MAX_LINE_CHARS) -> tuple[Counter, ReadStats | None,
                                                                       int, int]:
    """Count one unit of work in a worker: a :class:`~kexue.corpora.sources.Shard` or a
    group (tuple) of shards it reads itself, counted into one Counter, or a batch (list) of
    lines the caller read (standard input).

    Returns:
        ``(counts, stats, lines, characters)``; ``stats`` is the shards'
        :class:`~kexue.corpora.ReadStats` (``None`` for a batch: the caller counted it).

    Raises:
        InputError: a shard holds a bad record; the message names the file and line.

    Example:
        >>> from kexue.corpora.sources import InewsSource, Shard
        >>> counts, stats, lines, characters = count_shard(
        ...     Tokenizer("char"), Shard(InewsSource(("dev",)), 0, 50))
        >>> stats.documents, lines == stats.lines, counts["，"] > 0
        (19, True, True)
    """
    if isinstance(work, list):
        counts, lines, characters = count_batch(tokenizer, work)
        return counts, None, lines, characters
    stats = ReadStats()
    counts: Counter = Counter()
    for shard in (work,) if isinstance(work, Shard) else work:
        lines = _guarded(shard.lines(stats, encoding_errors=encoding_errors,
                                     max_line_chars=max_line_chars))
        # Counter.update on an iterable counts in C (collections._count_elements).
        counts.update(filter(str.strip, chain.from_iterable(map(tokenizer.function, lines))))
    return counts, stats, stats.lines, stats.characters


def group_shards(shards: list[Shard], groups: int, *, ordered: bool = False,
                 workers: int | None = None) -> list[tuple[Shard, ...]]:
    """Pack shards into groups (one task each).

    With ``workers``, guided self-scheduling: whole-file shards (a compressed file, which
    cannot be cut) largest first, then byte ranges largest first; each group takes shards
    until it holds ``remaining / (2 × workers)`` bytes (at most ``total / groups``), so the
    groups shrink as the work runs out and the last ones are single small shards: the
    workers finish together instead of one waiting for another's last large group. Without
    ``workers``, at most ``groups`` groups of about equal size: largest shard first into the
    least loaded group (LPT), groups largest first. With ``ordered``, ``groups`` runs of
    consecutive shards.

    Example:
        >>> from kexue.corpora.sources import InewsSource, Shard
        >>> shards = [Shard(InewsSource(), i, 5, size) for i, size in enumerate([5, 1, 4, 2, 3])]
        >>> [[s.size for s in group] for group in group_shards(shards, 2)]
        [[5, 2, 1], [4, 3]]
        >>> [[s.size for s in group] for group in group_shards(shards, 2, ordered=True)]
        [[5, 1, 4], [2, 3]]
        >>> [[s.size for s in group] for group in group_shards(shards * 2, 2, workers=1)]
        [[5, 5, 4], [4, 3], [3], [2], [2], [1], [1]]
    """
    import heapq

    groups = max(1, min(groups, len(shards)))
    total = sum(shard.size for shard in shards) or 1
    if ordered:
        runs: list[list[Shard]] = [[]]
        done = 0
        for shard in shards:
            if runs[-1] and done >= total * len(runs) / groups:
                runs.append([])
            runs[-1].append(shard)
            done += shard.size
        return [tuple(run) for run in runs]
    if workers is not None:
        queue = sorted(shards, key=lambda shard: (shard.stop is not None, -shard.size))
        largest = total / groups
        remaining = total
        guided: list[tuple[Shard, ...]] = []
        index = 0
        while index < len(queue):
            target = min(remaining / (2 * max(workers, 1)), largest)
            group, load = [], 0
            while index < len(queue) and (not group or load + queue[index].size <= target):
                group.append(queue[index])
                load += queue[index].size
                index += 1
            remaining -= load
            guided.append(tuple(group))
        return guided
    bins: list[list[Shard]] = [[] for _ in range(groups)]
    loads = [(0, index) for index in range(groups)]
    for shard in sorted(shards, key=lambda shard: -shard.size):
        load, index = heapq.heappop(loads)
        bins[index].append(shard)
        heapq.heappush(loads, (load + shard.size, index))
    sizes = {index: load for load, index in loads}
    order = sorted(range(groups), key=lambda index: -sizes[index])
    return [tuple(bins[index]) for index in order if bins[index]]


def plan_work(corpus: Corpus, *, workers: int, shard_bytes: int | None = None,
              ordered: bool = False, batch_lines: int = 4000,
              batch_chars: int = 200_000) -> Iterator[tuple[Shard, ...] | list[str]]:
    """The units of work for ``corpus``: groups of shards of every shardable source, and
    batches of the lines of the others (read here, lazily, updating ``corpus.stats``).

    Shards are about ``shard_bytes`` long; by default ``total / (64 × workers)`` clamped to
    1-64 MiB. Unless ``ordered``, they are packed by guided self-scheduling
    (:func:`group_shards` with ``workers``): each group a quarter (for 2 workers) of what
    remains, at most 1 GiB, so the first groups are large and the last single shards. A
    worker counts a whole group into one Counter, so the caller merges about
    ``2 × workers × ln(64 × workers)`` counters (20–25 for 2 workers) however large the
    corpus (a group's vocabulary grows much more slowly than the group), and the small last
    groups let the workers finish together. With ``ordered``, ``max(4 × workers,
    total / 1 GiB)`` runs of consecutive shards.

    Example:
        >>> work = list(plan_work(open_corpus("reviews"), workers=1, shard_bytes=1 << 20,
        ...                       ordered=True))
        >>> len(work), [(shard.source.name, shard.start) for shard in work[0]]
        (4, [('reviews:neg', 0), ('reviews:neg', 1048661)])
    """
    sources = corpus.sources
    workers = max(workers, 1)
    sizes = []
    for source in sources:
        whole = source.shards(1 << 62)
        sizes.append(sum(shard.size for shard in whole) if whole else 0)
    total = sum(sizes)
    if shard_bytes is None:
        shard_bytes = min(max(total // (64 * workers), 1 << 20), 64 << 20)
    groups = max(4 * workers, -(-total // (1 << 30)))
    shards: list[Shard] = []
    for source in sources:
        planned = source.shards(shard_bytes)
        if planned is None:
            if ordered and shards:
                yield from group_shards(shards, groups, ordered=True)
                shards = []
            yield from batches(source.lines(corpus.stats, encoding_errors=corpus.encoding_errors,
                                            max_line_chars=corpus.max_line_chars),
                               batch_lines=batch_lines, batch_chars=batch_chars)
        else:
            shards.extend(planned)
    if shards:
        if ordered:
            yield from group_shards(shards, groups, ordered=True)
        else:
            yield from group_shards(shards, -(-total // (1 << 30)), workers=workers)


def _local_results(func: Callable, work: Iterable, tokenizer: Tokenizer, *, workers: int,
                   ordered: bool, start_method: str | None,
                   max_in_flight: int | None) -> Iterator:
    import multiprocessing

    from kexue.parallel import parallel_map

    if workers > 0 and (start_method or multiprocessing.get_start_method()) == "fork":
        # Forked workers inherit a tokenizer built here: one dictionary load, not one each.
        tokenizer.function  # noqa: B018
    yield from parallel_map(func, work, workers=workers, ordered=ordered,
                            start_method=start_method, max_in_flight=max_in_flight)


def _dask_results(func: Callable, work: Iterable, *, workers: int, ordered: bool,
                  scheduler: str | None, client: object | None,
                  max_in_flight: int | None) -> Iterator:
    import logging

    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise ValueError("engine 'dask' needs dask.distributed: pip install "
                         "'kexue[dask]'") from None
    cluster = None
    own_client = client is None
    if own_client:
        if scheduler:
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise ValueError(f"scheduler {scheduler!r}: cannot connect ({exc})") from None
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0", silence_logs=logging.ERROR)
            client = Client(cluster)
    try:
        if max_in_flight is None:
            n_threads = sum(client.nthreads().values()) or 1
            max_in_flight = 2 * n_threads
        submitted: dict = {}

        def submit(index: int, item):
            future = client.submit(func, item, pure=False)
            submitted[future.key] = index
            return future

        def collect(future):
            index = submitted.pop(future.key)
            try:
                return future.result()
            except InputError:
                raise
            except Exception as exc:
                import traceback

                from kexue.parallel import WorkerError

                text = "".join(traceback.format_exception(exc))
                raise WorkerError(index, text) from exc
            finally:
                future.release()

        if ordered:
            pending: deque = deque()
            for index, item in enumerate(work):
                pending.append(submit(index, item))
                if len(pending) >= max_in_flight:
                    yield collect(pending.popleft())
            while pending:
                yield collect(pending.popleft())
        else:
            running = as_completed()
            for index, item in enumerate(work):
                running.add(submit(index, item))
                if running.count() >= max_in_flight:
                    yield collect(next(running))
            for future in running:
                yield collect(future)
    finally:
        if own_client:
            client.close()
            if cluster is not None:
                cluster.close()


def count_words(
    sources: str | os.PathLike | Sequence[str | os.PathLike] | Corpus,
    tokenizer: str | Tokenizer | Callable[[str], Iterable[str]] = "jieba",
    *,
    user_dict: str | os.PathLike | None = None,
    workers: int | None = None,
    engine: str = "local",
    scheduler: str | None = None,
    client: object | None = None,
    ordered: bool = False,
    start_method: str | None = None,
    min_count: int = 1,
    shard_bytes: int | None = None,
    batch_lines: int = 4000,
    batch_chars: int = 200_000,
    max_in_flight: int | None = None,
    field: str = "text",
    encoding_errors: str = "replace",
    max_line_chars: int = DEFAULT_MAX_LINE_CHARS,
    progress: Callable[[int, int], object] | None = None,
) -> WordCounts:
    """Count word frequencies over files, folders or embedded corpora, exactly.

    Workers read their own shards: plain files are cut into byte ranges at line boundaries,
    compressed files are one shard each, embedded corpora are cut into runs of documents
    (see :func:`plan_work`); this process only plans the shards and merges one
    :class:`~collections.Counter` per shard, so its memory does not grow with the corpus.
    Standard input (``-``) cannot be shared out: this process reads it and ships batches of
    lines. A Dask cluster's workers must see the same paths (a shared file system).

    Args:
        sources: SOURCE arguments (see :func:`kexue.corpora.open_corpus`) or a
            :class:`~kexue.corpora.Corpus`.
        tokenizer: a :class:`Tokenizer` or its spec (``jieba``, ``rjieba``, ``char``,
            ``regex``, ``regex:PATTERN``, ``module:function``), or a callable
            ``str -> iterable of str`` (picklable for worker processes).
        user_dict: jieba user dictionary (jieba/rjieba only).
        workers: worker processes; ``None`` = ``os.cpu_count()``; ``0`` = serial in this
            process (local engine). For ``engine="dask"`` without ``scheduler``/``client``,
            the size of the LocalCluster started (``0``/``None`` = the core count).
        engine: ``"local"`` (:func:`kexue.parallel.parallel_map`) or ``"dask"``.
        scheduler: address of a running Dask scheduler (``tcp://host:8786``).
        client: an existing ``distributed.Client`` to use (Dask engine; left open).
        ordered: merge results in input order instead of completion order (the counts are
            the same either way).
        start_method: process start method for the local engine.
        min_count: drop tokens counted fewer times.
        shard_bytes: bytes per shard (``None``: automatic, see :func:`plan_work`).
        batch_lines, batch_chars: batch size limits for standard input (a batch is one task).
        max_in_flight: most tasks submitted but not merged (default twice the workers).
        field, encoding_errors, max_line_chars: passed to
            :func:`~kexue.corpora.open_corpus`.
        progress: called as ``progress(lines_done, characters_done)`` after each task.

    Returns:
        A :class:`WordCounts`.

    Raises:
        ValueError, FileNotFoundError: bad arguments or sources, before any work; a bad
            record (the message names the file and line), when a worker meets it.
        kexue.parallel.WorkerError: the tokenizer raised on some task.

    Example:
        >>> result = count_words("inews:dev", "rjieba", workers=0)
        >>> result.stats.documents, result.top(1)[0][0]
        (999, '，')
    """
    from functools import partial

    engine = check_choice(engine, "engine", ENGINES)
    workers = check_int(workers, "workers", minimum=0, allow_none=True)
    min_count = check_positive_int(min_count, "min_count")
    shard_bytes = check_positive_int(shard_bytes, "shard_bytes", allow_none=True)
    batch_lines = check_positive_int(batch_lines, "batch_lines")
    batch_chars = check_positive_int(batch_chars, "batch_chars")
    max_in_flight = check_positive_int(max_in_flight, "max_in_flight", allow_none=True)
    ordered = check_bool(ordered, "ordered")
    if scheduler is not None and engine != "dask":
        raise ValueError(f"`scheduler` is only used with engine 'dask'; received engine "
                         f"{engine!r}")
    if not isinstance(tokenizer, Tokenizer):
        tokenizer = Tokenizer(tokenizer, user_dict)
    elif user_dict is not None:
        raise ValueError("pass user_dict to Tokenizer(...) when tokenizer is a Tokenizer")
    corpus = sources if isinstance(sources, Corpus) else open_corpus(
        sources, field=field, encoding_errors=encoding_errors, max_line_chars=max_line_chars)
    n_workers = (os.cpu_count() or 1) if workers is None else workers
    if engine == "dask":
        n_workers = n_workers or (os.cpu_count() or 1)

    start = time.perf_counter()
    work: Iterator = plan_work(corpus, workers=n_workers, shard_bytes=shard_bytes,
                               ordered=ordered, batch_lines=batch_lines,
                               batch_chars=batch_chars)
    if n_workers > 1 and client is None and scheduler is None:
        # Never start more worker processes than there are tasks.
        head = list(islice(work, n_workers))
        n_workers = max(1, len(head))
        work = chain(head, work)
    func = partial(count_shard, tokenizer, encoding_errors=corpus.encoding_errors,
                   max_line_chars=corpus.max_line_chars)
    if engine == "local":
        results = _local_results(func, work, tokenizer, workers=n_workers, ordered=ordered,
                                 start_method=start_method, max_in_flight=max_in_flight)
    else:
        results = _dask_results(func, work, workers=n_workers, ordered=ordered,
                                scheduler=scheduler, client=client,
                                max_in_flight=max_in_flight)
    total: Counter = Counter()
    lines_done = chars_done = 0
    try:
        for counts, stats, lines, characters in results:
            if total:
                merge_counts(total, counts)
            else:
                total = counts
            if stats is not None:
                corpus.stats.add(stats)
            if progress is not None:
                lines_done += lines
                chars_done += characters
                progress(lines_done, chars_done)
    except InputError as exc:
        raise ValueError(str(exc)) from None
    except WorkerError as exc:
        if isinstance(exc.__cause__, InputError):
            raise ValueError(str(exc.__cause__)) from None
        raise
    seconds = time.perf_counter() - start
    tokens = sum(total.values())
    vocabulary = len(total)
    if min_count > 1:
        total = Counter({token: n for token, n in total.items() if n >= min_count})
    return WordCounts(counts=total, stats=corpus.stats, tokens=tokens, vocabulary=vocabulary,
                      seconds=seconds, tokenizer=tokenizer.spec, engine=engine,
                      workers=n_workers)


def write_counts(items: Iterable[tuple[str, int]], path: str | os.PathLike) -> None:
    """Write ``(token, count)`` pairs atomically as TSV (``.tsv``/``.txt``) or JSON (``.json``).

    TSV lines are ``token<TAB>count``; a backslash, tab, newline or carriage return inside a
    token is written as ``\\\\``, ``\\t``, ``\\n``, ``\\r``. JSON is one object
    ``{token: count}`` in the given order. Nothing is left behind if writing fails.
    ``path`` ``"-"`` writes TSV to standard output.

    Example:
        >>> import pathlib, tempfile
        >>> out = pathlib.Path(tempfile.mkdtemp()) / "counts.tsv"
        >>> write_counts([("的", 3), ("了", 1)], out)
        >>> out.read_text(encoding="utf-8")
        '的\\t3\\n了\\t1\\n'
    """
    from kexue._io import atomic_write

    if str(path) == "-":
        import sys

        _write_tsv(items, sys.stdout)
        sys.stdout.flush()
        return
    kind = output_kind(path)
    with atomic_write(path, "w") as handle:
        if kind == "json":
            import json

            json.dump(dict(items), handle, ensure_ascii=False, indent=0)
            handle.write("\n")
        else:
            _write_tsv(items, handle)


def _write_tsv(items: Iterable[tuple[str, int]], handle) -> None:
    for token, count in items:
        if "\\" in token or "\t" in token or "\n" in token or "\r" in token:
            token = (token.replace("\\", "\\\\").replace("\t", "\\t")
                     .replace("\n", "\\n").replace("\r", "\\r"))
        handle.write(f"{token}\t{count}\n")


def output_kind(path: str | os.PathLike) -> str:
    """``"tsv"`` or ``"json"`` from the extension of ``path``; checks its folder exists.

    Raises:
        ValueError: another extension.
        FileNotFoundError: the folder does not exist.
    """
    from pathlib import Path

    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in (".tsv", ".txt", ".json"):
        raise ValueError(f"`out` must end in .tsv, .txt or .json; received {str(path)!r}")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"output folder does not exist: {target.parent}")
    return "json" if suffix == ".json" else "tsv"
