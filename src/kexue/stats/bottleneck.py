"""The HSIC bottleneck: training a network layer by layer without back-propagation.

Ma, Lewis & Kleijn, "The HSIC Bottleneck: Deep Learning without Back-Propagation", AAAI 2020,
arXiv:1908.01580. Each hidden layer ``Z_i`` gets its own objective

    nHSIC(Z_i, X) - beta * nHSIC(Z_i, Y),    nHSIC(A, B) = tr(R_A R_B),
    R = K~ (K~ + epsilon n I)^-1,            K~ = H K H (the centred kernel matrix),

with Gaussian kernels ``exp(-|a - b|^2 / (2 sigma^2 d))`` (``d`` the feature dimension) and
``Y`` the one-hot labels: keep what predicts the label, forget the rest of the input. The input
of every layer is wrapped in ``stop_gradient``, so no gradient crosses a layer boundary; all
layers still train at once on the same mini-batch, each from its own loss. A single output
layer is then trained with SGD on the frozen network's last hidden layer.

Everything is ``keras.ops`` (any backend). ``R`` needs a linear solve on the batch, O(n^3) in
the batch size ``n`` by definition; the other parts are O(n^2).

Source article for HSIC itself: Su Jianlin, kexue.fm/archives/6910 (2019).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from kexue.stats.keras_ops import pairwise_squared_distances

__all__ = [
    "HSICBottleneckClassifier",
    "HSICBottleneckNetwork",
    "bottleneck_kernel",
    "normalized_hsic",
    "normalized_hsic_from_kernels",
]


def bottleneck_kernel(x: Any, sigma: float = 5.0) -> Any:
    """Ma et al.'s Gaussian kernel ``exp(-|a - b|^2 / (2 sigma^2 d))``, ``d`` = features.

    Args:
        x: (n, d) samples (higher-rank inputs are flattened per sample).
        sigma: the bandwidth per feature.

    Returns:
        The (n, n) kernel matrix.

    Example:
        >>> import numpy as np
        >>> from kexue.stats.bottleneck import bottleneck_kernel
        >>> x = np.array([[0.0, 0.0], [1.0, 1.0]], dtype="float32")
        >>> round(float(np.asarray(bottleneck_kernel(x, sigma=1.0))[0, 1]), 4)  # exp(-2/4)
        0.6065
    """
    if not sigma > 0:
        raise ValueError(f"`sigma` must be > 0; received {sigma!r}.")
    x = ops.convert_to_tensor(x)
    if not keras.backend.is_float_dtype(x.dtype):
        x = ops.cast(x, keras.config.floatx())
    if len(x.shape) == 1:
        x = ops.expand_dims(x, -1)
    x = ops.reshape(x, (ops.shape(x)[0], -1))
    features = x.shape[-1]
    return ops.exp(-pairwise_squared_distances(x) / (2.0 * sigma**2 * features))


def _kernel_minus_one(x: Any, sigma: float) -> Any:
    """``bottleneck_kernel(x) - 1`` computed with ``expm1``.

    Centring removes constants (``H 1 = 0``), so ``H (K - 1 1^T) H = H K H``; but with wide
    kernels (entries near 1, e.g. one-hot labels at sigma = 5) ``K - 1`` keeps the digits that
    float32 would lose in ``K``'s centring.
    """
    x = ops.convert_to_tensor(x)
    if not keras.backend.is_float_dtype(x.dtype):
        x = ops.cast(x, keras.config.floatx())
    x = ops.reshape(x, (ops.shape(x)[0], -1))
    return ops.expm1(-pairwise_squared_distances(x) / (2.0 * sigma**2 * x.shape[-1]))


def normalized_hsic_from_kernels(k_x: Any, k_y: Any, epsilon: float = 1e-5) -> Any:
    """``tr(R_X R_Y)`` with ``R = K~ (K~ + epsilon n I)^-1``, ``K~ = H K H`` (Ma et al.).

    ``K~`` and ``(K~ + epsilon n I)^-1`` commute, so ``R`` is symmetric and is obtained by one
    linear solve; the trace of the product is an elementwise sum.

    Args:
        k_x: (n, n) kernel matrix of X.
        k_y: (n, n) kernel matrix of Y.
        epsilon: the ridge; ``epsilon * n`` is added to the centred kernel's diagonal.

    Returns:
        A scalar tensor between 0 and ``min(rank)``: a count of shared directions.

    Example:
        >>> import numpy as np
        >>> from kexue.stats.bottleneck import normalized_hsic_from_kernels
        >>> k = np.eye(6, dtype="float32")
        >>> round(float(normalized_hsic_from_kernels(k, k)), 2)  # H has rank 5
        5.0
    """
    if not epsilon > 0:
        raise ValueError(f"`epsilon` must be > 0; received {epsilon!r}.")
    return ops.sum(_resolvent(k_x, epsilon) * _resolvent(k_y, epsilon))


def _resolvent(k: Any, epsilon: float) -> Any:
    k = ops.convert_to_tensor(k)
    n = ops.shape(k)[0]
    centred = k - ops.mean(k, axis=0, keepdims=True) - ops.mean(k, axis=1, keepdims=True)
    centred = centred + ops.mean(k)
    ridge = epsilon * ops.cast(n, k.dtype) * ops.eye(n, dtype=k.dtype)
    return ops.solve(centred + ridge, centred)


def normalized_hsic(x: Any, y: Any, sigma: float = 5.0, epsilon: float = 1e-5) -> Any:
    """Ma et al.'s normalised HSIC between two batches, with :func:`bottleneck_kernel`.

    Args:
        x: (n, d_x) samples.
        y: (n, d_y) samples (e.g. one-hot labels).
        sigma: the kernel bandwidth per feature (both variables).
        epsilon: the ridge of ``R``.

    Returns:
        A scalar tensor.

    Example:
        >>> import numpy as np
        >>> from kexue.stats.bottleneck import normalized_hsic
        >>> labels = np.eye(3, dtype="float32")[np.arange(30) % 3]
        >>> round(float(normalized_hsic(labels, labels, sigma=1.0)), 1)  # 3 classes: rank 2
        2.0
    """
    if x.shape[0] is not None and y.shape[0] is not None and x.shape[0] != y.shape[0]:
        raise ValueError(
            "`x` and `y` must have the same number of samples; "
            f"received {x.shape[0]} and {y.shape[0]}."
        )
    if not sigma > 0:
        raise ValueError(f"`sigma` must be > 0; received {sigma!r}.")
    return normalized_hsic_from_kernels(
        _kernel_minus_one(x, sigma), _kernel_minus_one(y, sigma), epsilon
    )


@keras.saving.register_keras_serializable(package="kexue")
class HSICBottleneckNetwork(keras.Model):
    """A dense network whose hidden layers train on the HSIC-bottleneck objective.

    ``call`` returns the list of hidden activations; every layer's input is wrapped in
    ``stop_gradient``. ``compute_loss`` sums, over the layers,
    ``nHSIC(Z_i, X) - beta * nHSIC(Z_i, Y)`` (Ma et al. 2020), so plain ``fit(x, y_onehot)``
    trains each layer from its own loss on any backend.

    Args:
        hidden_units: widths of the hidden layers.
        num_classes: the number of label classes (labels may be integers or one-hot).
        activation: activation of the hidden layers.
        sigma: kernel bandwidth per feature (:func:`bottleneck_kernel`).
        beta: weight of the label term.
        epsilon: ridge of ``R``.
        **kwargs: base ``keras.Model`` arguments (``name``...).

    Example:
        >>> import keras, numpy as np
        >>> from kexue.stats.bottleneck import HSICBottleneckNetwork
        >>> net = HSICBottleneckNetwork(hidden_units=(16, 16), num_classes=3)
        >>> net.compile(optimizer=keras.optimizers.Adam(1e-3))
        >>> rng = np.random.default_rng(0)
        >>> x, y = rng.normal(size=(64, 5)).astype("float32"), rng.integers(0, 3, 64)
        >>> history = net.fit(x, y, batch_size=32, epochs=1, verbose=0)
        >>> [tuple(z.shape) for z in net(x[:4])]
        [(4, 16), (4, 16)]
    """

    def __init__(
        self,
        hidden_units: Sequence[int] = (128, 128, 128),
        num_classes: int = 10,
        activation: str = "relu",
        sigma: float = 5.0,
        beta: float = 50.0,
        epsilon: float = 1e-5,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        hidden_units = tuple(int(u) for u in hidden_units)
        if not hidden_units or min(hidden_units) < 1:
            raise ValueError(
                f"`hidden_units` must be a non-empty list of positive widths; got {hidden_units}."
            )
        if int(num_classes) < 2:
            raise ValueError(f"`num_classes` must be >= 2; received {num_classes!r}.")
        if not sigma > 0 or not epsilon > 0 or not beta >= 0:
            raise ValueError(
                "`sigma` and `epsilon` must be > 0 and `beta` >= 0; received "
                f"sigma={sigma!r}, epsilon={epsilon!r}, beta={beta!r}."
            )
        self.hidden_units = hidden_units
        self.num_classes = int(num_classes)
        self.activation = activation
        self.sigma = float(sigma)
        self.beta = float(beta)
        self.epsilon = float(epsilon)
        self.hidden_layers = [
            keras.layers.Dense(units, activation=activation, name=f"hidden_{i}")
            for i, units in enumerate(hidden_units)
        ]

    def build(self, input_shape: Any) -> None:
        features = int(np.prod(input_shape[1:]))
        for layer in self.hidden_layers:
            layer.build((None, features))
            features = layer.units
        self.built = True

    def call(self, inputs: Any) -> list[Any]:
        z = ops.reshape(inputs, (ops.shape(inputs)[0], -1))
        activations = []
        for layer in self.hidden_layers:
            z = layer(ops.stop_gradient(z))
            activations.append(z)
        return activations

    def _labels(self, y: Any) -> Any:
        y = ops.convert_to_tensor(y)
        if len(y.shape) == 2 and y.shape[-1] == self.num_classes:
            return ops.cast(y, self.compute_dtype)
        return ops.one_hot(ops.cast(ops.reshape(y, (-1,)), "int32"), self.num_classes)

    def layer_objectives(self, x: Any, y: Any, activations: Sequence[Any]) -> list[Any]:
        """``nHSIC(Z_i, X) - beta nHSIC(Z_i, Y)`` for each hidden activation ``Z_i``."""
        x = ops.reshape(ops.convert_to_tensor(x), (ops.shape(x)[0], -1))
        x = ops.cast(x, self.compute_dtype)
        r_x = _resolvent(_kernel_minus_one(x, self.sigma), self.epsilon)
        r_y = _resolvent(_kernel_minus_one(self._labels(y), self.sigma), self.epsilon)
        objectives = []
        for z in activations:
            r_z = _resolvent(_kernel_minus_one(z, self.sigma), self.epsilon)
            objectives.append(ops.sum(r_z * r_x) - self.beta * ops.sum(r_z * r_y))
        return objectives

    def compute_loss(
        self,
        x: Any = None,
        y: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
        training: bool = True,
    ) -> Any:
        if y is None:
            raise ValueError("HSICBottleneckNetwork.fit needs labels `y`; received None.")
        return ops.sum(ops.stack(self.layer_objectives(x, y, y_pred)))

    def get_config(self) -> dict[str, Any]:
        return {
            "hidden_units": list(self.hidden_units),
            "num_classes": self.num_classes,
            "activation": self.activation,
            "sigma": self.sigma,
            "beta": self.beta,
            "epsilon": self.epsilon,
            "name": self.name,
        }


class HSICBottleneckClassifier:
    """HSIC-bottleneck training followed by an SGD-trained softmax layer (scikit-learn style).

    ``fit`` first trains :class:`HSICBottleneckNetwork` (every hidden layer on its own loss,
    Adam), then freezes it, standardises its last hidden layer and trains one softmax output
    layer on it with SGD (Ma et al.'s "format" step). No gradient ever crosses a hidden layer.

    Args:
        hidden_units: widths of the hidden layers.
        activation: hidden activation.
        sigma: kernel bandwidth per feature.
        beta: weight of the label term.
        epsilon: ridge of ``R``.
        epochs: bottleneck training epochs (0 keeps the random initial network: a control).
        batch_size: the batch on which the HSIC terms are estimated.
        learning_rate: Adam learning rate of the bottleneck phase.
        readout_epochs: SGD epochs of the output layer.
        readout_learning_rate: SGD learning rate (momentum 0.9) of the output layer.
        seed: seeds Keras (weights, shuffling) for a repeatable run.

    Attributes (after ``fit``):
        network_: the trained :class:`HSICBottleneckNetwork`.
        readout_: the Keras model (standardisation + softmax) on the last hidden layer.
        history_: ``{"bottleneck": [...], "readout": [...]}`` losses per epoch.
        classes_: the sorted class labels.

    Example:
        >>> import numpy as np
        >>> from kexue.stats.bottleneck import HSICBottleneckClassifier
        >>> rng = np.random.default_rng(0)
        >>> y = np.arange(90) % 3
        >>> x = (rng.normal(size=(90, 4)) + 3.0 * np.eye(4)[y]).astype("float32")
        >>> model = HSICBottleneckClassifier(hidden_units=(16,), epochs=5, batch_size=30,
        ...                                  readout_epochs=20, seed=0).fit(x, y)
        >>> model.score(x, y) > 0.8
        True
    """

    def __init__(
        self,
        hidden_units: Sequence[int] = (128, 128, 128),
        activation: str = "relu",
        sigma: float = 5.0,
        beta: float = 50.0,
        epsilon: float = 1e-5,
        epochs: int = 30,
        batch_size: int = 256,
        learning_rate: float = 1e-3,
        readout_epochs: int = 60,
        readout_learning_rate: float = 0.05,
        seed: int | None = 0,
    ) -> None:
        self.hidden_units = tuple(hidden_units)
        self.activation = activation
        self.sigma = sigma
        self.beta = beta
        self.epsilon = epsilon
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.readout_epochs = readout_epochs
        self.readout_learning_rate = readout_learning_rate
        self.seed = seed

    def _check_xy(self, x: Any, y: Any | None) -> tuple[np.ndarray, np.ndarray | None]:
        x = np.asarray(x, dtype="float32")
        if x.ndim < 2:
            raise ValueError(f"`x` must have shape (n, features...); received shape {x.shape}.")
        x = x.reshape(len(x), -1)
        if not np.isfinite(x).all():
            row = int(np.flatnonzero(~np.isfinite(x).all(axis=1))[0])
            raise ValueError(f"`x` has a NaN or infinite value in row {row}.")
        if y is None:
            return x, None
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(x):
            raise ValueError(
                f"`y` must be a 1-D array of {len(x)} labels (one per row of `x`); "
                f"received shape {y.shape}."
            )
        return x, y

    def _encode(self, y: np.ndarray) -> np.ndarray:
        index = np.searchsorted(self.classes_, y)
        unknown = (index >= len(self.classes_)) | (self.classes_[np.minimum(index, len(
            self.classes_) - 1)] != y)
        if unknown.any():
            raise ValueError(f"`y` holds labels not seen in fit, e.g. {y[unknown][0]!r}.")
        return index

    def fit(self, x: Any, y: Any) -> HSICBottleneckClassifier:
        """Train the hidden layers on the bottleneck objective, then the output layer.

        Args:
            x: (n, features...) inputs.
            y: (n,) class labels (any sortable values).

        Returns:
            ``self``.
        """
        x, y = self._check_xy(x, y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"`y` must hold at least 2 classes; received {self.classes_}.")
        if int(self.epochs) < 0:
            raise ValueError(f"`epochs` must be >= 0; received {self.epochs!r}.")
        if len(x) < 4:
            raise ValueError(f"`x` needs at least 4 samples; received {len(x)}.")
        labels = self._encode(y)
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        self.network_ = HSICBottleneckNetwork(
            hidden_units=self.hidden_units,
            num_classes=len(self.classes_),
            activation=self.activation,
            sigma=self.sigma,
            beta=self.beta,
            epsilon=self.epsilon,
        )
        self.network_.compile(optimizer=keras.optimizers.Adam(self.learning_rate))
        bottleneck = self.network_.fit(
            x, labels, batch_size=self.batch_size, epochs=self.epochs, verbose=0, shuffle=True
        )
        features = self.transform(x)
        normalizer = keras.layers.Normalization()
        normalizer.adapt(features)
        self.readout_ = keras.Sequential(
            [
                keras.Input((features.shape[1],)),
                normalizer,
                keras.layers.Dense(len(self.classes_), activation="softmax"),
            ]
        )
        self.readout_.compile(
            optimizer=keras.optimizers.SGD(self.readout_learning_rate, momentum=0.9),
            loss="sparse_categorical_crossentropy",
        )
        readout = self.readout_.fit(
            features,
            labels,
            batch_size=min(self.batch_size, 64),
            epochs=self.readout_epochs,
            verbose=0,
            shuffle=True,
        )
        self.history_ = {
            "bottleneck": [float(v) for v in bottleneck.history.get("loss", [])],
            "readout": [float(v) for v in readout.history["loss"]],
        }
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise ValueError("this HSICBottleneckClassifier is not fitted yet; call fit first.")

    def transform(self, x: Any) -> np.ndarray:
        """The last hidden layer's activations, shape (n, hidden_units[-1])."""
        self._check_fitted()
        x, _ = self._check_xy(x, None)
        activations = self.network_.predict(x, batch_size=1024, verbose=0)
        return np.asarray(keras.ops.convert_to_numpy(activations[-1]), dtype="float32")

    def predict_proba(self, x: Any) -> np.ndarray:
        """Class probabilities, shape (n, n_classes), columns in ``classes_`` order."""
        features = self.transform(x)
        return np.asarray(self.readout_.predict(features, batch_size=1024, verbose=0))

    def predict(self, x: Any) -> np.ndarray:
        """The most probable class label of each row."""
        self._check_fitted()
        return self.classes_[np.argmax(self.predict_proba(x), axis=1)]

    def score(self, x: Any, y: Any) -> float:
        """Accuracy on (x, y)."""
        _, y = self._check_xy(x, y)
        return float(np.mean(self.predict(x) == y))
