"""The CUDA backend: GPU targets, allocation with CuPy, launches of ``fastinit.kernels.cuda``.

It has the functions of ``fastinit._backend.cpu``, with the same signatures: ``as_target``,
``real_view``, ``empty``, ``fill``, ``zero_sparse``, ``set_ones``, ``fill_orthogonal`` and
``fill_delta``.
A *target* here is a :class:`DeviceTarget`: a CuPy array, a Numba device array (the CUDA
simulator's too) or anything with ``__cuda_array_interface__`` (a torch CUDA tensor: zero
copy), seen as memory. Kernels run on the caller's current CuPy stream (Numba's default stream
when CuPy is not installed). Nothing here is imported by ``import fastinit``; CuPy and
numba-cuda are imported inside the functions.
"""
import math

import numpy as np

from .. import _haar, _plans
from .._checks import BFLOAT16, REAL_OF
from ..kernels import codes
from .cuda_runtime import check_available, current_stream, numba_cuda, simulating
from .cuda_steps import cuda_steps
from .foreign import is_torch_bfloat16, torch_bits
from .geometry import element_strides, layout, real_view as array_real_view

# Launch configuration, read at every call (tests patch it small under the simulator so a few
# thousand elements cover many blocks and the grid-stride loop turns several times).
THREADS_PER_BLOCK = 256
# Blocks per launch; None: 32 per multiprocessor of the current device (enough to hide memory
# latency; the grid-stride loop covers the rest).
MAX_BLOCKS = None


class DeviceTarget:
    """A GPU target seen as memory: dtype, shape, element strides and how to reach it
    (``ptr`` and ``typestr`` of its array interface, or ``host``: the simulator's NumPy
    array)."""

    __slots__ = ("obj", "dtype", "shape", "strides", "ptr", "host", "typestr")

    def __init__(self, obj, dtype, shape, strides, ptr=None, host=None, typestr=None):
        self.obj, self.dtype, self.shape, self.strides = obj, dtype, shape, strides
        self.ptr, self.host, self.typestr = ptr, host, typestr

    @property
    def size(self):
        return math.prod(self.shape)


def _c_strides(shape, item):
    strides, acc = [], item
    for n in reversed(shape):
        strides.insert(0, acc)
        acc *= max(n, 1)
    return strides


def as_target(out, dtypes):
    """Check a GPU ``out`` (dtype, writability, strides) and describe its memory."""
    if getattr(type(out), "__cuda_ndarray__", False) and simulating():
        host = out._ary  # the simulator's device array wraps a NumPy array: no copy
        dtype = host.dtype
        shape, strides = host.shape, host.strides
        ptr = typestr = None
        readonly = not host.flags.writeable
    else:
        host = None
        desc = torch_bits(out).__cuda_array_interface__
        typestr = desc["typestr"]
        dtype = BFLOAT16 if is_torch_bfloat16(out) else np.dtype(typestr)
        shape = tuple(desc["shape"])
        strides = desc.get("strides") or _c_strides(shape, np.dtype(typestr).itemsize)
        strides = tuple(strides)
        ptr, readonly = desc["data"]
    if dtype not in dtypes:
        names = ", ".join(str(d) for d in dtypes)
        raise TypeError(f"out must have dtype {names}, got {dtype}")
    if readonly:
        raise ValueError("out is read-only")
    elems = element_strides(shape, strides, dtype.itemsize)
    return DeviceTarget(out, dtype, shape, elems, ptr, host, typestr)


def real_view(dev, part=None):
    """The real view of a complex device target: ``(*shape, 2)`` (real and imaginary parts
    last), or with ``part`` 0 or 1 the real or the imaginary parts alone, of its shape."""
    real = REAL_OF[dev.dtype]
    strides = tuple(2 * s for s in dev.strides)
    typestr = None if dev.typestr is None else real.str
    if part is None:
        host = None if dev.host is None else array_real_view(dev.host)
        return DeviceTarget(dev.obj, real, dev.shape + (2,), strides + (1,), dev.ptr, host,
                            typestr)
    host = None if dev.host is None else array_real_view(dev.host, part)
    ptr = None if dev.ptr is None else dev.ptr + part * real.itemsize
    return DeviceTarget(dev.obj, real, dev.shape, strides, ptr, host, typestr)


def empty(shape, dtype):
    """A new CuPy array of ``shape`` and ``dtype`` (availability checked by the caller):
    what the call returns, and its target."""
    import cupy
    try:
        arr = cupy.empty(shape, dtype)
    except (TypeError, ValueError) as e:
        raise TypeError(f"dtype {dtype} is not supported by CuPy ({e}); fill a torch bfloat16 "
                        f"CUDA tensor in place instead") from None
    return arr, as_target(arr, (dtype,))


def _flat_view(dev, low, span):
    """A 1-D device array of ``span`` elements starting ``low`` elements before ``dev``'s
    first element (``low <= 0``), on which the kernels index."""
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
    return numba_cuda().from_cuda_array_interface(desc, owner=dev.obj, sync=False)


def _launch_stream(dev):
    return 0 if dev.host is not None else current_stream()


def _launch_shape(units):
    threads = int(THREADS_PER_BLOCK)
    blocks = max(1, -(-units // threads))
    cap = MAX_BLOCKS
    if cap is None and not simulating():
        cap = 32 * numba_cuda().get_current_device().MULTIPROCESSOR_COUNT
    return (blocks if cap is None else min(blocks, int(cap))), threads


def _key_words(key, stream):
    return (np.uint32(key[0]), np.uint32(key[1]), np.uint32(stream[0]), np.uint32(stream[1]))


def fill(dev, gshape, bounds, plan, key, stream):
    """Run ``plan = (kind, params)`` into the device target ``dev``."""
    if dev.size == 0:
        return
    from ..kernels import cuda as kernels
    kind, params = plan
    # padded to one length: one kernel signature for every kind
    params = tuple(float(p) for p in params) + (0.0,) * (10 - len(params))
    low, span, base, ostride, rshape, rstart, gstride = layout(
        dev.shape, dev.strides, gshape, bounds)
    flat = _flat_view(dev, low, span)
    geo = (int(base), tuple(int(v) for v in ostride), tuple(int(v) for v in rshape),
           tuple(int(v) for v in rstart), tuple(int(v) for v in gstride))
    words = _key_words(key, stream)
    rows = math.prod(geo[2][:-1])
    n = geo[2][-1]
    launch = _launch_stream(dev)
    if kind == codes.BITS:
        blocks, threads = _launch_shape(rows * ((n + 6) // 4))
        kernels.fill_bits[blocks, threads, launch](flat, *geo, *words)
    elif dev.dtype == np.float64:
        blocks, threads = _launch_shape(rows * ((n + 2) // 2))
        kernels.KERNELS_F64[kind][blocks, threads, launch](flat, *geo, *words, params)
    else:
        code = {np.dtype(np.float32): codes.OUT_F32, np.dtype(np.float16): codes.OUT_F16,
                BFLOAT16: codes.OUT_BF16}[dev.dtype]
        blocks, threads = _launch_shape(rows * ((n + 6) // 4))
        kernels.KERNELS_F32[kind][blocks, threads, launch](flat, *geo, *words, params, code)


def zero_sparse(dev, gshape, bounds, key, stream, num_zeros, first):
    """Zero ``num_zeros`` rows per column of the region ``bounds`` of the 2-D ``gshape`` (mask
    words from ``first`` on), as ``fastinit.kernels.cpu.zero_sparse`` does on the CPU."""
    from ..kernels import cuda as kernels
    low, span, base, *_ = layout(dev.shape, dev.strides, gshape, bounds)
    flat = _flat_view(dev, low, span)
    rows, cols = gshape
    rbounds = (bounds[0][0], bounds[0][1], bounds[1][0], bounds[1][1])
    blocks, threads = _launch_shape(bounds[1][1] - bounds[1][0])
    kernels.zero_sparse[blocks, threads, _launch_stream(dev)](
        flat, int(base), (int(dev.strides[0]), int(dev.strides[1])), rbounds, int(rows),
        int(cols), *_key_words(key, stream), int(num_zeros), int(first))


_ONE = {np.dtype(np.float64): np.float64(1.0), np.dtype(np.float32): np.float32(1.0),
        np.dtype(np.float16): np.uint16(0x3C00), BFLOAT16: np.uint16(0x3F80)}


def set_ones(dev, local):
    """Write 1 at the local indices ``local`` (rows of indices) of the device target ``dev``."""
    if len(local) == 0:
        return
    from ..kernels import cuda as kernels
    low = sum(s * (n - 1) for s, n in zip(dev.strides, dev.shape) if s < 0)
    flat = _flat_view(dev, low, sum(abs(s) * (n - 1) for s, n in zip(dev.strides, dev.shape)) + 1)
    offsets = (np.asarray(local, np.int64) @ np.asarray(dev.strides, np.int64)) - low
    offsets = np.ascontiguousarray(offsets, np.int64)
    launch = _launch_stream(dev)
    offsets = numba_cuda().to_device(offsets, stream=launch)
    blocks, threads = _launch_shape(len(local))
    kernels.put_value[blocks, threads, launch](flat, offsets, _ONE[dev.dtype])


def _bf16_bits(xp, x):
    """float32 ``x`` rounded to nearest even into bfloat16 bits (uint16; ``x`` is finite)."""
    u = x.view(np.uint32)
    return ((u + np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1)))
            >> np.uint32(16)).astype(np.uint16)


def _as_array(xp, dev):
    """``dev``'s memory as an ``xp`` array (no copy): the simulator's NumPy array, or a CuPy
    view of the caller's GPU array (bfloat16 as uint16 bits)."""
    if dev.host is not None:
        return dev.host
    arr = xp.asarray(torch_bits(dev.obj))
    return arr.view(np.uint16) if dev.dtype == BFLOAT16 else arr


def _array_module(dev):
    """The array module of ``dev``'s memory, the stream of the launches, and how the kernels
    see a scratch array of that module."""
    if dev.host is not None:  # the simulator: kernels run on NumPy arrays
        return np, 0, type(dev.obj)
    return check_available(), current_stream(), lambda a: a


def fill_orthogonal(dev, key, stream, gain, method, col, nb=None):
    """Fill the GPU target ``dev`` (checked, non-empty) with ``gain`` times the Haar orthogonal
    matrix of its shape (``col`` as in ``fastinit.orthogonal``: None for torch's flattening):
    the CUDA normal kernel's Gaussian, the panel steps as CUDA kernels, the products through
    cuBLAS."""
    xp, launch, kernel_view = _array_module(dev)
    rows, cols = _haar.matrix_shape(dev.shape, col)
    cdt = _haar.compute_dtype(dev.dtype)
    target = _as_array(xp, dev)
    moved = target if col is None else xp.moveaxis(target, col, -1)
    direct = dev.dtype == cdt and moved.flags.c_contiguous
    # other dtypes and layouts compute in a scratch matrix, copied (rounded once) at the end
    work = moved.reshape(rows, cols) if direct else xp.empty((rows, cols), cdt)
    full = ((0, rows), (0, cols))
    tall = work if rows >= cols else work.T  # (a wide matrix's rows: the columns of its T)
    if cdt.kind == "c":  # the complex Gaussian through the real view, then cuSOLVER's QR
        fill(real_view(as_target(kernel_view(work), (cdt,))), (rows, cols, 2),
             full + ((0, 2),), _plans.normal(0.0, 1.0, cdt), key, stream)
        _haar.unitary(tall, gain, xp)
    else:
        fill(as_target(kernel_view(work), (cdt,)), (rows, cols), full,
             _plans.normal(0.0, 1.0), key, stream)
        _haar.haar(tall, gain, method, cuda_steps(xp, launch), nb)
    if not direct:
        if dev.dtype == BFLOAT16 and xp is not np:
            moved[...] = _bf16_bits(xp, work).reshape(moved.shape)
        else:
            moved[...] = work.reshape(moved.shape).astype(moved.dtype)


def fill_delta(dev, key, stream, gain, method, col, centre):
    """Zeros, and at the index ``centre`` of the leading axes the orthogonal matrix."""
    xp = _array_module(dev)[0]
    target = _as_array(xp, dev)
    target[...] = 0
    tap = target[centre]
    item = target.dtype.itemsize
    sub = DeviceTarget(type(dev.obj)(tap) if dev.host is not None else tap, dev.dtype,
                       tap.shape, tuple(s // item for s in tap.strides),
                       host=tap if dev.host is not None else None)
    fill_orthogonal(sub, key, stream, gain, method, col)
