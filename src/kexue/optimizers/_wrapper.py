"""Shared plumbing for optimizer wrappers (Lookahead, Lazy).

A wrapper is a Keras optimizer built with ``learning_rate=0.0`` that owns an inner optimizer,
lists the inner optimizer's variables after its own, and delegates the learning rate, the
iteration count, loss scaling and finalisation, as ``keras.optimizers.LossScaleOptimizer``
does. Its ``apply`` calls ``inner.apply`` and then edits variables with ``keras.ops`` only, so
the same code runs eagerly, under ``tf.function``, under torch, and inside the
``StatelessScope`` that the JAX trainer's ``stateless_apply`` sets up.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import keras
from keras import ops

# Optimizer slots that are not per-row state of the parameter: EMA copies and gradient
# accumulators are left alone when a wrapper resets or restores optimizer state.
_NON_STATE_SLOTS = ("average", "gradient_accumulator")


@dataclasses.dataclass(frozen=True)
class SlotVariable:
    """An optimizer variable created for one model variable by ``add_variable_from_reference``.

    Args:
        reference: The model variable the slot was created for.
        variable: The optimizer variable (momentum, velocity, ...).
        kind: The slot name the optimizer asked for ("momentum", "velocity", ...).
        initializer: The initializer the optimizer asked for (used to reset the slot).
    """

    reference: Any
    variable: Any
    kind: str
    initializer: Any


def check_optimizer(optimizer: Any, wrapper: str) -> None:
    """Raise TypeError unless ``optimizer`` is a Keras 3 optimizer, ValueError if it is built."""
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError(
            f"{wrapper}: argument `optimizer` must be a keras.optimizers.Optimizer instance "
            f"(e.g. keras.optimizers.Adam()); received {optimizer!r} "
            f"of type {type(optimizer).__name__}."
        )
    if optimizer.built:
        raise ValueError(
            f"{wrapper}: argument `optimizer` must not be built yet (the wrapper builds it on "
            f"the same variables); received an optimizer built on "
            f"{len(optimizer._trainable_variables)} variables. Pass a fresh optimizer."
        )


def nested_optimizers(optimizer: Any) -> list[Any]:
    """The optimizer and the chain of ``inner_optimizer`` it wraps, outermost first."""
    chain = [optimizer]
    while getattr(chain[-1], "inner_optimizer", None) is not None:
        chain.append(chain[-1].inner_optimizer)
    return chain


def build_recording_slots(optimizer: Any, var_list: list[Any]) -> list[SlotVariable]:
    """Build ``optimizer`` on ``var_list`` and return the per-variable slots it created.

    Every optimizer in the ``inner_optimizer`` chain gets a temporary instance attribute
    wrapping ``add_variable_from_reference``; that is the one method all Keras optimizers
    (and wrappers built like LossScaleOptimizer) use to create per-variable state.
    """
    slots: list[SlotVariable] = []
    patched = []
    for opt in nested_optimizers(optimizer):
        original = opt.add_variable_from_reference
        # A nested wrapper may be recording already: restore its recorder afterwards.
        patched.append((opt, opt.__dict__.get("add_variable_from_reference")))

        def recording(reference_variable, name=None, initializer="zeros", _original=original):
            variable = _original(reference_variable, name=name, initializer=initializer)
            slots.append(SlotVariable(reference_variable, variable, name or "var", initializer))
            return variable

        object.__setattr__(opt, "add_variable_from_reference", recording)
    try:
        optimizer.build(var_list)
    finally:
        for opt, previous in patched:
            if previous is None:
                object.__delattr__(opt, "add_variable_from_reference")
            else:
                object.__setattr__(opt, "add_variable_from_reference", previous)
    return [s for s in slots if s.kind not in _NON_STATE_SLOTS]


def value(x: Any) -> Any:
    """The current tensor of a ``keras.Variable`` (scope-aware), or ``x`` itself."""
    return x.value if isinstance(x, keras.Variable) else x


def snapshot(x: Any) -> Any:
    """A copy of the current value that later in-place assignments cannot change (torch)."""
    return ops.copy(value(x))


def is_indexed_slices(gradient: Any) -> bool:
    """True for a ``tf.IndexedSlices`` gradient (checked without importing TensorFlow)."""
    return hasattr(gradient, "indices") and hasattr(gradient, "dense_shape")


class WrapperMixin:
    """Delegation shared by the wrappers; the class also inherits keras.optimizers.Optimizer."""

    inner_optimizer: Any

    @property
    def variables(self) -> list[Any]:
        return self._variables + self.inner_optimizer.variables

    @property
    def learning_rate(self) -> Any:
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate: Any) -> None:
        self.inner_optimizer.learning_rate = learning_rate

    @property
    def iterations(self) -> Any:
        return self.inner_optimizer.iterations

    def scale_loss(self, loss: Any) -> Any:
        return self.inner_optimizer.scale_loss(loss)

    def finalize_variable_values(self, var_list: list[Any]) -> None:
        self.inner_optimizer.finalize_variable_values(var_list)

    # A wrapper defines `_before_inner(grads, positions)`, which reads what it needs before
    # the inner step and returns it, and `_after_inner(saved)`, which edits variables after.

    def apply(self, grads: list[Any], trainable_variables: list[Any] | None = None) -> None:
        """Apply the inner optimizer's step, plus this wrapper's work before and after it.

        Args:
            grads: Gradients, one per trainable variable (None entries are skipped).
            trainable_variables: The variables (needed only on the first, building call).
        """
        self._build_on_first_apply(trainable_variables)
        grads = list(grads)
        if trainable_variables is None:
            positions = list(range(len(grads)))
        else:
            positions = [self._get_variable_index(v) for v in trainable_variables]
        saved = self._before_inner(grads, positions)
        self.inner_optimizer.apply(grads, trainable_variables)
        self._after_inner(saved)

    def stateless_apply(
        self, optimizer_variables: list[Any], grads: list[Any], trainable_variables: list[Any]
    ) -> tuple[list[Any], list[Any]]:
        """Stateless ``apply`` (the JAX trainer's path): returns new model and optimizer values.

        The inner step runs through the inner optimizer's own ``stateless_apply`` (so a
        LossScaleOptimizer inside keeps its jit-safe path); this wrapper's work runs in
        ``StatelessScope``s before and after it.

        Args:
            optimizer_variables: Current values of ``self.variables``.
            grads: Gradients, one per trainable variable.
            trainable_variables: Current values of the trainable variables.
        """
        if not self.built:
            raise ValueError(
                f"{type(self).__name__}.stateless_apply: the optimizer must be built first "
                "(`optimizer.build(model.trainable_variables)`)."
            )
        own_count = len(self._variables)
        if len(optimizer_variables) != own_count + len(self.inner_optimizer.variables):
            raise ValueError(
                f"{type(self).__name__}.stateless_apply: argument `optimizer_variables` must "
                f"hold {len(self.variables)} values (one per `optimizer.variables`); received "
                f"{len(optimizer_variables)}."
            )
        own_values = list(optimizer_variables[:own_count])
        inner_values = list(optimizer_variables[own_count:])
        grads = list(grads)
        mapping = list(zip(self._trainable_variables, trainable_variables, strict=True)) + list(
            zip(self.variables, optimizer_variables, strict=True)
        )
        with keras.StatelessScope(state_mapping=mapping):
            saved = self._before_inner(grads, list(range(len(grads))))
        new_trainable, new_inner = self.inner_optimizer.stateless_apply(
            inner_values, grads, trainable_variables
        )
        mapping = (
            list(zip(self._trainable_variables, new_trainable, strict=True))
            + list(zip(self._variables, own_values, strict=True))
            + list(zip(self.inner_optimizer.variables, new_inner, strict=True))
        )
        with keras.StatelessScope(state_mapping=mapping) as scope:
            self._after_inner(saved)
        return (
            [scope.get_current_value(v) for v in self._trainable_variables],
            [scope.get_current_value(v) for v in self.variables],
        )

    def _build_on_first_apply(self, trainable_variables: Any) -> None:
        if self.built:
            return
        if trainable_variables is None:
            raise ValueError(
                f"{type(self).__name__}.apply: the optimizer is not built, so argument "
                "`trainable_variables` is required; received None. Call "
                "`optimizer.build(model.trainable_variables)` first or pass the variables."
            )
        with keras.name_scope(self.name, caller=self):
            self.build(list(trainable_variables))
