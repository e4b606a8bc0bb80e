"""``kexue title``: train, generate, evaluate and score news-title generation."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from kexue.cli._common import directory_path, fail, user_errors

app = typer.Typer(name="title", no_args_is_help=True, add_completion=False,
                  pretty_exceptions_enable=False,
                  help="Title generation with synchronous bidirectional decoding "
                       "(kexue.fm/archives/6877).")


class ModelKind(str, enum.Enum):
    bidirectional = "bidirectional"
    l2r = "l2r"
    r2l = "r2l"


class Decoder(str, enum.Enum):
    bi = "bi"
    sb_half = "sb-half"
    l2r = "l2r"
    r2l = "r2l"


class OptimizerKind(str, enum.Enum):
    adam = "adam"
    lazy_adam = "lazy-adam"
    lookahead = "lookahead"


# TrainSettings' field names -> this command's flags, so that messages name the flags
_TRAIN_FLAGS = {name: "--" + name.replace("_", "-") for name in (
    "data", "dev_data", "model", "two_stage", "epochs", "batch_size", "max_records",
    "min_count", "source_field", "target_field", "optimizer", "learning_rate", "seed",
    "distribute", "embedding_dim", "encoder_units", "decoder_units", "attention_heads",
    "attention_key_dim", "hidden_units")}
_TRAIN_FLAGS.update(max_source_length="--max-source-len", max_target_length="--max-target-len")


@app.command()
def train(
    out: Annotated[Path, typer.Option(
        "--out", parser=directory_path,
        help="Run directory to create.")],
    data: Annotated[str, typer.Option(help="inews, or a .jsonl(.gz) file, or a THUCNews "
                                           "folder.")] = "inews",
    model: Annotated[ModelKind, typer.Option(help="Model kind.")] = ModelKind.bidirectional,
    two_stage: Annotated[bool, typer.Option("--two-stage", help="SB-NMT two-stage training "
                                            "(stage-1 L2R and R2L models, pseudo targets).")
                         ] = False,
    epochs: Annotated[int, typer.Option(help="Epochs.")] = 8,
    batch_size: Annotated[int, typer.Option(help="Batch size.")] = 64,
    max_records: Annotated[int | None, typer.Option(help="Use only the first N training "
                                                         "records (a quick trial).")] = None,
    max_source_len: Annotated[int, typer.Option(help="Source characters kept.")] = 200,
    max_target_len: Annotated[int, typer.Option(help="Title characters kept.")] = 32,
    min_count: Annotated[int, typer.Option(help="Vocabulary: least character count.")] = 5,
    source_field: Annotated[str, typer.Option(help="JSONL field of the article.")] = "content",
    target_field: Annotated[str, typer.Option(help="JSONL field of the title.")] = "title",
    dev_data: Annotated[str | None, typer.Option(help="Dev data (default: inews:dev for "
                                                      "inews, else the last 5%).")] = None,
    optimizer: Annotated[OptimizerKind, typer.Option(help="Optimizer.")] = OptimizerKind.adam,
    learning_rate: Annotated[float, typer.Option(help="Learning rate.")] = 1e-3,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    distribute: Annotated[bool, typer.Option("--distribute", help="Data parallel over all "
                                             "devices (JAX).")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out.")
                      ] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a run in --out.")
                         ] = False,
    embedding_dim: Annotated[int, typer.Option(help="Embedding width.")] = 128,
    encoder_units: Annotated[int, typer.Option(help="Encoder LSTM units per direction.")] = 64,
    decoder_units: Annotated[int, typer.Option(help="Decoder LSTM units.")] = 128,
    attention_heads: Annotated[int, typer.Option(help="Attention heads.")] = 8,
    attention_key_dim: Annotated[int, typer.Option(help="Attention head size.")] = 16,
    hidden_units: Annotated[int, typer.Option(help="Hidden Dense units.")] = 128,
) -> None:
    """Train a title model into a run directory."""
    with user_errors(_TRAIN_FLAGS):
        from kexue.tasks.title.train import TrainSettings, train_title

        settings = TrainSettings(
            data=data, dev_data=dev_data, model=model.value, two_stage=two_stage,
            epochs=epochs, batch_size=batch_size, max_records=max_records,
            max_source_length=max_source_len, max_target_length=max_target_len,
            min_count=min_count, optimizer=optimizer.value, learning_rate=learning_rate,
            seed=seed, distribute=distribute, source_field=source_field,
            target_field=target_field, embedding_dim=embedding_dim,
            encoder_units=encoder_units, decoder_units=decoder_units,
            attention_heads=attention_heads, attention_key_dim=attention_key_dim,
            hidden_units=hidden_units)
        run = train_title(settings, out, resume=resume, overwrite=overwrite,
                          log=lambda m: typer.echo(m, err=True))
    metrics = run.read_json("metrics.json")
    typer.echo(f"trained {run.path}: best dev ROUGE-L {metrics['dev_rouge_l_best']:.4f} "
               f"at epoch {metrics['best_epoch']}")


@app.command()
def generate(
    run: Annotated[Path, typer.Option(
        "--run", parser=directory_path,
        help="Trained run directory.")],
    text: Annotated[str | None, typer.Argument(help="An article to title.")] = None,
    input: Annotated[Path | None, typer.Option("--input", help="JSONL (field --source-field, "
                                               "optional id) or text file (one article a "
                                               "line).")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="JSONL output "
                                                "(default: stdout).")] = None,
    decoder: Annotated[Decoder | None, typer.Option(help="Decoder (default: bi for a "
                                                         "bidirectional run).")] = None,
    beam: Annotated[int, typer.Option(help="Hypotheses per direction.")] = 3,
    n_best: Annotated[int, typer.Option(help="Titles per article, with scores.")] = 1,
    length_penalty: Annotated[float, typer.Option(help="GNMT length penalty alpha.")] = 0.0,
    no_repeat_ngram: Annotated[int, typer.Option(help="Forbid repeating n-grams (0: off).")
                               ] = 0,
    source_field: Annotated[str, typer.Option(help="JSONL field of the article.")] = "content",
) -> None:
    """Write titles as JSON lines: {"id", "title"[, "n_best"]}."""
    import json

    if (text is None) == (input is None):
        raise fail("give exactly one of TEXT or --input FILE")
    with user_errors():
        from kexue._io import atomic_write, read_text
        from kexue.tasks.title.data import load_records
        from kexue.tasks.title.train import open_title_run

        for name, value in (("--beam", beam), ("--n-best", n_best)):
            if value < 1:
                raise ValueError(f"`{name}` must be a positive integer; received {value}")
        title_run = open_title_run(run)
        if text is not None:
            ids, texts = ["1"], [text]
        elif input.suffix in (".jsonl", ".gz"):
            records = load_records(input, source_field=source_field,
                                   require_target=False).records
            ids, texts = [r.id for r in records], [r.source for r in records]
        else:
            lines = read_text(input).splitlines()
            ids = [str(i) for i, line in enumerate(lines, 1) if line.strip()]
            texts = [line for line in lines if line.strip()]
            if not texts:
                raise ValueError(f"{input}: no text to title")
        _, longer = title_run.encode_sources(texts)
        if longer:
            typer.echo(f"note: {longer} text(s) longer than the model's "
                       f"{title_run.settings.max_source_length} characters were truncated",
                       err=True)
        results = title_run.generate(texts, decoder=decoder.value if decoder else None,
                                     beam=beam, n_best=n_best, length_penalty=length_penalty,
                                     no_repeat_ngram=no_repeat_ngram)
        rows = []
        for source_id, hyps in zip(ids, results, strict=True):
            row = {"id": source_id, "title": hyps[0]["title"]}
            if n_best > 1:
                row["n_best"] = hyps
            rows.append(json.dumps(row, ensure_ascii=False))
        body = "\n".join(rows) + "\n"
        if output is None:
            typer.echo(body, nl=False)
        else:
            with atomic_write(output) as handle:
                handle.write(body)


@app.command()
def evaluate(
    run: Annotated[Path, typer.Option(
        "--run", parser=directory_path,
        help="Trained run directory.")],
    data: Annotated[str, typer.Option(help="inews:test, inews:dev, or a JSONL file / "
                                           "THUCNews folder.")] = "inews:test",
    decoder: Annotated[Decoder | None, typer.Option(help="Decoder.")] = None,
    beam: Annotated[int, typer.Option(help="Hypotheses per direction.")] = 3,
    max_records: Annotated[int | None, typer.Option(help="Only the first N records.")] = None,
    source_field: Annotated[str, typer.Option(help="JSONL field of the article.")] = "content",
    target_field: Annotated[str, typer.Option(help="JSONL field of the title.")] = "title",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Char ROUGE-1/2/L and first/last-4 accuracy of a run's titles on labelled data."""
    with user_errors():
        from kexue.tasks.title.train import open_title_run

        if beam < 1:
            raise ValueError(f"`--beam` must be a positive integer; received {beam}")
        result = open_title_run(run).evaluate(
            data, decoder=decoder.value if decoder else None, beam=beam,
            max_records=max_records, source_field=source_field, target_field=target_field)
    result.pop("predictions")
    _print_scores(result, as_json)


@app.command()
def score(
    predictions: Annotated[Path, typer.Argument(help="One predicted title a line.")],
    references: Annotated[Path, typer.Argument(help="One reference title a line.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Score titles from any system against references (same metrics as evaluate)."""
    with user_errors():
        from kexue._io import read_text
        from kexue.metrics.rouge import title_scores

        texts = [read_text(path).splitlines()
                 for path in (predictions, references)]
        if len(texts[0]) != len(texts[1]):
            raise ValueError(f"{predictions} has {len(texts[0])} lines but {references} has "
                             f"{len(texts[1])}")
        result = {"all": title_scores(*texts)}
    _print_scores(result, as_json)


def _print_scores(result: dict, as_json: bool) -> None:
    import json

    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="title scores (char F1 / accuracy, %)")
    table.add_column("titles")
    for name in ("ROUGE-1", "ROUGE-2", "ROUGE-L", "first-4", "last-4", "n"):
        table.add_column(name, justify="right")
    for part in ("all", "not_truncated"):
        if part in result:
            s = result[part]
            table.add_row(part, *(f"{100 * s[k]:.2f}" for k in ("rouge_1", "rouge_2", "rouge_l",
                                                                  "first4", "last4")),
                          str(s["titles"]))
    Console().print(table)
