"""Orthogonal initialization on the GPU: the CUDA panel steps and the GPU route of
``fastinit.orthogonal``.

The blocked Householder of ``fastinit.linalg`` (``geqrf``, ``form_q``) is written against an
array module; here it gets CuPy (the products go to cuBLAS) and the CUDA panel kernels of
``fastinit.kernels.householder_cuda`` (:func:`cuda_steps`). The same steps run with NumPy as
the array module under the CUDA simulator, whose kernels run on NumPy arrays: that is how the
tests exercise this code without a GPU. The Gaussian comes from the CUDA normal kernel (the
same counter contract as the CPU), so under the simulator the result equals the CPU's up to the
rounding of the products.

Nothing here is imported by ``import fastinit``; CuPy and numba-cuda are imported inside the
functions.
"""
import numpy as np

from . import _cuda, _dispatch, linalg
from ._checks import BFLOAT16

# Threads per block of the panel kernels, read at every call (the tests patch it small under
# the simulator). A power of two, at most ``kernels.householder_cuda.MAX_THREADS``: the
# reductions halve it.
PANEL_THREADS = 256
# Blocks of the element-wise ``unit_lower`` and of ``reflectors_from_columns`` (one block per
# column, up to the panel width).
MAX_BLOCKS = 128


def _threads():
    from .kernels import householder_cuda as K
    t = int(PANEL_THREADS)
    if t < 1 or t > K.MAX_THREADS or t & (t - 1):
        raise ValueError(f"PANEL_THREADS must be a power of two up to {K.MAX_THREADS}, "
                         f"got {PANEL_THREADS!r}")
    return t


def cuda_steps(xp, stream=0):
    """The :class:`fastinit.linalg.Steps` of the GPU: array module ``xp`` (CuPy on a GPU;
    NumPy, only under the simulator) and the CUDA panel kernels launched on ``stream``."""
    from .kernels import householder_cuda as K
    if xp is np:
        # the simulator would copy NumPy arguments (and refuses strided views): hand it its
        # own device arrays over the same memory instead
        fake = type(_cuda._numba_cuda().device_array(1))

        def dev(*arrays):
            return [fake(a) for a in arrays]
    else:
        # CuPy views as Numba device arrays without the stream synchronization Numba does on
        # a foreign array by default: the kernels go on the stream the products use
        as_array = _cuda._numba_cuda().as_cuda_array

        def dev(*arrays):
            return [as_array(a, sync=False) for a in arrays]

    def panel_qr(panel, v, tau, beta):
        # the columns depend on each other: one block, the rows over its threads
        K.panel_qr[1, _threads(), stream](*dev(panel, v, tau, beta))

    def reflectors(src, v, tau, beta):
        blocks = max(1, min(src.shape[1], int(MAX_BLOCKS)))
        K.reflectors_from_columns[blocks, _threads(), stream](*dev(src, v, tau, beta))

    def unit_lower(panel, v):
        threads = _threads()
        blocks = max(1, min(int(MAX_BLOCKS), -(-panel.size // threads)))
        K.unit_lower[blocks, threads, stream](*dev(panel, v))

    def larft(gram, tau, t):
        K.larft_from_gram[1, _threads(), stream](*dev(gram, tau, t))

    def subtract(c, d):
        xp.subtract(c, d, out=c)

    return linalg.Steps(xp, panel_qr, reflectors, unit_lower, larft, subtract)


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
    obj = dev.obj
    if dev.dtype == BFLOAT16:
        if isinstance(obj, xp.ndarray):  # bits already (the centre tap of a delta kernel)
            return obj
        import torch  # a bfloat16 GPU target is a torch tensor (CuPy has no bfloat16)
        obj = obj.detach().view(torch.int16)
        return xp.asarray(obj).view(np.uint16)
    if hasattr(obj, "detach"):
        obj = obj.detach()
    return xp.asarray(obj)


def fill_orthogonal(dev, key, stream, gain, method, col, nb=None):
    """Fill the GPU target ``dev`` (a checked ``fastinit._cuda.DeviceTarget``, non-empty) with
    ``gain`` times the Haar orthogonal matrix of its shape (``col`` as in
    ``fastinit.orthogonal``: None for torch's flattening)."""
    from .orthogonal import _compute_dtype, _haar, _matrix_shape
    if dev.host is not None:  # the simulator: kernels run on NumPy arrays
        xp = np
        launch = 0

        def kernel_view(a):
            return type(dev.obj)(a)
    else:
        xp = _cuda.check_available()
        launch = _cuda._stream()

        def kernel_view(a):
            return a
    rows, cols = _matrix_shape(dev.shape, col)
    cdt = _compute_dtype(dev.dtype)
    target = _as_array(xp, dev)
    moved = target if col is None else xp.moveaxis(target, col, -1)
    direct = dev.dtype == cdt and moved.flags.c_contiguous
    # other dtypes and layouts compute in a scratch matrix, copied (rounded once) at the end
    work = moved.reshape(rows, cols) if direct else xp.empty((rows, cols), cdt)
    full = ((0, rows), (0, cols))
    _cuda.fill(_cuda.as_device_target(kernel_view(work)), (rows, cols), full,
               _dispatch.normal_plan(0.0, 1.0), key, stream)
    steps = cuda_steps(xp, launch)
    _haar(work if rows >= cols else work.T, gain, method, nb, steps)
    if not direct:
        if dev.dtype == BFLOAT16 and xp is not np:
            moved[...] = _bf16_bits(xp, work).reshape(moved.shape)
        else:
            moved[...] = work.reshape(moved.shape).astype(moved.dtype)
    return dev.obj


def fill_delta(dev, key, stream, gain, method, col, centre):
    """``delta_orthogonal`` into the GPU target ``dev``: zeros, and the orthogonal matrix at the
    centre tap."""
    xp = np if dev.host is not None else _cuda.check_available()
    target = _as_array(xp, dev)
    target[...] = 0
    tap = target[centre]
    item = target.dtype.itemsize
    sub = _cuda.DeviceTarget(type(dev.obj)(tap) if dev.host is not None else tap, dev.dtype,
                             tap.shape, tuple(s // item for s in tap.strides),
                             host=tap if dev.host is not None else None)
    fill_orthogonal(sub, key, stream, gain, method, col)
    return dev.obj

