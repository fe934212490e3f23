"""The CPU backend: NumPy views of the targets and the Numba drivers of
``fastinit.kernels.cpu``.

It has the functions of ``fastinit._backend.cuda``, with the same signatures: ``as_target``,
``real_view``, ``empty``, ``fill``, ``zero_sparse``, ``set_ones``, ``fill_orthogonal`` and
``fill_delta``.
A *target* here is a writable NumPy view of the caller's memory (zero copy).
"""
import sys

import numpy as np

from .. import _haar, _plans, linalg
from .._checks import BFLOAT16
from ..kernels import codes, cpu
from .cpu_threads import launch
from .foreign import is_torch_bfloat16, torch_bits
from .geometry import element_strides, layout, real_view

_UINT = {2: np.uint16, 4: np.uint32, 8: np.uint64}
_OUTCODE = {np.dtype(np.float16): codes.OUT_F16, BFLOAT16: codes.OUT_BF16}


def as_target(out, dtypes):
    """A writable NumPy view of ``out`` (zero copy) with one of ``dtypes``.

    Accepts NumPy arrays, objects with ``__array_interface__`` and CPU objects with DLPack
    (a torch CPU tensor, bfloat16 included).
    """
    if isinstance(out, np.generic):
        raise TypeError(f"out must be an array, got the NumPy scalar {out!r}")
    if isinstance(out, np.ndarray):
        # a subclass (np.matrix, np.memmap, ...) is filled through its base ndarray view: its
        # own indexing may not be NumPy's (np.matrix has no 0-d or 1-d views)
        arr = out if type(out) is np.ndarray else out.view(np.ndarray)
    elif hasattr(out, "__array_interface__"):
        arr = np.asarray(out)
    elif hasattr(out, "__dlpack__"):
        arr = _from_dlpack(out)
    else:
        raise TypeError(f"out must be a NumPy array or support __array_interface__ or DLPack, "
                        f"got {type(out).__name__}")
    if arr.dtype not in dtypes:
        names = ", ".join(str(d) for d in dtypes)
        raise TypeError(f"out must have dtype {names}, got {arr.dtype}")
    flags = arr.flags
    if not flags.writeable:
        raise ValueError("out is read-only")
    if not (flags.c_contiguous or flags.f_contiguous):  # contiguous: distinct elements
        element_strides(arr.shape, arr.strides, arr.itemsize)
    return arr


def _from_dlpack(obj):
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(obj, torch.Tensor):
        if not obj.is_cpu:
            raise TypeError(f"out lives on a device that is not the CPU ({obj.device}); "
                            "GPU targets need the CUDA backend")
        bits = torch_bits(obj)
        # the same memory, quicker than DLPack's round trip (which has no complex either)
        arr = bits.numpy() if not bits.is_complex() else np.from_dlpack(bits)
        return arr.view(BFLOAT16) if is_torch_bfloat16(obj) else arr
    device = obj.__dlpack_device__() if hasattr(obj, "__dlpack_device__") else (1, 0)
    if device[0] != 1:  # kDLCPU
        raise TypeError(f"out lives on a device that is not the CPU ({device}); "
                        "GPU targets need the CUDA backend")
    return np.from_dlpack(obj)


def empty(shape, dtype):
    """A new array of ``shape`` and ``dtype``: what the call returns, and its target."""
    arr = np.empty(shape, dtype)
    return arr, arr


_ONE = np.ones(1, np.int64)   # the geometry of a whole C-contiguous target (never written)
_ZERO = np.zeros(1, np.int64)


def _geometry(arr, gshape, bounds):
    """Flat view, base offset and the collapsed (ostride, rshape, rstart, gstride) arrays."""
    if arr.flags.c_contiguous and arr.shape == gshape:  # the whole tensor, in order
        return arr.reshape(-1), 0, _ONE, np.full(1, arr.size, np.int64), _ZERO, _ONE
    item = arr.itemsize
    low, span, base, ostride, rshape, rstart, gstride = layout(
        arr.shape, [s // item for s in arr.strides], gshape, bounds)
    corner = tuple(n - 1 if s < 0 else 0 for s, n in zip(arr.strides, arr.shape))
    # arr[corner + (...,)] is a 0-d view (a plain index would copy the element out)
    flat = np.lib.stride_tricks.as_strided(arr[corner + (Ellipsis,)], shape=(span,),
                                           strides=(item,))
    return flat, base, ostride, rshape, rstart, gstride


def fill(arr, gshape, bounds, plan, key, stream):
    """Run ``plan = (kind, params)`` into ``arr`` (the region ``bounds`` of ``gshape``)."""
    if arr.size == 0:
        return
    kind, params = plan
    params = np.asarray(params, np.float64)
    if kind == codes.CONSTANT:  # the value is exact in every dtype (the plan rounded it)
        uint = _UINT[arr.itemsize]
        value = np.array(params[0]).astype(arr.dtype).view(uint)[()]
        if arr.size <= cpu.CHUNK:
            arr.view(uint)[...] = value
        else:
            flat, *geo = _geometry(arr, gshape, bounds)
            launch(cpu.fill_value, flat.view(uint), *geo, value)
        return
    if arr.size <= cpu.CHUNK and arr.flags.c_contiguous and arr.shape == gshape:
        _fill_item(arr.reshape(-1), kind, params, key, stream)
        return
    flat, *geo = _geometry(arr, gshape, bounds)  # geo: base, ostride, rshape, rstart, gstride
    if kind == codes.BITS:
        launch(cpu.fill_bits, flat, *geo, key, stream)
    elif arr.dtype == np.float64:
        launch(cpu.fill_f64, flat, *geo, key, stream, kind, params)
    elif arr.dtype == np.float32:
        launch(cpu.fill_f32, flat, *geo, key, stream, kind, params)
    else:
        launch(cpu.fill_half, flat.view(np.uint16), *geo, key, stream, kind, params,
               _OUTCODE[arr.dtype])


def _fill_item(flat, kind, params, key, stream):
    """A whole contiguous target of at most ``CHUNK`` elements: the parallel drivers' one work
    item, filled by the same units without waking the thread team (same bits)."""
    n = flat.size
    if kind == codes.BITS:
        cpu.fill_bits_item(flat, n, key, stream)
    elif flat.dtype == np.float64:
        cpu.fill_f64_item(flat, n, key, stream, kind, params)
    elif flat.dtype == np.float32:
        cpu.fill_f32_item(flat, n, key, stream, kind, params)
    else:
        cpu.fill_half_item(flat.view(np.uint16), n, key, stream, kind, params,
                           _OUTCODE[flat.dtype])


def zero_sparse(arr, gshape, bounds, key, stream, num_zeros, first):
    """Zero ``num_zeros`` rows per column of the region ``bounds`` of the 2-D ``gshape``, by
    the mask words from word ``first`` of the stream on."""
    rows, cols = gshape
    flat, base, *_ = _geometry(arr, gshape, bounds)
    if arr.dtype.itemsize == 2:
        flat = flat.view(np.uint16)
    ostride = np.array([s // arr.itemsize for s in arr.strides], np.int64)
    rb = np.array([b for pair in bounds for b in pair], np.int64)
    launch(cpu.zero_sparse, flat, base, ostride, rb, rows, cols, key, stream, num_zeros, first)


def set_ones(arr, local):
    """Write 1 at the local indices ``local`` (rows of indices) of ``arr``."""
    if len(local):
        arr[tuple(np.asarray(local).T)] = 1


def _as_matrix(arr, col, rows, cols):
    """A view of ``arr`` as the ``(rows, cols)`` matrix, or None when no view exists."""
    moved = arr if col is None else np.moveaxis(arr, col, -1)
    view = moved.view()
    try:
        view.shape = (rows, cols)  # raises rather than copy
    except AttributeError:
        return None
    return view


def fill_orthogonal(arr, key, stream, gain, method, col, nb=None):
    """``arr`` (checked, non-empty) gets ``gain`` times the Haar orthogonal matrix of its
    shape (``col`` as in ``fastinit.orthogonal``: None for torch's flattening)."""
    rows, cols = _haar.matrix_shape(arr.shape, col)
    cdt = _haar.compute_dtype(arr.dtype)
    mat = _as_matrix(arr, col, rows, cols)
    direct = mat is not None and mat.dtype == cdt and mat.flags.c_contiguous
    # other targets compute in a C-ordered scratch matrix, copied (rounded once) at the end:
    # the products' rounding depends on the layout, the values must not
    work = mat if direct else np.empty((rows, cols), cdt)
    full = ((0, rows), (0, cols))
    tall = work if rows >= cols else work.T  # (a wide matrix's rows: the columns of its T)
    if cdt.kind == "c":  # the complex Gaussian through the real view, then LAPACK's QR
        fill(real_view(work), (rows, cols, 2), full + ((0, 2),), _plans.normal(0.0, 1.0, cdt),
             key, stream)
        _haar.unitary(tall, gain, np)
    else:
        fill(work, (rows, cols), full, _plans.normal(0.0, 1.0), key, stream)
        _haar.haar(tall, gain, method, linalg.cpu_steps(), nb)
    if not direct:
        moved = arr if col is None else np.moveaxis(arr, col, -1)
        moved[...] = work.reshape(moved.shape)


def fill_delta(arr, key, stream, gain, method, col, centre):
    """Zeros, and at the index ``centre`` of the leading axes the orthogonal matrix."""
    arr[...] = 0
    fill_orthogonal(arr[centre], key, stream, gain, method, col)
