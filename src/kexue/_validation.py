"""Argument checks shared by every kexue subpackage (standard library and NumPy only).

NumPy is imported only by the array helpers, so that light modules (``kexue.parallel``)
can validate their arguments without importing it.

One message form everywhere, as in ``sklearn.utils.check_scalar`` and Keras' own checks:
``"`units` must be a positive integer; received 2.7"``. A value of the wrong *type* raises
:class:`TypeError`, a value of the right type but out of range (or not among the choices)
raises :class:`ValueError`. ``bool`` is never accepted where a number is expected.

Example:
    >>> check_int(3, "units", minimum=1)
    3
    >>> check_int(2.7, "units", minimum=1)
    Traceback (most recent call last):
    ...
    TypeError: `units` must be an integer >= 1; received 2.7 (float)
    >>> check_choice("l2r", "decoder", ("bi", "l2r", "r2l"))
    'l2r'
"""

from __future__ import annotations

import math
import numbers
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "check_bool",
    "check_callable",
    "check_choice",
    "check_float",
    "check_int",
    "check_positive_int",
    "check_probability",
    "check_random_state",
    "check_str",
    "describe",
    "mask_to_bool",
    "center_matrix",
]


def describe(value: Any) -> str:
    """``repr`` of ``value`` with its type when that is not obvious from the repr."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    if isinstance(value, (bool, str, type(None))):
        return text
    return f"{text} ({type(value).__name__})"


def _is_bool(value: Any) -> bool:
    """``bool`` or a NumPy bool (which can only exist once NumPy has been imported)."""
    if isinstance(value, bool):
        return True
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.bool_)


def _fail(exc: type[Exception], name: str, expected: str, value: Any) -> Exception:
    return exc(f"`{name}` must be {expected}; received {describe(value)}")


def _range_text(minimum: float | None, maximum: float | None, *,
                include_min: bool = True, include_max: bool = True) -> str:
    parts = []
    if minimum is not None:
        parts.append(f"{'>=' if include_min else '>'} {minimum}")
    if maximum is not None:
        parts.append(f"{'<=' if include_max else '<'} {maximum}")
    return " and ".join(parts)


def check_int(value: Any, name: str, *, minimum: int | None = None,
              maximum: int | None = None, allow_none: bool = False) -> int | None:
    """Return ``value`` as a Python ``int`` if it is an integer in ``[minimum, maximum]``.

    NumPy integers are accepted; floats (even ``2.0``), strings and ``bool`` are not.
    """
    bounds = _range_text(minimum, maximum)
    expected = f"an integer {bounds}".strip() if bounds else "an integer"
    if value is None and allow_none:
        return None
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise _fail(TypeError, name, expected + (" or None" if allow_none else ""), value)
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise _fail(ValueError, name, expected, value)
    return value


def check_positive_int(value: Any, name: str, *, allow_none: bool = False) -> int | None:
    """Shorthand for :func:`check_int` with ``minimum=1`` ("a positive integer")."""
    if value is None and allow_none:
        return None
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise _fail(TypeError, name, "a positive integer", value)
    if int(value) < 1:
        raise _fail(ValueError, name, "a positive integer", value)
    return int(value)


def check_float(value: Any, name: str, *, minimum: float | None = None,
                maximum: float | None = None, include_min: bool = True,
                include_max: bool = True, allow_none: bool = False,
                finite: bool = True) -> float | None:
    """Return ``value`` as a ``float`` if it is a real number within the bounds.

    Integers are accepted; ``bool``, strings and complex numbers are not. NaN is always
    rejected; infinities are rejected unless ``finite=False``.
    """
    bounds = _range_text(minimum, maximum, include_min=include_min, include_max=include_max)
    expected = ("a finite number" if finite else "a number") + (f" {bounds}" if bounds else "")
    if value is None and allow_none:
        return None
    if _is_bool(value) or not isinstance(value, numbers.Real):
        raise _fail(TypeError, name, expected + (" or None" if allow_none else ""), value)
    value = float(value)
    if math.isnan(value) or (finite and math.isinf(value)):
        raise _fail(ValueError, name, expected, value)
    if minimum is not None and (value < minimum or (not include_min and value == minimum)):
        raise _fail(ValueError, name, expected, value)
    if maximum is not None and (value > maximum or (not include_max and value == maximum)):
        raise _fail(ValueError, name, expected, value)
    return value


def check_probability(value: Any, name: str, *, include_zero: bool = True,
                      include_one: bool = True) -> float:
    """A float in [0, 1] (ends optionally excluded)."""
    return check_float(value, name, minimum=0.0, maximum=1.0, include_min=include_zero,
                       include_max=include_one)


def check_bool(value: Any, name: str) -> bool:
    """Return ``value`` if it is a ``bool`` (NumPy bools too); integers are refused."""
    if not _is_bool(value):
        raise _fail(TypeError, name, "True or False", value)
    return bool(value)


def check_str(value: Any, name: str, *, allow_empty: bool = False,
              allow_none: bool = False) -> str | None:
    """Return ``value`` if it is a string (non-empty unless ``allow_empty``)."""
    if value is None and allow_none:
        return None
    if not isinstance(value, str):
        raise _fail(TypeError, name, "a string", value)
    if not allow_empty and not value.strip():
        raise _fail(ValueError, name, "a non-empty string", value)
    return value


def check_callable(value: Any, name: str, *, allow_none: bool = False) -> Any:
    """Return ``value`` if it is callable (or ``None`` when ``allow_none``); else TypeError.

    Example:
        >>> check_callable(len, "func") is len
        True
    """
    if value is None and allow_none:
        return None
    if not callable(value):
        raise _fail(TypeError, name, "callable" + (" or None" if allow_none else ""), value)
    return value


def check_choice(value: Any, name: str, choices: Iterable[Any]) -> Any:
    """Return ``value`` if it is one of ``choices`` (an Enum member is read by its value)."""
    choices = tuple(choices)
    candidate = getattr(value, "value", value)
    if candidate not in choices:
        listed = ", ".join(repr(c) for c in choices)
        kind = TypeError if not isinstance(candidate, tuple({type(c) for c in choices})) \
            else ValueError
        raise _fail(kind, name, f"one of {listed}", value)
    return candidate


def check_random_state(value: Any, name: str = "rng") -> Any:
    """A ``numpy.random.Generator`` from ``None`` (fresh entropy), a seed or a Generator.

    One argument for randomness everywhere, as ``scipy.stats`` takes ``rng`` and scikit-learn
    ``random_state``; a Generator is used as is (and advanced), a seed gives the same draws
    every time. NumPy's legacy ``RandomState`` is refused: pass a Generator.

    Example:
        >>> a, b = check_random_state(7), check_random_state(7)
        >>> int(a.integers(1000)) == int(b.integers(1000))
        True
    """
    import numpy as np

    if value is None:
        return np.random.default_rng()
    if isinstance(value, np.random.Generator):
        return value
    if isinstance(value, (np.random.SeedSequence, np.random.BitGenerator)):
        return np.random.default_rng(value)
    if _is_bool(value) or not isinstance(value, numbers.Integral):
        raise _fail(TypeError, name, "None, a non-negative integer seed or a "
                                     "numpy.random.Generator", value)
    if value < 0:
        raise _fail(ValueError, name, "None, a non-negative integer seed or a "
                                      "numpy.random.Generator", value)
    return np.random.default_rng(int(value))


def mask_to_bool(mask: Any, name: str = "mask") -> np.ndarray:
    """A 0/1 or boolean NumPy mask as ``bool`` (a trailing axis of size 1 is dropped)."""
    import numpy as np

    mask = np.asarray(mask)
    if mask.ndim >= 1 and mask.shape[-1] == 1 and mask.ndim > 2:
        mask = mask[..., 0]
    if mask.dtype == bool:
        return mask
    if not (np.issubdtype(mask.dtype, np.number)):
        raise _fail(TypeError, name, "a boolean or numeric array", mask)
    return mask != 0


def center_matrix(matrix: np.ndarray) -> np.ndarray:
    """``H K H`` with ``H = I - 11ᵀ/n`` (double centring), without forming ``H``.

    Example:
        >>> import numpy as np
        >>> m = center_matrix(np.array([[1.0, 2.0], [3.0, 4.0]]))
        >>> m.sum(axis=0).tolist(), m.sum(axis=1).tolist()
        ([0.0, 0.0], [0.0, 0.0])
    """
    import numpy as np

    matrix = np.asarray(matrix, dtype=float)
    return (matrix - matrix.mean(axis=0, keepdims=True)
            - matrix.mean(axis=1, keepdims=True) + matrix.mean())
