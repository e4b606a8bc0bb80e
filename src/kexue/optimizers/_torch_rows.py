"""PyTorch fast paths of the lazy optimizers: in-place row writes under ``no_grad``.

Imported only when the PyTorch backend is active (``kexue.optimizers.lazy`` imports it
inside the functions that run on PyTorch). Every ``keras.ops`` result on PyTorch is a new
tensor and Keras has no in-place row scatter, so the ``keras.ops`` route of a lazy update
copies whole tables (``scatter_update`` clones its input, ``Variable.assign`` copies). Here
the present rows are gathered, the rule (the optimizer's own ``keras.ops`` code, run on
the gathered rows) is applied, and the results are written back with ``index_copy_``;
"step" mode moves the whole state in place first, with the same arithmetic, operation by
operation, as the ``keras.ops`` rule, so both routes give identical bits (the tests check
this). benchmarks/torch_rows.py times the primitives.
"""

from __future__ import annotations

from typing import Any

import torch

# Whole-table passes run block by block (about 4 MB of float32 per block): a block's second
# and later passes read it from cache, and temporaries are one block, not one table (a
# table-sized temporary is a fresh allocation, page faults included, every step).
_BLOCK_ELEMENTS = 1 << 20


def _blocks(table: torch.Tensor) -> list[tuple[int, int]]:
    rows = table.shape[0]
    per_row = max(1, table[0].numel()) if rows else 1
    step = max(1, _BLOCK_ELEMENTS // per_row)
    return [(start, min(start + step, rows)) for start in range(0, rows, step)]


@torch.no_grad()
def present_row_indices(gradient: torch.Tensor) -> torch.Tensor:
    """Indices (int64, ascending) of the rows of ``gradient`` holding a non-zero or a NaN.

    The same rule as ``lazy._present_rows``: a row is present when its maximum or its
    minimum is not zero (both propagate NaN).
    """
    if gradient.ndim == 1:
        return torch.nonzero(gradient != 0).squeeze(1)
    mask = torch.empty(gradient.shape[0], dtype=torch.bool)
    for start, stop in _blocks(gradient):
        _mark_present(gradient[start:stop], mask[start:stop])
    return torch.nonzero(mask).squeeze(1)


def _mark_present(block: torch.Tensor, out: torch.Tensor) -> None:
    """``out[i]`` = row ``i`` of ``block`` holds a non-zero or a NaN."""
    if block.ndim == 1:
        torch.ne(block, 0, out=out)
        return
    # amax and amin (vectorised along rows) are much faster than aminmax or any here.
    flat = block.reshape(block.shape[0], -1)
    torch.logical_or(flat.amax(1) != 0, flat.amin(1) != 0, out=out)


def _tensor(variable: Any) -> torch.Tensor:
    return variable.value if hasattr(variable, "value") else variable


@torch.no_grad()
def lazy_update(optimizer: Any, gradient: Any, states: list[Any], variable: Any, terms: dict):
    """One lazy step of a ``lazy._RowMasked`` optimizer on one variable, in place.

    Args:
        optimizer: The row-masked optimizer (its ``_state_rule`` / ``_param_rule`` and, for
            "step" mode, ``_torch_dense_states`` below).
        gradient: The dense gradient of ``variable``.
        states: The optimizer's per-row state variables of ``variable``.
        variable: The lazy model variable.
        terms: The step's scalars (``optimizer._terms``).
    """
    tables = [_tensor(s) for s in states]
    table = _tensor(variable)
    if optimizer._lazy_mode == "step" and tables:
        # The whole state moves with the gradient as it is (zero on absent rows), block by
        # block, the presence of each block's rows found while the block is in cache; the
        # present rows' new state is then read back from the tables.
        mask = torch.empty(gradient.shape[0], dtype=torch.bool)
        _DENSE_STATES[optimizer._plain_class.__name__](optimizer, gradient, tables, terms,
                                                        mask)
        rows = torch.nonzero(mask).squeeze(1)
        grad_rows = gradient.index_select(0, rows)
        new_states = [t.index_select(0, rows) for t in tables]
    else:
        rows = present_row_indices(gradient)
        grad_rows = gradient.index_select(0, rows)
        old_states = [t.index_select(0, rows) for t in tables]
        new_states = optimizer._state_rule(grad_rows, old_states, terms)
        for t, new in zip(tables, new_states, strict=True):
            t.index_copy_(0, rows, new.to(t.dtype))
    old_rows = table.index_select(0, rows)
    new_rows = optimizer._param_rule(grad_rows, new_states, old_rows, terms)
    table.index_copy_(0, rows, new_rows.to(table.dtype))


# "step" mode: the whole state moves as the keras.ops rule moves it (absent rows have a zero
# gradient), in place, one temporary block; each line mirrors one keras.ops call of the rule,
# so the present rows' new state is bit for bit the rule's on those rows. Each block's rows
# are marked present or not (``mask``) while the block is in cache.


def _adam_states(optimizer: Any, g: torch.Tensor, tables: list[torch.Tensor], terms: dict,
                 mask: torch.Tensor):
    m, v = tables
    c1, c2 = 1 - optimizer.beta_1, 1 - optimizer.beta_2
    buffer = torch.empty_like(g[: _blocks(g)[0][1]])
    for start, stop in _blocks(g):
        gb, mb, vb, t = g[start:stop], m[start:stop], v[start:stop], buffer[: stop - start]
        _mark_present(gb, mask[start:stop])
        torch.sub(gb, mb, out=t)
        t.mul_(c1)
        mb.add_(t)
        torch.square(gb, out=t)
        t.sub_(vb)
        t.mul_(c2)
        vb.add_(t)


def _sgd_states(optimizer: Any, g: torch.Tensor, tables: list[torch.Tensor], terms: dict,
                mask: torch.Tensor):
    (m,) = tables
    buffer = torch.empty_like(g[: _blocks(g)[0][1]])
    for start, stop in _blocks(g):
        mb, t = m[start:stop], buffer[: stop - start]
        _mark_present(g[start:stop], mask[start:stop])
        torch.mul(g[start:stop], terms["lr"], out=t)
        mb.mul_(terms["momentum"])
        mb.sub_(t)


def _rmsprop_states(optimizer: Any, g: torch.Tensor, tables: list[torch.Tensor], terms: dict,
                    mask: torch.Tensor):
    rho = optimizer.rho
    first = _blocks(g)[0][1]
    buffer = torch.empty_like(g[:first])
    spare = torch.empty_like(g[:first]) if optimizer.momentum > 0 else None
    for start, stop in _blocks(g):
        gb, t = g[start:stop], buffer[: stop - start]
        _mark_present(gb, mask[start:stop])
        velocity = tables[0][start:stop]
        torch.square(gb, out=t)
        t.mul_(1 - rho)
        velocity.mul_(rho)
        velocity.add_(t)
        average = None
        if optimizer.centered:
            average = tables[1][start:stop]
            torch.mul(gb, 1 - rho, out=t)
            average.mul_(rho)
            average.add_(t)
        if optimizer.momentum > 0:
            denominator = spare[: stop - start]
            if average is not None:
                torch.square(average, out=denominator)
                torch.sub(velocity, denominator, out=denominator)
                denominator.add_(optimizer.epsilon)
            else:
                torch.add(velocity, optimizer.epsilon, out=denominator)
            denominator.sqrt_()
            torch.mul(terms["lr"], gb, out=t)
            t.div_(denominator)
            momentum = tables[-1][start:stop]
            momentum.mul_(optimizer.momentum)
            momentum.add_(t)


_DENSE_STATES = {"Adam": _adam_states, "SGD": _sgd_states, "RMSprop": _rmsprop_states}


@torch.no_grad()
def snapshot(variables: list[Any]) -> list[torch.Tensor]:
    """Copies of the variables' tables (the generic path's snapshot)."""
    return [_tensor(v).clone() for v in variables]


@torch.no_grad()
def restore_absent_rows(rows: torch.Tensor, variables: list[Any], old: list[torch.Tensor]):
    """Put the snapshot back on every row but ``rows`` (which keep their new values)."""
    for variable, before in zip(variables, old, strict=True):
        table = _tensor(variable)
        before.index_copy_(0, rows, table.index_select(0, rows))
        table.copy_(before)


@torch.no_grad()
def lookahead_sync(slow: list[Any], fast: list[Any], alpha: float) -> None:
    """Lookahead's synchronisation in place: ``φ ← φ + α(θ − φ)``, ``θ ← φ``.

    The same operations, in the same order, as ``Lookahead``'s ``keras.ops`` code, so the
    results are identical; one temporary per variable instead of three and two copies.
    """
    for s, f in zip(slow, fast, strict=True):
        s_t, f_t = _tensor(s), _tensor(f)
        if not (s_t.is_contiguous() and f_t.is_contiguous()) or s_t.numel() <= _BLOCK_ELEMENTS:
            t = torch.sub(f_t, s_t)
            t.mul_(alpha)
            s_t.add_(t)
            f_t.copy_(s_t)
            continue
        # a large table block by block (about 4 MB): the four passes hit the cache
        s_flat, f_flat = s_t.view(-1), f_t.view(-1)
        buffer = torch.empty(_BLOCK_ELEMENTS, dtype=s_t.dtype, device=s_t.device)
        for start in range(0, s_flat.numel(), _BLOCK_ELEMENTS):
            sb = s_flat[start : start + _BLOCK_ELEMENTS]
            fb = f_flat[start : start + _BLOCK_ELEMENTS]
            t = buffer[: sb.numel()]
            torch.sub(fb, sb, out=t)
            t.mul_(alpha)
            sb.add_(t)
            fb.copy_(sb)
