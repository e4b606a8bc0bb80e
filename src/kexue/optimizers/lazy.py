"""Lazy optimizers: embedding rows absent from the batch are not moved."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from kexue._validation import check_choice
from kexue.optimizers._wrapper import (
    WrapperMixin,
    build_recording_slots,
    check_optimizer,
    is_indexed_slices,
    snapshot,
    value,
)

MODES = ("sparse", "step")


@keras.saving.register_keras_serializable(package="kexue")
class Lazy(WrapperMixin, keras.optimizers.Optimizer):
    """Make any Keras 3 optimizer lazy on embedding-like variables.

    With momentum (Adam and friends) an embedding row that is absent from the batch still
    moves, because its moments are non-zero; rare words then over-fit. This wrapper keeps
    such rows still. A row (index along axis 0) is *present* when its gradient row is not
    all zero (``any(g != 0)``); with TensorFlow, where Embedding gradients arrive as
    ``tf.IndexedSlices``, presence is read from the slices' indices instead.

    Modes:
        ``"sparse"``: absent rows keep their parameter *and* their optimizer state (moments,
        ...), i.e. TF Addons ``LazyAdam`` semantics; around ``Adam`` the present rows follow
        TFA exactly, bias correction included (it uses the global step, as TFA does).
        ``"step"``: the inner optimizer's state updates on every row as usual and only the
        parameter step is masked for absent rows (Su Jianlin's article, kexue.fm/archives/6869,
        and bert4keras' ``extend_with_lazy_optimization``).

    Variables that are not lazy update exactly as the inner optimizer would update them.

    How: the wrapper delegates to an inner optimizer, as ``keras.optimizers.LossScaleOptimizer``
    does, and never changes the object it is given. A plain ``keras.optimizers.Adam``
    (Keras' own class, without AMSGrad or weight decay), ``keras.optimizers.SGD`` (with or
    without momentum or Nesterov) or ``keras.optimizers.RMSprop`` (with or without momentum,
    centered or not), without weight decay, serves as a template: the wrapper's inner
    optimizer is a fresh, private row-wise Adam / SGD / RMSprop built from
    ``optimizer.get_config()``, whose own ``update_step`` applies the lazy rule (no
    snapshots; on PyTorch the rows are written in place, see ``_RowMasked``);
    ``get_config`` still names the public class. Read its state and set its
    learning rate through the wrapper (``lazy.learning_rate``, ``lazy.iterations``,
    ``lazy.inner_optimizer``), not through the template. Any other optimizer is the inner
    optimizer itself: it runs its ordinary step after the lazy variables and their row-wise
    state are snapshotted, and absent rows are restored from the snapshots (about three
    extra passes over each lazy variable and state per step; docs/optimizers.md states the
    measured cost).

    Args:
        optimizer: The inner optimizer, an unbuilt ``keras.optimizers.Optimizer`` instance
            (without ``gradient_accumulation_steps``: a row present in an early micro-batch
            would be masked at the update step).
        mode: ``"sparse"`` or ``"step"``.
        variables: Which variables are lazy. None (default): every variable named
            ``embeddings`` (the weight of ``keras.layers.Embedding`` and its subclasses).
            A string or a sequence of strings: regular expressions searched in each
            variable's ``path`` (e.g. ``"token_embedding"``); each must match a variable.
        name: Optional name of the wrapper.

    Example:
        >>> import keras
        >>> from kexue.optimizers import Lazy
        >>> optimizer = Lazy(keras.optimizers.Adam(1e-3), mode="sparse")
        >>> model = keras.Sequential([
        ...     keras.Input((5,), dtype="int32"),
        ...     keras.layers.Embedding(100, 8),
        ...     keras.layers.GlobalAveragePooling1D(),
        ...     keras.layers.Dense(1),
        ... ])
        >>> model.compile(optimizer=optimizer, loss="mse")
        >>> x = keras.random.randint((16, 5), 0, 10, seed=1)  # rows 10..99 never occur
        >>> before = keras.ops.convert_to_numpy(model.layers[0].embeddings)
        >>> _ = model.fit(x, keras.ops.ones((16, 1)), epochs=2, verbose=0)
        >>> after = keras.ops.convert_to_numpy(model.layers[0].embeddings)
        >>> bool((before[10:] == after[10:]).all())
        True
    """

    def __init__(
        self,
        optimizer: keras.optimizers.Optimizer,
        mode: str = "sparse",
        variables: str | Sequence[str] | None = None,
        name: str | None = None,
    ) -> None:
        check_optimizer(optimizer, type(self).__name__)
        mode = check_choice(mode, "mode", MODES)
        if optimizer.gradient_accumulation_steps:
            raise ValueError(
                f"{type(self).__name__}: the inner optimizer must not use "
                "`gradient_accumulation_steps` (row presence is decided per batch); received "
                f"gradient_accumulation_steps={optimizer.gradient_accumulation_steps}. "
                "Wrap the Lazy optimizer's batches differently or drop accumulation."
            )
        patterns = _check_patterns(variables, type(self).__name__)
        # A plain Adam or SGD is a template for a fused row-wise copy (the caller's object
        # is left as it is); any other optimizer is wrapped as given.
        fused = _fused_copy(optimizer)
        if fused is not None:
            fused.set_lazy((), mode)
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = optimizer if fused is None else fused
        self.mode = mode
        self.lazy_variables = (
            variables if isinstance(variables, str) or variables is None else (list(variables))
        )
        self._patterns = patterns

    def build(self, var_list: list[Any]) -> None:
        """Choose the lazy variables, build the inner optimizer and find their state.

        Args:
            var_list: The model's trainable variables.
        """
        var_list = list(var_list)
        self._lazy_indices = self._select(var_list)
        slots = build_recording_slots(self.inner_optimizer, var_list)
        super().build(var_list)
        # Row-wise state only: a slot shaped like its variable (Adafactor's factored
        # slots are not, and are left to the inner optimizer).
        lazy_slots = {
            index: [
                s.variable
                for s in slots
                if s.reference is var_list[index]
                and tuple(s.variable.shape) == tuple(var_list[index].shape)
            ]
            for index in self._lazy_indices
        }
        # Plain attribute: the variables are tracked already, the map is derived state.
        object.__setattr__(self, "_lazy_slots", lazy_slots)

    def _select(self, var_list: list[Any]) -> list[int]:
        if self._patterns is None:
            chosen = [i for i, v in enumerate(var_list) if _short_name(v) == "embeddings"]
            if not chosen:
                warnings.warn(
                    f"{type(self).__name__}: no variable named 'embeddings' (keras Embedding) "
                    "among the trainable variables, so no variable is lazy; pass `variables=` "
                    "name patterns to choose some.",
                    stacklevel=3,
                )
            return chosen
        paths = [_path(v) for v in var_list]
        for pattern in self._patterns:
            if not any(pattern.search(p) for p in paths):
                raise ValueError(
                    f"{type(self).__name__}: pattern {pattern.pattern!r} in argument "
                    f"`variables` matches no trainable variable; variable paths are {paths}."
                )
        return [i for i, p in enumerate(paths) if any(pt.search(p) for pt in self._patterns)]

    @property
    def lazy_variable_paths(self) -> list[str]:
        """Paths of the variables treated lazily (after build)."""
        return [_path(self._trainable_variables[i]) for i in self._lazy_indices]

    def _before_inner(self, grads: list[Any], positions: list[int]) -> Any:
        inner = self.inner_optimizer
        fused = isinstance(inner, _RowMasked)
        # Keras' gradient preprocessing that reads IndexedSlices as they come (clipping,
        # loss-scale division) would see duplicate slices unsummed: densify first then.
        keep_slices = fused and not any(
            getattr(inner, name, None) is not None
            for name in ("clipnorm", "clipvalue", "global_clipnorm", "loss_scale_factor")
        )
        torch_fast = keras.backend.backend() == "torch" and _FAST_PATHS[0]
        lazy = []
        saved = []
        for position, (grad, index) in enumerate(zip(grads, positions, strict=True)):
            if grad is None or index not in self._lazy_slots:
                continue
            variable = self._trainable_variables[index]
            lazy.append(index)
            if is_indexed_slices(grad) and keep_slices:
                # Sparse update of the present rows only (TensorFlow): duplicates summed.
                grads[position] = _summed_slices(grad)
                continue
            if is_indexed_slices(grad):
                # Densify (duplicate indices summed, as TFA does): Keras' TF Adam squares
                # each slice before summing duplicates, which gets v wrong.
                grads[position] = ops.scatter(
                    ops.expand_dims(ops.cast(grad.indices, "int32"), -1),
                    grad.values,
                    tuple(variable.shape),
                )
            if fused:  # the inner optimizer finds the present rows itself
                continue
            held = [variable] + (self._lazy_slots[index] if self.mode == "sparse" else [])
            if torch_fast:
                from kexue.optimizers import _torch_rows

                present = _torch_rows.present_row_indices(value(grads[position]))
                saved.append((present, held, _torch_rows.snapshot(held), True))
            else:
                present = _present_rows(grad, variable)
                saved.append((present, held, [snapshot(h) for h in held], False))
        if fused:
            inner.set_lazy(lazy, self.mode)
        return saved

    def _after_inner(self, saved: Any) -> None:
        if isinstance(self.inner_optimizer, _RowMasked):
            self.inner_optimizer.set_lazy((), self.mode)
        for present, held, old_values, torch_fast in saved:
            if torch_fast:
                from kexue.optimizers import _torch_rows

                _torch_rows.restore_absent_rows(present, held, old_values)
                continue
            for variable, old in zip(held, old_values, strict=True):
                variable.assign(_keep_present_rows(present, value(variable), old))

    def get_config(self) -> dict[str, Any]:
        inner = self.inner_optimizer
        if isinstance(inner, _RowMasked):  # a fused copy: saved as the public class
            inner = inner._plain_class.from_config(inner.get_config())
        return {
            "name": self.name,
            "optimizer": keras.saving.serialize_keras_object(inner),
            "mode": self.mode,
            "variables": self.lazy_variables,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> Lazy:
        config = dict(config)
        optimizer = keras.saving.deserialize_keras_object(
            config.pop("optimizer"), custom_objects=custom_objects
        )
        return cls(optimizer, **config)


@keras.saving.register_keras_serializable(package="kexue")
class LazyAdam(Lazy):
    """Adam that leaves embedding rows absent from the batch alone: ``Lazy(Adam(...))``.

    With ``mode="sparse"`` (default) this is TF Addons' ``LazyAdam``: for present rows
    ``m ← β1·m + (1−β1)·g``, ``v ← β2·v + (1−β2)·g²``,
    ``θ ← θ − lr·sqrt(1−β2^t)/(1−β1^t) · m/(sqrt(v)+ε)`` with the global step t and
    ε = 1e-7; absent rows keep θ, m and v. With ``mode="step"`` m and v update on every row
    and only θ's step is masked (Su Jianlin's variant). Other variables follow plain Adam.
    The lazy rule is part of Adam's own update: on TensorFlow only the rows of the
    ``IndexedSlices`` gradient are gathered, updated and scattered back; on PyTorch the
    present rows are written in place (in "step" mode after m and v moved in place on every
    row); on JAX one masked element-wise update. Other variables
    take Keras' own Adam ``update_step``. The inner optimizer is a private Adam subclass
    built from ``keras.optimizers.Adam(...)``'s config (see :class:`Lazy`). With
    ``weight_decay`` or ``amsgrad`` the generic snapshot-and-restore path of :class:`Lazy`
    is used instead, so that decay does not move absent rows either.

    Args:
        learning_rate: Adam's learning rate (float or schedule).
        beta_1: Adam's β1.
        beta_2: Adam's β2.
        epsilon: Adam's ε (1e-7 as in Keras and TF Addons).
        amsgrad: Adam's AMSGrad flag.
        mode: ``"sparse"`` or ``"step"`` (see :class:`Lazy`).
        variables: Lazy variables: None for every Embedding weight, or name patterns.
        name: Optional name.
        **kwargs: Other keyword arguments of ``keras.optimizers.Adam`` (``clipnorm``,
            ``weight_decay``, ``use_ema``, ``loss_scale_factor``, ...).

    Example:
        >>> from kexue.optimizers import LazyAdam
        >>> optimizer = LazyAdam(learning_rate=1e-3, mode="sparse")
        >>> optimizer.mode
        'sparse'
    """

    def __init__(
        self,
        learning_rate: Any = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        mode: str = "sparse",
        variables: str | Sequence[str] | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> None:
        adam = keras.optimizers.Adam(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            **kwargs,
        )
        super().__init__(adam, mode=mode, variables=variables, name=name)

    def get_config(self) -> dict[str, Any]:
        config = self.inner_optimizer.get_config()
        config.update({"name": self.name, "mode": self.mode, "variables": self.lazy_variables})
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: Any = None) -> LazyAdam:
        config = dict(config)
        if isinstance(config.get("learning_rate"), dict):
            config["learning_rate"] = keras.saving.deserialize_keras_object(
                config["learning_rate"], custom_objects=custom_objects
            )
        return cls(**config)


class _RowMasked:
    """Mixin: an optimizer whose update of a lazy variable is restricted to present rows.

    ``Lazy`` names the lazy variables and the mode before each step, so the lazy rule is
    part of the optimizer's own update instead of snapshotting the variable and its state
    and restoring absent rows afterwards (what ``Lazy`` does for any other optimizer). A
    subclass writes its rule once, in ``keras.ops``, as ``_state_rule`` (new per-row state
    from the gradient and the old state) and ``_param_rule`` (the new parameter from the
    gradient and the new state); both work on whole tables and on gathered rows alike.
    How it is applied, by backend:

    - a ``tf.IndexedSlices`` gradient (TensorFlow; duplicates already summed by
      ``_summed_slices``): only the present rows are gathered, updated and scattered back
      ("step" mode: the state moves densely, absent rows with a zero gradient, and only
      the parameter's present rows are scattered);
    - a dense gradient on PyTorch: ``kexue.optimizers._torch_rows`` finds the present rows
      and writes the rule's results into them in place (``index_copy_`` under
      ``no_grad``; "step" mode: the state moves densely in place first). The ``keras.ops``
      route (gather, ``scatter_update``, or a masked select in "step" mode) is kept as the
      reference (``_use_fast_paths(False)``); tests require both to give identical bits;
    - any other dense gradient (JAX / XLA with static shapes): one masked element-wise
      update.

    Without lazy variables it is exactly the public optimizer it extends (Keras' generic
    ``update_step``, the one Keras runs for any subclass). Only ``Lazy`` creates instances,
    from the config of a plain optimizer (``_fused_copy``).
    """

    _default_name = "row_masked"
    _plain_class: type = keras.optimizers.Optimizer  # what get_config() names

    def __init__(self, *args: Any, name: str | None = None, **kwargs: Any) -> None:
        # The automatic name would start with "_", which TensorFlow refuses as a scope.
        super().__init__(*args, name=name or self._default_name, **kwargs)
        self.set_lazy((), "sparse")

    @staticmethod
    def fusable(config: dict[str, Any]) -> bool:
        """Whether the fused row-wise rule covers this configuration."""
        raise NotImplementedError

    def set_lazy(self, indices: Any, mode: str) -> None:
        """The variable indices updated lazily at the next steps, and the mode."""
        # Plain attributes: not optimizer state.
        object.__setattr__(self, "_lazy_set", frozenset(indices))
        object.__setattr__(self, "_lazy_mode", mode)

    # The rule, written once in keras.ops. `terms` are per-step scalars (`_terms`).
    def _terms(self, variable: Any, learning_rate: Any) -> dict[str, Any]:
        return {"lr": ops.cast(learning_rate, variable.dtype)}

    def _states(self, index: int) -> list[Any]:
        raise NotImplementedError

    def _state_rule(self, gradient: Any, states: list[Any], terms: dict) -> list[Any]:
        raise NotImplementedError

    def _zero_gradient_rule(self, states: list[Any], terms: dict) -> list[Any]:
        """``_state_rule`` with a zero gradient; a subclass may drop the operations a zero
        makes exact identities of (fewer passes over a table), never changing a bit."""
        return self._state_rule(ops.zeros((), dtype=states[0].dtype), states, terms)

    def _param_rule(self, gradient: Any, states: list[Any], variable: Any, terms: dict) -> Any:
        raise NotImplementedError

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        index = self._get_variable_index(variable)
        if index not in self._lazy_set:
            super().update_step(gradient, variable, learning_rate)
            return
        terms = self._terms(variable, learning_rate)
        states = self._states(index)
        if is_indexed_slices(gradient):
            rows = ops.cast(gradient.indices, "int32")
            grad_rows = ops.cast(gradient.values, variable.dtype)
            self._update_rows(rows, grad_rows, states, variable, terms, gradient)
            if keras.backend.backend() == "tensorflow" and _FAST_PATHS[0]:
                from kexue.optimizers import _tf_rows

                _tf_rows.end_sparse_access([variable, *states])
            return
        gradient = ops.cast(gradient, variable.dtype)
        if keras.backend.backend() == "torch":
            if _FAST_PATHS[0]:
                from kexue.optimizers import _torch_rows

                _torch_rows.lazy_update(self, gradient, states, variable, terms)
                return
            if self._lazy_mode == "sparse":
                present = _present_rows(gradient, variable)
                rows = ops.nonzero(ops.reshape(present, (-1,)))[0]
                grad_rows = ops.take(gradient, rows, axis=0)
                self._update_rows(rows, grad_rows, states, variable, terms)
                return
        self._update_masked(gradient, states, variable, terms)

    def _update_masked(self, gradient: Any, states: list[Any], variable: Any, terms: dict):
        """Dense: the rule on every row, kept on the present rows ("step": state everywhere)."""
        present = _present_rows(gradient, variable)
        new_states = self._state_rule(gradient, [value(s) for s in states], terms)
        if self._lazy_mode == "sparse":
            new_states = [
                ops.where(present, new, value(s)) for s, new in zip(states, new_states, strict=True)
            ]
        for state, new in zip(states, new_states, strict=True):
            self.assign(state, new)
        # The step reads the assigned (masked) state, equal to the unmasked one on present
        # rows, where it counts: reading the unmasked state as well as the old one would
        # make XLA keep both and copy the state buffers instead of updating them in place.
        new_var = self._param_rule(gradient, new_states, value(variable), terms)
        self.assign(variable, ops.where(present, new_var, value(variable)))

    def _update_rows(
        self,
        rows: Any,
        grad_rows: Any,
        states: list[Any],
        variable: Any,
        terms: dict,
        slices: Any = None,
    ) -> None:
        """The rule on the given rows only (each row once, or repeated with equal values)."""
        old_var = _gather_rows(variable, rows)
        if self._lazy_mode == "step" and states:
            # Every row's state moves: the rule with a zero gradient runs densely on each
            # state (read once, densely), then the present rows get the rule with their
            # gradient, from their old state. (Only TensorFlow's IndexedSlices come here.)
            current = [ops.convert_to_tensor(value(s)) for s in states]
            old_states = [ops.take(c, rows, axis=0) for c in current]
            new_states = self._state_rule(grad_rows, old_states, terms)
            if _FAST_PATHS[0]:
                full = self._zero_gradient_rule(current, terms)
                # Assign densely, then write the present rows in place; the fast path takes
                # the states out of copy-on-read mode after the step (`_tf_rows`): no
                # table-sized gradient, no scatter into a dense tensor (both slower here).
                for state, dense, new in zip(states, full, new_states, strict=True):
                    self.assign(state, dense)
                    self._assign_rows(state, rows, new, slices)
            else:
                # keras.ops reference: the present rows scattered into the dense result.
                full = self._state_rule(ops.zeros((), dtype=variable.dtype), current, terms)
                index = ops.expand_dims(rows, -1)
                for state, dense, new in zip(states, full, new_states, strict=True):
                    self.assign(state, ops.scatter_update(dense, index, new))
        else:
            old_states = [_gather_rows(s, rows) for s in states]
            new_states = self._state_rule(grad_rows, old_states, terms)
            for state, new in zip(states, new_states, strict=True):
                self._assign_rows(state, rows, new, slices)
        new_var = self._param_rule(grad_rows, new_states, old_var, terms)
        self._assign_rows(variable, rows, new_var, slices)

    def _assign_rows(self, variable: Any, rows: Any, new_rows: Any, slices: Any) -> None:
        if slices is not None:
            # TensorFlow: an IndexedSlices value makes Keras call `variable.scatter_update`.
            self.assign(variable, type(slices)(new_rows, rows, slices.dense_shape))
        else:
            self.assign(
                variable, ops.scatter_update(value(variable), ops.expand_dims(rows, -1), new_rows)
            )


class _RowMaskedAdam(_RowMasked, keras.optimizers.Adam):
    """Adam (Keras' arithmetic) whose update of a lazy variable is row-wise."""

    _default_name = "row_masked_adam"
    _plain_class = keras.optimizers.Adam

    @staticmethod
    def fusable(config: dict[str, Any]) -> bool:
        # Weight decay moves every row before Adam's step, AMSGrad keeps a running max:
        # both are left to the snapshot path.
        return not config.get("amsgrad") and not config.get("weight_decay")

    def _terms(self, variable: Any, learning_rate: Any) -> dict[str, Any]:
        lr = ops.cast(learning_rate, variable.dtype)
        local_step = ops.cast(self.iterations + 1, variable.dtype)
        beta_1_power = ops.power(ops.cast(self.beta_1, variable.dtype), local_step)
        beta_2_power = ops.power(ops.cast(self.beta_2, variable.dtype), local_step)
        return {"alpha": lr * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)}

    def _states(self, index: int) -> list[Any]:
        return [self._momentums[index], self._velocities[index]]

    def _state_rule(self, gradient: Any, states: list[Any], terms: dict) -> list[Any]:
        m, v = states
        new_m = ops.add(m, ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        new_v = ops.add(v, ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2))
        return [new_m, new_v]

    def _zero_gradient_rule(self, states: list[Any], terms: dict) -> list[Any]:
        # m + (0 − m)·c == m − m·c exactly (negation is exact), likewise v
        m, v = states
        return [ops.subtract(m, ops.multiply(m, 1 - self.beta_1)),
                ops.subtract(v, ops.multiply(v, 1 - self.beta_2))]

    def _param_rule(self, gradient: Any, states: list[Any], variable: Any, terms: dict) -> Any:
        m, v = states
        step = ops.divide(ops.multiply(m, terms["alpha"]), ops.add(ops.sqrt(v), self.epsilon))
        return ops.subtract(variable, step)


class _RowMaskedSGD(_RowMasked, keras.optimizers.SGD):
    """SGD (plain, momentum, Nesterov; Keras' arithmetic) whose lazy update is row-wise.

    ``m ← momentum·m − lr·g``; ``θ ← θ + m`` (Nesterov: ``θ ← θ + momentum·m − lr·g`` with
    the new m); without momentum ``θ ← θ − lr·g``.
    """

    _default_name = "row_masked_sgd"
    _plain_class = keras.optimizers.SGD

    @staticmethod
    def fusable(config: dict[str, Any]) -> bool:
        return not config.get("weight_decay")

    def _terms(self, variable: Any, learning_rate: Any) -> dict[str, Any]:
        return {
            "lr": ops.cast(learning_rate, variable.dtype),
            "momentum": ops.cast(self.momentum, variable.dtype),
        }

    def _states(self, index: int) -> list[Any]:
        return [self.momentums[index]] if self.momentum != 0 else []

    def _state_rule(self, gradient: Any, states: list[Any], terms: dict) -> list[Any]:
        if not states:
            return []
        (m,) = states
        scaled = ops.multiply(gradient, terms["lr"])
        return [ops.subtract(ops.multiply(m, terms["momentum"]), scaled)]

    def _zero_gradient_rule(self, states: list[Any], terms: dict) -> list[Any]:
        # x − 0·lr == x exactly (for x = −0 too)
        return [ops.multiply(m, terms["momentum"]) for m in states]

    def _param_rule(self, gradient: Any, states: list[Any], variable: Any, terms: dict) -> Any:
        if not states:
            return ops.subtract(variable, ops.multiply(gradient, terms["lr"]))
        (m,) = states
        if self.nesterov:
            step = ops.subtract(
                ops.multiply(m, terms["momentum"]), ops.multiply(gradient, terms["lr"])
            )
            return ops.add(variable, step)
        return ops.add(variable, m)


class _RowMaskedRMSprop(_RowMasked, keras.optimizers.RMSprop):
    """RMSprop (plain, momentum, centered; Keras' arithmetic) whose lazy update is row-wise.

    ``s ← ρ·s + (1−ρ)·g²`` (centered: also ``a ← ρ·a + (1−ρ)·g``, denominator ``s − a² + ε``,
    else ``s + ε``); ``Δ = lr·g / sqrt(denominator)``; with momentum ``m ← μ·m + Δ``,
    ``θ ← θ − m``, else ``θ ← θ − Δ``.
    """

    _default_name = "row_masked_rmsprop"
    _plain_class = keras.optimizers.RMSprop

    @staticmethod
    def fusable(config: dict[str, Any]) -> bool:
        return not config.get("weight_decay")

    def _states(self, index: int) -> list[Any]:
        states = [self._velocities[index]]
        if self.centered:
            states.append(self._average_gradients[index])
        if self.momentum > 0:
            states.append(self._momentums[index])
        return states

    def _increment(self, gradient: Any, velocity: Any, average: Any, lr: Any) -> Any:
        if self.centered:
            denominator = velocity - ops.square(average) + self.epsilon
        else:
            denominator = ops.add(velocity, self.epsilon)
        return ops.divide(ops.multiply(lr, gradient), ops.sqrt(denominator))

    def _state_rule(self, gradient: Any, states: list[Any], terms: dict) -> list[Any]:
        rho = self.rho
        squared = ops.square(gradient)
        velocity = ops.add(ops.multiply(rho, states[0]), ops.multiply(1 - rho, squared))
        new = [velocity]
        average = None
        if self.centered:
            average = ops.add(ops.multiply(rho, states[1]), ops.multiply(1 - rho, gradient))
            new.append(average)
        if self.momentum > 0:
            increment = self._increment(gradient, velocity, average, terms["lr"])
            new.append(ops.add(ops.multiply(self.momentum, states[-1]), increment))
        return new

    def _param_rule(self, gradient: Any, states: list[Any], variable: Any, terms: dict) -> Any:
        if self.momentum > 0:
            return ops.subtract(variable, states[-1])
        average = states[1] if self.centered else None
        return ops.subtract(variable, self._increment(gradient, states[0], average, terms["lr"]))


_FUSED: tuple[type, ...] = (_RowMaskedAdam, _RowMaskedSGD, _RowMaskedRMSprop)
# The per-backend fast paths (PyTorch: in-place row writes); tests switch them off to compare
# with the keras.ops reference route.
_FAST_PATHS = [True]


def _use_fast_paths(enabled: bool) -> bool:
    """Switch the per-backend fast paths on or off; returns the previous setting."""
    previous = _FAST_PATHS[0]
    _FAST_PATHS[0] = bool(enabled)
    return previous


def _fused_copy(optimizer: Any) -> Any:
    """A row-masked copy of a plain Keras Adam / SGD / RMSprop built from its config, or None.

    "Plain" means Keras' own class (the public one, or the per-backend class Keras
    instantiates for it), not a user's subclass, whose update rule may differ. The copy is
    used only if its config equals the template's (a learning rate that does not survive
    ``get_config`` sends the optimizer to the generic path instead). The template itself is
    neither changed nor used afterwards.
    """
    cls = type(optimizer)
    for fused in _FUSED:
        public = fused._plain_class
        if not (
            isinstance(optimizer, public)
            and cls.__name__ == public.__name__
            and cls.__module__.split(".")[0] == "keras"
        ):
            continue
        try:
            config = optimizer.get_config()
            if not fused.fusable(config):
                return None
            copy = fused.from_config(dict(config))
        except (TypeError, ValueError, OSError):  # e.g. a lambda learning rate
            return None
        return copy if copy.get_config() == config else None
    return None


def _gather_rows(variable: Any, rows: Any) -> Any:
    """``ops.take(variable, rows, axis=0)``; on TensorFlow a sparse read (``_tf_rows``)."""
    if keras.backend.backend() == "tensorflow" and _FAST_PATHS[0]:
        from kexue.optimizers import _tf_rows

        return _tf_rows.gather_rows(variable, rows)
    return ops.take(value(variable), rows, axis=0)


def _summed_slices(gradient: Any) -> Any:
    """IndexedSlices with rows sorted and each slice holding its row's summed gradient.

    Duplicate indices stay (TensorFlow's scatter then writes equal values more than once),
    so the shapes stay static (XLA).
    """
    indices = ops.cast(gradient.indices, "int32")
    count = indices.shape[0] if indices.shape[0] is not None else ops.shape(indices)[0]
    order = ops.argsort(indices)
    rows = ops.take(indices, order)
    values = ops.take(gradient.values, order, axis=0)
    starts = ops.concatenate(
        [ops.ones((1,), dtype="bool"), ops.not_equal(rows[1:], rows[:-1])], axis=0
    )
    segments = ops.cumsum(ops.cast(starts, "int32")) - 1
    sums = ops.segment_sum(values, segments, num_segments=count)
    return type(gradient)(ops.take(sums, segments, axis=0), rows, gradient.dense_shape)


def _keep_present_rows(present: Any, new: Any, old: Any) -> Any:
    """``where(present, new, old)`` for a row mask (rows, 1, ...).

    On PyTorch (eager, dynamic shapes) the present rows of ``new`` are scattered into
    ``old`` instead, which moves less memory than a broadcast ``where`` over the whole
    table (benchmarks/torch_rows.py measures both).
    """
    if keras.backend.backend() != "torch":
        return ops.where(present, new, old)
    rows = ops.nonzero(ops.reshape(present, (-1,)))[0]
    return ops.scatter_update(old, ops.expand_dims(rows, -1), ops.take(new, rows, axis=0))


def _present_rows(gradient: Any, variable: Any) -> Any:
    """Boolean mask broadcastable to ``variable``: True on rows the batch touched."""
    rows = variable.shape[0]
    trailing = (1,) * (len(variable.shape) - 1)
    if is_indexed_slices(gradient):
        indices = ops.cast(gradient.indices, "int32")
        counts = ops.scatter(
            ops.expand_dims(indices, -1), ops.ones_like(indices, dtype="int32"), (rows,)
        )
        present = ops.greater(counts, 0)
    else:
        # any() of the floats themselves: True where a row holds a non-zero (NaN
        # included), as any(g != 0), without a boolean temporary of the gradient's size.
        axes = tuple(range(1, len(variable.shape)))
        if len(variable.shape) > 1 and keras.backend.backend() == "torch":
            # PyTorch's any() over floats is slower than a max and a min (which propagate
            # NaN; benchmarks/torch_rows.py): present when either is non-zero.
            zero = ops.zeros((), dtype=gradient.dtype)
            present = ops.logical_or(
                ops.not_equal(ops.max(gradient, axis=axes), zero),
                ops.not_equal(ops.min(gradient, axis=axes), zero),
            )
        elif len(variable.shape) > 1:
            present = ops.any(gradient, axis=axes)
        else:
            present = ops.not_equal(gradient, ops.zeros((), dtype=gradient.dtype))
    return ops.reshape(present, (rows, *trailing))


def _check_patterns(variables: Any, wrapper: str) -> list[re.Pattern] | None:
    if variables is None:
        return None
    items = [variables] if isinstance(variables, str) else variables
    if not isinstance(items, Sequence) or not items or not all(isinstance(p, str) for p in items):
        raise ValueError(
            f"{wrapper}: argument `variables` must be None, a regular expression string or a "
            f"non-empty sequence of them; received {variables!r}."
        )
    compiled = []
    for pattern in items:
        try:
            compiled.append(re.compile(pattern))
        except re.error as error:
            raise ValueError(
                f"{wrapper}: argument `variables` holds an invalid regular expression "
                f"{pattern!r} ({error})."
            ) from error
    return compiled


def _path(variable: Any) -> str:
    return str(getattr(variable, "path", None) or variable.name)


def _short_name(variable: Any) -> str:
    return str(variable.name).split("/")[-1].split(":")[0]
