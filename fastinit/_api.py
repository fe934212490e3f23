"""The two call forms every initializer shares: allocate-and-fill, and fill-in-place."""
import warnings

from . import _dispatch
from ._checks import check_device, check_dtype, check_seed, check_shape, check_stream


class Request:
    """A checked call: the target array, the global shape, the region, key and stream.

    On the GPU, ``arr`` is the caller's (or the allocated CuPy) array and ``device`` the
    ``fastinit._cuda.DeviceTarget`` describing its memory; on the CPU ``device`` is None.
    """

    __slots__ = ("arr", "shape", "bounds", "key", "stream", "device")

    def __init__(self, arr, shape, bounds, key, stream, device=None):
        self.arr, self.shape, self.bounds, self.key, self.stream = arr, shape, bounds, key, stream
        self.device = device

    @property
    def dtype(self):
        return self.arr.dtype if self.device is None else self.device.dtype

    @property
    def empty(self):
        return (self.arr if self.device is None else self.device).size == 0

    def run(self, plan):
        """Fill the target by ``plan`` and return it (after every check has passed)."""
        if self.device is not None:
            from . import _cuda
            _cuda.fill(self.device, self.shape, self.bounds, plan, self.key, self.stream)
            return self.arr
        return _dispatch.fill(self.arr, self.shape, self.bounds, plan, self.key, self.stream)


def allocating(shape, dtype, seed, stream, region, device):
    """Check an allocating call; the output is allocated only after the checks pass."""
    shape = check_shape(shape)
    dtype = check_dtype(dtype)
    device = check_device(device)
    key, words = check_seed(seed), check_stream(stream)
    if device == "cuda":
        from . import _cuda
        arr, dev, bounds = _cuda.allocate(shape, region, dtype)
        return Request(arr, shape, bounds, key, words, dev)
    arr, bounds = _dispatch.allocate(shape, region, dtype)
    return Request(arr, shape, bounds, key, words)


def in_place(out, seed, stream, shape, region, dtypes=None):
    """Check an in-place call on ``out`` (the ``region`` of global ``shape``); a GPU ``out``
    (CUDA array interface, Numba device array) goes to the CUDA backend."""
    if _is_device_array(out):
        from . import _cuda
        dev, gshape, bounds = _cuda.target(out, shape, region, dtypes)
        key, words = check_seed(seed), check_stream(stream)
        return Request(out, gshape, bounds, key, words, dev)
    arr, gshape, bounds = _dispatch.target(out, shape, region, dtypes)
    key, words = check_seed(seed), check_stream(stream)
    return Request(arr, gshape, bounds, key, words)


def _is_device_array(obj):
    """A GPU array (no import of numba.cuda or CuPy): a Numba device array (the simulator's
    too), a CUDA torch tensor, or anything else whose ``__cuda_array_interface__`` works."""
    t = type(obj)
    if getattr(t, "__cuda_ndarray__", False):
        return True
    if not hasattr(t, "__cuda_array_interface__"):
        return False
    is_cuda = getattr(obj, "is_cuda", None)  # torch.Tensor has the property on CPU tensors too
    if is_cuda is not None:
        return bool(is_cuda)
    try:
        obj.__cuda_array_interface__
    except AttributeError:
        return False
    return True


def result(req, out):
    """What a call returns: the caller's own object for the in-place form."""
    return req.arr if out is None else out


def warn_zero_element():
    warnings.warn("Initializing zero-element tensors is a no-op", UserWarning, stacklevel=4)
