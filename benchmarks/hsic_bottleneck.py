"""HSIC bottleneck (Ma et al. 2020) vs back-propagation on scikit-learn's bundled digits.

Same MLP (hidden widths, activation, initialisation seed) trained four ways, several seeds,
each seed with its own stratified 70/30 split of the 1,797 8x8 digits (pixels / 16):

1. HSIC bottleneck: every hidden layer trained on nHSIC(Z, X) - beta nHSIC(Z, Y) with
   stop_gradient between layers (Adam), then an SGD softmax layer on the frozen network;
2. back-propagation: the same hidden layers + softmax trained end to end (Adam, cross-entropy);
3. control, random frozen network: the untrained hidden layers + the same SGD softmax layer;
4. control, SGD softmax layer on the raw pixels (multinomial logistic regression).

Run:  KERAS_BACKEND=jax .venv/bin/python benchmarks/hsic_bottleneck.py [--quick]
Writes benchmarks/results/hsic_bottleneck.md and hsic_bottleneck.png.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402
import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
import sklearn  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from kexue._io import atomic_write  # noqa: E402
from kexue.stats.bottleneck import HSICBottleneckClassifier  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from _machine import cpu_model  # noqa: E402

RESULTS = Path(__file__).parent / "results"
METHODS = (
    "HSIC bottleneck + SGD output layer",
    "back-propagation (same MLP)",
    "control: random frozen MLP + SGD output layer",
    "control: SGD output layer on raw pixels",
)



def softmax_readout(x_train, y_train, x_test, y_test, epochs, learning_rate, seed) -> float:
    """The classifier's output-layer recipe (standardise + softmax, SGD) on raw inputs."""
    keras.utils.set_random_seed(seed)
    normalizer = keras.layers.Normalization()
    normalizer.adapt(x_train)
    model = keras.Sequential(
        [keras.Input((x_train.shape[1],)), normalizer, keras.layers.Dense(10, activation="softmax")]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate, momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, batch_size=64, epochs=epochs, verbose=0)
    return float(model.evaluate(x_test, y_test, verbose=0)[1])


def backprop(x_train, y_train, x_test, y_test, hidden, activation, epochs, seed) -> float:
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((x_train.shape[1],))]
    layers += [keras.layers.Dense(units, activation=activation) for units in hidden]
    layers += [keras.layers.Dense(10, activation="softmax")]
    model = keras.Sequential(layers)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, batch_size=64, epochs=epochs, verbose=0, shuffle=True)
    return float(model.evaluate(x_test, y_test, verbose=0)[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, fewer epochs (~2 min)")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default 5)")
    args = parser.parse_args(argv)

    seeds = args.seeds or (2 if args.quick else 5)
    hidden = (128, 128, 128, 128, 128)
    activation = "relu"
    bottleneck_epochs = 10 if args.quick else 30
    readout_epochs = 30 if args.quick else 60
    backprop_epochs = 30 if args.quick else 60
    config = dict(sigma=5.0, beta=50.0, epsilon=1e-5, batch_size=256, learning_rate=1e-3)

    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target.astype("int64")

    accuracy: dict[str, list[float]] = {m: [] for m in METHODS}
    seconds: dict[str, list[float]] = {m: [] for m in METHODS}
    curves = []
    for seed in range(seeds):
        x_train, x_test, y_train, y_test = train_test_split(
            x, y, test_size=0.3, random_state=seed, stratify=y
        )
        for method in METHODS:
            start = time.perf_counter()
            if method in (METHODS[0], METHODS[2]):
                model = HSICBottleneckClassifier(
                    hidden,
                    activation,
                    epochs=bottleneck_epochs if method == METHODS[0] else 0,
                    readout_epochs=readout_epochs,
                    random_state=seed,
                    **config,
                ).fit(x_train, y_train)
                outcome = model.score(x_test, y_test)
                if method == METHODS[0]:
                    curves.append(model.history_["bottleneck"])
            elif method == METHODS[1]:
                outcome = backprop(
                    x_train, y_train, x_test, y_test, hidden, activation, backprop_epochs, seed
                )
            else:
                outcome = softmax_readout(
                    x_train, y_train, x_test, y_test, readout_epochs, 0.05, seed
                )
            seconds[method].append(time.perf_counter() - start)
            accuracy[method].append(outcome)
            print(f"seed {seed}  {method:48s} test acc {outcome:.4f}  "
                  f"{seconds[method][-1]:6.1f} s", flush=True)

    def mean_std(values: list[float]) -> str:
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{100 * statistics.mean(values):.2f} ± {100 * spread:.2f}"

    command = "KERAS_BACKEND=jax .venv/bin/python benchmarks/hsic_bottleneck.py" + (
        " --quick" if args.quick else ""
    )
    backprop_mean = statistics.mean(accuracy[METHODS[1]])
    lines = [
        "# HSIC bottleneck vs back-propagation on scikit-learn digits",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {os.cpu_count()} cores, {cpu_model()}; Python {platform.python_version()}, "
        f"keras {keras.__version__} (backend {keras.backend.backend()}), numpy {np.__version__}, "
        f"scikit-learn {sklearn.__version__}.",
        "",
        f"Data: `sklearn.datasets.load_digits` (1,797 8x8 images, pixels / 16), {seeds} seeds; "
        "seed s uses a stratified 70/30 split with random_state=s and Keras seed s. MLP: "
        f"{len(hidden)} hidden Dense layers of {hidden[0]} ({activation}). Bottleneck: "
        f"sigma={config['sigma']}, beta={config['beta']}, epsilon={config['epsilon']}, batch "
        f"{config['batch_size']}, Adam lr {config['learning_rate']}, {bottleneck_epochs} "
        f"epochs; output layer: standardise + softmax, SGD lr 0.05 momentum 0.9, batch 64, "
        f"{readout_epochs} epochs. Back-propagation: Adam lr 1e-3, batch 64, "
        f"{backprop_epochs} epochs.",
        "",
        "| method | test accuracy % (mean ± std over seeds) | vs back-prop | train time s "
        "(median) |",
        "|---|---|---|---|",
    ]
    for method in METHODS:
        ratio = statistics.mean(accuracy[method]) / backprop_mean
        lines.append(
            f"| {method} | {mean_std(accuracy[method])} | {ratio:.3f} | "
            f"{statistics.median(seconds[method]):.1f} |"
        )
    lines += [
        "",
        "Per-seed test accuracies: "
        + "; ".join(
            f"{method}: " + ", ".join(f"{a:.4f}" for a in accuracy[method]) for method in METHODS
        ),
        "",
        "Training time includes Keras tracing/compilation on the first call; the machine was "
        "shared with other jobs, so times are indicative only.",
        "",
        "![accuracy and bottleneck loss](hsic_bottleneck.png)",
        "",
    ]
    text = "\n".join(lines)
    print(text)

    RESULTS.mkdir(exist_ok=True)
    with atomic_write(RESULTS / "hsic_bottleneck.md", mode="w") as handle:
        handle.write(text)

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    labels = ["HSIC\nbottleneck", "back-prop", "random\nfrozen MLP", "raw pixels"]
    means = [100 * statistics.mean(accuracy[m]) for m in METHODS]
    stds = [100 * (statistics.stdev(accuracy[m]) if seeds > 1 else 0.0) for m in METHODS]
    left.bar(labels, means, yerr=stds, capsize=4, color=["C0", "C1", "C7", "C7"])
    left.set_ylim(min(means) - 5, 100)
    left.set_ylabel("test accuracy %")
    left.set_title(f"digits, {seeds} seeds (mean ± std)")
    for seed, curve in enumerate(curves):
        right.plot(range(1, len(curve) + 1), curve, label=f"seed {seed}")
    right.set_xlabel("epoch")
    right.set_ylabel("sum over layers of nHSIC(Z,X) - beta nHSIC(Z,Y)")
    right.set_title("bottleneck objective (training batches)")
    right.legend()
    figure.tight_layout()
    with atomic_write(RESULTS / "hsic_bottleneck.png", mode="wb") as handle:
        figure.savefig(handle, format="png", dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main())
