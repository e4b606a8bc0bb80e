"""``kexue link``: entity linking with behaviour modelling (CCKS 2019 format)."""

from __future__ import annotations

import enum
import json
from pathlib import Path
from typing import Annotated

import typer

from kexue.cli._common import directory_path, fail, user_errors

app = typer.Typer(name="link", help="Entity linking with behaviour modelling (CCKS 2019 "
                  "format; embedded People's Daily set).", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)


class NilMode(str, enum.Enum):
    ignore = "ignore"
    strict = "strict"


class Checkpoint(str, enum.Enum):
    best = "best"
    last = "last"


DataOption = Annotated[str, typer.Option("--data", help="'pd1998' (the embedded set) or a "
                                         "folder with kb_data.json, train.json, dev.json.")]
KbOption = Annotated[Path | None, typer.Option("--kb", help="Knowledge base (CCKS kb_data "
                                                  "JSON lines) overriding the data's or run's.")]
StrictOption = Annotated[bool, typer.Option("--strict", help="Stop at the first bad line "
                                            "instead of skipping and counting it.")]
NilOption = Annotated[NilMode, typer.Option("--nil", help="ignore: gold NIL spans are "
                                            "ignored; strict: they count.")]


def _print_summaries(summaries: list[str]) -> None:
    for summary in summaries:
        if "skipped 0" not in summary.splitlines()[0]:
            typer.echo(summary, err=True)


def _triples(texts: list) -> dict:
    return {t.text_id: [(m.mention, m.offset, m.kb_id) for m in t.mentions] for t in texts}


def _score_table(rows: list[tuple[str, object]], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in ("score", "precision", "recall", "F1", "correct / predicted / gold"):
        table.add_column(column)
    for name, s in rows:
        if isinstance(s, float):
            table.add_row(name, "", "", f"{s:.4f}", "")
        else:
            table.add_row(name, f"{s.precision:.4f}", f"{s.recall:.4f}", f"{s.f1:.4f}",
                          f"{s.correct} / {s.predicted} / {s.gold}")
    Console().print(table)


@app.command("make-set")
def make_set(
    out: Annotated[Path, typer.Option(
        "--out", parser=directory_path,
        help="Folder to write the set to.")],
) -> None:
    """Write the embedded set (divisions + countries KB, People's Daily 1998-01 texts) in the
    CCKS format: kb_data.json, train.json, dev.json, test.json, stats.json."""
    with user_errors():
        from kexue.tasks.linking.data import build_embedded_set, write_ccks_set

        data = build_embedded_set()
        paths = write_ccks_set(out, data)
    s = data.stats
    typer.echo(f"KB: {s['entities']} entities ({s['divisions']} divisions, "
               f"{s['levels'].get('country', 0)} countries); ns tokens {s['ns_tokens']}: "
               f"linked {s['linked_unique'] + s['resolved']}, NIL {s['nil']}, "
               f"unresolved {s['unresolved']}")
    typer.echo("texts " + ", ".join(f"{k} {v}" for k, v in s["texts"].items()))
    for path in paths:
        typer.echo(str(path))


@app.command("train")
def train(
    out: Annotated[Path, typer.Option(
        "--out", parser=directory_path,
        help="Run directory to create.")],
    data: DataOption = "pd1998",
    kb: KbOption = None,
    epochs: Annotated[int | None, typer.Option(help="Epochs (default: 4).")] = None,
    steps: Annotated[int | None, typer.Option(help="Steps per epoch (default 200).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    learning_rate: Annotated[float, typer.Option(help="Adam learning rate.")] = 1e-3,
    threshold: Annotated[float, typer.Option(help="Alias pruning threshold.")] = 5.0,
    min_count: Annotated[int, typer.Option(help="Candidate restriction: training links "
                                           "an entity needs (0: none).")] = 2,
    train_texts: Annotated[int | None, typer.Option(
        help="Use only the first N training texts.")] = None,
    resume: Annotated[bool, typer.Option(help="Resume the run in --out.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Replace a run in --out.")] = False,
    strict: StrictOption = False,
) -> None:
    """Train the dictionary statistics and the network; write a run directory."""
    with user_errors():
        from kexue.tasks.linking.train import TrainSettings, resolve_data
        from kexue.tasks.linking.train import train as train_run

        knowledge, splits, summaries = resolve_data(data, kb, strict=strict)
        _print_summaries(summaries)
        settings = TrainSettings(seed=seed, threshold=threshold, min_count=min_count,
                                 learning_rate=learning_rate)
        if epochs is not None:
            settings.epochs = epochs
        if steps is not None:
            settings.steps_per_epoch = steps
        texts = splits["train"][:train_texts] if train_texts else splits["train"]
        if resume and epochs is None:
            settings = None
        metrics = train_run(knowledge, texts, splits["dev"], out, settings, resume=resume,
                            overwrite=overwrite)
    typer.echo(json.dumps(metrics, ensure_ascii=False))


@app.command("predict")
def predict(
    run: Annotated[Path, typer.Option("--run", parser=directory_path, help="Run directory.")],
    text: Annotated[str | None, typer.Argument(help="A text to link.")] = None,
    input: Annotated[Path | None, typer.Option(
        "--input", help="JSON lines (text_id, text) or one text a line.")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", help="Write JSON lines here (atomically) instead of stdout.")] = None,
    kb: KbOption = None,
    checkpoint: Annotated[Checkpoint, typer.Option(help="Which checkpoint.")] = Checkpoint.best,
) -> None:
    """Link a text or a file of texts; print or write CCKS JSON lines."""
    if (text is None) == (input is None):
        raise fail("give a TEXT or --input FILE (one of them)")
    with user_errors():
        from kexue.tasks.linking.data import Text, write_texts
        from kexue.tasks.linking.decode import EntityLinker, read_input_lines

        if text is not None and not text.strip():
            raise ValueError("empty text")
        texts = [Text("1", text, [])] if text is not None else read_input_lines(input)
        linker = EntityLinker.from_run(run, kb=kb, checkpoint=f"{checkpoint.value}.keras")
        linked = linker.link_texts(texts, progress=input is not None)
        if output is not None:
            write_texts(output, linked)
            typer.echo(f"{len(linked)} texts, {sum(len(t.mentions) for t in linked)} "
                       f"mentions -> {output}")
            return
    for item in linked:
        typer.echo(json.dumps(item.to_json(), ensure_ascii=False))


@app.command("evaluate")
def evaluate(
    run: Annotated[Path, typer.Option("--run", parser=directory_path, help="Run directory.")],
    data: Annotated[Path, typer.Option("--data", help="CCKS texts with gold mentions.")],
    kb: KbOption = None,
    nil: NilOption = NilMode.ignore,
    strict: StrictOption = False,
) -> None:
    """Link a gold file with a run and print the scores."""
    with user_errors():
        from kexue.metrics.linking import linking_accuracy, linking_scores, mention_scores
        from kexue.tasks.linking.data import read_texts
        from kexue.tasks.linking.decode import EntityLinker

        linker = EntityLinker.from_run(run, kb=kb)
        gold_texts, report = read_texts(data, linker.dictionary.kb, strict=strict)
        _print_summaries([report.summary()])
        predicted = linker.link_texts(gold_texts, progress=True)
        given = linker.link_gold_mentions(gold_texts)
        gold, pred = _triples(gold_texts), _triples(predicted)
        rows = [("linking (CCKS)", linking_scores(pred, gold, nil=nil.value)),
                ("mention detection", mention_scores(pred, gold, nil=nil.value)),
                ("linking given gold mentions (accuracy)",
                 linking_accuracy(_triples(given), gold)),
                ("recall cap of the dictionary", linker.dictionary.recall_cap(gold_texts))]
    _score_table(rows, f"{data} ({len(gold_texts)} texts)")


@app.command("score")
def score(
    predictions: Annotated[Path, typer.Argument(help="Predicted CCKS JSON lines.")],
    gold: Annotated[Path, typer.Argument(help="Gold CCKS JSON lines.")],
    nil: NilOption = NilMode.ignore,
    strict: StrictOption = False,
) -> None:
    """Score predictions against gold: micro P/R/F1 over (mention, offset, kb_id)."""
    with user_errors():
        from kexue.metrics.linking import linking_accuracy, linking_scores, mention_scores
        from kexue.tasks.linking.data import read_texts

        pred_texts, pred_report = read_texts(predictions, strict=strict)
        gold_texts, gold_report = read_texts(gold, strict=strict)
        _print_summaries([pred_report.summary(), gold_report.summary()])
        pred, truth = _triples(pred_texts), _triples(gold_texts)
        rows = [("linking (CCKS)", linking_scores(pred, truth, nil=nil.value)),
                ("mention detection", mention_scores(pred, truth, nil=nil.value)),
                ("linking accuracy on gold mentions", linking_accuracy(pred, truth))]
    _score_table(rows, f"{predictions} vs {gold}")


@app.command("candidates")
def candidates(
    report: Annotated[bool, typer.Option("--report", help="Print the full ablation table "
                                         "(else one line per stage).")] = False,
    data: DataOption = "pd1998",
    kb: KbOption = None,
    split: Annotated[str, typer.Option(help="Split to evaluate on (test, dev).")] = "test",
    threshold: Annotated[float, typer.Option(help="Alias pruning threshold.")] = 5.0,
    min_count: Annotated[int, typer.Option(help="Candidate restriction minimum.")] = 2,
    run: Annotated[Path | None, typer.Option(
        "--run", parser=directory_path, help="A trained run: adds the network's row.")] = None,
    nil: NilOption = NilMode.ignore,
    strict: StrictOption = False,
) -> None:
    """Dictionary ablation: mention detection and linking P/R/F1 by dictionary alone,
    after pruning, after restriction (and after the network with --run)."""
    with user_errors():
        from kexue.metrics.linking import linking_scores, mention_scores
        from kexue.tasks.linking.candidates import STAGES, CandidateDictionary
        from kexue.tasks.linking.train import resolve_data

        knowledge, splits, summaries = resolve_data(data, kb, strict=strict)
        _print_summaries(summaries)
        if split not in splits:
            raise ValueError(f"`split` must be one of {', '.join(splits)}; received {split!r}")
        dictionary = CandidateDictionary.fit(knowledge, splits["train"], threshold=threshold,
                                             min_count=min_count)
        texts = splits[split]
        gold = _triples(texts)
        rows = []
        for stage in STAGES:
            pred = _triples(dictionary.link_by_frequency(texts, stage))
            rows.append((stage, mention_scores(pred, gold, nil=nil.value),
                         linking_scores(pred, gold, nil=nil.value),
                         dictionary.recall_cap(texts, stage)))
        if run is not None:
            from kexue.tasks.linking.decode import EntityLinker

            linker = EntityLinker.from_run(run, kb=kb)
            pred = _triples(linker.link_texts(texts))
            rows.append(("network", mention_scores(pred, gold, nil=nil.value),
                         linking_scores(pred, gold, nil=nil.value),
                         linker.dictionary.recall_cap(texts)))
    if not report:
        for name, m, s, cap in rows:
            typer.echo(f"{name}: mention F1 {m.f1:.4f}, link F1 {s.f1:.4f}, "
                       f"recall cap {cap:.4f}")
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=f"dictionary ablation on {split} ({len(texts)} texts; "
                      f"{len(dictionary.pruned)} aliases pruned)")
        for column in ("stage", "mention P", "mention R", "mention F1", "link P", "link R",
                       "link F1", "recall cap"):
            table.add_column(column)
        for name, m, s, cap in rows:
            table.add_row(name, f"{m.precision:.4f}", f"{m.recall:.4f}", f"{m.f1:.4f}",
                          f"{s.precision:.4f}", f"{s.recall:.4f}", f"{s.f1:.4f}", f"{cap:.4f}")
        Console().print(table)
