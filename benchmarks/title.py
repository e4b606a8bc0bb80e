"""Title generation benchmark (issue 19): ROUGE on inews test and decode speed.

Each cell (a trained run, an evaluation, a speed measurement) is stored in
``benchmarks/results/title-cells.json`` as soon as it finishes and skipped when the script
runs again; an interrupted training resumes from its run directory's last checkpoint.
Run under the shared lock:

    flock /tmp/kexue-heavy.lock .venv/bin/python benchmarks/title.py [--cells lead,l2r-s0,...]

Budget (the same for every trained row): sources cut to 200 characters, 8 epochs, Adam
1e-3, batch 64, the article's widths (the defaults of ``kexue title train``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
sys.path.insert(0, str(Path(__file__).parent))

from _machine import RESULTS, cpu_model, write_results  # noqa: E402

CELLS_FILE = RESULTS / "title-cells.json"
RUNS = Path(__file__).parents[1] / "out" / "title-runs"  # ignored by git
#: sources per decoding batch in the ``speed2`` cell.
SPEED2_BATCH = 64
ALL_CELLS = ["lead", "l2r-s0", "bi-s0", "eval-l2r-s0", "eval-bi-s0", "eval-sbhalf-s0",
             "speed"]


def load_cells() -> dict:
    return json.loads(CELLS_FILE.read_text()) if CELLS_FILE.exists() else {}


def save_cell(cells: dict, name: str, value: dict) -> None:
    """Store one cell, merging with what other processes stored since ``cells`` was read."""
    import fcntl

    from kexue._io import atomic_write

    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / ".title-cells.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        merged = {**load_cells(), **{k: v for k, v in cells.items() if k == "epochs"}}
        merged[name] = value
        with atomic_write(CELLS_FILE) as handle:
            json.dump(merged, handle, ensure_ascii=False, indent=1)
    cells.clear()
    cells.update(merged)


def lead_cell() -> dict:
    from kexue.metrics.rouge import title_scores
    from kexue.tasks.title.data import lead_baseline, load_records, mean_title_length

    length = mean_title_length(load_records("inews").records)
    test = load_records("inews:test").records
    predictions = [lead_baseline(r.source, length) for r in test]
    out = {"length": length,
           "all": title_scores(predictions, [r.target for r in test])}
    kept = [i for i, r in enumerate(test) if not r.truncated]
    out["not_truncated"] = title_scores([predictions[i] for i in kept],
                                        [test[i].target for i in kept])
    out["samples"] = [[r.target, p] for r, p in zip(test[:20], predictions[:20], strict=True)]
    return out


def train_cell(model: str, seed: int, epochs: int) -> dict:
    from kexue.tasks.title.train import TrainSettings, train_title

    path = RUNS / f"{model}-s{seed}"
    start = time.perf_counter()
    resume = (path / "last.keras").exists()
    if resume:  # the budget may have been changed between sessions (--epochs)
        from kexue.tasks.runs import RunDirectory

        RunDirectory.open(path, "title").update_settings(epochs=epochs)
    if not resume and path.exists():
        import shutil

        shutil.rmtree(path)
    RUNS.mkdir(parents=True, exist_ok=True)
    run = train_title(TrainSettings(model=model, seed=seed, epochs=epochs), path,
                      resume=resume, verbose=2)
    metrics = run.read_json("metrics.json")
    return {"run": str(path), "seconds": round(time.perf_counter() - start, 1), **metrics}


def eval_cell(run_path: str, decoder: str, beam: int = 3) -> dict:
    from kexue.tasks.title.train import open_title_run

    run = open_title_run(run_path)
    result = run.evaluate("inews:test", decoder=decoder, beam=beam)
    predictions = result.pop("predictions")
    from kexue.tasks.title.data import load_records

    test = load_records("inews:test").records
    result["samples"] = [[r.target, p] for r, p in zip(test[:30], predictions[:30],
                                                        strict=True)]
    return result


def speed_cell(runs: dict[str, str], batch_size: int = 64) -> dict:
    from kexue.tasks.title.data import load_records
    from kexue.tasks.title.decode import TitleDecoder
    from kexue.tasks.title.train import open_title_run

    texts = [r.source for r in load_records("inews:test").records]
    out = {"batch_size": batch_size, "load_before": os.getloadavg()[0]}
    for label, (run_path, decoder) in runs.items():
        run = open_title_run(run_path)
        source, _ = run.encode_sources(texts)
        tool = TitleDecoder(run.model)
        for beam in (1, 3):
            # compile (not timed): a full batch and the last, smaller one
            tool.generate(source[:batch_size], decoder=decoder, beam=beam,
                          batch_size=batch_size)
            tool.generate(source[:len(texts) % batch_size or batch_size], decoder=decoder,
                          beam=beam, batch_size=batch_size)
            start = time.perf_counter()
            tool.generate(source, decoder=decoder, beam=beam, batch_size=batch_size)
            seconds = time.perf_counter() - start
            out[f"{label}@{beam}"] = {"seconds": round(seconds, 2),
                                      "titles_per_second": round(len(texts) / seconds, 1)}
            print(label, beam, out[f"{label}@{beam}"], flush=True)
    out["load_after"] = os.getloadavg()[0]
    return out


BACKEND_EPOCH_SCRIPT = """
import json, sys, tempfile, keras
from kexue.tasks.title.train import TrainSettings, train_title
model, records = sys.argv[1], int(sys.argv[2])
with tempfile.TemporaryDirectory() as folder:
    run = train_title(TrainSettings(model=model, epochs=2, max_records=records,
                                    dev_sample=10), folder + "/run", verbose=0,
                      log=lambda m: None)
    seconds = run.read_json("metrics.json")["epoch_seconds"]
print(json.dumps({"backend": keras.backend.backend(), "epoch_seconds": seconds}))
"""


def backend_epochs_cell(records: int = 640) -> dict:
    """One epoch of L2R and bidirectional training per backend on the first ``records``
    training articles (the benchmark's other settings); the second epoch is the one
    reported (the first includes tracing/compiling), scaled to the 5,111 articles."""
    import subprocess

    out = {"records": records, "full_records": 5111, "load_before": os.getloadavg()[0]}
    for backend in ("jax", "tensorflow", "torch"):
        for model in ("l2r", "bidirectional"):
            env = {**os.environ, "KERAS_BACKEND": backend}
            done = subprocess.run([sys.executable, "-c", BACKEND_EPOCH_SCRIPT, model,
                                   str(records)], env=env, capture_output=True, text=True)
            if done.returncode != 0:
                out[f"{backend}/{model}"] = {"error": done.stderr[-500:]}
                continue
            seconds = json.loads(done.stdout.strip().splitlines()[-1])["epoch_seconds"]
            out[f"{backend}/{model}"] = {
                "epoch_seconds": [round(x, 2) for x in seconds],
                "full_epoch_estimate": round(seconds[-1] * 5111 / records, 1)}
            print(backend, model, out[f"{backend}/{model}"], flush=True)
    out["load_after"] = os.getloadavg()[0]
    return out


def fmt(x: float) -> str:
    return f"{100 * x:.2f}"


#: table rows: label, the eval cell prefix (``eval-<prefix>-sN``), the training cell prefix
#: (``<prefix>-sN``) whose wall time the row reports.
ROWS = [("L2R", "l2r", "l2r"),
        ("R2L", "r2l", "r2l"),
        ("bidirectional, article's k×k decoder", "bi", "bi"),
        ("bidirectional, sb-half decoder", "sbhalf", "bi"),
        ("bidirectional two-stage, k×k decoder", "two-stage", "two-stage"),
        ("bidirectional two-stage, sb-half decoder", "two-stage-sbhalf", "two-stage")]
METRICS = [("all", "rouge_1"), ("all", "rouge_2"), ("all", "rouge_l"),
           ("not_truncated", "rouge_l"), ("all", "first4"), ("all", "last4")]


def _seeds(cells: dict, prefix: str) -> list[int]:
    import re

    pattern = re.compile(rf"eval-{re.escape(prefix)}-s(\d+)")
    return sorted(int(m[1]) for m in map(pattern.fullmatch, cells) if m)


def _mean_std(values: list[float], scale: float = 100.0, digits: int = 2) -> str:
    if not values:
        return "–"
    mean = statistics.mean(values) * scale
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values) * scale:.{digits}f}"


def _table_row(label: str, cells: dict, prefix: str, train: str) -> str:
    seeds = _seeds(cells, prefix)
    if not seeds:
        return f"| {label} | – | not run | | | | | | |"
    evals = [cells[f"eval-{prefix}-s{s}"] for s in seeds]
    scores = [_mean_std([e.get(part, e["all"])[metric] for e in evals])
              for part, metric in METRICS]
    walls = [cells[f"{train}-s{s}"]["seconds"] for s in seeds if f"{train}-s{s}" in cells]
    wall = _mean_std(walls, scale=1.0, digits=0) + " s" if walls else "–"
    return f"| {label} | {', '.join(f's{s}' for s in seeds)} | {' | '.join(scores)} | {wall} |"


def _load(cell: dict, key: str) -> str:
    return f"{cell[key]:.2f}" if key in cell else "–"


def _speed_rows(cells: dict) -> list[str]:
    old, new, now = cells.get("speed", {}), cells.get("speed2", {}), cells.get("speed3", {})
    keys = [k for k in dict.fromkeys([*old, *new, *now]) if "@" in k]
    if not keys:
        return []
    lines = ["", "## Decode speed (whole test set, 928 titles, after compiling)", "",
             "Old: the first decoder (`speed` cell: Python loop over compiled steps, every "
             "cache — the encoder's keys/values repeated per hypothesis included — copied to "
             "the host and reordered in NumPy at each step, full `argsort` of `beam × "
             "vocabulary` candidates per step; batch 64, quiet machine). New (`speed2` "
             "cell, `quiet.sh`, load "
             f"{_load(new, 'load_before')} before / {_load(new, 'load_after')} after; "
             "1-minute averages, the first still decaying from the jobs before the window): "
             "the encoder's attention keys/values computed once per source and kept on the "
             "device, the per-hypothesis cache reordered inside the compiled step (parent "
             "rows are a step input), top-k by partial selection instead of a sort, the k×k "
             "partner average on the device, "
             f"compiled steps kept per decoder; batch {new.get('batch_size', 64)}. Same "
             "titles as before (checked on the first 64 test articles for every decoder).",
             "", "Old and new were also paired on the same 64 test articles in one process "
             "(beam 3, alternating old/new/new/old, load ≈ 4–5): L2R 7.1×, sb-half 5.1×, "
             "k×k 3.4× faster (docs/title.md).",
             "", "Now (`speed3` cell, `quiet.sh`, load "
             f"{_load(now, 'load_before')} before / {_load(now, 'load_after')} after): the "
             "same, with the k×k partner average taken in probability space (the softmax's "
             "exponentials serve the mean; the log-space mean took a second set); the "
             "queues paused, nothing else running.",
             "", "| decoder | beam | old s | old titles/s | new s | new titles/s | speed-up "
             "| now s | now titles/s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for key in keys:
        label, beam = key.split("@")
        a, b, c = old.get(key), new.get(key), now.get(key)
        cols = [f"{a['seconds']} | {a['titles_per_second']}" if a else "– | –",
                f"{b['seconds']} | {b['titles_per_second']}" if b else "not run | –",
                f"{a['seconds'] / b['seconds']:.1f}×" if a and b else "–",
                f"{c['seconds']} | {c['titles_per_second']}" if c else "not run | –"]
        lines.append(f"| {label} | {beam} | {' | '.join(cols)} |")
    for name, speed in (("old", old), ("new", new), ("now", now)):
        if "l2r@3" in speed:
            base = speed["l2r@3"]["seconds"]
            ratios = ", ".join(f"{d} {speed[f'{d}@3']['seconds'] / base:.2f}×"
                               for d in ("sb-half", "bi") if f"{d}@3" in speed)
            lines.append("")
            lines.append(f"{name}: beam-3 time relative to L2R's: {ratios} (targets: "
                         "sb-half ≤ 2.5×; every decoder < 60 s).")
    lines += ["", "The k×k decoder scores k² pairings per direction: each of the k hypotheses "
              "of a direction attends to each of the k partner hypotheses, so the partner "
              "attention, the hidden layer and the 4,877-way classifier run on k² rows per "
              "direction, 2k² = 18 rows per source at k = 3 against L2R's 3: ≈ 6× L2R's "
              "network work (the encoder attention, once per hypothesis, is shared by the k "
              "pairings); the average over the partners is taken inside the step (float32, in "
              "probability space since `speed3`), so only k rows per direction come back to "
              "the host."]
    return lines


def _backend_rows(cells: dict) -> list[str]:
    cell = cells.get("backend-epochs")
    if not cell:
        return ["", "## Training time per epoch per backend: not run"]
    lines = ["", "## Training time per epoch per backend", "",
             f"One epoch on the first {cell['records']} training articles (the benchmark's "
             "other settings: sources 200 characters, batch 64, Adam, article widths), the "
             "second of two epochs (the first includes tracing/compiling), scaled to the "
             f"{cell['full_records']:,} articles of an epoch; load {_load(cell, 'load_before')} "
             f"before / {_load(cell, 'load_after')} after (run under the shared lock, other jobs "
             "beside it).", "",
             "| backend | model | epoch 1 s | epoch 2 s | full epoch (estimate) |",
             "|---|---|---|---|---|"]
    for key, value in cell.items():
        if "/" not in key:
            continue
        backend, model = key.split("/")
        if "error" in value:
            lines.append(f"| {backend} | {model} | failed | | |")
            continue
        first, second = value["epoch_seconds"][0], value["epoch_seconds"][-1]
        lines.append(f"| {backend} | {model} | {first:.1f} | {second:.1f} | "
                     f"{value['full_epoch_estimate']:.0f} s |")
    return lines


def write_table(cells: dict) -> None:
    import keras

    epochs = cells.get("epochs", 8)
    lines = ["# Title generation: inews test (deduplicated), char ROUGE F1 (%)", "",
             f"Machine: {cpu_model()}, {os.cpu_count()} cores; Python "
             f"{platform.python_version()}, Keras {keras.__version__}, backend "
             f"{keras.backend.backend()}. Command: `flock /tmp/kexue-heavy.lock .venv/bin/python "
             "benchmarks/title.py --cells ...` (cells resumable, stored in "
             "`title-cells.json`).", "",
             f"Budget for trained rows: sources cut to 200 characters, {epochs} "
             "epochs of the cleaned "
             "inews train split (5,111 articles), batch 64, Adam 1e-3, article widths; "
             "beam 3; test = 928 articles after cleaning and deduplication. Where a row has "
             "several seeds: mean ± sample standard deviation over them.", "",
             "| system | seeds | ROUGE-1 | ROUGE-2 | ROUGE-L | ROUGE-L w/o truncated | "
             "first-4 acc | last-4 acc | train wall time |",
             "|---|---|---|---|---|---|---|---|---|"]
    if "lead" in cells:
        c = cells["lead"]
        scores = [fmt(c.get(part, c["all"])[metric]) for part, metric in METRICS]
        lines.append(f"| lead baseline (first sentence, mean title length) | – | "
                     f"{' | '.join(scores)} | – |")
    else:
        lines.append("| lead baseline | – | not run | | | | | | |")
    for label, prefix, train in ROWS:
        lines.append(_table_row(label, cells, prefix, train))
    lines += ["", "Train wall time: the whole cell (all epochs and the per-epoch dev "
              "decoding). Two-stage: stage 2 only; its stage 1 is the table's L2R and R2L "
              "runs of the same seed (copied in, not retrained). Wall times depend on the load "
              "at the time (later cells shared the 2 cores with other jobs; each epoch's "
              "seconds are in the cell)."]
    for train in ("l2r-s0", "bi-s0"):
        if train in cells:
            secs = [s for s in cells[train].get("epoch_seconds", []) if s]
            if secs:
                lines.append("")
                lines.append(f"{train}: {len(secs)} epochs, median {statistics.median(secs):.0f}"
                             f" s per epoch of training (JAX, 2 shared cores); dev ROUGE-L "
                             f"(100-article sample, greedy) best "
                             f"{fmt(cells[train]['dev_rouge_l_best'])} at epoch "
                             f"{cells[train]['best_epoch']}.")
    lines += _speed_rows(cells)
    lines += _backend_rows(cells)
    missing = [label for label, prefix, _ in ROWS if not _seeds(cells, prefix)]
    lines += ["", "## Not run", ""]
    if missing:
        lines.append("- Rows without results yet: " + "; ".join(missing) + ".")
    lines.append("- The GPU run at the article's full sizes (no GPU lent to this task).")
    write_results("title.md", lines)
    plot(cells)


def plot(cells: dict) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    bars = [("lead", [cells["lead"]] if "lead" in cells else [])]
    names = {"l2r": "L2R", "r2l": "R2L", "bi": "bi k×k", "sbhalf": "bi sb-half",
             "two-stage": "2-stage k×k", "two-stage-sbhalf": "2-stage sb-half"}
    for _, prefix, _ in ROWS:
        bars.append((names[prefix], [cells[f"eval-{prefix}-s{s}"]
                                     for s in _seeds(cells, prefix)]))
    bars = [(n, evals) for n, evals in bars if evals]
    if not bars:
        return
    fig, ax = plt.subplots(figsize=(8, 3.4))
    width = 0.25
    for offset, metric in enumerate(("rouge_1", "rouge_2", "rouge_l")):
        values = [[100 * e["all"][metric] for e in evals] for _, evals in bars]
        ax.bar([i + offset * width for i in range(len(bars))],
               [statistics.mean(v) for v in values], width, label=metric,
               yerr=[statistics.stdev(v) if len(v) > 1 else 0 for v in values], capsize=2)
    ax.set_xticks([i + width for i in range(len(bars))], [n for n, _ in bars], fontsize=8)
    ax.set_ylabel("char F1 (%), mean ± std over seeds")
    ax.legend()
    fig.tight_layout()
    fig.savefig(RESULTS / "title.png", dpi=110)


TRAINED = {"l2r": "l2r", "r2l": "r2l", "bi": "bidirectional"}
EVALUATED = {"l2r": ("l2r", "l2r"), "r2l": ("r2l", "r2l"), "bi": ("bidirectional", "bi"),
             "sbhalf": ("bidirectional", "sb-half"), "two-stage": ("two-stage", "bi"),
             "two-stage-sbhalf": ("two-stage", "sb-half")}


def two_stage_cell(seed: int, epochs: int) -> dict:
    """Two-stage bidirectional training; stage 1 reuses the table's L2R and R2L runs of the
    same seed (the same settings and vocabulary), so only stage 2 is trained here."""
    import shutil

    from kexue.tasks.runs import RunDirectory
    from kexue.tasks.title.train import TrainSettings, train_title

    path = RUNS / f"two-stage-s{seed}"
    start = time.perf_counter()
    resume = (path / "last.keras").exists()
    if not resume and path.exists():
        shutil.rmtree(path)
    create = RunDirectory.create.__func__

    def create_with_stage_one(cls, where, *args, **kwargs):  # seeds stage1/ once created
        run = create(cls, where, *args, **kwargs)
        if Path(where) == path:
            for direction in ("l2r", "r2l"):
                source = RUNS / f"{direction}-s{seed}"
                if (source / "best.keras").exists():
                    shutil.copytree(source, path / "stage1" / direction)
        return run

    RunDirectory.create = classmethod(create_with_stage_one)
    RUNS.mkdir(parents=True, exist_ok=True)
    run = train_title(TrainSettings(model="bidirectional", two_stage=True, seed=seed,
                                    epochs=epochs), path, resume=resume, verbose=2)
    metrics = run.read_json("metrics.json")
    return {"run": str(path), "seconds": round(time.perf_counter() - start, 1), **metrics}


def run_cell(name: str, epochs: int) -> dict:
    """Run one cell: ``lead``, ``speed``, ``{l2r,r2l,bi}-sN`` (train), ``two-stage-sN``,
    ``eval-{l2r,r2l,bi,sbhalf,two-stage,two-stage-sbhalf}-sN``."""
    import re

    if name == "lead":
        return lead_cell()
    if name == "speed":
        return speed_cell({"l2r": (str(RUNS / "l2r-s0"), "l2r"),
                           "bi": (str(RUNS / "bidirectional-s0"), "bi"),
                           "sb-half": (str(RUNS / "bidirectional-s0"), "sb-half")})
    if name in ("speed2", "speed3"):  # device-side caches; speed3: k×k mean in probabilities
        return speed_cell({"l2r": (str(RUNS / "l2r-s0"), "l2r"),
                           "bi": (str(RUNS / "bidirectional-s0"), "bi"),
                           "sb-half": (str(RUNS / "bidirectional-s0"), "sb-half")},
                          batch_size=SPEED2_BATCH)
    if name == "backend-epochs":
        return backend_epochs_cell()
    match = re.fullmatch(r"(l2r|r2l|bi)-s(\d+)", name)
    if match:
        return train_cell(TRAINED[match[1]], int(match[2]), epochs)
    match = re.fullmatch(r"two-stage-s(\d+)", name)
    if match:
        return two_stage_cell(int(match[1]), epochs)
    match = re.fullmatch(r"eval-(.+)-s(\d+)", name)
    if match and match[1] in EVALUATED:
        folder, decoder = EVALUATED[match[1]]
        return eval_cell(str(RUNS / f"{folder}-s{match[2]}"), decoder)
    raise SystemExit(f"unknown cell {name!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", default=",".join(ALL_CELLS))
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    cells = load_cells()
    cells["epochs"] = args.epochs
    for name in args.cells.split(","):
        if name in cells:
            print(f"{name}: done, skipped", flush=True)
            continue
        print(f"{name}: running", flush=True)
        value = run_cell(name, args.epochs)
        save_cell(cells, name, value)
        print(f"{name}: {json.dumps(value, ensure_ascii=False)[:300]}", flush=True)
    write_table(cells)


if __name__ == "__main__":
    main()
