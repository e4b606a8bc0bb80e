"""TensorFlow fast path of the lazy optimizers: gathering rows without a full read.

Imported only when the TensorFlow backend is active. A TensorFlow resource variable that
has been updated by a scatter is in "copy on read" mode: every dense read copies its whole
buffer, and ``keras.ops.take`` reads densely before it gathers. ``tf.gather`` on the
variable itself gathers the rows in place (``ResourceGather``).
"""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf


def gather_rows(variable: Any, rows: Any) -> Any:
    """Rows ``rows`` (axis 0) of a Keras variable, read sparsely."""
    inner = variable.value if isinstance(variable, keras.Variable) else variable
    return tf.gather(inner, rows, axis=0)
