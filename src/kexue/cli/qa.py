"""``kexue qa``: DGCNN reading-comprehension question answering (make-cloze, train, answer,
evaluate, score)."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from kexue.cli._common import directory_path

app = typer.Typer(
    name="qa",
    help="Reading-comprehension QA with Su Jianlin's DGCNN reader: build the embedded cloze "
         "set, train, answer, evaluate and score with the official SogouQA / CMRC2018 / "
         "SQuAD semantics.",
    no_args_is_help=True,
)


class Format(str, Enum):
    webqa = "webqa"
    squad = "squad"
    jsonl = "jsonl"


class Metric(str, Enum):
    sogou = "sogou"
    cmrc = "cmrc"
    squad = "squad"


class Label(str, Enum):
    given = "given"
    every = "every"


class Variant(str, Enum):
    mixed = "mixed"
    char = "char"


class Encoder(str, Enum):
    dgcnn = "dgcnn"
    bilstm = "bilstm"


_FLAGS = {"threshold": "--threshold", "max_length": "--max-span", "label": "--label",
          "format": "--format", "epochs": "--epochs", "batch_size": "--batch-size",
          "dim": "--dim", "ema_momentum": "--ema",
          "learning_rate": "--lr", "per_article": "--per-article", "max_chars": "--max-chars",
          "max_passages": "--max-passages", "limit": "--limit"}

METRIC_HELP = ("cmrc (Chinese: CJK characters as tokens, longest-common-substring F1, EM), "
               "sogou (SogouQA accuracy, char F1, final), or squad (v1.1/v2.0 EM/F1 on "
               "whitespace words: on Chinese text without spaces its F1 equals EM).")


def _print_skips(dataset) -> None:
    from kexue.cli._common import warn

    report = dataset.skip_report()
    if report:
        warn(f"{dataset.source}:\n{report}")


def _read(path: str, fmt: Format | None, label: Label = Label.given, strict: bool = False,
          limit: int | None = None, split: str = "test"):
    from kexue.tasks.qa.data import read_qa

    if path == "cloze" or path.startswith("cloze:"):
        from kexue.tasks.qa.cloze import load_cloze

        return load_cloze(path.partition(":")[2] or split, limit=limit)
    dataset = read_qa(path, fmt.value if fmt else None, label=label.value, strict=strict)
    if limit is not None:
        dataset.questions = dataset.questions[:limit]
    return dataset


@app.command("make-cloze")
def make_cloze(
    out: Annotated[Path, typer.Option(
        "--out", parser=directory_path,
        help="Folder to write the cloze set into (created).")],
    per_article: Annotated[int, typer.Option(
        "--per-article", help="Questions per article at most.")] = 3,
    max_chars: Annotated[int, typer.Option(
        "--max-chars", help="Longest passage (content cut at sentence ends).")] = 200,
    max_passages: Annotated[int, typer.Option(
        "--max-passages", help="Passages per question at most.")] = 10,
    limit: Annotated[int | None, typer.Option(
        "--limit", help="Use only the first N articles of each split (for quick trials).",
    )] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print statistics as JSON.")] = False,
) -> None:
    """Build the cloze reading-comprehension set from iNews and write it in the WebQA
    (SPLIT.webqa.json) and SQuAD v2.0 (SPLIT.squad.json) formats, with statistics."""
    from kexue.cli._common import user_errors

    with user_errors(_FLAGS):
        from kexue._io import atomic_write
        from kexue.tasks.qa.cloze import cloze_statistics, load_cloze
        from kexue.tasks.qa.data import write_squad, write_webqa

        out.mkdir(parents=True, exist_ok=True)
        stats = {}
        for split in ("train", "dev", "test"):
            data = load_cloze(split, per_article=per_article, max_chars=max_chars,
                              max_passages=max_passages, limit=limit)
            write_webqa(data.questions, out / f"{split}.webqa.json")
            write_squad(data.questions, out / f"{split}.squad.json", title=f"cloze-{split}")
            stats[split] = cloze_statistics(data).as_dict()
        with atomic_write(out / "statistics.json") as handle:
            json.dump(stats, handle, indent=2)
    if as_json:
        typer.echo(json.dumps(stats, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"cloze set written to {out}")
    table.add_column("statistic")
    for split in stats:
        table.add_column(split, justify="right")
    for key in stats["train"]:
        table.add_row(key.replace("_", " "), *(
            f"{stats[s][key]:.3g}" if isinstance(stats[s][key], float) else
            f"{stats[s][key]:,}" for s in stats))
    Console().print(table)


@app.command("train")
def train(
    out: Annotated[Path, typer.Option(
        "--out", parser=directory_path,
        help="Run directory (new, or with --resume).")],
    data: Annotated[str, typer.Option(
        "--data", help="'cloze' (the embedded set: iNews train/dev) or a QA file.")] = "cloze",
    dev: Annotated[str | None, typer.Option(
        "--dev", help="Dev file (default: cloze dev for --data cloze, else 10% of --data).",
    )] = None,
    fmt: Annotated[Format | None, typer.Option(
        "--format", help="Format of the files (default: detected).")] = None,
    label: Annotated[Label, typer.Option(
        "--label", help="SQuAD positives: the given answer_start, or every occurrence.",
    )] = Label.given,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Fail on an unusable record instead of skipping it.")] = False,
    variant: Annotated[Variant, typer.Option(
        "--variant", help="mixed char-word embedding, or char only.")] = Variant.mixed,
    encoder: Annotated[Encoder, typer.Option(
        "--encoder", help="dgcnn (the article's convolutions) or bilstm (the ablation's "
        "recurrent reader of similar size).")] = Encoder.dgcnn,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Epochs (default 6).")] = None,
    batch_size: Annotated[int, typer.Option("--batch-size")] = 64,
    dim: Annotated[int | None, typer.Option("--dim", help="Model width (default 64).")] = None,
    ema: Annotated[float, typer.Option("--ema", help="EMA momentum of the weights.")] = 0.99,
    learning_rate: Annotated[float, typer.Option("--lr", help="Adam learning rate.")] = 1e-3,
    word_vectors: Annotated[Path | None, typer.Option(
        "--word-vectors", help="word2vec text/binary file (default: trained on the training "
                               "passages, cached).")] = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", help="Use only the first N questions (cloze: articles) of each split.",
    )] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace the run in --out.",
                                            )] = False,
) -> None:
    """Train the DGCNN (or BiLSTM) reader (best checkpoint by dev F1, resumable)."""
    from kexue.cli._common import user_errors

    with user_errors(_FLAGS):
        from kexue.tasks.qa.train import TrainSettings, default_dev_split, train_reader

        settings = TrainSettings(variant=variant.value, encoder=encoder.value,
                                 batch_size=batch_size, seed=seed,
                                 ema_momentum=ema, learning_rate=learning_rate)
        if epochs is not None:
            settings.epochs = epochs
        if dim is not None:
            settings.dim = dim
        if not resume:
            settings.validate()
        train_set = _read(data, fmt, label, strict, limit, split="train")
        _print_skips(train_set)
        if dev is not None:
            dev_set = _read(dev, fmt, label, strict, limit, split="dev")
        elif data == "cloze":
            dev_set = _read("cloze:dev", None, limit=limit)
        else:
            train_set, dev_set = default_dev_split(train_set, seed=seed)
        vectors = None
        if word_vectors is not None and variant == Variant.mixed and not resume:
            from kexue.text import load_word_vectors

            vectors = load_word_vectors(word_vectors)
        metrics = train_reader(out, train_set, dev_set, settings, word_vectors=vectors,
                               resume=resume, overwrite=overwrite,
                               verbose=1 if sys.stderr.isatty() else 2)
    typer.echo(json.dumps(metrics, indent=2))


@app.command("answer")
def answer(
    run: Annotated[Path, typer.Option(
        "--run", parser=directory_path,
        help="A run directory made by `kexue qa train`.")],
    question: Annotated[str | None, typer.Option("--question", "-q")] = None,
    passage: Annotated[list[str] | None, typer.Option(
        "--passage", "-p", help="A passage (repeat for several).")] = None,
    input_file: Annotated[Path | None, typer.Option(
        "--input", help="Questions to answer: a QA file in any supported format.")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write JSON lines here (default: stdout).")] = None,
    threshold: Annotated[float, typer.Option("--threshold")] = 0.1,
    max_span: Annotated[int, typer.Option("--max-span", help="Longest answer (chars).")] = 12,
) -> None:
    """Answer a question from passages (or every question of --input) as JSON lines."""
    from kexue.cli._common import fail, user_errors

    if (question is None) == (input_file is None):
        raise fail("give either --question with --passage, or --input FILE")
    if question is not None and not question.strip():
        raise fail("--question is empty")
    if question is not None and not passage:
        raise fail("--question needs at least one --passage")
    if passage and any(not p.strip() for p in passage):
        raise fail("--passage: an empty passage")
    with user_errors(_FLAGS):
        from kexue._io import atomic_write
        from kexue.tasks.qa.train import load_reader

        if input_file is not None:
            dataset = _read(str(input_file), None)
            items = [(q.id, q.question, [p.text for p in q.passages])
                     for q in dataset.questions]
        else:
            items = [("1", question, list(passage or []))]
        reader, _ = load_reader(run)
        answers = reader.answer([(q, p) for _, q, p in items], threshold=threshold,
                                max_length=max_span)
        lines = [json.dumps({"id": qid, "question": q, **a.as_dict()}, ensure_ascii=False)
                 for (qid, q, _), a in zip(items, answers, strict=True)]
        if output is not None:
            with atomic_write(output) as handle:
                handle.write("\n".join(lines) + "\n")
        else:
            typer.echo("\n".join(lines))


def _print_score(result, title: str, as_json: bool) -> None:
    from kexue.cli._common import warn

    payload = result.to_json()
    if result.missing_ids:
        warn(f"{len(result.missing_ids)} gold ids have no prediction (scored 0): "
             + ", ".join(result.missing_ids[:5]) + (" ..." if len(result.missing_ids) > 5
                                                    else ""))
    if result.extra_ids:
        warn(f"{len(result.extra_ids)} predicted ids are not in the gold set (not scored): "
             + ", ".join(result.extra_ids[:5]) + (" ..." if len(result.extra_ids) > 5
                                                  else ""))
    if as_json:
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("score")
    table.add_column("value", justify="right")
    for key, value in result.scores.items():
        table.add_row(key, f"{value:.4f}")
    table.add_row("questions", f"{result.total:,}")
    table.add_row("missing ids", f"{len(result.missing_ids):,}")
    table.add_row("extra ids", f"{len(result.extra_ids):,}")
    Console().print(table)
    typer.echo(json.dumps(payload, ensure_ascii=False))


@app.command("evaluate")
def evaluate(
    run: Annotated[Path, typer.Option(
        "--run", parser=directory_path,
        help="A run directory made by `kexue qa train`.")],
    data: Annotated[str, typer.Option(
        "--data", help="A QA file, or cloze:dev / cloze:test.")] = "cloze:test",
    fmt: Annotated[Format | None, typer.Option("--format", help="Default: detected.")] = None,
    metric: Annotated[Metric, typer.Option("--metric", help=METRIC_HELP)] = Metric.cmrc,
    predictions: Annotated[Path | None, typer.Option(
        "--predictions", help="Also write the answers as JSON lines.")] = None,
    threshold: Annotated[float, typer.Option("--threshold")] = 0.1,
    max_span: Annotated[int, typer.Option("--max-span")] = 12,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Answer every question of a QA file with a trained run and score the answers."""
    from kexue.cli._common import user_errors

    with user_errors(_FLAGS):
        from kexue._io import atomic_write
        from kexue.tasks.qa.train import evaluate_reader, load_reader

        dataset = _read(data, fmt)
        _print_skips(dataset)
        reader, _ = load_reader(run)
        result, answers = evaluate_reader(reader, dataset, metric=metric.value,
                                          threshold=threshold, max_span=max_span)
        if predictions is not None:
            with atomic_write(predictions) as handle:
                for q, a in zip(dataset.questions, answers, strict=True):
                    handle.write(json.dumps({"id": q.id, **a.as_dict()},
                                            ensure_ascii=False) + "\n")
    _print_score(result, f"{metric.value} on {data} ({len(dataset):,} questions)", as_json)


@app.command("score")
def score(
    predictions: Annotated[Path, typer.Argument(
        help="Predictions: JSON {id: answer}, JSON lines {id, answer}, or id<TAB>answer.")],
    gold: Annotated[Path, typer.Argument(
        help="Gold: a QA file (WebQA/SogouQA, SQuAD, JSON lines) or, for sogou, a "
             "qid<TAB>answer<TAB>a|b|c expanded-answer file.")],
    metric: Annotated[Metric, typer.Option("--metric", help=METRIC_HELP)] = Metric.cmrc,
    fmt: Annotated[Format | None, typer.Option(
        "--format", help="Format of GOLD (default: detected).")] = None,
    lines: Annotated[Path | None, typer.Option(
        "--lines", help="Write the per-question report (TSV) here.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Score predictions against gold answers (no model, no Keras: starts fast)."""
    from kexue.cli._common import user_errors

    with user_errors(_FLAGS):
        from kexue._io import atomic_write, read_text
        from kexue.metrics import qa as qa_metrics

        preds = qa_metrics.read_predictions(predictions)
        version = "2.0"
        if metric == Metric.sogou and fmt is None and gold.suffix in (".tsv", ".txt", "") \
                and _is_sogou_gold(gold):
            gold_answers = qa_metrics.load_sogou_gold(gold)
        else:
            from kexue.tasks.qa.data import read_qa

            dataset = read_qa(gold, fmt.value if fmt else None)
            _print_skips(dataset)
            gold_answers = dataset.gold()
            if dataset.format == "squad" and '"v2.0"' not in read_text(
                    gold, "utf-8-sig")[:2000] and all(gold_answers.values()):
                version = "1.1"
        result = qa_metrics.score(preds, gold_answers, metric.value, squad_version=version)
        if lines is not None:
            with atomic_write(lines) as handle:
                columns = list(result.lines[0]) if result.lines else ["id"]
                handle.write("\t".join(columns) + "\n")
                for row in result.lines:
                    handle.write("\t".join("" if row[c] is None else
                                           f"{row[c]:.6f}" if isinstance(row[c], float)
                                           else str(row[c]) for c in columns) + "\n")
    _print_score(result, f"{metric.value}: {predictions.name} vs {gold.name}", as_json)


def _is_sogou_gold(path: Path) -> bool:
    from kexue._io import read_text

    first = read_text(path, "utf-8-sig").partition("\n")[0]
    return first.count("\t") == 2 and not first.lstrip().startswith(("{", "["))
