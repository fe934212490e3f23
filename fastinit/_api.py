"""The two call forms every initializer shares: allocate-and-fill, and fill-in-place.

Each checks its arguments, picks the backend once and returns a :class:`Request`, whose
methods are the backend's steps on the checked target.
"""
import warnings

import numpy as np

from . import _backend
from ._backend.geometry import region_shape
from .kernels import codes
from ._checks import (FLOAT_DTYPES, REAL_OF, check_device, check_dtype, check_region, check_seed,
                      check_shape, check_stream)


class Request:
    """A checked call: the backend, its target, what the call returns, the global shape, the
    region, key and stream.

    ``target`` is what the backend fills (a NumPy view of the caller's memory on the CPU, a
    ``DeviceTarget`` on the GPU); ``out`` is what the call returns: the new array, or the
    caller's own object for the in-place form.
    """

    __slots__ = ("backend", "target", "out", "shape", "bounds", "key", "stream")

    def __init__(self, backend, target, out, shape, bounds, key, stream):
        self.backend, self.target, self.out = backend, target, out
        self.shape, self.bounds, self.key, self.stream = shape, bounds, key, stream

    @property
    def dtype(self):
        return self.target.dtype

    @property
    def empty(self):
        return self.target.size == 0

    @property
    def is_complex(self):
        return self.target.dtype in REAL_OF

    def fill(self, plan):
        """Fill the target by ``plan`` (after every check has passed); return ``out``.

        A complex target is filled through its real view ``(*shape, 2)`` (see
        ``fastinit.kernels``); a constant's two parts each through its own view.
        """
        if self.is_complex:
            self._fill_complex(plan)
            return self.out
        self.backend.fill(self.target, self.shape, self.bounds, plan, self.key, self.stream)
        return self.out

    def _fill_complex(self, plan):
        kind, params = plan
        view = self.backend.real_view
        if kind == codes.CONSTANT:
            for part, value in enumerate(params):
                self.backend.fill(view(self.target, part), self.shape, self.bounds,
                                  (kind, [value]), self.key, self.stream)
            return
        self.backend.fill(view(self.target), self.shape + (2,), self.bounds + ((0, 2),), plan,
                          self.key, self.stream)

    def zero_sparse(self, num_zeros):
        """Zero ``num_zeros`` rows per column (of the 2-D global shape) in the target.

        The mask words are those of the stream past the values' words (``first``): one per
        value for float32 and the 16-bit formats, two for float64, twice that for complex.
        """
        dtype = REAL_OF.get(self.dtype, self.dtype)
        first = self.shape[0] * self.shape[1] * (2 if dtype == np.float64 else 1)
        parts = (self.target,)
        if self.is_complex:  # both parts of a zeroed element, by the same mask
            first *= 2
            parts = (self.backend.real_view(self.target, 0),
                     self.backend.real_view(self.target, 1))
        for part in parts:
            self.backend.zero_sparse(part, self.shape, self.bounds, self.key, self.stream,
                                     num_zeros, first)
        return self.out

    def set_ones(self, local):
        """Write 1 at the local indices ``local`` (rows of indices) of the target."""
        target = self.backend.real_view(self.target, 0) if self.is_complex else self.target
        self.backend.set_ones(target, local)
        return self.out

    def orthogonal(self, gain, method, col, nb=None):
        """Fill the target with ``gain`` times a Haar orthogonal matrix."""
        self.backend.fill_orthogonal(self.target, self.key, self.stream, gain, method, col, nb)
        return self.out

    def delta(self, gain, method, col, centre):
        """Zeros, and the orthogonal matrix at the index ``centre`` of the leading axes."""
        self.backend.fill_delta(self.target, self.key, self.stream, gain, method, col, centre)
        return self.out


def allocating(shape, dtype, seed, stream, region, device, dtypes=FLOAT_DTYPES):
    """Check an allocating call; the output is allocated only after the checks pass."""
    shape = check_shape(shape)
    dtype = check_dtype(dtype, dtypes)
    backend, gpu = _backend.for_device(check_device(device))
    key, words = check_seed(seed), check_stream(stream)
    bounds = check_region(region, shape)
    size = shape if region is None else region_shape(bounds)
    out, target = (backend.empty(size, dtype) if gpu is None
                   else backend.empty(size, dtype, device=gpu))
    return Request(backend, target, out, shape, bounds, key, words)


def in_place(out, seed, stream, shape, region, dtypes=FLOAT_DTYPES):
    """Check an in-place call on ``out``, the ``region`` of global ``shape`` (default: ``out``'s
    own shape); ``out`` must have the region's shape."""
    backend = _backend.for_target(out)
    target = backend.as_target(out, dtypes)
    gshape = target.shape if shape is None else check_shape(shape)
    bounds = check_region(region, gshape)
    if (region is not None or shape is not None) and region_shape(bounds) != target.shape:
        raise ValueError(f"out has shape {target.shape} but region {region!r} of shape {gshape} "
                         f"has shape {region_shape(bounds)}")
    key, words = check_seed(seed), check_stream(stream)
    return Request(backend, target, out, gshape, bounds, key, words)


def warn_zero_element():
    warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=4)
