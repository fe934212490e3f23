"""Householder kernels of the blocked QR (compact WY form): the loops BLAS cannot do.

The blocked algorithm itself (trailing updates and the forming of Q as matrix products) runs on
the host, in ``fastinit.linalg``; what is here are its panel steps:

- ``reflectors_from_columns``: every column of a panel its own reflector (LAPACK ``larfg`` on
  ``panel[j:, j]``), all columns independent, written as explicit unit lower trapezoidal ``V``.
  This is the whole "factorization" of the ``reflectors`` method of ``fastinit.orthogonal``
  (Stewart 1980): the reflectors are drawn, not computed from a matrix.
- ``panel_qr``: the unblocked Householder QR of a panel (LAPACK ``geqr2``), leaving R and V in
  the panel (LAPACK's layout) and the explicit ``V`` in a workspace.
- ``unit_lower``: the explicit ``V`` of a panel factored earlier.
- ``larft_from_gram``: the triangular factor ``T`` of ``H_1 ... H_b = I - V T V^T`` (LAPACK
  ``larft``, forward, columnwise) from the Gram matrix ``V^T V`` (a BLAS product).
- ``subtract_``: ``c -= d`` (NumPy has no in-place GEMM, so the rank-b update ``C -= V W``
  goes through a tile).

Sums of squares and dot products accumulate in float64 for float32 data; norms are scaled by
the largest magnitude so float64 data never overflows. No argument checking here.

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
    """``njit`` with one signature per data type, every 2-D array of layout 'A' except the
    explicit V, which the host keeps Fortran-contiguous (``T[::1, :]``).

    Serial on purpose: these kernels run between BLAS calls, and Numba's OpenMP workers keep
    spinning after a parallel region while OpenBLAS's threads want the same two cores (measured:
    a 2048 x 128 Gram product after a ``prange`` kernel took 10x its time alone, and the
    ``prange`` subtraction 17x the serial one). The panel steps are O(m b) or O(m b^2) against
    the O(m n b) of the products, so the BLAS keeps both cores.

    A slice of a panel or a workspace is C- or F-contiguous or neither depending on where it
    sits; lazily typed kernels would compile a specialization for each (a dozen per kernel).
    Explicit 'A' signatures accept all of them with one compiled body per data type. This
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


@_typed("void(T[:, :], T[::1, :], float64[:], float64[:])")
def reflectors_from_columns(src, v, tau, beta):
    """Reflector ``j`` from ``src[j:, j]`` for every column ``j`` of ``src`` (m x b), each
    column on its own: ``v`` (m x b) gets the explicit unit lower trapezoidal ``V``, ``tau``
    and ``beta`` (``H_j src[j:, j] = beta_j e_1``) the scalars. ``src`` is only read.
    """
    m, b = src.shape
    for g in range((b + GROUP - 1) // GROUP):
        j0 = g * GROUP
        j1 = min(b, j0 + GROUP)
        scale = np.zeros(GROUP, np.float64)
        sumsq = np.zeros(GROUP, np.float64)
        factor = np.zeros(GROUP, np.float64)
        for r in range(j0, m):
            for j in range(j0, min(j1, r + 1)):
                scale[j - j0] = max(scale[j - j0], abs(np.float64(src[r, j])))
        for r in range(j0 + 1, m):
            for j in range(j0, min(j1, r)):
                x = np.float64(src[r, j]) / scale[j - j0]
                sumsq[j - j0] += x * x
        for j in range(j0, j1):
            s = scale[j - j0]
            if s == 0.0:
                beta[j], tau[j], factor[j - j0] = 0.0, 0.0, 0.0
                scale[j - j0] = 1.0
            else:
                beta[j], tau[j], factor[j - j0] = _larfg(np.float64(src[j, j]), s, sumsq[j - j0])
        for r in range(m):
            for j in range(j0, j1):
                if r > j:
                    v[r, j] = np.float64(src[r, j]) / scale[j - j0] * factor[j - j0]
                elif r == j:
                    v[r, j] = 1.0
                else:
                    v[r, j] = 0.0


@_typed("void(T[:, :], T[::1, :])")
def unit_lower(panel, v):
    """The explicit unit lower trapezoidal ``V`` of a factored panel (V below its diagonal)."""
    m, b = panel.shape
    for g in range((b + GROUP - 1) // GROUP):
        j0 = g * GROUP
        j1 = min(b, j0 + GROUP)
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
    for j in range(b):
        for r in range(j + 1, b):
            t[r, j] = 0.0
        t[j, j] = tau[j]
        for r in range(j):
            acc = 0.0
            for c in range(r, j):
                acc += np.float64(t[r, c]) * np.float64(gram[c, j])
            t[r, j] = -np.float64(tau[j]) * acc


@_typed("void(T[:, :], T[:, :])")
def subtract_(c, d):
    """``c -= d`` (2-D, same shape), row by row: pass row-major views."""
    m, n = c.shape
    for r in range(m):
        for j in range(n):
            c[r, j] -= d[r, j]
