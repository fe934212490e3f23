"""The CUDA backend: GPU targets, allocation with CuPy, launches of ``fastinit.kernels.cuda``.

It has the functions of ``fastinit._backend.cpu``, with the same signatures: ``as_target``,
``real_view``, ``empty``, ``fill``, ``zero_sparse``, ``set_ones``, ``fill_orthogonal`` and
``fill_delta``.
A *target* here is a :class:`DeviceTarget`: a CuPy array, a Numba device array (the CUDA
simulator's too) or anything with ``__cuda_array_interface__`` (a torch CUDA tensor: zero
copy), seen as memory, with its :class:`~fastinit._backend.cuda_runtime.Placement`: every
launch for it runs on the GPU that holds it, on the stream its framework considers current
(``cuda_runtime`` says which, and when a call waits). Nothing here is imported by
``import fastinit``; CuPy and numba-cuda are imported inside the functions.
"""
import contextlib
import math

import numpy as np

from .. import _haar, _plans
from .._checks import BFLOAT16, REAL_OF
from ..kernels import codes
from .cuda_runtime import (check_available, finish, numba_cuda, numba_stream, on_device,
                           placement, simulating)
from .cuda_steps import cuda_steps
from .foreign import is_torch_bfloat16, torch_bits
from .geometry import element_strides, layout, real_view as array_real_view

# Launch configuration, read at every call (tests patch it small under the simulator so a few
# thousand elements cover many blocks and the grid-stride loop turns several times).
THREADS_PER_BLOCK = 256
# Blocks per launch; None: 32 per multiprocessor of the current device (enough to hide memory
# latency; the grid-stride loop covers the rest).
MAX_BLOCKS = None
# Columns longer than this are made sparse by a thread block each (``zero_sparse_tall``),
# shorter ones by a thread each (``zero_sparse``: many short columns keep every thread busy,
# where a block each would leave most of its threads idle).
SPARSE_TALL_ROWS = 64


class DeviceTarget:
    """A GPU target seen as memory: dtype, shape, element strides, how to reach it (``ptr``
    and ``typestr`` of its array interface, or ``host``: the simulator's NumPy array) and
    where its work goes (``where``, a ``Placement``, asked of the target's framework when the
    first launch needs it: checking arguments never touches a driver)."""

    __slots__ = ("obj", "dtype", "shape", "strides", "ptr", "host", "typestr", "_where")

    def __init__(self, obj, dtype, shape, strides, ptr=None, host=None, typestr=None,
                 where=None):
        self.obj, self.dtype, self.shape, self.strides = obj, dtype, shape, strides
        self.ptr, self.host, self.typestr = ptr, host, typestr
        self._where = where

    @property
    def where(self):
        if self._where is None:
            self._where = placement(self.obj)
        return self._where

    @where.setter
    def where(self, value):
        self._where = value

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
                            typestr, dev._where)
    host = None if dev.host is None else array_real_view(dev.host, part)
    ptr = None if dev.ptr is None else dev.ptr + part * real.itemsize
    return DeviceTarget(dev.obj, real, dev.shape, strides, ptr, host, typestr, dev._where)


def empty(shape, dtype, device=None):
    """A new CuPy array of ``shape`` and ``dtype`` (availability checked by the caller) on
    the GPU ``device`` (an ordinal; None: CuPy's current device): what the call returns, and
    its target."""
    import cupy
    try:
        with contextlib.nullcontext() if device is None else cupy.cuda.Device(device):
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


@contextlib.contextmanager
def _launching(dev):
    """The block of a call's launches for ``dev``: on its GPU, yielding its Numba stream, and
    finished as its placement asks (see ``cuda_runtime``)."""
    with on_device(dev.where.device):
        stream = numba_stream(dev.where)
        yield stream
        finish(dev.where, stream)


def _launch(kernel, units, stream, *args):
    """``kernel`` over ``units`` work units (threads) on ``stream``: the one place the fills
    launch (the tests watch it)."""
    blocks, threads = _launch_shape(units)
    kernel[blocks, threads, stream](*args)


def _launch_shape(units):
    threads = int(THREADS_PER_BLOCK)
    blocks = max(1, -(-units // threads))
    cap = MAX_BLOCKS
    if cap is None and not simulating():
        cap = 32 * numba_cuda().get_current_device().MULTIPROCESSOR_COUNT
    return (blocks if cap is None else min(blocks, int(cap))), threads


def _key_words(key, stream):
    return (np.uint32(key[0]), np.uint32(key[1]), np.uint32(stream[0]), np.uint32(stream[1]))


def walk(ostride, rshape, rstart, gstride):
    """The kernels' geometry ``(ostride, rshape, rstart, gstride)`` and ``fast`` from a
    collapsed layout (``geometry.layout``): the dimension that moves fastest in the target's
    memory, when it is not the last one and moves faster than it (an F-ordered target's
    first), is taken out as ``fast = (extent, target stride, global stride)``, its start
    folded into the last start (``fastinit.kernels.cuda`` walks it first); else ``fast`` is
    ``(1, 0, 0)``."""
    ostride, rshape, rstart, gstride = (list(int(v) for v in a)
                                        for a in (ostride, rshape, rstart, gstride))
    last = len(rshape) - 1
    faster = [d for d in range(last) if rshape[d] > 1 and abs(ostride[d]) < abs(ostride[last])]
    if not faster:
        return (tuple(ostride), tuple(rshape), tuple(rstart), tuple(gstride)), (1, 0, 0)
    d = min(faster, key=lambda k: abs(ostride[k]))
    fast = (rshape[d], ostride[d], gstride[d])
    rstart[last] += rstart[d] * gstride[d]
    geo = tuple(tuple(a[:d] + a[d + 1:]) for a in (ostride, rshape, rstart, gstride))
    return geo, fast


def _index_type(*counts):
    """The integer type the kernels divide in: uint32 when every count is below ``2**32``."""
    return np.uint32(0) if max(counts) < 2**32 else np.uint64(0)


def fill(dev, gshape, bounds, plan, key, stream):
    """Run ``plan = (kind, params)`` into the device target ``dev``."""
    if dev.size == 0:
        return
    from ..kernels import cuda as kernels
    kind, params = plan
    # padded to one length: one kernel signature for every kind
    params = tuple(float(p) for p in params) + (0.0,) * (10 - len(params))
    low, span, base, *collapsed = layout(dev.shape, dev.strides, gshape, bounds)
    geo, fast = walk(*collapsed)
    rshape = geo[1]
    per = 2 if kind != codes.BITS and dev.dtype == np.float64 else 4
    units = math.prod(rshape[:-1]) * ((rshape[-1] + 2 * per - 2) // per) * fast[0]
    if kind == codes.BITS:
        kernel, code = kernels.fill_bits, codes.OUT_F32
    elif per == 2:
        kernel, code = kernels.KERNELS_F64[kind], codes.OUT_F32
    else:
        kernel = kernels.KERNELS_F32[kind]
        code = {np.dtype(np.float32): codes.OUT_F32, np.dtype(np.float16): codes.OUT_F16,
                BFLOAT16: codes.OUT_BF16}[dev.dtype]
    with _launching(dev) as launch:
        flat = _flat_view(dev, low, span)
        _launch(kernel, units, launch, flat, int(base), *geo, fast, *_key_words(key, stream),
                params, code, _index_type(units))


def zero_sparse(dev, gshape, bounds, key, stream, num_zeros, first):
    """Zero ``num_zeros`` rows per column of the region ``bounds`` of the 2-D ``gshape`` (mask
    words from ``first`` on), as ``fastinit.kernels.cpu.zero_sparse`` does on the CPU."""
    from ..kernels import cuda as kernels
    if dev.size == 0 or num_zeros <= 0:
        return
    low, span, base, *_ = layout(dev.shape, dev.strides, gshape, bounds)
    rows, cols = (int(n) for n in gshape)
    rbounds = (bounds[0][0], bounds[0][1], bounds[1][0], bounds[1][1])
    ncols = bounds[1][1] - bounds[1][0]
    args = (int(base), (int(dev.strides[0]), int(dev.strides[1])), rbounds, rows, cols,
            *_key_words(key, stream), int(num_zeros), int(first))
    with _launching(dev) as launch:
        flat = _flat_view(dev, low, span)
        if rows > SPARSE_TALL_ROWS:  # a thread block per column (grid-stride over columns)
            row_digits = -(-max(rows - 1, 1).bit_length() // 8)
            blocks = ncols * int(THREADS_PER_BLOCK)
            _launch(kernels.zero_sparse_tall, blocks, launch, flat, *args, row_digits)
        else:
            _launch(kernels.zero_sparse, ncols, launch, flat, *args)


_ONE = {np.dtype(np.float64): np.float64(1.0), np.dtype(np.float32): np.float32(1.0),
        np.dtype(np.float16): np.uint16(0x3C00), BFLOAT16: np.uint16(0x3F80)}


def set_ones(dev, local):
    """Write 1 at the local indices ``local`` (rows of indices) of the device target ``dev``."""
    if len(local) == 0:
        return
    from ..kernels import cuda as kernels
    low = sum(s * (n - 1) for s, n in zip(dev.strides, dev.shape) if s < 0)
    span = sum(abs(s) * (n - 1) for s, n in zip(dev.strides, dev.shape)) + 1
    offsets = (np.asarray(local, np.int64) @ np.asarray(dev.strides, np.int64)) - low
    offsets = np.ascontiguousarray(offsets, np.int64)
    with _launching(dev) as launch:
        flat = _flat_view(dev, low, span)
        offsets = numba_cuda().to_device(offsets, stream=launch)
        _launch(kernels.put_value, len(local), launch, flat, offsets, _ONE[dev.dtype])


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


def _cupy_stream(cupy, where):
    """CuPy's current stream set to ``where``'s for the block, unless it is already (a CuPy
    target's): CuPy's products then queue behind and before the kernels."""
    if where.owner == "cupy":
        return contextlib.nullcontext()
    if where.stream in (None, 0, 1):
        return cupy.cuda.Stream.null
    if where.stream == 2:
        return cupy.cuda.Stream.ptds
    return cupy.cuda.ExternalStream(where.stream, where.device)


@contextlib.contextmanager
def _array_module(dev):
    """The array module of ``dev``'s memory, the stream of the launches, and how the kernels
    see a scratch array of that module, for a block of work on ``dev``'s GPU in which CuPy
    works on the launches' stream."""
    if dev.host is not None:  # the simulator: kernels run on NumPy arrays
        with _launching(dev) as launch:
            yield np, launch, type(dev.obj)
        return
    cupy = check_available()
    with _launching(dev) as launch, _cupy_stream(cupy, dev.where):
        yield cupy, launch, lambda a: a


def fill_orthogonal(dev, key, stream, gain, method, col, nb=None):
    """Fill the GPU target ``dev`` (checked, non-empty) with ``gain`` times the Haar orthogonal
    matrix of its shape (``col`` as in ``fastinit.orthogonal``: None for torch's flattening):
    the CUDA normal kernel's Gaussian, the panel steps as CUDA kernels, the products through
    cuBLAS."""
    with _array_module(dev) as (xp, launch, kernel_view):
        _orthogonal(dev, xp, launch, kernel_view, key, stream, gain, method, col, nb)


def _orthogonal(dev, xp, launch, kernel_view, key, stream, gain, method, col, nb):
    rows, cols = _haar.matrix_shape(dev.shape, col)
    cdt = _haar.compute_dtype(dev.dtype)
    target = _as_array(xp, dev)
    moved = target if col is None else xp.moveaxis(target, col, -1)
    direct = dev.dtype == cdt and moved.flags.c_contiguous
    # other dtypes and layouts compute in a scratch matrix, copied (rounded once) at the end
    work = moved.reshape(rows, cols) if direct else xp.empty((rows, cols), cdt)
    full = ((0, rows), (0, cols))
    tall = work if rows >= cols else work.T  # (a wide matrix's rows: the columns of its T)
    scratch = as_target(kernel_view(work), (cdt,))
    scratch.where = dev.where  # the caller's memory or scratch on its GPU: one stream for all
    if cdt.kind == "c":  # the complex Gaussian through the real view, then cuSOLVER's QR
        fill(real_view(scratch), (rows, cols, 2), full + ((0, 2),),
             _plans.normal(0.0, 1.0, cdt), key, stream)
        _haar.unitary(tall, gain, xp)
    else:
        fill(scratch, (rows, cols), full, _plans.normal(0.0, 1.0), key, stream)
        _haar.haar(tall, gain, method, cuda_steps(xp, launch), nb)
    if not direct:
        if dev.dtype == BFLOAT16 and xp is not np:
            moved[...] = _bf16_bits(xp, work).reshape(moved.shape)
        else:
            moved[...] = work.reshape(moved.shape).astype(moved.dtype)


def fill_delta(dev, key, stream, gain, method, col, centre):
    """Zeros, and at the index ``centre`` of the leading axes the orthogonal matrix."""
    with _array_module(dev) as (xp, launch, kernel_view):
        target = _as_array(xp, dev)
        target[...] = 0
        tap = target[centre]
        item = target.dtype.itemsize
        sub = DeviceTarget(kernel_view(tap) if dev.host is not None else tap, dev.dtype,
                           tap.shape, tuple(s // item for s in tap.strides),
                           host=tap if dev.host is not None else None, where=dev.where)
        _orthogonal(sub, xp, launch, kernel_view, key, stream, gain, method, col, None)
