"""TensorFlow fast path of the lazy optimizers: row access without whole-table copies.

Imported only when the TensorFlow backend is active. A TensorFlow resource variable that
has been gathered from or scattered into is in "copy on read" mode: every later dense read
copies its whole buffer. ``keras.ops.take`` reads densely before it gathers, so rows are
gathered with ``tf.gather`` on the variable itself (``ResourceGather``); and once the
step's row reads and writes are done, the variables leave copy-on-read mode
(``DisableCopyOnRead``), so that the next forward pass (a Keras ``Embedding`` reads its
table densely) does not copy the table. The mode exists to keep a dense read's tensor from
seeing later in-place row writes; a variable in it holds its buffer alone, and the next
sparse access copies the buffer first if a dense read still shares it, so leaving it is
safe whenever no sparse access is in flight — after the step's own.
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


def gather_rows(variable: Any, rows: Any) -> Any:
    """Rows ``rows`` (axis 0) of a Keras variable, read sparsely."""
    return tf.gather(_tf_variable(variable), rows, axis=0)


def _tf_variable(variable: Any) -> Any:
    """The ``tf.Variable`` behind a Keras variable (or the argument itself)."""
    return variable.value if isinstance(variable, keras.Variable) else variable


def end_sparse_access(variables: list[Any]) -> None:
    """Take ``variables`` out of copy-on-read mode (after the step's row reads/writes)."""
    disable = getattr(tf.raw_ops, "DisableCopyOnRead", None)
    if disable is None or _in_xla():  # older TensorFlow: the dense reads keep copying
        return
    for variable in variables:
        handle = getattr(_tf_variable(variable), "handle", None)
        if handle is not None:
            disable(resource=handle)


def _in_xla() -> bool:
    """True while tracing for XLA (``jit_compile=True``), which has no such op and no
    copy-on-read mode; unknown (the helper moved) counts as True, the safe side."""
    try:
        from tensorflow.python.framework import ops as tf_ops
        from tensorflow.python.ops import control_flow_util
    except ImportError:
        return True
    return bool(control_flow_util.GraphOrParentsInXlaContext(tf_ops.get_default_graph()))


def lookahead_sync(owner: Any, slow: list[Any], fast: list[Any], alpha: float) -> bool:
    """Lookahead's ``φ ← φ + α(θ − φ)``, ``θ ← φ`` as one XLA-compiled function: fused,
    one pass over each pair of tables (TensorFlow runs the ``keras.ops`` form as five
    separate passes). The function closes over ``owner``'s variables and is kept on it.
    Returns False (nothing done) inside an XLA compilation already, which fuses the
    ``keras.ops`` form itself."""
    if _in_xla():
        return False
    function = owner.__dict__.get("_kexue_fused_sync")
    if function is None:
        slow_t = [_tf_variable(v) for v in slow]
        fast_t = [_tf_variable(v) for v in fast]

        @tf.function(jit_compile=True, autograph=False)
        def function() -> None:
            for s, f in zip(slow_t, fast_t, strict=True):
                current = s.read_value()
                new = current + tf.constant(alpha, s.dtype) * (f.read_value() - current)
                s.assign(new)
                f.assign(new)

        object.__setattr__(owner, "_kexue_fused_sync", function)
    function()
    return True
