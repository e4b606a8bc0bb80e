"""Experiment: Adam vs Lookahead(Adam) vs LazyAdam ("sparse", "step") on iNews sentiment.

The article (kexue.fm/archives/6869) reports that a lazy Adam beat Adam by about 1.2 points
of best validation accuracy on IMDB (Embedding + LSTM). This script checks the same kind of
claim on the embedded Chinese `inews` corpus (3 classes, train/dev as shipped): a char-level
model (title + start of content, 200 chars, 5k-char vocabulary, Embedding 64 -> Conv1D 128
-> global max pool -> Dense 3), JAX backend, several seeds per optimizer, dev accuracy after
every epoch. ``--level word`` feeds the same model the first 120 jieba words with a
40k-word vocabulary (most rows rare, as in the article's word-level IMDB model).

Usage:
    .venv/bin/python benchmarks/optimizers_inews.py            # 5 seeds x 8 epochs
    .venv/bin/python benchmarks/optimizers_inews.py --level word  # jieba words, 40k vocab
    .venv/bin/python benchmarks/optimizers_inews.py --quick    # 2 seeds x 3 epochs, 1/4 data
Writes benchmarks/results/optimizers_inews[_word].md and .png.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402

from _machine import RESULTS, write_results  # noqa: E402

OPTIMIZERS = ["Adam", "Lookahead(Adam)", "LazyAdam sparse", "LazyAdam step"]
MAX_CHARS = 200
# Per level: (tokens per article, vocabulary size incl. padding 0 and out-of-vocabulary 1).
# Words: every training word up to the cap, so most rows are rare (the regime lazy
# optimizers are for: the article's IMDB model had a word vocabulary).
LEVELS = {"char": (200, 5000), "word": (120, 40_000)}


def tokens(title: str, content: str, level: str) -> list[str]:
    text = (title + "\n" + content)[:MAX_CHARS] if level == "char" else title + "\n" + content
    if level == "char":
        return list(text)
    from kexue.text import Tokenizer

    cut = Tokenizer("jieba").function
    return [w for w in cut(text[: 4 * MAX_CHARS]) if w.strip()][: LEVELS["word"][0]]


def encode(texts: list[list[str]], vocabulary: dict[str, int], length: int) -> np.ndarray:
    out = np.zeros((len(texts), length), "int32")
    for row, text in enumerate(texts):
        out[row, : len(text)] = [vocabulary.get(t, 1) for t in text]
    return out


def load(fraction: float, level: str):
    from kexue.corpora import load_inews

    length, size = LEVELS[level]
    train, dev = load_inews("train"), load_inews("dev")
    texts = {
        name: [tokens(t, c, level) for t, c in zip(split.titles, split.contents, strict=True)]
        for name, split in (("train", train), ("dev", dev))
    }
    counts = Counter(t for text in texts["train"] for t in text)
    # 0 = padding, 1 = out of vocabulary.
    vocabulary = {t: i + 2 for i, (t, _) in enumerate(counts.most_common(size - 2))}
    x_train = encode(texts["train"], vocabulary, length)
    x_dev = encode(texts["dev"], vocabulary, length)
    y_train, y_dev = np.asarray(train.labels, "int32"), np.asarray(dev.labels, "int32")
    if fraction < 1.0:
        keep = int(len(y_train) * fraction)
        x_train, y_train = x_train[:keep], y_train[:keep]
    return x_train, y_train, x_dev, y_dev


def make_optimizer(name: str):
    import keras

    from kexue.optimizers import LazyAdam, Lookahead

    if name == "Adam":
        return keras.optimizers.Adam(1e-3)
    if name == "Lookahead(Adam)":
        return Lookahead(keras.optimizers.Adam(1e-3), sync_period=5, slow_step_size=0.5)
    return LazyAdam(1e-3, mode=name.split()[-1])


def run(name: str, seed: int, data, epochs: int, level: str) -> list[float]:
    import keras

    x_train, y_train, x_dev, y_dev = data
    length, size = LEVELS[level]
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((length,), dtype="int32"),
            keras.layers.Embedding(size, 64),
            keras.layers.Conv1D(128, 3, activation="relu"),
            keras.layers.GlobalMaxPooling1D(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(3),
        ]
    )
    model.compile(
        optimizer=make_optimizer(name),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    history = model.fit(
        x_train,
        y_train,
        batch_size=32,
        epochs=epochs,
        validation_data=(x_dev, y_dev),
        verbose=0,
    )
    return [float(a) for a in history.history["val_accuracy"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, 3 epochs, 1/4 of train")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument(
        "--level",
        choices=sorted(LEVELS),
        default="char",
        help="char: 200 chars, 5k-char vocabulary; word: 120 jieba words, 40k-word vocabulary",
    )
    args = parser.parse_args()
    level = args.level
    length, size = LEVELS[level]
    stem = "optimizers_inews" + ("" if level == "char" else f"_{level}")
    seeds, epochs, fraction = (2, 3, 0.25) if args.quick else (args.seeds, args.epochs, 1.0)

    import keras

    data = load(fraction, level)
    majority = np.bincount(data[3]).max() / len(data[3])
    curves: dict[str, np.ndarray] = {}
    started = time.perf_counter()
    for name in OPTIMIZERS:
        runs = []
        for seed in range(seeds):
            runs.append(run(name, seed, data, epochs, level))
            print(f"{name} seed {seed}: dev acc {' '.join(f'{a:.3f}' for a in runs[-1])}")
        curves[name] = np.asarray(runs)
    elapsed = time.perf_counter() - started

    command = "`.venv/bin/python benchmarks/optimizers_inews.py" + (
        " --quick" if args.quick else f" --seeds {seeds} --epochs {epochs}"
    ) + ("" if level == "char" else f" --level {level}") + "`"
    seen = int((np.unique(data[0]) >= 2).sum())
    lines = [
        f"# iNews sentiment ({level} level): Adam vs Lookahead vs LazyAdam",
        "",
        f"Command: {command} ({elapsed / 60:.1f} min)",
        "",
        f"Machine: {os.cpu_count()} cores; Python {platform.python_version()}; "
        f"keras {keras.__version__}, backend {keras.backend.backend()}.",
        f"Data: iNews train {len(data[1])} / dev {len(data[3])} articles, 3 classes "
        f"(dev majority class {majority:.3f}); title + content, "
        + (
            f"first {length} chars, {size}-char vocabulary"
            if level == "char"
            else f"first {length} jieba words, {size}-word vocabulary"
        )
        + f" ({seen} of its rows occur in the training set).",
        f"Model: Embedding({size}, 64) -> Conv1D(128, 3, relu) -> GlobalMaxPool -> Dropout 0.3 "
        f"-> Dense(3); Adam lr 1e-3, batch 32, {epochs} epochs, seeds 0..{seeds - 1}.",
        "",
        "| optimizer | best dev acc (mean ± std) | epoch of best (mean ± std) | "
        "last-epoch dev acc | Δ best vs Adam |",
        "|---|---|---|---|---|",
    ]
    adam_best = curves["Adam"].max(axis=1).mean()
    for name in OPTIMIZERS:
        best = curves[name].max(axis=1)
        best_epoch = curves[name].argmax(axis=1) + 1
        last = curves[name][:, -1]
        lines.append(
            f"| {name} | {100 * best.mean():.2f} ± {100 * best.std(ddof=1):.2f} | "
            f"{best_epoch.mean():.1f} ± {best_epoch.std(ddof=1):.1f} | "
            f"{100 * last.mean():.2f} ± {100 * last.std(ddof=1):.2f} | "
            f"{100 * (best.mean() - adam_best):+.2f} |"
        )
    gain = {n: 100 * (curves[n].max(axis=1).mean() - adam_best) for n in OPTIMIZERS[2:]}
    noise = 100 * curves["Adam"].max(axis=1).std(ddof=1)
    lines += [
        "",
        f"Article's claim (lazy Adam ≈ +1.2 points of best validation accuracy over Adam, on "
        f"IMDB): here LazyAdam sparse {gain['LazyAdam sparse']:+.2f}, LazyAdam step "
        f"{gain['LazyAdam step']:+.2f} points, against a seed-to-seed std of {noise:.2f} "
        f"points for Adam. "
        + (
            "The +1.2-point gain does show up."
            if min(gain.values()) >= 1.2
            else "The +1.2-point gain does NOT show up on this task."
        ),
        "",
        f"![dev accuracy curves]({stem}.png)",
    ]
    text = write_results(f"{stem}.md", lines)
    plot(curves, RESULTS / f"{stem}.png", level)
    print(text)


def plot(curves: dict[str, np.ndarray], path: Path, level: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(7, 4.5))
    for name, runs in curves.items():
        epochs = np.arange(1, runs.shape[1] + 1)
        mean, std = runs.mean(axis=0), runs.std(axis=0)
        axis.plot(epochs, 100 * mean, marker="o", label=name)
        axis.fill_between(epochs, 100 * (mean - std), 100 * (mean + std), alpha=0.15)
    axis.set_xlabel("epoch")
    axis.set_ylabel("dev accuracy (%)")
    seeds = len(next(iter(curves.values())))
    axis.set_title(f"iNews dev accuracy ({level} level), mean ± std over {seeds} seeds")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
