"""The :class:`fastinit.linalg.Steps` of the GPU: CuPy's products (cuBLAS) and the CUDA panel
kernels of ``fastinit.kernels.householder_cuda``.

Under the CUDA simulator the same steps run with NumPy as the array module, the kernels on
NumPy arrays: that is how the tests exercise the GPU's orthogonal without a GPU.
"""
import numpy as np

from .. import linalg
from .cuda_runtime import numba_cuda

# Threads per block of the panel kernels, read at every call (the tests patch it small under
# the simulator). A power of two, at most ``kernels.householder_cuda.MAX_THREADS``: the
# reductions halve it.
PANEL_THREADS = 256
# Blocks of the element-wise ``unit_lower`` and of ``reflectors_from_columns`` (one block per
# column, up to the panel width).
MAX_BLOCKS = 128


def _threads():
    from ..kernels import householder_cuda as K
    t = int(PANEL_THREADS)
    if t < 1 or t > K.MAX_THREADS or t & (t - 1):
        raise ValueError(f"PANEL_THREADS must be a power of two up to {K.MAX_THREADS}, "
                         f"got {PANEL_THREADS!r}")
    return t


def cuda_steps(xp, stream=0):
    """The steps of array module ``xp`` (CuPy on a GPU; NumPy, only under the simulator) with
    the CUDA panel kernels launched on ``stream``."""
    from ..kernels import householder_cuda as K
    if xp is np:
        # the simulator would copy NumPy arguments (and refuses strided views): hand it its
        # own device arrays over the same memory instead
        fake = type(numba_cuda().device_array(1))

        def dev(*arrays):
            return [fake(a) for a in arrays]
    else:
        # CuPy views as Numba device arrays without the stream synchronization Numba does on
        # a foreign array by default: the kernels go on the stream the products use
        as_array = numba_cuda().as_cuda_array

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
