"""In-place products through NumPy's own BLAS: ``C -= A @ B`` (``?gemm`` with ``beta = 1``),
``W <- T W`` with ``T`` triangular (``?trmm``) and the upper triangle of ``V^T V``
(``?syrk``, half the work of the full product).

NumPy has no in-place matrix product, so without this the blocked QR computes ``A @ B`` into
a tile and subtracts it in a second, memory-bound pass. NumPy's wheels bundle OpenBLAS as
``numpy.libs/libscipy_openblas64_*.so`` (64-bit integers, symbols ``scipy_sgemm_64_`` and
``scipy_dgemm_64_``); calling that very library keeps one BLAS thread pool in the process. (A
second BLAS, such as SciPy's, alternating with NumPy's makes the two pools spin against each
other, which slows the orthogonal initializer down.) Where the library is not found (NumPy built
against another BLAS), :func:`subtract_product`, :func:`triangular_product` and
:func:`gram_upper` are None, and the blocked QR falls back on NumPy products.
"""
import ctypes
import glob
import os

import numpy as np

_INT = ctypes.POINTER(ctypes.c_int64)


def _load():
    """``{dtype: (gemm, trmm, syrk, ctypes real, pointer type)}`` from NumPy's bundled
    OpenBLAS, or {}."""
    libdir = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    paths = sorted(glob.glob(os.path.join(libdir, "libscipy_openblas64_*")))
    if not paths:
        return {}
    try:
        lib = ctypes.CDLL(paths[0])  # already loaded by NumPy: the same handle
        found = {}
        for dtype, p, real in ((np.dtype(np.float32), "s", ctypes.c_float),
                               (np.dtype(np.float64), "d", ctypes.c_double)):
            ptr = ctypes.POINTER(real)
            char = ctypes.c_char_p
            gemm = getattr(lib, f"scipy_{p}gemm_64_")
            gemm.argtypes = [char, char, _INT, _INT, _INT, ptr, ptr, _INT, ptr, _INT, ptr, ptr,
                             _INT]
            gemm.restype = None
            trmm = getattr(lib, f"scipy_{p}trmm_64_")
            trmm.argtypes = [char, char, char, char, _INT, _INT, ptr, ptr, _INT, ptr, _INT]
            trmm.restype = None
            syrk = getattr(lib, f"scipy_{p}syrk_64_")
            syrk.argtypes = [char, char, _INT, _INT, ptr, ptr, _INT, ptr, ptr, _INT]
            syrk.restype = None
            found[dtype] = (gemm, trmm, syrk, real, ptr)
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
    gemm, _, _, real, ptr = _GEMM[c.dtype]
    ta, lda = _operand(a)
    tb, ldb = _operand(b)
    ldc = max(1, m, c.strides[1] // c.itemsize if n > 1 else 1)
    alpha, beta = real(-1.0), real(1.0)
    gemm(ta, tb, _i(m), _i(n), _i(k), ctypes.byref(alpha), a.ctypes.data_as(ptr), _i(lda),
         b.ctypes.data_as(ptr), _i(ldb), ctypes.byref(beta), c.ctypes.data_as(ptr), _i(ldc))
    return c


def _triangular_product(t, w, transpose=False):
    """``w <- t @ w`` (``t.T @ w`` when ``transpose``) in place, ``t`` (b x b) upper
    triangular (only its upper triangle is read), ``w`` (b x n); a unit stride each."""
    b, n = w.shape
    if b == 0 or n == 0:
        return w
    if not (w.strides[0] == w.itemsize or b == 1):  # row-major: w^T <- w^T op(t)^T
        _trmm(b"R", t, not transpose, w.T)
    else:
        _trmm(b"L", t, transpose, w)
    return w


def _trmm(side, t, transpose, w):
    """BLAS ``trmm`` on the column-major ``w``: ``op(t) w`` (side L) or ``w op(t)`` (side R),
    ``op(t) = t.T`` when ``transpose``, ``t`` upper triangular."""
    rows, cols = w.shape
    _, trmm, _, real, ptr = _GEMM[w.dtype]
    ta, lda = _operand(t)
    # BLAS sees the column-major t (upper) or, for a row-major t, t^T (lower)
    upper = ta == b"N"
    op = b"T" if transpose == upper else b"N"
    ldw = max(1, rows, w.strides[1] // w.itemsize if cols > 1 else 1)
    alpha = real(1.0)
    trmm(side, b"U" if upper else b"L", op, b"N", _i(rows), _i(cols), ctypes.byref(alpha),
         t.ctypes.data_as(ptr), _i(lda), w.ctypes.data_as(ptr), _i(ldw))


def _gram_upper(v, g):
    """The upper triangle of ``g`` (b x b) <- ``v.T @ v`` (``v``: rows x b); ``g``'s strict
    lower triangle is left as it was. A unit stride each."""
    rows, b = v.shape
    if b == 0:
        return g
    _, _, syrk, real, ptr = _GEMM[v.dtype]
    tv, ldv = _operand(v)
    # BLAS sees the column-major v (rows x b: product A^T A) or, for a row-major v, v^T
    # (b x rows: A A^T); and the column-major g, or g^T for a row-major g, whose upper
    # triangle is g's lower one
    trans = b"T" if tv == b"N" else b"N"
    tg, ldg = _operand(g)
    uplo = b"U" if tg == b"N" else b"L"
    alpha, beta = real(1.0), real(0.0)
    syrk(uplo, trans, _i(b), _i(rows), ctypes.byref(alpha), v.ctypes.data_as(ptr), _i(ldv),
         ctypes.byref(beta), g.ctypes.data_as(ptr), _i(ldg))
    return g


def _i(v):
    return ctypes.byref(ctypes.c_int64(v))


subtract_product = _subtract_product if len(_GEMM) == 2 else None
triangular_product = _triangular_product if len(_GEMM) == 2 else None
gram_upper = _gram_upper if len(_GEMM) == 2 else None
