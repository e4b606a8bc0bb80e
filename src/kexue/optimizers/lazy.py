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
    (Keras' own class, without AMSGrad or weight decay) or ``keras.optimizers.SGD`` (with or
    without momentum or Nesterov, without weight decay) serves as a template: the wrapper's
    inner optimizer is a fresh, private row-wise Adam / SGD built from
    ``optimizer.get_config()``, whose own ``update_step`` applies the lazy rule (no
    snapshots); ``get_config`` still names ``Adam`` / ``SGD``. Read its state and set its
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
            fused.set_row_masks({}, mode)
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
        masks = {}
        saved = []
        for position, (grad, index) in enumerate(zip(grads, positions, strict=True)):
            if grad is None or index not in self._lazy_slots:
                continue
            variable = self._trainable_variables[index]
            if is_indexed_slices(grad) and keep_slices:
                # Sparse update of the present rows only (TensorFlow): duplicates summed.
                grads[position] = _summed_slices(grad)
                masks[index] = None
                continue
            if is_indexed_slices(grad):
                # Densify (duplicate indices summed, as TFA does): Keras' TF Adam squares
                # each slice before summing duplicates, which gets v wrong.
                grads[position] = ops.scatter(
                    ops.expand_dims(ops.cast(grad.indices, "int32"), -1),
                    grad.values,
                    tuple(variable.shape),
                )
            present = _present_rows(grad, variable)
            if fused:
                masks[index] = present
                continue
            held = [variable] + (self._lazy_slots[index] if self.mode == "sparse" else [])
            saved.append((present, held, [snapshot(h) for h in held]))
        if fused:
            inner.set_row_masks(masks, self.mode)
        return saved

    def _after_inner(self, saved: Any) -> None:
        if isinstance(self.inner_optimizer, _RowMasked):
            self.inner_optimizer.set_row_masks({}, self.mode)
        for present, held, old_values in saved:
            for variable, old in zip(held, old_values, strict=True):
                variable.assign(_keep_present_rows(present, value(variable), old))

    def get_config(self) -> dict[str, Any]:
        inner = self.inner_optimizer
        if isinstance(inner, _RowMasked):  # the fused copy of a plain Adam / SGD: saved as such
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
    ``IndexedSlices`` gradient are gathered, updated and scattered back; on PyTorch
    "sparse" mode finds the present rows with ``nonzero`` and updates them the same way;
    otherwise (JAX, PyTorch "step" mode) one masked element-wise update. Other variables
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
    """Mixin: an optimizer whose update of a variable can be restricted to present rows.

    ``Lazy`` sets the masks just before each step, so the lazy rule is part of the
    optimizer's own update instead of snapshotting the variable and its state and restoring
    absent rows afterwards (what ``Lazy`` does for any other optimizer). How, by backend:

    - a ``tf.IndexedSlices`` gradient (TensorFlow; duplicates already summed by
      ``_summed_slices``): only the present rows are gathered, updated and scattered back
      ("step" mode: the state decays densely, as with a zero gradient, first);
    - a dense gradient on PyTorch (eager) in "sparse" mode: the present rows are found with
      ``nonzero`` and updated the same way, gather and scatter;
    - any other dense gradient (JAX / XLA with static shapes, PyTorch "step" mode): one
      masked element-wise update.

    Without masks it is exactly the public optimizer it extends (Keras' generic
    ``update_step``, the one Keras runs for any subclass of Adam / SGD). Only ``Lazy``
    creates instances, from the config of a plain optimizer (``_fused_copy``). A subclass
    defines ``fusable(config)`` and ``_masked_update(gradient, variable, lr, present)``.
    """

    _default_name = "row_masked"
    _plain_class: type = keras.optimizers.Optimizer  # what get_config() names

    def __init__(self, *args: Any, name: str | None = None, **kwargs: Any) -> None:
        # The automatic name would start with "_", which TensorFlow refuses as a scope.
        super().__init__(*args, name=name or self._default_name, **kwargs)
        self.set_row_masks({}, "sparse")

    def fusable(self) -> bool:
        """Whether the fused row-wise rule covers this configuration."""
        raise NotImplementedError

    def set_row_masks(self, masks: dict[int, Any], mode: str) -> None:
        """Masks (rows, 1, ...) by variable index for the next step; None: IndexedSlices."""
        # Plain attributes: step-local tensors, not optimizer state.
        object.__setattr__(self, "_row_masks", masks)
        object.__setattr__(self, "_row_mask_mode", mode)

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        index = self._get_variable_index(variable)
        if index not in self._row_masks:
            super().update_step(gradient, variable, learning_rate)
            return
        present = self._row_masks[index]
        if not is_indexed_slices(gradient):
            gradient = ops.cast(gradient, variable.dtype)
            if present is None:  # IndexedSlices expected, densified on the way (robustness)
                present = _present_rows(gradient, variable)
        self._masked_update(gradient, variable, learning_rate, present)

    def _masked_update(self, gradient: Any, variable: Any, learning_rate: Any, present: Any):
        raise NotImplementedError

    def _assign_rows(self, variable: Any, rows: Any, new_rows: Any, slices: Any) -> None:
        if slices is not None:
            # TensorFlow: an IndexedSlices value makes Keras call `variable.scatter_update`.
            self.assign(variable, type(slices)(new_rows, rows, slices.dense_shape))
        else:
            self.assign(
                variable, ops.scatter_update(value(variable), ops.expand_dims(rows, -1), new_rows)
            )


class _RowMaskedAdam(_RowMasked, keras.optimizers.Adam):
    """Adam whose update of a variable can be restricted to the rows present in the batch."""

    _default_name = "row_masked_adam"
    _plain_class = keras.optimizers.Adam

    @staticmethod
    def fusable(config: dict[str, Any]) -> bool:
        # Weight decay moves every row before Adam's step, AMSGrad keeps a running max:
        # both are left to the snapshot path.
        return not config.get("amsgrad") and not config.get("weight_decay")

    def _masked_update(self, gradient: Any, variable: Any, learning_rate: Any, present: Any):
        index = self._get_variable_index(variable)
        lr = ops.cast(learning_rate, variable.dtype)
        local_step = ops.cast(self.iterations + 1, variable.dtype)
        beta_1_power = ops.power(ops.cast(self.beta_1, variable.dtype), local_step)
        beta_2_power = ops.power(ops.cast(self.beta_2, variable.dtype), local_step)
        alpha = lr * ops.sqrt(1 - beta_2_power) / (1 - beta_1_power)
        m = self._momentums[index]
        v = self._velocities[index]
        if is_indexed_slices(gradient):
            self._update_rows(gradient.indices, gradient.values, m, v, variable, alpha, gradient)
            return
        if keras.backend.backend() == "torch" and self._row_mask_mode == "sparse":
            rows = ops.nonzero(ops.reshape(present, (-1,)))[0]
            self._update_rows(rows, ops.take(gradient, rows, axis=0), m, v, variable, alpha)
            return
        # The same arithmetic as keras' Adam, so present rows are bit-equal to it.
        new_m = ops.add(value(m), ops.multiply(ops.subtract(gradient, m), 1 - self.beta_1))
        new_v = ops.add(
            value(v), ops.multiply(ops.subtract(ops.square(gradient), v), 1 - self.beta_2)
        )
        if self._row_mask_mode == "sparse":
            new_m = ops.where(present, new_m, value(m))
            new_v = ops.where(present, new_v, value(v))
        self.assign(m, new_m)
        self.assign(v, new_v)
        # The step reads the *assigned* moments (equal on present rows, where it counts):
        # reading the old m and v too would make XLA copy both buffers before updating
        # them in place.
        step = ops.divide(ops.multiply(new_m, alpha), ops.add(ops.sqrt(new_v), self.epsilon))
        self.assign(
            variable, ops.where(present, ops.subtract(value(variable), step), value(variable))
        )

    def _adam_moments(self, gradient: Any, m: Any, v: Any, dense: bool) -> tuple[Any, Any]:
        """New m and v (Keras Adam's arithmetic); assigned when ``dense``."""
        new_m = ops.add(value(m), ops.multiply(ops.subtract(gradient, value(m)), 1 - self.beta_1))
        new_v = ops.add(
            value(v),
            ops.multiply(ops.subtract(ops.square(gradient), value(v)), 1 - self.beta_2),
        )
        if dense:
            self.assign(m, new_m)
            self.assign(v, new_v)
        return new_m, new_v

    def _update_rows(
        self,
        rows: Any,
        grad_rows: Any,
        m: Any,
        v: Any,
        variable: Any,
        alpha: Any,
        slices: Any = None,
    ) -> None:
        """Adam on the given rows only (each row once, or repeated with equal values)."""
        rows = ops.cast(rows, "int32")
        grad_rows = ops.cast(grad_rows, variable.dtype)
        old = [ops.take(value(x), rows, axis=0) for x in (m, v, variable)]
        if self._row_mask_mode == "step":
            # Every row's moments move (zero gradient on absent rows); the present rows'
            # moments are then overwritten from their old values and gradients.
            zeros = ops.zeros((), dtype=variable.dtype)
            self._adam_moments(zeros, m, v, dense=True)
        new_m, new_v = self._adam_moments(grad_rows, old[0], old[1], dense=False)
        self._assign_rows(m, rows, new_m, slices)
        self._assign_rows(v, rows, new_v, slices)
        step = ops.divide(ops.multiply(new_m, alpha), ops.add(ops.sqrt(new_v), self.epsilon))
        self._assign_rows(variable, rows, ops.subtract(old[2], step), slices)


class _RowMaskedSGD(_RowMasked, keras.optimizers.SGD):
    """SGD (plain, momentum, Nesterov) whose update can be restricted to present rows.

    Keras' arithmetic: ``m ← momentum·m − lr·g``; ``θ ← θ + m`` (Nesterov:
    ``θ ← θ + momentum·m − lr·g`` with the new m). Without momentum an absent row (zero
    gradient) does not move anyway, so only the momentum case has work to do.
    """

    _default_name = "row_masked_sgd"
    _plain_class = keras.optimizers.SGD

    @staticmethod
    def fusable(config: dict[str, Any]) -> bool:
        return not config.get("weight_decay")

    def _masked_update(self, gradient: Any, variable: Any, learning_rate: Any, present: Any):
        lr = ops.cast(learning_rate, variable.dtype)
        momentum = ops.cast(self.momentum, variable.dtype)
        m = self.momentums[self._get_variable_index(variable)] if self.momentum != 0 else None
        slices = gradient if is_indexed_slices(gradient) else None
        if slices is not None:
            rows, grad_rows = slices.indices, slices.values
        elif keras.backend.backend() == "torch" and self._row_mask_mode == "sparse":
            rows = ops.nonzero(ops.reshape(present, (-1,)))[0]
            grad_rows = ops.take(gradient, rows, axis=0)
        else:
            rows = grad_rows = None
        if rows is None:  # dense, static shapes (JAX, XLA): masked element-wise update
            if m is None:
                new_var = ops.subtract(value(variable), ops.multiply(gradient, lr))
            else:
                new_m, new_var = self._sgd(gradient, value(m), value(variable), lr, momentum)
                if self._row_mask_mode == "sparse":
                    new_m = ops.where(present, new_m, value(m))
                self.assign(m, new_m)
            self.assign(variable, ops.where(present, new_var, value(variable)))
            return
        rows = ops.cast(rows, "int32")
        grad_rows = ops.cast(grad_rows, variable.dtype)
        old_var = ops.take(value(variable), rows, axis=0)
        if m is None:
            new_var = ops.subtract(old_var, ops.multiply(grad_rows, lr))
        else:
            if self._row_mask_mode == "step":
                # Every row's momentum moves (momentum·m: absent rows have zero gradient),
                # then the present rows take theirs. Only TensorFlow slices come here;
                # PyTorch's "step" mode takes the masked element-wise update above.
                self.assign(m, ops.multiply(value(m), momentum))
            old_m = ops.take(value(m), rows, axis=0)
            if self._row_mask_mode == "step":
                new_m = ops.subtract(old_m, ops.multiply(grad_rows, lr))
                new_var = self._sgd(grad_rows, None, old_var, lr, momentum, new_m=new_m)[1]
            else:
                new_m, new_var = self._sgd(grad_rows, old_m, old_var, lr, momentum)
            self._assign_rows(m, rows, new_m, slices)
        self._assign_rows(variable, rows, new_var, slices)

    def _sgd(self, gradient: Any, m: Any, var: Any, lr: Any, momentum: Any, new_m: Any = None):
        """Keras SGD's arithmetic on tensors: the new momentum and the new parameter."""
        if new_m is None:
            new_m = ops.subtract(ops.multiply(m, momentum), ops.multiply(gradient, lr))
        if self.nesterov:
            step = ops.subtract(ops.multiply(new_m, momentum), ops.multiply(gradient, lr))
        else:
            step = new_m
        return new_m, ops.add(var, step)


_FUSED: tuple[type, ...] = (_RowMaskedAdam, _RowMaskedSGD)


def _fused_copy(optimizer: Any) -> Any:
    """A row-masked copy of a plain Keras Adam / SGD built from its config, else None.

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
