"""Keras 3 optimizer wrappers: Lookahead and lazy (sparse-row) optimizers.

Backend-agnostic (``keras.ops`` only): they run on JAX, TensorFlow and PyTorch, in
``model.fit`` and in custom training loops, and serialise to ``.keras`` files.

Example:
    >>> import keras
    >>> from kexue.optimizers import LazyAdam, Lookahead
    >>> optimizer = Lookahead(LazyAdam(learning_rate=1e-3), sync_period=5, slow_step_size=0.5)
"""

from kexue.optimizers.lazy import Lazy, LazyAdam
from kexue.optimizers.lookahead import Lookahead, SlowWeightsEvaluation

__all__ = ["Lazy", "LazyAdam", "Lookahead", "SlowWeightsEvaluation"]
