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
from sklearn.base import BaseEstimator, ClassifierMixin

from kexue._validation import (
    check_float,
    check_int,
    check_positive_int,
    check_random_state,
)
from kexue.stats.keras_hsic import _double_centre, pairwise_squared_distances

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
    centred = _double_centre(k)
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
        seed: seed of the hidden layers' initial weights (None: Keras' global generator).
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
        seed: int | None = None,
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
        self.seed = check_int(seed, "seed", minimum=0, allow_none=True)
        self.hidden_layers = [
            keras.layers.Dense(
                units, activation=activation, name=f"hidden_{i}",
                kernel_initializer=keras.initializers.GlorotUniform(
                    seed=None if seed is None else seed + i))
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
            "seed": self.seed,
            "name": self.name,
        }


class HSICBottleneckClassifier(ClassifierMixin, BaseEstimator):
    """HSIC-bottleneck training followed by an SGD-trained softmax layer (a scikit-learn
    classifier: ``get_params``/``set_params``, ``clone``, pipelines, ``check_is_fitted``).

    ``fit`` first trains :class:`HSICBottleneckNetwork` (every hidden layer on its own loss,
    Adam), then freezes it, standardises its last hidden layer and trains one softmax output
    layer on it with SGD (Ma et al.'s "format" step). No gradient ever crosses a hidden layer.
    Randomness (initial weights, batch order) comes from ``random_state`` alone: ``fit``
    never seeds a global generator.

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
        random_state: a seed, a ``numpy.random.Generator`` or None (fresh entropy); a seed
            makes ``fit`` repeatable.
        jit_compile: passed to Keras' ``compile``; ``False`` runs the training steps
            eagerly, which is faster for a handful of tiny fits (tests), slower for real ones.

    Attributes (after ``fit``):
        network_: the trained :class:`HSICBottleneckNetwork`.
        readout_: the Keras model (standardisation + softmax) on the last hidden layer.
        history_: ``{"bottleneck": [...], "readout": [...]}`` losses per epoch.
        classes_: the sorted class labels.
        n_features_in_: the number of input features seen in ``fit``.

    Example:
        >>> import numpy as np
        >>> from kexue.stats import HSICBottleneckClassifier
        >>> rng = np.random.default_rng(0)
        >>> y = np.arange(90) % 3
        >>> x = (rng.normal(size=(90, 4)) + 3.0 * np.eye(4)[y]).astype("float32")
        >>> model = HSICBottleneckClassifier(hidden_units=(8,), epochs=1, batch_size=90,
        ...                                  readout_epochs=10, random_state=0).fit(x, y)
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
        random_state: int | np.random.Generator | None = 0,
        jit_compile: bool | str = "auto",
    ) -> None:
        # scikit-learn's contract: store the arguments unchanged; validate them in fit.
        self.hidden_units = hidden_units
        self.activation = activation
        self.sigma = sigma
        self.beta = beta
        self.epsilon = epsilon
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.readout_epochs = readout_epochs
        self.readout_learning_rate = readout_learning_rate
        self.random_state = random_state
        self.jit_compile = jit_compile

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags

    def _epochs(self, model: keras.Model, x: np.ndarray, y: np.ndarray, epochs: int,
                batch_size: int, generator: np.random.Generator) -> list[float]:
        """``epochs`` passes over (x, y) in an order drawn from ``generator`` each epoch."""
        losses = []
        for _ in range(epochs):
            order = generator.permutation(len(x))
            history = model.fit(x[order], y[order], batch_size=batch_size, epochs=1,
                                verbose=0, shuffle=False)
            losses.append(float(history.history["loss"][-1]))
        return losses

    def fit(self, X: Any, y: Any) -> HSICBottleneckClassifier:  # noqa: N803 (sklearn's name)
        """Train the hidden layers on the bottleneck objective, then the output layer.

        Args:
            X: (n, features) inputs.
            y: (n,) class labels (any sortable values).

        Returns:
            ``self``.
        """
        from sklearn.utils.multiclass import check_classification_targets
        from sklearn.utils.validation import validate_data

        X, y = validate_data(self, X, y, dtype="float32")
        check_classification_targets(y)
        epochs = check_int(self.epochs, "epochs", minimum=0)
        readout_epochs = check_int(self.readout_epochs, "readout_epochs", minimum=0)
        batch_size = check_positive_int(self.batch_size, "batch_size")
        learning_rate = check_float(self.learning_rate, "learning_rate", minimum=0.0,
                                    include_min=False)
        readout_rate = check_float(self.readout_learning_rate, "readout_learning_rate",
                                   minimum=0.0, include_min=False)
        generator = check_random_state(self.random_state, "random_state")
        self.classes_, labels = np.unique(y, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"`y` must hold at least 2 classes; received 1 class "
                             f"({self.classes_[0]!r}).")
        if len(X) < 4:
            raise ValueError(f"`X` needs at least 4 samples; received n_samples={len(X)}.")
        seeds = generator.integers(0, 2**31 - 1, size=2)
        self.network_ = HSICBottleneckNetwork(
            hidden_units=self.hidden_units,
            num_classes=len(self.classes_),
            activation=self.activation,
            sigma=self.sigma,
            beta=self.beta,
            epsilon=self.epsilon,
            seed=int(seeds[0]),
        )
        self.network_.compile(optimizer=keras.optimizers.Adam(learning_rate),
                              jit_compile=self.jit_compile)
        self.network_.build(X.shape)
        bottleneck = self._epochs(self.network_, X, labels, epochs, batch_size, generator)
        features = self._features(X)
        normalizer = keras.layers.Normalization()
        normalizer.adapt(features)
        self.readout_ = keras.Sequential(
            [
                keras.Input((features.shape[1],)),
                normalizer,
                keras.layers.Dense(len(self.classes_), activation="softmax",
                                   kernel_initializer=keras.initializers.GlorotUniform(
                                       seed=int(seeds[1]))),
            ]
        )
        self.readout_.compile(optimizer=keras.optimizers.SGD(readout_rate, momentum=0.9),
                              loss="sparse_categorical_crossentropy",
                              jit_compile=self.jit_compile)
        readout = self._epochs(self.readout_, features, labels, readout_epochs,
                               min(batch_size, 64), generator)
        self.history_ = {"bottleneck": bottleneck, "readout": readout}
        return self

    @staticmethod
    def _in_batches(function: Any, X: np.ndarray) -> np.ndarray:  # noqa: N803
        # Direct calls rather than Model.predict: no per-call graph compilation, which would
        # dominate for the small inputs a classifier is often asked about.
        if len(X) == 0:
            return np.asarray(keras.ops.convert_to_numpy(function(X)))
        return np.concatenate([np.asarray(keras.ops.convert_to_numpy(function(X[i:i + 1024])))
                               for i in range(0, len(X), 1024)])

    def _features(self, X: np.ndarray) -> np.ndarray:  # noqa: N803
        return self._in_batches(lambda rows: self.network_(rows)[-1], X).astype("float32")

    def hidden_features(self, X: Any) -> np.ndarray:  # noqa: N803
        """The last hidden layer's activations, shape (n, hidden_units[-1])."""
        from sklearn.utils.validation import check_is_fitted, validate_data

        check_is_fitted(self)
        X = validate_data(self, X, dtype="float32", reset=False)
        return self._features(X)

    def predict_proba(self, X: Any) -> np.ndarray:  # noqa: N803
        """Class probabilities, shape (n, n_classes), columns in ``classes_`` order."""
        features = self.hidden_features(X)
        return self._in_batches(self.readout_, features).astype("float64")

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        """The most probable class label of each row."""
        probabilities = self.predict_proba(X)
        return self.classes_[np.argmax(probabilities, axis=1)]
