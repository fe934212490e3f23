"""The two call forms every initializer shares: allocate-and-fill, and fill-in-place."""
import warnings

from . import _dispatch
from ._checks import check_device, check_dtype, check_seed, check_shape, check_stream


class Request:
    """A checked call: the target array, the global shape, the region, key and stream."""

    __slots__ = ("arr", "shape", "bounds", "key", "stream")

    def __init__(self, arr, shape, bounds, key, stream):
        self.arr, self.shape, self.bounds, self.key, self.stream = arr, shape, bounds, key, stream

    @property
    def dtype(self):
        return self.arr.dtype

    @property
    def empty(self):
        return self.arr.size == 0

    def run(self, plan):
        """Fill the target by ``plan`` and return it (after every check has passed)."""
        return _dispatch.fill(self.arr, self.shape, self.bounds, plan, self.key, self.stream)


def allocating(shape, dtype, seed, stream, region, device):
    """Check an allocating call; the output is allocated only after the checks pass."""
    shape = check_shape(shape)
    dtype = check_dtype(dtype)
    check_device(device)
    key, words = check_seed(seed), check_stream(stream)
    arr, bounds = _dispatch.allocate(shape, region, dtype)
    return Request(arr, shape, bounds, key, words)


def in_place(out, seed, stream, shape, region, dtypes=None):
    """Check an in-place call on ``out`` (the ``region`` of global ``shape``)."""
    arr, gshape, bounds = _dispatch.target(out, shape, region, dtypes)
    key, words = check_seed(seed), check_stream(stream)
    return Request(arr, gshape, bounds, key, words)


def result(req, out):
    """What a call returns: the caller's own object for the in-place form."""
    return req.arr if out is None else out


def warn_zero_element():
    warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=4)
