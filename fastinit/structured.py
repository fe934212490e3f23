"""Deterministic and structured initializers: constants, eye, dirac and sparse."""
import math

import numpy as np

from . import _plans
from ._api import allocating, in_place
from ._checks import INEXACT_DTYPES as _ANY, check_number, check_value


def _constant(req, value):
    value = check_value(value, "value", req.dtype)
    return req.fill(_plans.constant(value, req.dtype))


def constant(shape, value, *, dtype="float32", region=None, device="cpu"):
    """Every element ``value``, rounded once into ``dtype`` (``nan`` and ``inf`` allowed).

    A complex ``dtype`` takes a complex ``value`` (its parts each rounded into the parts'
    dtype); a real one refuses it (TypeError).

    Examples
    --------
    >>> b = fastinit.constant((4096,), 0.1, dtype="bfloat16")
    """
    return _constant(allocating(shape, dtype, 0, 0, region, device, _ANY), value)


def constant_(out, value, *, shape=None, region=None):
    """In-place :func:`constant`: fills ``out`` with ``value`` and returns it."""
    return _constant(in_place(out, 0, 0, shape, region, _ANY), value)


def zeros(shape, *, dtype="float32", region=None, device="cpu"):
    """All zeros, filled in parallel (:func:`constant` with 0)."""
    return constant(shape, 0.0, dtype=dtype, region=region, device=device)


def zeros_(out, *, shape=None, region=None):
    """In-place :func:`zeros`."""
    return constant_(out, 0.0, shape=shape, region=region)


def ones(shape, *, dtype="float32", region=None, device="cpu"):
    """All ones, filled in parallel (:func:`constant` with 1)."""
    return constant(shape, 1.0, dtype=dtype, region=region, device=device)


def ones_(out, *, shape=None, region=None):
    """In-place :func:`ones`."""
    return constant_(out, 1.0, shape=shape, region=region)


def _set_ones(req, points):
    """Zero the region, then write 1 at the global ``points`` (rows of indices) inside it."""
    req.fill(_plans.constant(0.0, req.dtype))
    if len(points) == 0 or req.empty:
        return req.out
    start = np.array([b[0] for b in req.bounds])
    stop = np.array([b[1] for b in req.bounds])
    points = np.asarray(points).reshape(len(points), -1)
    inside = np.all((points >= start) & (points < stop), axis=1)
    return req.set_ones(points[inside] - start)


def _eye(req):
    if len(req.shape) != 2:
        raise ValueError(f"eye needs a shape with 2 dimensions, got {req.shape}")
    n = min(req.shape)
    return _set_ones(req, np.stack([np.arange(n), np.arange(n)], axis=1))


def eye(shape, *, dtype="float32", region=None, device="cpu"):
    """The identity matrix of a 2-D ``shape`` (ones on the main diagonal, as ``torch.eye``).

    Preserves the identity of the inputs in linear layers (torch's ``eye_``).

    Examples
    --------
    >>> fastinit.eye((3, 4))[0]
    array([1., 0., 0., 0.], dtype=float32)
    """
    return _eye(allocating(shape, dtype, 0, 0, region, device, _ANY))


def eye_(out, *, shape=None, region=None):
    """In-place :func:`eye`."""
    return _eye(in_place(out, 0, 0, shape, region, _ANY))


def _dirac(req, groups):
    shape = req.shape
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"dirac needs a shape with 3, 4 or 5 dimensions, got {shape}")
    if isinstance(groups, bool) or not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    if shape[0] % groups:
        raise ValueError(f"shape[0] = {shape[0]} must be divisible by groups = {groups}")
    per_group = shape[0] // groups
    centre = [n // 2 for n in shape[2:]]
    points = [[g * per_group + d, d, *centre]
              for g in range(groups) for d in range(min(per_group, shape[1]))]
    return _set_ones(req, points)


def dirac(shape, groups=1, *, dtype="float32", region=None, device="cpu"):
    """The Dirac delta of a convolution weight ``(out, in, *kernel)``: input channel ``d`` of
    each group passes through to output channel ``d`` of that group (torch's ``dirac_``).

    ``w[g * out_per_group + d, d, k1 // 2, ...] = 1`` for ``d < min(out_per_group, in)``,
    zero elsewhere.

    Parameters
    ----------
    shape : tuple of int
        3, 4 or 5 dimensions; ``shape[0]`` divisible by ``groups``.
    groups : int

    Examples
    --------
    >>> w = fastinit.dirac((16, 16, 3, 3))
    """
    return _dirac(allocating(shape, dtype, 0, 0, region, device, _ANY), groups)


def dirac_(out, groups=1, *, shape=None, region=None):
    """In-place :func:`dirac`."""
    return _dirac(in_place(out, 0, 0, shape, region, _ANY), groups)


def _sparse(req, sparsity, std):
    if len(req.shape) != 2:
        raise ValueError(f"sparse needs a shape with 2 dimensions, got {req.shape}")
    if math.prod(req.shape) >= 2**61:  # the mask words sit past the values' (float64: 2 each)
        raise ValueError(f"sparse supports fewer than 2**61 elements, got shape {req.shape}")
    sparsity = check_number(sparsity, "sparsity")
    if not 0.0 <= sparsity < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity!r}")
    std = check_number(std, "std", minimum=0.0)
    req.fill(_plans.normal(0.0, std, req.dtype))
    num_zeros = math.ceil(sparsity * req.shape[0])
    if num_zeros == 0 or req.empty:
        return req.out
    return req.zero_sparse(num_zeros)


def sparse(shape, sparsity, std=0.01, *, dtype="float32", seed=None, stream=0, region=None,
           device="cpu"):
    """Sparse normal matrix (Martens 2010, as torch's ``sparse_``): ``N(0, std)`` with
    ``ceil(sparsity * rows)`` zeros in every column.

    Which rows are zero in a column is drawn from the counter stream too (raw words past those
    the values use), so the result is a pure function of seed and stream and ``region=`` works
    like everywhere else.

    Parameters
    ----------
    shape : tuple of int
        Two dimensions ``(rows, cols)``.
    sparsity : float
        In [0, 1): the fraction of each column set to zero.
    std : float

    Examples
    --------
    >>> w = fastinit.sparse((1024, 512), 0.9, seed=0)
    """
    return _sparse(allocating(shape, dtype, seed, stream, region, device, _ANY), sparsity, std)


def sparse_(out, sparsity, std=0.01, *, seed=None, stream=0, shape=None, region=None):
    """In-place :func:`sparse`."""
    return _sparse(in_place(out, seed, stream, shape, region, _ANY), sparsity, std)
