"""Keras 3 optimizer wrappers: Lookahead and lazy (sparse-row) optimizers.

Written with ``keras.ops``: they run on JAX, TensorFlow and PyTorch, in ``model.fit`` and
in custom training loops, and serialise to ``.keras`` files. The lazy optimizers have
private per-backend fast paths (``_torch_rows``: in-place row writes on PyTorch;
``_tf_rows``: sparse row reads on TensorFlow), imported only on that backend; the
``keras.ops`` route stays as the reference the tests compare them with.

Example:
    >>> import keras
    >>> from kexue.optimizers import LazyAdam, Lookahead
    >>> optimizer = Lookahead(LazyAdam(learning_rate=1e-3), sync_period=5, slow_step_size=0.5)
"""

from kexue.optimizers.lazy import Lazy, LazyAdam
from kexue.optimizers.lookahead import Lookahead, SlowWeightsEvaluation

__all__ = ["Lazy", "LazyAdam", "Lookahead", "SlowWeightsEvaluation"]
