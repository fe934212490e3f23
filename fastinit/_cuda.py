"""The GPU side of dispatch: device targets, allocation with CuPy, kernel launches.

Nothing here is imported by ``import fastinit`` until a GPU array or ``device="cuda"`` arrives;
CuPy and numba-cuda are imported inside the functions. Targets are CuPy arrays, Numba device
arrays (the CUDA simulator's too) and anything with ``__cuda_array_interface__`` (a torch CUDA
tensor: zero copy). Kernels run on the caller's current CuPy stream (Numba's default stream
when CuPy is not installed).
"""
import math
import sys

import numpy as np

from . import _dispatch
from ._checks import BFLOAT16, FLOAT_DTYPES, check_region, check_shape

# Launch configuration, read at every call (tests patch it small under the simulator so a few
# thousand elements cover many blocks and the grid-stride loop turns several times).
THREADS_PER_BLOCK = 256
# Blocks per launch; None: 32 per multiprocessor of the current device (enough to hide memory
# latency; the grid-stride loop covers the rest).
MAX_BLOCKS = None

_INSTALL = "pip install 'fastinit-kernels[cuda13]' (CUDA 13 driver) or [cuda12] (CUDA 12 driver)"


def _numba_cuda():
    try:
        from numba import cuda
        cuda.jit  # noqa: B018  (numba without numba-cuda has a stub that lacks the target)
    except (ImportError, AttributeError) as e:
        raise RuntimeError(f"the CUDA backend needs numba-cuda, which is not installed ({e}): "
                           f"{_INSTALL}") from None
    return cuda


def _simulating():
    from numba import config
    return bool(config.ENABLE_CUDASIM)


def check_available():
    """Raise an error naming what is missing for ``device='cuda'``: CuPy, numba-cuda, a GPU."""
    try:
        import cupy
    except ImportError:
        raise RuntimeError(f"device='cuda' needs CuPy, which is not installed: {_INSTALL}") \
            from None
    cuda = _numba_cuda()
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CuPy raises its own error types when there is no driver
        raise RuntimeError(f"device='cuda': CuPy is installed but found no CUDA driver or GPU "
                           f"({e})") from None
    if count == 0:
        raise RuntimeError("device='cuda': CuPy is installed but found no GPU")
    if not cuda.is_available():
        raise RuntimeError("device='cuda': numba-cuda found no usable GPU or driver "
                           "(see numba.cuda.detect())")
    return cupy


class DeviceTarget:
    """A GPU target seen as memory: dtype, shape, element strides and how to reach it."""

    __slots__ = ("obj", "dtype", "shape", "strides", "ptr", "host", "typestr")

    def __init__(self, obj, dtype, shape, strides, ptr=None, host=None, typestr=None):
        self.obj, self.dtype, self.shape, self.strides = obj, dtype, shape, strides
        self.ptr, self.host, self.typestr = ptr, host, typestr

    @property
    def size(self):
        return math.prod(self.shape)


def _torch_bfloat16(obj):
    torch = sys.modules.get("torch")  # a torch tensor means torch is imported already
    return torch is not None and isinstance(obj, torch.Tensor) and obj.dtype == torch.bfloat16


def as_device_target(out, dtypes=FLOAT_DTYPES):
    """Check a GPU ``out`` (dtype, writability, strides) and describe its memory."""
    if getattr(type(out), "__cuda_ndarray__", False) and _simulating():
        host = out._ary  # the simulator's device array wraps a NumPy array: no copy
        dtype = host.dtype
        shape, strides = host.shape, host.strides
        ptr = typestr = None
        readonly = not host.flags.writeable
    else:
        host = None
        obj = out
        if _torch_bfloat16(out):  # the array interface has no bfloat16: take the bits
            obj = out.detach().view(sys.modules["torch"].int16)
        elif hasattr(out, "detach"):
            obj = out.detach()  # same storage; the interface refuses tensors needing grad
        desc = obj.__cuda_array_interface__
        typestr = desc["typestr"]
        dtype = BFLOAT16 if _torch_bfloat16(out) else np.dtype(typestr)
        shape = tuple(desc["shape"])
        item = np.dtype(typestr).itemsize
        strides = desc.get("strides")
        if strides is None:  # C-contiguous
            strides, acc = [], item
            for n in reversed(shape):
                strides.insert(0, acc)
                acc *= max(n, 1)
        strides = tuple(strides)
        ptr, readonly = desc["data"]
    if dtype not in dtypes:
        names = ", ".join(str(d) for d in dtypes)
        raise TypeError(f"out must have dtype {names}, got {dtype}")
    if readonly:
        raise ValueError("out is read-only")
    item = dtype.itemsize
    for n, s in zip(shape, strides if math.prod(shape) else ()):
        if n > 1 and s == 0:
            raise ValueError(f"out has a zero stride (a broadcast view): strides {strides}")
        if s % item:
            raise ValueError(f"out has strides {strides} that are not a multiple of its "
                             f"item size {item}")
    return DeviceTarget(out, dtype, shape, tuple(s // item for s in strides), ptr, host, typestr)


def target(out, shape, region, dtypes=None):
    """As :func:`fastinit._dispatch.target` for a GPU ``out``."""
    dev = as_device_target(out, FLOAT_DTYPES if dtypes is None else dtypes)
    gshape = dev.shape if shape is None else check_shape(shape)
    bounds = check_region(region, gshape)
    if _dispatch.region_shape(bounds) != dev.shape:
        raise ValueError(f"out has shape {dev.shape} but region {region!r} of shape {gshape} "
                         f"has shape {_dispatch.region_shape(bounds)}")
    return dev, gshape, bounds


def allocate(shape, region, dtype):
    """A CuPy array of the region's shape (after :func:`check_available`) and the bounds."""
    cupy = check_available()
    bounds = check_region(region, shape)
    try:
        arr = cupy.empty(_dispatch.region_shape(bounds), dtype)
    except (TypeError, ValueError) as e:
        raise TypeError(f"dtype {dtype} is not supported by CuPy ({e}); fill a torch bfloat16 "
                        f"CUDA tensor in place instead") from None
    return arr, as_device_target(arr), bounds


def _flat_view(dev, low, span):
    """A 1-D device array of ``span`` elements starting ``low`` elements before ``dev``'s
    first element (``low <= 0``), on which the kernels index."""
    cuda = _numba_cuda()
    if dev.host is not None:  # simulator: the same NumPy memory, as a simulator device array
        item = dev.dtype.itemsize
        corner = tuple(n - 1 if s < 0 else 0 for s, n in zip(dev.strides, dev.shape))
        flat = np.lib.stride_tricks.as_strided(dev.host[corner + (Ellipsis,)], shape=(span,),
                                               strides=(item,))
        if dev.dtype.itemsize == 2:
            flat = flat.view(np.uint16)
        return type(dev.obj)(flat)
    item = np.dtype(dev.typestr).itemsize
    typestr = "<u2" if item == 2 else dev.typestr  # float16/bfloat16 are stored as bits
    desc = {"shape": (span,), "strides": None, "typestr": typestr, "version": 3,
            "data": (dev.ptr + low * item, False), "stream": None}
    return cuda.from_cuda_array_interface(desc, owner=dev.obj, sync=False)


def _stream():
    """The caller's current CuPy stream, as a Numba stream (0: Numba's default stream)."""
    try:
        import cupy
    except ImportError:
        return 0
    ptr = cupy.cuda.get_current_stream().ptr
    return _numba_cuda().external_stream(ptr) if ptr else 0


def _launch_shape(units):
    threads = int(THREADS_PER_BLOCK)
    blocks = max(1, -(-units // threads))
    cap = MAX_BLOCKS
    if cap is None and not _simulating():
        cap = 32 * _numba_cuda().get_current_device().MULTIPROCESSOR_COUNT
    return (blocks if cap is None else min(blocks, int(cap))), threads


def fill(dev, gshape, bounds, plan, key, stream):
    """Run ``plan = (kind, params)`` into the device target ``dev``."""
    if dev.size == 0:
        return dev.obj
    from .kernels import cuda as kernels
    kind, params = plan
    params = tuple(float(p) for p in params) + (0.0,) * (7 - len(params))
    low, span, base, ostride, rshape, rstart, gstride = _dispatch.layout(
        dev.shape, dev.strides, gshape, bounds)
    flat = _flat_view(dev, low, span)
    geo = (int(base), tuple(int(v) for v in ostride), tuple(int(v) for v in rshape),
           tuple(int(v) for v in rstart), tuple(int(v) for v in gstride))
    words = (np.uint32(key[0]), np.uint32(key[1]), np.uint32(stream[0]), np.uint32(stream[1]))
    rows = math.prod(geo[2][:-1])
    n = geo[2][-1]
    launch_stream = 0 if dev.host is not None else _stream()
    if dev.dtype == np.uint32:
        blocks, threads = _launch_shape(rows * ((n + 6) // 4))
        kernels.fill_bits[blocks, threads, launch_stream](flat, *geo, *words)
    elif dev.dtype == np.float64:
        blocks, threads = _launch_shape(rows * ((n + 2) // 2))
        kernels.KERNELS_F64[kind][blocks, threads, launch_stream](flat, *geo, *words, params)
    else:
        code = {np.dtype(np.float32): kernels.OUT_F32, np.dtype(np.float16): kernels.OUT_F16,
                BFLOAT16: kernels.OUT_BF16}[dev.dtype]
        blocks, threads = _launch_shape(rows * ((n + 6) // 4))
        kernels.KERNELS_F32[kind][blocks, threads, launch_stream](flat, *geo, *words, params,
                                                                   code)
    return dev.obj


def zero_sparse(dev, gshape, bounds, key, stream, num_zeros):
    """Zero ``num_zeros`` rows per column of the region ``bounds`` of the 2-D ``gshape``, as
    ``fastinit.kernels.cpu.zero_sparse`` does on the CPU."""
    from .kernels import cuda as kernels
    low, span, base, *_ = _dispatch.layout(dev.shape, dev.strides, gshape, bounds)
    flat = _flat_view(dev, low, span)
    rows, cols = gshape
    rbounds = (bounds[0][0], bounds[0][1], bounds[1][0], bounds[1][1])
    words = (np.uint32(key[0]), np.uint32(key[1]), np.uint32(stream[0]), np.uint32(stream[1]))
    blocks, threads = _launch_shape(bounds[1][1] - bounds[1][0])
    launch_stream = 0 if dev.host is not None else _stream()
    kernels.zero_sparse[blocks, threads, launch_stream](
        flat, int(base), (int(dev.strides[0]), int(dev.strides[1])), rbounds, int(rows),
        int(cols), *words, int(num_zeros))


_ONE = {np.dtype(np.float64): np.float64(1.0), np.dtype(np.float32): np.float32(1.0),
        np.dtype(np.float16): np.uint16(0x3C00), BFLOAT16: np.uint16(0x3F80)}


def set_ones(dev, local):
    """Write 1 at the local indices ``local`` (rows of indices) of the device target ``dev``."""
    if len(local) == 0:
        return
    from .kernels import cuda as kernels
    cuda = _numba_cuda()
    low = sum(s * (n - 1) for s, n in zip(dev.strides, dev.shape) if s < 0)
    flat = _flat_view(dev, low, sum(abs(s) * (n - 1) for s, n in zip(dev.strides, dev.shape)) + 1)
    offsets = (np.asarray(local, np.int64) @ np.asarray(dev.strides, np.int64)) - low
    offsets = np.ascontiguousarray(offsets, np.int64)
    launch_stream = 0 if dev.host is not None else _stream()
    offsets = cuda.to_device(offsets, stream=launch_stream)
    blocks, threads = _launch_shape(len(local))
    kernels.put_value[blocks, threads, launch_stream](flat, offsets, _ONE[dev.dtype])
