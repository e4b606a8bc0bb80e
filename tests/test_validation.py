"""kexue._validation: TypeError for a wrong type, ValueError for a wrong value, one message."""

import numpy as np
import pytest

from kexue._validation import (
    center_matrix,
    check_bool,
    check_callable,
    check_choice,
    check_float,
    check_int,
    check_positive_int,
    check_probability,
    check_random_state,
    check_str,
    mask_to_bool,
)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: check_positive_int(0, "beam"), ValueError,
     "`beam` must be a positive integer; received 0 (int)"),
    (lambda: check_positive_int(2.7, "units"), TypeError,
     "`units` must be a positive integer; received 2.7 (float)"),
    (lambda: check_positive_int(None, "units"), TypeError,
     "`units` must be a positive integer; received None"),
    (lambda: check_int(True, "n"), TypeError, "`n` must be an integer; received True"),
    (lambda: check_int(5, "n", minimum=0, maximum=3), ValueError,
     "`n` must be an integer >= 0 and <= 3; received 5 (int)"),
    (lambda: check_float(float("nan"), "rate"), ValueError, "`rate` must be a finite number"),
    (lambda: check_float("0.1", "rate"), TypeError, "`rate` must be a finite number"),
    (lambda: check_probability(1.5, "p"), ValueError, "`p` must be a finite number >= 0.0"),
    (lambda: check_bool(1, "flag"), TypeError, "`flag` must be True or False; received 1"),
    (lambda: check_str("", "name"), ValueError, "`name` must be a non-empty string"),
    (lambda: check_str(3, "name"), TypeError, "`name` must be a string"),
    (lambda: check_choice("x", "mode", ("a", "b")), ValueError,
     "`mode` must be one of 'a', 'b'; received 'x'"),
    (lambda: check_choice(3, "mode", ("a", "b")), TypeError, "`mode` must be one of"),
    (lambda: check_callable(3, "func"), TypeError, "`func` must be callable; received 3"),
    (lambda: check_random_state(-1, "rng"), ValueError, "`rng` must be None, a non-negative"),
    (lambda: check_random_state(1.5, "rng"), TypeError, "`rng` must be None, a non-negative"),
    (lambda: mask_to_bool(np.array(["a"])), TypeError, "`mask` must be a boolean or numeric"),
])
def test_one_message_form(call, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_accepted_values_come_back_normalised():
    assert check_positive_int(np.int64(3), "n") == 3 and type(check_int(np.int8(2), "n")) is int
    assert check_float(2, "x") == 2.0 and check_bool(np.bool_(True), "b") is True
    assert check_positive_int(None, "n", allow_none=True) is None
    generator = np.random.default_rng(0)
    assert check_random_state(generator) is generator
    assert check_random_state(3).random() == np.random.default_rng(3).random()
    assert isinstance(check_random_state(None), np.random.Generator)
    np.testing.assert_array_equal(mask_to_bool([[[1], [0]]]), [[True, False]])


def test_center_matrix_is_h_k_h():
    k = np.random.default_rng(1).normal(size=(5, 5))
    h = np.eye(5) - np.ones((5, 5)) / 5
    np.testing.assert_allclose(center_matrix(k), h @ k @ h, atol=1e-12)
