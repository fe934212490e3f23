"""Householder kernels of the blocked QR (compact WY form): the loops BLAS cannot do.

The blocked algorithm itself (trailing updates and the forming of Q as matrix products) runs on
the host, in ``fastinit.linalg``; what is here are its panel steps:

- ``reflectors_rows`` / ``reflectors_cols``: every column of a row-major / column-major panel
  its own reflector (LAPACK ``larfg`` on ``panel[j:, j]``), all columns independent, written as
  explicit unit lower trapezoidal ``V`` of the same layout. This is the whole "factorization"
  of the ``reflectors`` method of ``fastinit.orthogonal`` (Stewart 1980): the reflectors are
  drawn, not computed from a matrix. The panel comes as the contiguous span of memory it lies
  in, so its rows (columns) compile as contiguous loads.
- ``panel_qr``: the unblocked Householder QR of a panel (LAPACK ``geqr2``), leaving R and V in
  the panel (LAPACK's layout) and the explicit ``V`` in a workspace.
- ``unit_lower``: the explicit ``V`` of a panel factored earlier.
- ``larft_from_gram``: the triangular factor ``T`` of ``H_1 ... H_b = I - V T V^T`` (LAPACK
  ``larft``, forward, columnwise) from the Gram matrix ``V^T V`` (a BLAS product).
- ``subtract_``: ``c -= d`` (NumPy has no in-place GEMM, so the rank-b update ``C -= V W``
  goes through a tile).

Sums of squares and dot products accumulate in float64 for float32 data; norms are scaled by
the largest magnitude where float64 squares could overflow or underflow. No argument checking
here.

References
----------
R. Schreiber and C. Van Loan, "A storage-efficient WY representation for products of
Householder transformations", SIAM J. Sci. Stat. Comput. 10 (1989). LAPACK 3.12, ``xLARFG``,
``xGEQR2``, ``xLARFT``, ``xGEQRF``, ``xORGQR``.
"""
import math

import numpy as np
from numba import njit

scalar = njit(inline="always", cache=True, error_model="numpy")
serial = njit(cache=True, error_model="numpy")


def _typed(pattern):
    """``njit`` with one signature per data type (``T`` in ``pattern``), slices of the matrix
    of layout 'A', the workspaces contiguous.

    Serial on purpose: these kernels run between BLAS calls, and Numba's OpenMP workers keep
    spinning after a parallel region while OpenBLAS's threads want the same cores (a BLAS
    product right after a ``prange`` kernel runs several times slower than alone). The panel
    steps are O(m b) or O(m b^2) against the O(m n b) of the products, so the BLAS keeps the
    cores.

    A slice of a panel or a workspace is C- or F-contiguous or neither depending on where it
    sits; lazily typed kernels would compile a specialization for each (a dozen per kernel).
    Explicit 'A' signatures accept all of them with one compiled body per data type (the hot
    loops of the reflectors take the panel's span of memory instead, 1-D contiguous). This
    module is imported on the first call of ``fastinit.linalg`` (not by ``import fastinit``),
    so the signatures compile (or load from the disk cache) then.
    """
    sigs = [pattern.replace("T", t) for t in ("float32", "float64")]
    return njit(sigs, cache=True, error_model="numpy")


# columns swept together by the column-wise kernels: a row of a group is one 64-byte line of
# float32, so row-major panels are read line by line, not one line per element
GROUP = 16


@scalar
def _larfg(alpha, scale, sumsq):
    """LAPACK ``larfg`` of ``x = (alpha, x2)``, given ``scale = max|x|`` and
    ``sumsq = ||x2 / scale||^2``: ``(beta, tau, f)`` with ``(I - tau v v^T) x = beta e_1``,
    ``v = (1, (x2 / scale) * f)``.

    ``beta = -sign(alpha) ||x||`` (no cancellation in ``alpha - beta``); ``tau = 0``
    (``H = I``, ``beta = alpha``) when ``x2`` is zero.
    """
    if sumsq == 0.0:
        return alpha, 0.0, 0.0
    a = alpha / scale
    norm = math.sqrt(a * a + sumsq)
    b = -norm if a >= 0.0 else norm
    beta = b * scale
    tau = (b - a) / b
    return beta, tau, 1.0 / (a - b)


# A column's sum of squares, taken unscaled in float64, is exact enough and cannot overflow or
# underflow inside [SUMSQ_MIN, SUMSQ_MAX] (with |alpha| <= ALPHA_MAX, so alpha^2 + sumsq is
# safe too): always for float32 data, and for float64 data unless its entries pass ~1e150 or
# the whole column is below ~1e-135. Outside, the column is redone scaled by its largest
# magnitude, LAPACK's way.
SUMSQ_MIN = 2.0 ** -900
SUMSQ_MAX = 2.0 ** 1000
ALPHA_MAX = 2.0 ** 500


@scalar
def _reflector(col, sumsq):
    """``larfg`` of the column ``col = (alpha, x2)`` given ``sumsq = ||x2||^2`` summed
    unscaled: ``(beta, tau, f)`` with ``v = (1, x2 * f)``."""
    alpha = np.float64(col[0])
    if SUMSQ_MIN <= sumsq <= SUMSQ_MAX and abs(alpha) <= ALPHA_MAX:
        return _larfg(alpha, 1.0, sumsq)
    # exact zeros, or float64 entries whose squares leave the range: scale first
    scale = 0.0
    for r in range(col.size):
        scale = max(scale, abs(np.float64(col[r])))
    if scale == 0.0:
        return 0.0, 0.0, 0.0
    ssq = 0.0
    for r in range(1, col.size):
        x = np.float64(col[r]) / scale
        ssq += x * x
    beta, tau, f = _larfg(alpha, scale, ssq)
    return beta, tau, f / scale


@_typed("void(T[::1], int64, int64, T[:, ::1], float64[:], float64[:])")
def reflectors_rows(span, ld, m, v, tau, beta):
    """Reflector ``j`` from ``src[j:, j]`` for every column ``j`` of a row-major panel ``src``
    (m x b, ``src[r, j] = span[r * ld + j]``), each column on its own: ``v`` (m x b,
    row-major) gets the explicit unit lower trapezoidal ``V``, ``tau`` and ``beta``
    (``H_j src[j:, j] = beta_j e_1``) the scalars. ``src`` is only read.

    Two passes over rows of contiguous memory: the panel copied into ``v`` while the sums of
    squares accumulate, then ``v`` scaled in place (from cache).
    """
    b = v.shape[1]
    sumsq = np.zeros(b, np.float64)
    for r in range(m):
        row = span[r * ld:r * ld + b]
        out = v[r]
        for j in range(b):
            out[j] = row[j]
        for j in range(min(r, b)):  # below the diagonal
            x = np.float64(row[j])
            sumsq[j] += x * x
    f = np.empty(b, np.float64)
    for j in range(b):
        beta[j], tau[j], f[j] = _reflector(v[j:, j], sumsq[j])
    for r in range(m):
        out = v[r]
        for j in range(min(r, b)):
            out[j] = np.float64(out[j]) * f[j]
        if r < b:
            out[r] = 1.0
            for j in range(r + 1, b):
                out[j] = 0.0


@njit(["float64(float32[::1], float32[::1])", "float64(float64[::1], float64[::1])"],
      cache=True, error_model="numpy", fastmath={"reassoc"})
def _copy_sumsq(src, dst):
    """``dst[:] = src``, returning ``sum(src**2)`` in float64 (reassociated: vectorized)."""
    s = 0.0
    for r in range(src.size):
        x = src[r]
        dst[r] = x
        s += np.float64(x) * np.float64(x)
    return s


@_typed("void(T[::1], int64, int64, T[:, ::1], float64[:], float64[:])")
def reflectors_cols(span, ld, m, vt, tau, beta):
    """:func:`reflectors_rows` for a column-major panel (``src[r, j] = span[j * ld + r]``),
    ``vt`` the transpose of V (b x m, so each reflector is one contiguous row)."""
    b = vt.shape[0]
    for j in range(b):
        col = span[j * ld:j * ld + m]
        out = vt[j]
        for r in range(j):
            out[r] = 0.0
        out[j] = col[j]
        sumsq = _copy_sumsq(col[j + 1:], out[j + 1:])
        beta[j], tau[j], f = _reflector(out[j:], sumsq)
        for r in range(j + 1, m):
            out[r] = np.float64(out[r]) * f
        out[j] = 1.0


@njit([f"void({t}[:, :], {t}{v})" for t in ("float32", "float64")
       for v in ("[:, ::1]", "[::1, :]")], cache=True, error_model="numpy")
def unit_lower(panel, v):
    """The explicit unit lower trapezoidal ``V`` of a factored panel (V below its diagonal),
    ``v`` row- or column-major (swept row by row, a group of columns at a time for the
    latter, so both sides run along cache lines)."""
    m, b = panel.shape
    width = b if v.strides[1] == v.itemsize else GROUP
    for j0 in range(0, b, width):
        j1 = min(b, j0 + width)
        for r in range(m):
            for j in range(j0, j1):
                if r > j:
                    v[r, j] = panel[r, j]
                elif r == j:
                    v[r, j] = 1.0
                else:
                    v[r, j] = 0.0


@serial
def _reflect_column(w, m, j, tau, beta):
    """``larfg`` on ``w[j:m, j]`` in place (a contiguous column): V below the diagonal."""
    scale = 0.0
    for r in range(j, m):
        scale = max(scale, abs(np.float64(w[r, j])))
    sumsq = 0.0
    if scale > 0.0:
        for r in range(j + 1, m):
            x = np.float64(w[r, j]) / scale
            sumsq += x * x
    if sumsq == 0.0:
        beta[j], tau[j] = w[j, j], 0.0
    else:
        beta[j], tau[j], f = _larfg(np.float64(w[j, j]), scale, sumsq)
        for r in range(j + 1, m):
            w[r, j] = np.float64(w[r, j]) / scale * f


@_typed("void(T[:, :], T[::1, :], float64[:], float64[:])")
def panel_qr(panel, v, tau, beta):
    """Unblocked Householder QR of ``panel`` (m x b, m >= b) in place (LAPACK ``geqr2``).

    Afterwards ``panel`` holds R on and above the diagonal and the reflectors below it
    (LAPACK's layout), ``tau`` the reflector scalars, ``beta`` the diagonal of R, and ``v``
    (m x b) the explicit unit lower trapezoidal V. The work runs in ``v``: a Fortran-ordered
    workspace keeps every column contiguous whatever the layout of ``panel``.
    """
    m, b = panel.shape
    ngroups = (b + GROUP - 1) // GROUP
    for g in range(ngroups):
        for r in range(m):
            for j in range(g * GROUP, min(b, g * GROUP + GROUP)):
                v[r, j] = panel[r, j]
    for j in range(b):
        _reflect_column(v, m, j, tau, beta)
        tj = tau[j]
        if tj == 0.0:
            continue
        # H_j = I - tau v v^T on every column right of j, one column per iteration
        for col in range(j + 1, b):
            acc = np.float64(v[j, col])
            for r in range(j + 1, m):
                acc += np.float64(v[r, j]) * np.float64(v[r, col])
            acc *= tj
            v[j, col] = v[j, col] - acc
            for r in range(j + 1, m):
                v[r, col] = v[r, col] - acc * np.float64(v[r, j])
    for g in range(ngroups):
        for r in range(m):
            for j in range(g * GROUP, min(b, g * GROUP + GROUP)):
                if r > j:
                    panel[r, j] = v[r, j]
                elif r == j:
                    panel[r, j] = beta[j]
                    v[r, j] = 1.0
                else:
                    panel[r, j] = v[r, j]
                    v[r, j] = 0.0


@_typed("void(T[:, :], float64[:], T[:, :])")
def larft_from_gram(gram, tau, t):
    """Upper triangular ``T`` with ``H_1 H_2 ... H_b = I - V T V^T`` (LAPACK ``larft``,
    forward, columnwise), from the Gram matrix ``gram = V^T V`` of the explicit V.

    .. math:: T_{jj} = \\tau_j,\\quad T_{0:j,\\,j} = -\\tau_j\\, T_{0:j,\\,0:j}\\, (V^T V)_{0:j,\\,j}
    """
    b = tau.size
    # column c of T as row c of tt, so the sums run as vectorized updates (same terms, same
    # order as the dot products of the formula)
    tt = np.zeros((b, b), np.float64)
    acc = np.empty(b, np.float64)
    for j in range(b):
        for r in range(j):
            acc[r] = 0.0
        for c in range(j):
            g = np.float64(gram[c, j])
            row = tt[c]
            for r in range(c + 1):
                acc[r] += row[r] * g
        tj = np.float64(tau[j])
        for r in range(j):
            tt[j, r] = -tj * acc[r]
        tt[j, j] = tj
    for r in range(b):
        for j in range(b):
            t[r, j] = tt[j, r]


@_typed("void(T[:, :], T[:, :])")
def subtract_(c, d):
    """``c -= d`` (2-D, same shape), row by row: pass row-major views."""
    m, n = c.shape
    for r in range(m):
        for j in range(n):
            c[r, j] -= d[r, j]
