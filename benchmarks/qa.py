"""DGCNN reading comprehension on the embedded cloze set: the ablation and answering speed.

Cells (each saved to benchmarks/results/qa_cells.json as soon as it is done; a rerun skips
finished cells, so the script can be stopped and resumed):

- ``lexical``: the sliding-window lexical baseline (no training);
- ``mixed-s<seed>``, ``char-s<seed>``: the DGCNN reader with the mixed char–word embedding
  and the char-only variant, trained with the default settings (``kexue qa train``);
- ``bilstm-s<seed>``: the BiLSTM reader of similar size (mixed embedding, same head and
  settings, ``encoder="bilstm"``), for the DGCNN-vs-recurrent ablation;
- ``speed``: answering speed of the mixed run on the whole test split (batch decode);
- ``backend-epochs``: two epochs of the default mixed DGCNN on a subset of the cloze training
  split on JAX, TensorFlow and PyTorch (one fresh process each, ``--epoch-probe``).

Run under the shared CPU lock:  flock -s /tmp/kexue-heavy.lock .venv/bin/python
        benchmarks/qa.py [--cells lexical,mixed-s0,char-s0,speed] [--runs DIR]
Then it writes benchmarks/results/qa.md from every finished cell (``--report-only``: only
that).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

HERE = Path(__file__).resolve().parent
CELLS = HERE / "results" / "qa_cells.json"
REPORT = HERE / "results" / "qa.md"


def _load() -> dict:
    return json.loads(CELLS.read_text()) if CELLS.exists() else {}


def _save(cells: dict) -> None:
    import fcntl

    from kexue._io import atomic_write

    with open(CELLS.with_name(".qa_cells.lock"), "w") as lock:  # merge with other processes
        fcntl.flock(lock, fcntl.LOCK_EX)
        cells.update({**_load(), **cells})
        with atomic_write(CELLS) as handle:
            json.dump(cells, handle, indent=2)


def _scores(predictions: dict, dataset) -> dict:
    from kexue.metrics.qa import score

    gold = dataset.gold()
    cmrc = score(predictions, gold, "cmrc").scores
    sogou = score(predictions, gold, "sogou").scores
    return {"cmrc_em": cmrc["em"], "cmrc_f1": cmrc["f1"], "sogou_final": sogou["final"]}


def cell_lexical(test) -> dict:
    from kexue.tasks.qa.baseline import lexical_answer

    start = time.perf_counter()
    predictions = {q.id: lexical_answer(q.question, [p.text for p in q.passages]).text
                   for q in test.questions}
    return {**_scores(predictions, test), "seconds": time.perf_counter() - start}


#: trained cells: name prefix → (embedding variant, encoder); the suffix ``-s<seed>``.
TRAINED = {"mixed": ("mixed", "dgcnn"), "char": ("char", "dgcnn"),
           "bilstm": ("mixed", "bilstm")}


def cell_trained(prefix: str, seed: int, runs: Path, train, dev, test) -> dict:
    from kexue.tasks.qa.train import TrainSettings, evaluate_reader, load_reader, train_reader
    from kexue.tasks.runs import RunDirectory

    run_dir = runs / f"{prefix}-s{seed}"
    variant, encoder = TRAINED[prefix]
    settings = TrainSettings(variant=variant, encoder=encoder, seed=seed)
    import keras

    class EpochTimes(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    timer = EpochTimes()
    start = time.perf_counter()
    resume = (run_dir / "last.keras").exists()
    sampler = LoadSampler()
    train_reader(run_dir, train, dev, settings, resume=resume, overwrite=not resume,
                 verbose=2, callbacks=[timer])
    wall = time.perf_counter() - start
    load = sampler.stop()
    reader, _ = load_reader(run_dir)
    result, answers = evaluate_reader(reader, test, metric="cmrc")
    predictions = {q.id: a.text for q, a in zip(test.questions, answers, strict=True)}
    run = RunDirectory.open(run_dir, "qa")
    history = run.read_history()
    return {**_scores(predictions, test), "epochs": run.state.get("epoch"),
            "best_epoch": run.state.get("best_epoch"), "train_wall_seconds": wall,
            "resumed": resume, "dev_f1_per_epoch": [h.get("dev_f1") for h in history],
            "params": int(reader.model.count_params()),
            "trainable_params": _trainable(reader.model),
            "epoch_seconds": timer.seconds, "load_during_training": load,
            "settings": run.settings}


#: backends timed by the ``backend-epochs`` cell, and the questions of its training subset.
PROBE_BACKENDS = ("jax", "tensorflow", "torch")
PROBE_QUESTIONS = 640


def epoch_probe(questions: int, epochs: int = 2) -> dict:
    """Train the default mixed DGCNN for ``epochs`` epochs on the first ``questions`` cloze
    training questions on the current backend (no dev scoring, no checkpoints); time each
    epoch. Vocabulary and (cached) word vectors come from the whole training split, as in a
    real run."""
    import keras

    from kexue.tasks.qa import train as qa_train
    from kexue.tasks.qa.cloze import load_cloze
    from kexue.tasks.qa.features import QAVocabulary
    from kexue.tasks.qa.model import QAModelConfig, build_model
    from kexue.text import train_word_vectors

    full = load_cloze("train")
    settings = qa_train.TrainSettings().validate()
    vectors = train_word_vectors(qa_train._word_vector_sentences(full.questions),
                                 dim=settings.word_dim, seed=settings.seed, progress=False)
    words = list(vectors.words)
    vocab = QAVocabulary.build((text for q in full.questions for text in
                                [q.question] + [p.text for p in q.passages]),
                               words, min_count=settings.char_min_count)
    keras.utils.set_random_seed(settings.seed)
    config = QAModelConfig(char_count=vocab.char_count, word_count=len(words),
                           word_dim=vectors.dim, dim=settings.dim)
    model = build_model(config, vectors.vectors, seed=settings.seed)
    qa_train._compile(model, settings)
    subset = full.questions[:questions]
    batches = qa_train._batches_class()(qa_train._encode(subset, vocab, settings), settings)
    seconds: list[float] = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds.append(time.perf_counter() - self._start)

    sampler = LoadSampler(every=5.0)
    model.fit(batches, epochs=epochs, callbacks=[Timer()], verbose=2)
    steps_full = -(-len(full.questions) // settings.batch_size)
    return {"backend": keras.backend.backend(), "questions": len(subset),
            "steps_per_epoch": len(batches), "epoch_seconds": seconds,
            "full_epoch_steps": steps_full,
            "full_epoch_seconds_estimate": min(seconds[1:] or seconds) / len(batches)
            * steps_full, **sampler.stop()}


def cell_backend_epochs(train) -> dict:
    """:func:`epoch_probe` in one fresh process per backend (the backend is fixed at import)."""
    import subprocess

    out = {"questions": PROBE_QUESTIONS, "backends": {}}
    for backend in PROBE_BACKENDS:
        env = {**os.environ, "KERAS_BACKEND": backend}
        print(f"backend-epochs: {backend}", file=sys.stderr)
        result = subprocess.run([sys.executable, __file__, "--epoch-probe",
                                 str(PROBE_QUESTIONS)], env=env, capture_output=True,
                                text=True, check=False)
        if result.returncode:
            out["backends"][backend] = {"error": result.stderr[-2000:]}
            continue
        out["backends"][backend] = json.loads(result.stdout.strip().splitlines()[-1])
    return out


class LoadSampler:
    """The 1-minute load average, sampled every ``every`` seconds in a background thread."""

    def __init__(self, every: float = 20.0) -> None:
        import threading

        self.samples: list[float] = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every,), daemon=True)
        self._thread.start()

    def _run(self, every: float) -> None:
        while not self._stop.wait(every):
            self.samples.append(os.getloadavg()[0])

    def stop(self) -> dict:
        self._stop.set()
        self.samples.append(os.getloadavg()[0])
        return {"load_mean": sum(self.samples) / len(self.samples),
                "load_min": min(self.samples), "load_max": max(self.samples)}


def _trainable(model) -> int:
    import numpy as np

    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def cell_speed(runs: Path, test) -> dict:
    from kexue.tasks.qa.train import load_reader

    reader, _ = load_reader(runs / "mixed-s0")
    items = [(q.question, [p.text for p in q.passages][:5]) for q in test.questions]
    reader.answer(items[:64])  # compile the batch shapes once
    start = time.perf_counter()
    reader.answer(items)
    seconds = time.perf_counter() - start
    full = [(q.question, [p.text for p in q.passages]) for q in test.questions]
    start = time.perf_counter()
    reader.answer(full)
    full_seconds = time.perf_counter() - start
    return {"questions": len(items), "passages_each": 5,
            "questions_per_second": len(items) / seconds,
            "test_split_seconds_all_passages": full_seconds,
            "test_passages": sum(len(p) for _, p in full)}


#: rows of the report: label, cell-name prefix (``lexical`` is one untrained cell).
ROWS = (("lexical", "lexical baseline (sliding window, no training)"),
        ("mixed", "DGCNN mixed char–word"),
        ("char", "DGCNN char-only"),
        ("bilstm", "BiLSTM mixed char–word"))
METRICS = (("cmrc_em", "CMRC EM", 1), ("cmrc_f1", "CMRC F1", 1),
           ("sogou_final", "Sogou final", 3))


def _seed_cells(cells: dict, prefix: str) -> list[tuple[int, dict]]:
    if prefix == "lexical":
        return [(0, cells["lexical"])] if "lexical" in cells else []
    found = []
    for name, cell in cells.items():
        head, _, seed = name.partition("-s")
        if head == prefix and seed.isdigit() and "cmrc_em" in cell:
            found.append((int(seed), cell))
    return sorted(found, key=lambda item: item[0])


def _mean_std(values: list[float]) -> tuple[float, float | None]:
    import numpy as np

    data = np.asarray(values, float)
    return float(data.mean()), (float(data.std(ddof=1)) if len(data) > 1 else None)


def _fmt(values: list[float], digits: int) -> str:
    mean, std = _mean_std(values)
    return f"{mean:.{digits}f}" + (f" ± {std:.{digits}f}" if std is not None else "")


def _conclusions(cells: dict) -> list[str]:
    """Sentences computed from the cells (no number typed by hand)."""
    rows = {prefix: _seed_cells(cells, prefix) for prefix, _ in ROWS}
    if not rows["lexical"]:
        return []
    lexical = rows["lexical"][0][1]
    out = []
    for prefix, label in ROWS[1:]:
        if not rows[prefix]:
            continue
        f1 = [c["cmrc_f1"] for _, c in rows[prefix]]
        final = [c["sogou_final"] for _, c in rows[prefix]]
        mean, std = _mean_std(f1)
        gap = mean - lexical["cmrc_f1"]
        spread = f" (seed std {std:.1f})" if std is not None else " (one seed: no spread)"
        out.append(f"- {label}: CMRC F1 {gap:+.1f} and Sogou final "
                   f"{_mean_std(final)[0] - lexical['sogou_final']:+.3f} against the lexical "
                   f"baseline, over {len(f1)} seed(s){spread}.")
    if rows["mixed"] and rows["char"]:
        mixed = [c["cmrc_f1"] for _, c in rows["mixed"]]
        char = [c["cmrc_f1"] for _, c in rows["char"]]
        (m_mean, m_std), (c_mean, c_std) = _mean_std(mixed), _mean_std(char)
        gap = m_mean - c_mean
        if m_std is not None and c_std is not None:
            noise = (m_std ** 2 / len(mixed) + c_std ** 2 / len(char)) ** 0.5
            verdict = ("larger than" if abs(gap) > 2 * noise else "within")
            out.append(f"- Mixed minus char-only: {gap:+.1f} CMRC F1 ({len(mixed)} and "
                       f"{len(char)} seeds), {verdict} twice its standard error "
                       f"({noise:.1f}).")
        else:
            out.append(f"- Mixed minus char-only: {gap:+.1f} CMRC F1 (fewer than two seeds "
                       "in a row: no standard error).")
    if rows["mixed"] and rows["bilstm"]:
        gap = (_mean_std([c["cmrc_f1"] for _, c in rows["mixed"]])[0]
               - _mean_std([c["cmrc_f1"] for _, c in rows["bilstm"]])[0])
        std = _mean_std([c["cmrc_f1"] for _, c in rows["mixed"]])[1]
        judged = ("no DGCNN seed spread to judge it by" if std is None else
                  f"{'within' if abs(gap) <= 2 * std else 'beyond'} two DGCNN seed standard "
                  f"deviations ({2 * std:.1f})")
        out.append(f"- DGCNN mixed minus BiLSTM mixed (same embedding, head, budget): "
                   f"{gap:+.1f} CMRC F1 (BiLSTM: one seed; {judged}).")
    return out


def _backend_lines(cell: dict) -> list[str]:
    lines = ["", "## Training time per epoch per backend (cell `backend-epochs`)", "",
             f"The default mixed DGCNN (width 64, batch 64) trained for two epochs on the "
             f"first {cell['questions']} cloze training questions "
             f"(`benchmarks/qa.py --epoch-probe {cell['questions']}` in one fresh process per "
             "backend, no dev scoring or checkpoints); epoch 1 includes tracing/compilation, and "
             "epoch 2 can still include one (a passage-length bucket, 128 or 256, first seen "
             "in it; not separated here). "
             "The full-epoch estimate scales the second epoch to the 66 steps of the whole "
             "training split. The machine was shared (load averages below, 2 cores), so these "
             "are loaded figures: compare backends only together with their load.", "",
             "| backend | steps/epoch | epoch 1 s | epoch 2 s | s/step (epoch 2) | "
             "full-epoch estimate s | load mean (min–max) |", "|---|---|---|---|---|---|---|"]
    for backend, row in cell["backends"].items():
        if "error" in row:
            lines.append(f"| {backend} | failed: {row['error'].splitlines()[-1][:80]} "
                         "| | | | | |")
            continue
        times = row["epoch_seconds"]
        lines.append(f"| {backend} | {row['steps_per_epoch']} | {times[0]:.1f} | "
                     f"{times[-1]:.1f} | {times[-1] / row['steps_per_epoch']:.2f} | "
                     f"{row['full_epoch_seconds_estimate']:.0f} | {row['load_mean']:.1f} "
                     f"({row['load_min']:.1f}–{row['load_max']:.1f}) |")
    return lines


def write_report(cells: dict) -> None:
    import keras

    from kexue.tasks.qa.cloze import cloze_statistics, load_cloze

    lines = ["# DGCNN reading comprehension on the cloze set (benchmarks/qa.py)", "",
             f"Machine: {platform.machine()}, {os.cpu_count()} CPU cores (shared with other "
             f"jobs), Python {platform.python_version()}, Keras {keras.__version__}, "
             "backend jax (except the backend-epochs cell).", "",
             "Commands: every cell was run as `flock -s /tmp/kexue-heavy.lock env "
             "KERAS_BACKEND=jax .venv/bin/python benchmarks/qa.py --cells NAME` (NAME = "
             "lexical, mixed-s0..2, char-s0..2, bilstm-s0, speed, backend-epochs; a finished "
             "cell is kept in `qa_cells.json` and skipped), the report rebuilt with "
             "`.venv/bin/python benchmarks/qa.py --report-only`. Every trained row uses the "
             "default `TrainSettings` (width 64, batch 64, 6 epochs, Adam 1e-3, EMA 0.99; the "
             "BiLSTM row only changes `encoder`) on the cloze train split, best epoch by dev "
             "CMRC F1 on 300 dev questions, scored on the whole test split (759 questions).",
             ""]
    stats = {s: cloze_statistics(load_cloze(s)).as_dict() for s in ("train", "dev", "test")}
    lines += ["## Cloze set", "", "| statistic | train | dev | test |", "|---|---|---|---|"]
    for key in stats["train"]:
        lines.append(f"| {key.replace('_', ' ')} | " + " | ".join(
            f"{stats[s][key]:.3g}" if isinstance(stats[s][key], float) else
            f"{stats[s][key]:,}" for s in stats) + " |")
    lines += ["", "## Test-split scores (mean ± sample std over seeds)", "",
              "| model | seeds | CMRC EM | CMRC F1 | Sogou final | Δ F1 vs lexical | "
              "epochs (best) | s per epoch | train wall s | load mean (min–max) | "
              "trainable params |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    lexical = cells.get("lexical")
    for prefix, label in ROWS:
        found = _seed_cells(cells, prefix)
        if not found:
            lines.append(f"| {label} | not run |" + " |" * 9)
            continue
        seeds = ",".join(f"s{seed}" for seed, _ in found)
        scores = " | ".join(_fmt([c[key] for _, c in found], digits)
                            for key, _, digits in METRICS)
        delta = "–"
        if lexical and prefix != "lexical":
            delta = f"{_mean_std([c['cmrc_f1'] for _, c in found])[0] - lexical['cmrc_f1']:+.1f}"
        if prefix == "lexical":
            lines.append(f"| {label} | – | {scores} | – | – | – | – | – | – |")
            continue
        epochs = ", ".join(f"{c['epochs']} ({c['best_epoch']})" for _, c in found)
        times = [t for _, c in found for t in c.get("epoch_seconds") or []]
        per_epoch = f"{min(times):.0f}–{max(times):.0f}" if times else "–"
        walls = ", ".join(f"{c['train_wall_seconds']:.0f}" for _, c in found)
        loads = [c.get("load_during_training") for _, c in found]
        load = ", ".join(f"{x['load_mean']:.1f} ({x['load_min']:.1f}–{x['load_max']:.1f})"
                         if x else "not recorded" for x in loads)
        lines.append(f"| {label} | {len(found)} ({seeds}) | {scores} | {delta} | {epochs} | "
                     f"{per_epoch} | {walls} | {load} | "
                     f"{found[0][1].get('trainable_params', 0):,} |")
    lines += ["", "Train wall time includes word2vec training (mixed rows, about 2 minutes the "
              "first time, then cached), the per-epoch dev scoring of 300 dev questions, and "
              "the final scoring of the whole dev split; the mixed models also hold a frozen "
              "word-vector table (not counted as trainable). The load is the 1-minute load "
              "average of the 2-core machine sampled during training (recorded from the "
              "BiLSTM cell on); the machine ran other experiments at the same time, so every "
              "wall time here is a loaded figure.", ""]
    finals = [c["sogou_final"] for prefix, _ in ROWS[1:]
              for _, c in _seed_cells(cells, prefix)]
    best = f"the best Sogou final of a trained model here is {max(finals):.3f}" if finals \
        else "no trained model has finished"
    lines += ["## What the ablation shows", ""] + _conclusions(cells) + [
        "",
        "The article reports about 0.72 (Sogou final) on its SogouQA dev third for the "
        "char-level DGCNN with the mixed embedding, after up to 120 epochs on tens of "
        "thousands of SogouQA and WebQA questions. At the default budget here (6 epochs, "
        "about 400 steps, meant to fit 10 minutes on 2 free cores) on 4,205 cloze "
        f"questions, {best}, against {cells['lexical']['sogou_final']:.3f} for the "
        "string-matching baseline: the experiment tests the direction of the claim (does "
        "the mixed embedding help a from-scratch CNN reader; does the CNN match a recurrent "
        "reader of similar size), not its level. The cloze questions are also unlike "
        "SogouQA's: answers are short spans of the title whose neighbours are copied "
        "verbatim in the content for about 60 % of questions, which is what the lexical "
        "baseline exploits.", ""]
    curves = {k: cells[k]["dev_f1_per_epoch"] for k in sorted(cells)
              if isinstance(cells[k], dict) and cells[k].get("dev_f1_per_epoch")}
    if curves:
        width = max(len(v) for v in curves.values())
        lines += ["Dev CMRC F1 (300 dev questions, EMA weights) after each epoch:", "",
                  "| cell | " + " | ".join(str(i + 1) for i in range(width)) + " |",
                  "|---|" + "---|" * width]
        for key, values in curves.items():
            lines.append(f"| {key} | " + " | ".join(f"{v:.1f}" for v in values) + " |")
    speed = cells.get("speed")
    if speed:
        lines += ["", "## Answering speed (mixed run, batch decode)", "",
                  f"- {speed['questions_per_second']:.1f} questions/s with 5 passages each "
                  f"({speed['questions']} test questions, after compilation);",
                  f"- whole test split, all {speed['test_passages']:,} passages: "
                  f"{speed['test_split_seconds_all_passages']:.1f} s."]
    if cells.get("backend-epochs"):
        lines += _backend_lines(cells["backend-epochs"])
    missing = [f"{prefix}-s{seed}" for prefix in ("mixed", "char") for seed in range(3)
               if f"{prefix}-s{seed}" not in cells]
    lines += ["", "## What was not run", ""]
    if missing:
        lines.append(f"- DGCNN seeds not finished when this report was written: "
                     f"{', '.join(missing)} (the means above use the seeds listed per row).")
    if "bilstm-s0" not in cells:
        lines.append("- The BiLSTM row: its cell has not finished.")
    if not cells.get("backend-epochs"):
        lines.append("- Training time per epoch on TensorFlow and PyTorch: not measured.")
    lines += ["- One seed for the BiLSTM row (as the issue asks): its difference to the "
              "DGCNN rows is judged against the DGCNN seeds' spread only.",
              "- GPU timing: no device machine was lent to this task.",
              "- Wall times were measured while other jobs ran on the same two cores (see "
              "the load columns), so they overstate the time on an idle machine.", ""]
    lines += ["## Raw cells", "", "```json", json.dumps(cells, indent=1), "```", ""]
    from kexue._io import atomic_write

    with atomic_write(REPORT) as handle:
        handle.write("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", default="lexical,mixed-s0,char-s0,speed")
    parser.add_argument("--runs", type=Path, default=Path("/tmp/kexue-qa-bench"))
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--epoch-probe", type=int, metavar="QUESTIONS",
                        help="time epochs on the current backend, print JSON (internal)")
    args = parser.parse_args()
    if args.epoch_probe:
        print(json.dumps(epoch_probe(args.epoch_probe)))
        return
    cells = _load()
    if not args.report_only:
        from kexue.tasks.qa.cloze import load_cloze

        train, dev, test = (load_cloze(s) for s in ("train", "dev", "test"))
        args.runs.mkdir(parents=True, exist_ok=True)
        for name in args.cells.split(","):
            if name in cells:
                print(f"{name}: done, skipped", file=sys.stderr)
                continue
            print(f"{name}: running", file=sys.stderr)
            if name == "lexical":
                cells[name] = cell_lexical(test)
            elif name == "speed":
                cells[name] = cell_speed(args.runs, test)
            elif name == "backend-epochs":
                cells[name] = cell_backend_epochs(train)
            else:
                prefix, _, seed = name.partition("-s")
                if prefix not in TRAINED or not seed.isdigit():
                    parser.error(f"unknown cell {name!r}")
                cells[name] = cell_trained(prefix, int(seed), args.runs, train, dev, test)
            _save(cells)
            print(f"{name}: {json.dumps(cells[name])[:300]}", file=sys.stderr)
    write_report(cells)


if __name__ == "__main__":
    main()
