"""Lookahead: k fast steps forward, one slow step back, around any Keras 3 optimizer."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import keras
from keras import initializers, ops

from kexue._validation import check_bool, check_positive_int, check_probability
from kexue.optimizers._wrapper import (
    WrapperMixin,
    build_recording_slots,
    check_optimizer,
    nested_optimizers,
    snapshot,
    value,
)


@keras.saving.register_keras_serializable(package="kexue")
class Lookahead(WrapperMixin, keras.optimizers.Optimizer):
    """Lookahead wrapper around any Keras 3 optimizer.

    The wrapper keeps slow weights φ beside the model's (fast) weights θ. The inner optimizer
    updates θ as usual; after every ``sync_period``-th inner step the slow weights move
    ``φ ← φ + α(θ − φ)`` and the fast weights jump back, ``θ ← φ``. The slow weights start
    equal to the weights at build time and a sync follows inner steps k, 2k, 3k, ... (the
    paper's, TF Addons' and ``optax.lookahead``'s convention). An inner step that does not
    happen (a gradient-accumulation micro-step, a LossScaleOptimizer step skipped for
    non-finite gradients) is not counted. Memory: one extra copy of the trainable weights.
    On PyTorch the synchronisation runs in place (``_torch_rows.lookahead_sync``).

    Paper: Zhang, Lucas, Hinton, Ba, "Lookahead Optimizer: k steps forward, 1 step back",
    arXiv 1907.08610 (2019); Keras version after Su Jianlin, kexue.fm/archives/6869.

    Args:
        optimizer: The inner ("fast") optimizer, an unbuilt ``keras.optimizers.Optimizer``
            instance: Adam, AdamW, SGD, Lion, ..., one with ``use_ema`` or
            ``gradient_accumulation_steps``, a ``LossScaleOptimizer``, or a ``Lazy``.
        sync_period: k, the number of inner steps between synchronisations (int >= 1).
        slow_step_size: α, the slow weights' step towards the fast weights, in (0, 1].
        reset_state: If True, the inner optimizer's per-variable state (momenta, velocities;
            not its iteration count, EMA copies or gradient accumulators) is reset to its
            initial value at each synchronisation, as ``optax.lookahead(reset_state=True)``.
        name: Optional name of the wrapper.

    Example:
        >>> import keras
        >>> from kexue.optimizers import Lookahead
        >>> optimizer = Lookahead(keras.optimizers.Adam(1e-3), sync_period=5, slow_step_size=0.5)
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer=optimizer, loss="mse")
        >>> x = keras.random.normal((32, 4), seed=1)
        >>> _ = model.fit(x, x[:, :1], epochs=2, verbose=0)
        >>> with optimizer.slow_weights_swapped_in():  # evaluate with the slow weights
        ...     loss = model.evaluate(x, x[:, :1], verbose=0)
    """

    def __init__(
        self,
        optimizer: keras.optimizers.Optimizer,
        sync_period: int = 5,
        slow_step_size: float = 0.5,
        reset_state: bool = False,
        name: str | None = None,
    ) -> None:
        check_optimizer(optimizer, "Lookahead")
        sync_period = check_positive_int(sync_period, "sync_period")
        slow_step_size = check_probability(slow_step_size, "slow_step_size", include_zero=False)
        reset_state = check_bool(reset_state, "reset_state")
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = optimizer
        self.sync_period = sync_period
        self.slow_step_size = float(slow_step_size)
        self.reset_state = bool(reset_state)

    def build(self, var_list: list[Any]) -> None:
        """Create the slow weights (equal to ``var_list`` now) and build the inner optimizer.

        Args:
            var_list: The model's trainable variables.
        """
        var_list = list(var_list)
        self._resettable_slots = build_recording_slots(self.inner_optimizer, var_list)
        super().build(var_list)
        # An initializer, not an assign: on TensorFlow the build may run while tf.function
        # traces the first step, and the initializer is lifted out and runs once, eagerly.
        self._slow_weights = [
            self.add_variable_from_reference(variable, name="slow", initializer=_CopyOf(variable))
            for variable in var_list
        ]

    @property
    def slow_weights(self) -> list[Any]:
        """The slow weights φ, one per trainable variable, in the model's order."""
        if not self.built:
            raise ValueError(
                "Lookahead.slow_weights: the optimizer is not built yet; train at least one "
                "step or call `optimizer.build(model.trainable_variables)` first."
            )
        return list(self._slow_weights)

    def _before_inner(self, grads: list[Any], positions: list[int]) -> Any:
        return snapshot(self.inner_optimizer.iterations)

    def _after_inner(self, before: Any) -> None:
        # Sync after the k-th inner step that really happened (not after a skipped
        # LossScaleOptimizer step or a gradient-accumulation micro-step).
        after = value(self.inner_optimizer.iterations)
        stepped = ops.not_equal(after, before)
        due = ops.equal(ops.mod(after, self.sync_period), 0)
        self._synchronize(ops.logical_and(stepped, due))

    def _synchronize(self, sync: Any) -> None:
        fast = self._trainable_variables
        slow = self._slow_weights
        alpha = self.slow_step_size
        resets = self._resettable_slots if self.reset_state else []
        if keras.backend.backend() == "jax":
            # JAX: state lives in a StatelessScope under jit, so the branches return values
            # and the assignments happen outside the cond.
            def synced():
                new = [
                    value(s) + alpha * (value(f) - value(s))
                    for s, f in zip(slow, fast, strict=True)
                ]
                fresh = [_initial_value(slot) for slot in resets]
                # Distinct buffers for fast and slow: the JAX trainer donates both.
                return new, [ops.copy(n) for n in new], fresh

            def unchanged():
                return (
                    [value(s) for s in slow],
                    [value(f) for f in fast],
                    [value(slot.variable) for slot in resets],
                )

            new_slow, new_fast, new_slots = ops.cond(sync, synced, unchanged)
            for variable, new in zip(slow, new_slow, strict=True):
                variable.assign(new)
            for variable, new in zip(fast, new_fast, strict=True):
                variable.assign(new)
            for slot, new in zip(resets, new_slots, strict=True):
                slot.variable.assign(new)
            return

        def synced_in_place():
            if keras.backend.backend() == "torch" and not _KERAS_OPS_ONLY[0]:
                from kexue.optimizers import _torch_rows

                _torch_rows.lookahead_sync(slow, fast, alpha)
                for slot in resets:
                    slot.variable.assign(_initial_value(slot))
                return
            if keras.backend.backend() == "tensorflow" and not _KERAS_OPS_ONLY[0]:
                from kexue.optimizers import _tf_rows

                if _tf_rows.lookahead_sync(self, slow, fast, alpha):
                    for slot in resets:
                        slot.variable.assign(_initial_value(slot))
                    return
            for s, f in zip(slow, fast, strict=True):
                new = value(s) + alpha * (value(f) - value(s))
                s.assign(new)
                f.assign(new)
            for slot in resets:
                slot.variable.assign(_initial_value(slot))

        ops.cond(sync, synced_in_place, lambda: None)

    def swap_slow_weights(self) -> None:
        """Exchange the model's weights and the slow weights (call again to swap back)."""
        for s, f in zip(self.slow_weights, self._trainable_variables, strict=True):
            fast_value = snapshot(f)
            f.assign(value(s))
            s.assign(fast_value)

    @contextlib.contextmanager
    def slow_weights_swapped_in(self) -> Iterator[None]:
        """Context manager: the model holds the slow weights inside, its fast weights after.

        Example:
            >>> with optimizer.slow_weights_swapped_in():  # doctest: +SKIP
            ...     model.evaluate(x_dev, y_dev)
        """
        self.swap_slow_weights()
        try:
            yield
        finally:
            self.swap_slow_weights()

    def get_config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "optimizer": keras.saving.serialize_keras_object(self.inner_optimizer),
            "sync_period": self.sync_period,
            "slow_step_size": self.slow_step_size,
            "reset_state": self.reset_state,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Lookahead:
        config = dict(config)
        optimizer = keras.saving.deserialize_keras_object(
            config.pop("optimizer"), custom_objects=custom_objects
        )
        return cls(optimizer, **config)


# Tests switch the PyTorch in-place sync off to compare it with the keras.ops route.
_KERAS_OPS_ONLY = [False]


class _CopyOf:
    """Initializer returning the current value of a variable (the slow weights' start)."""

    def __init__(self, variable: Any) -> None:
        self.variable = variable

    def __call__(self, shape: Any, dtype: Any = None) -> Any:
        return ops.cast(snapshot(self.variable), dtype or self.variable.dtype)


def _initial_value(slot: Any) -> Any:
    reference = slot.variable
    return initializers.get(slot.initializer)(reference.shape, dtype=reference.dtype)


def find_lookahead(optimizer: Any) -> Lookahead | None:
    """The Lookahead in ``optimizer``'s ``inner_optimizer`` chain, or None."""
    for opt in nested_optimizers(optimizer):
        if isinstance(opt, Lookahead):
            return opt
    return None


class SlowWeightsEvaluation(keras.callbacks.Callback):
    """Callback: evaluate (and validate during ``fit``) with Lookahead's slow weights.

    On ``on_test_begin`` the model's weights are swapped with the slow weights of the
    model's Lookahead optimizer (found anywhere in its ``inner_optimizer`` chain, e.g. inside
    a LossScaleOptimizer); on ``on_test_end`` they are swapped back, so training resumes
    from the fast weights.

    Args:
        optimizer: The Lookahead to use; by default the one in ``self.model.optimizer``.

    Example:
        >>> model.fit(x, y, validation_data=(x_dev, y_dev),  # doctest: +SKIP
        ...           callbacks=[SlowWeightsEvaluation()])
    """

    def __init__(self, optimizer: Lookahead | None = None) -> None:
        super().__init__()
        self.optimizer = optimizer
        self._swapped: Lookahead | None = None

    def _lookahead(self) -> Lookahead | None:
        if self.optimizer is not None:
            return self.optimizer
        found = find_lookahead(getattr(self.model, "optimizer", None))
        if found is None:
            raise ValueError(
                "SlowWeightsEvaluation: the model's optimizer has no Lookahead in it; received "
                f"{type(getattr(self.model, 'optimizer', None)).__name__}. Compile the model "
                "with kexue.optimizers.Lookahead(...) or pass `optimizer=`."
            )
        return found

    def on_test_begin(self, logs: dict | None = None) -> None:
        lookahead = self._lookahead()
        if lookahead is not None and lookahead.built:
            lookahead.swap_slow_weights()
            self._swapped = lookahead

    def on_test_end(self, logs: dict | None = None) -> None:
        if self._swapped is not None:
            self._swapped.swap_slow_weights()
            self._swapped = None
