"""HSIC as Keras training objectives: a ``Loss`` for ``compile`` and a penalty ``Layer``.

Both wrap the differentiable estimators of :mod:`kexue.stats.keras_hsic`; they live in
``kexue.stats`` (not ``kexue.layers``, which may not import ``stats``).

Source: Su Jianlin, "HSIC简介:一个有意思的判断相关性的思路", kexue.fm/archives/6910 (2019).
"""

from __future__ import annotations

from typing import Any

import keras

from kexue.stats.keras_hsic import _ESTIMATORS, _KERNELS, _STATISTICS, KernelSpec, hsic_penalty

__all__ = ["HSICLoss", "HSICPenalty"]


def _check_kernel_spec(kernel: KernelSpec, name: str) -> None:
    if not callable(kernel) and kernel not in _KERNELS:
        raise ValueError(f"`{name}` must be one of {_KERNELS} or a callable; received {kernel!r}.")


@keras.saving.register_keras_serializable(package="kexue")
class HSICLoss(keras.losses.Loss):
    """HSIC between ``y_pred`` and ``y_true`` over the batch, as a ``model.compile`` loss.

    The statistic is computed over the whole batch (HSIC is not a per-sample loss), so
    ``sample_weight`` is not supported and the batch should hold enough samples (tens at
    least) for the estimate to mean something.

    Args:
        estimator: ``"biased"``, ``"unbiased"`` or ``"cka"``.
        maximize: if True the loss is ``-statistic`` (to make predictions depend on the
            target, as in HSIC-as-objective training); if False (default) ``+statistic``
            (to make them independent, e.g. of a nuisance variable given as ``y_true``).
        kernel_pred: kernel of ``y_pred`` (a name; callables are not serialisable).
        kernel_true: kernel of ``y_true``.
        bandwidth_pred: bandwidth for ``y_pred``, ``None`` = median heuristic per batch.
        bandwidth_true: bandwidth for ``y_true``.
        name: the loss name.

    Example:
        >>> import numpy as np
        >>> from kexue.stats.losses import HSICLoss
        >>> loss = HSICLoss(estimator="cka", maximize=True)
        >>> x = np.random.default_rng(0).normal(size=(32, 2)).astype("float32")
        >>> round(float(loss(x, x)), 4)
        -1.0
    """

    def __init__(
        self,
        estimator: str = "biased",
        maximize: bool = False,
        kernel_pred: str = "gaussian",
        kernel_true: str = "gaussian",
        bandwidth_pred: float | None = None,
        bandwidth_true: float | None = None,
        name: str = "hsic_loss",
        **kwargs: Any,
    ) -> None:
        super().__init__(name=name, **kwargs)
        if estimator not in _STATISTICS:
            raise ValueError(f"`estimator` must be one of {_ESTIMATORS}; received {estimator!r}.")
        _check_kernel_spec(kernel_pred, "kernel_pred")
        _check_kernel_spec(kernel_true, "kernel_true")
        self.estimator = estimator
        self.maximize = bool(maximize)
        self.kernel_pred = kernel_pred
        self.kernel_true = kernel_true
        self.bandwidth_pred = bandwidth_pred
        self.bandwidth_true = bandwidth_true

    def call(self, y_true: Any, y_pred: Any) -> Any:
        statistic = _STATISTICS[self.estimator](
            y_pred,
            y_true,
            kernel_x=self.kernel_pred,
            kernel_y=self.kernel_true,
            bandwidth_x=self.bandwidth_pred,
            bandwidth_y=self.bandwidth_true,
        )
        return -statistic if self.maximize else statistic

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            estimator=self.estimator,
            maximize=self.maximize,
            kernel_pred=self.kernel_pred,
            kernel_true=self.kernel_true,
            bandwidth_pred=self.bandwidth_pred,
            bandwidth_true=self.bandwidth_true,
        )
        return config


@keras.saving.register_keras_serializable(package="kexue")
class HSICPenalty(keras.layers.Layer):
    """Identity layer that adds ``weight * HSIC(z, s)`` to the model's losses.

    Put it on a representation ``z`` to make ``z`` independent of another tensor ``s`` of the
    same batch (a nuisance or protected attribute, the input, a residual): the layer returns
    ``z`` unchanged and registers the penalty with ``add_loss``, so ``model.fit`` minimises the
    task loss plus the penalty on any backend.

    Mind the scale: HSIC's size depends on the kernel, so a wide ``z`` followed by a linear
    layer can shrink the penalty by moving ``s`` into a low-variance direction that a
    median-bandwidth kernel barely sees, then scaling it back up. Penalise the quantity the
    rest of the model actually uses (or a normalised one), and check the result with an
    independent measure.

    Args:
        weight: the multiplier of the penalty (>= 0).
        estimator: ``"biased"``, ``"unbiased"`` or ``"cka"``.
        kernel_z: kernel of ``z`` (a name).
        kernel_s: kernel of ``s``.
        bandwidth_z: bandwidth of ``z``; ``None`` = median heuristic per batch.
        bandwidth_s: bandwidth of ``s``.
        **kwargs: base ``Layer`` arguments (``name``, ``dtype``...).

    Call arguments:
        inputs: a list ``[z, s]`` with the same batch size.

    Returns:
        ``z``.

    Example:
        >>> import keras
        >>> from kexue.stats.losses import HSICPenalty
        >>> x = keras.Input((3,))
        >>> z = keras.layers.Dense(2)(x)
        >>> z = HSICPenalty(weight=10.0)([z, x[:, :1]])
        >>> model = keras.Model(x, keras.layers.Dense(1)(z))
    """

    def __init__(
        self,
        weight: float = 1.0,
        estimator: str = "biased",
        kernel_z: str = "gaussian",
        kernel_s: str = "gaussian",
        bandwidth_z: float | None = None,
        bandwidth_s: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not weight >= 0:
            raise ValueError(f"`weight` must be >= 0; received {weight!r}.")
        if estimator not in _STATISTICS:
            raise ValueError(f"`estimator` must be one of {_ESTIMATORS}; received {estimator!r}.")
        _check_kernel_spec(kernel_z, "kernel_z")
        _check_kernel_spec(kernel_s, "kernel_s")
        self.weight = float(weight)
        self.estimator = estimator
        self.kernel_z = kernel_z
        self.kernel_s = kernel_s
        self.bandwidth_z = bandwidth_z
        self.bandwidth_s = bandwidth_s

    def call(self, inputs: Any) -> Any:
        if not isinstance(inputs, list | tuple) or len(inputs) != 2:
            raise ValueError(
                f"HSICPenalty expects a list [z, s]; received {type(inputs).__name__}."
            )
        z, s = inputs
        penalty = hsic_penalty(
            z,
            s,
            estimator=self.estimator,
            kernel_x=self.kernel_z,
            kernel_y=self.kernel_s,
            bandwidth_x=self.bandwidth_z,
            bandwidth_y=self.bandwidth_s,
        )
        self.add_loss(self.weight * penalty)
        return z

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape[0]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            weight=self.weight,
            estimator=self.estimator,
            kernel_z=self.kernel_z,
            kernel_s=self.kernel_s,
            bandwidth_z=self.bandwidth_z,
            bandwidth_s=self.bandwidth_s,
        )
        return config
