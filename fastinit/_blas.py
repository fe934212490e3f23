"""``C -= A @ B`` in place through the ``?gemm`` of NumPy's own BLAS (``beta = 1``).

NumPy has no in-place matrix product, so without this the blocked QR computes ``A @ B`` into
a tile and subtracts it in a second, memory-bound pass. NumPy's wheels bundle OpenBLAS as
``numpy.libs/libscipy_openblas64_*.so`` (64-bit integers, symbols ``scipy_sgemm_64_`` and
``scipy_dgemm_64_``); calling that very library keeps one BLAS thread pool in the process. (A
second BLAS, such as SciPy's, alternating with NumPy's makes the two pools spin against each
other: orthogonal init ran 1.9x slower that way.) Where the library is not found (NumPy built
against another BLAS), :func:`subtract_product` is None and the tile path runs.
"""
import ctypes
import glob
import os

import numpy as np

_INT = ctypes.POINTER(ctypes.c_int64)


def _load():
    """``{dtype: (gemm, ctypes real, pointer type)}`` from NumPy's bundled OpenBLAS, or {}."""
    libdir = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    paths = sorted(glob.glob(os.path.join(libdir, "libscipy_openblas64_*")))
    if not paths:
        return {}
    try:
        lib = ctypes.CDLL(paths[0])  # already loaded by NumPy: the same handle
        found = {}
        for dtype, name, real in ((np.dtype(np.float32), "scipy_sgemm_64_", ctypes.c_float),
                                  (np.dtype(np.float64), "scipy_dgemm_64_", ctypes.c_double)):
            fn = getattr(lib, name)
            ptr = ctypes.POINTER(real)
            fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, _INT, _INT, _INT, ptr, ptr, _INT,
                           ptr, _INT, ptr, ptr, _INT]
            fn.restype = None
            found[dtype] = (fn, real, ptr)
        return found
    except (OSError, AttributeError):
        return {}


_GEMM = _load()


def _operand(x):
    """BLAS's view of ``x`` as a column-major matrix: ``(trans, ld)``."""
    rows, cols = x.shape
    item = x.itemsize
    if rows == 1 or x.strides[0] == item:  # unit stride down the columns: as it is
        return b"N", max(1, rows, x.strides[1] // item if cols > 1 else 1)
    if cols == 1 or x.strides[1] == item:  # unit stride along the rows: transposed
        return b"T", max(1, cols, x.strides[0] // item if rows > 1 else 1)
    raise ValueError("each operand needs a unit stride along one axis")


def _subtract_product(c, a, b):
    """``c -= a @ b`` in place (``c``, ``a``, ``b`` 2-D, one dtype, a unit stride each)."""
    m, n = c.shape
    k = a.shape[1]
    if m == 0 or n == 0 or k == 0:
        return c
    if not (c.strides[0] == c.itemsize or m == 1):  # row-major: C^T -= B^T A^T
        _subtract_product(c.T, b.T, a.T)
        return c
    gemm, real, ptr = _GEMM[c.dtype]
    ta, lda = _operand(a)
    tb, ldb = _operand(b)
    ldc = max(1, m, c.strides[1] // c.itemsize if n > 1 else 1)

    def i(v):
        return ctypes.byref(ctypes.c_int64(v))

    alpha, beta = real(-1.0), real(1.0)
    gemm(ta, tb, i(m), i(n), i(k), ctypes.byref(alpha), a.ctypes.data_as(ptr), i(lda),
         b.ctypes.data_as(ptr), i(ldb), ctypes.byref(beta), c.ctypes.data_as(ptr), i(ldc))
    return c


subtract_product = _subtract_product if len(_GEMM) == 2 else None
