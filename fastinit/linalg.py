"""Blocked Householder QR in compact WY form: ``qr`` and the host-side orchestration.

The orchestration (``geqrf``, ``form_q``) is written against an array module ``xp`` and a set
of pluggable panel steps (:class:`Steps`): on the CPU the array module is NumPy (the products
go to its BLAS) and the steps are the Numba kernels of ``fastinit.kernels.householder``; a GPU
backend runs the same functions with CuPy (products through cuBLAS) and CUDA panel kernels.

Algorithm (LAPACK's ``geqrf``/``orgqr`` with ``larft``/``larfb``; Schreiber and Van Loan
1989). A block of ``b`` reflectors ``H_j = I - tau_j v_j v_j^T`` is applied as

.. math:: H_i H_{i+1} \\cdots H_{i+b-1} = I - V T V^T,

with ``V`` the unit lower trapezoidal matrix of the ``v_j`` and ``T`` upper triangular
(``larft``, from the Gram matrix ``V^T V``). The factorization works panel by panel: the
unblocked QR of a panel (``geqr2``), then ``C <- (I - V T^T V^T) C`` on the columns to its
right. Q is formed backwards, block by block: ``C <- (I - V T V^T) C`` on the columns already
formed, and the block's own columns are ``([I; 0] - V T V_1^T) diag(s)`` (``V_1`` the top
``b x b`` of ``V``, ``s`` a column scaling), all matrix products. Where NumPy's bundled
OpenBLAS is there (``fastinit._blas``), ``W <- T W`` is one in-place ``trmm``, the Gram
matrix ``V^T V`` one ``syrk`` (its upper triangle) and the update ``C -= V W`` one in-place
GEMM; else they go through full products, a second W buffer and, tile by tile, a workspace of
about 1/32 of the matrix. The peak memory is the matrix plus
O((m + n) * b) (plus that tile).

References
----------
R. Schreiber and C. Van Loan, "A storage-efficient WY representation for products of
Householder transformations", SIAM J. Sci. Stat. Comput. 10 (1989). E. Anderson et al.,
LAPACK Users' Guide, 3rd ed. (``xGEQRF``, ``xORGQR``, ``xLARFT``, ``xLARFB``).
"""
import numbers
from dataclasses import dataclass
from typing import Callable

import numpy as np

# Panel width b (the block size of the WY updates). Wider panels make the rank-b products
# closer to square GEMMs but cost 2 m b^2 per block for the T factor and the block's own
# columns and O(b n) more workspace; from 128 up the time is flat within the noise, and 128
# keeps the peak memory lower. The tuning runs are on the documentation's performance page.
PANEL_WIDTH = 128
# Forming Q alone (orthogonal's reflectors method: no level-2 panel QR, whose cost grows with
# b) gains from wider panels on large matrices, up to where the workspace (V and W, (m + n) b
# elements) would pass a tenth of the m x n output: the width is the largest multiple of 32
# within that, clamped to [PANEL_WIDTH, PANEL_WIDTH_MAX].
PANEL_WIDTH_MAX = 256
# without an in-place GEMM, the update C -= V W goes through a tile of 1/32 of the matrix,
# clamped to [TILE_ELEMENTS, TILE_ELEMENTS_MAX]: few, large products (a BLAS call pays a thread
# start and barrier), with the tile a small fraction of the output
TILE_ELEMENTS = 1 << 18
TILE_ELEMENTS_MAX = 1 << 22

MODES = ("reduced", "complete", "r")


def q_panel_width(m, n):
    """The panel width for forming the ``m x n`` Q alone (see ``PANEL_WIDTH_MAX``)."""
    tenth = m * n // (10 * (m + n))
    return max(PANEL_WIDTH, min(PANEL_WIDTH_MAX, tenth // 32 * 32))


@dataclass(frozen=True)
class Steps:
    """The array module and the panel steps the blocked orchestration runs on.

    Every step writes into arrays it is given (views of the matrix or of the workspace):

    - ``panel_qr(panel, v, tau, beta)``: unblocked QR of ``panel`` in place (R on and above the
      diagonal, V below), the explicit unit lower trapezoidal V into ``v``, the scalars into
      ``tau`` and the diagonal of R into ``beta`` (float64 vectors).
    - ``reflectors(src, v, tau, beta)``: reflector ``j`` from ``src[j:, j]`` for every column
      on its own (LAPACK ``larfg``), V into ``v``; ``src`` is only read.
    - ``unit_lower(panel, v)``: the explicit V of a factored panel.
    - ``larft(gram, tau, t)``: ``T`` from ``gram = V^T V``.
    - ``subtract(c, d)``: ``c -= d``.
    - ``subtract_product(c, a, b)`` (optional): ``c -= a @ b`` in place, one BLAS call with
      ``beta = 1``; without it the update goes through a tile and ``subtract``.
    - ``triangular_product(t, w, transpose)`` (optional): ``w <- t w`` (``t^T w``) in place
      for an upper triangular ``t`` (BLAS ``trmm``: half the work of the product); without it
      the product goes to a second buffer.
    - ``gram_upper(v, g)`` (optional): the upper triangle of ``g`` <- ``v^T v`` (BLAS
      ``syrk``: half the work of the product, and all ``larft`` reads); without it the full
      product.
    """

    xp: object
    panel_qr: Callable
    reflectors: Callable
    unit_lower: Callable
    larft: Callable
    subtract: Callable
    subtract_product: Callable = None
    triangular_product: Callable = None
    gram_upper: Callable = None


def _row_major(fn):
    """Call a 2-array elementwise kernel on the transposes when the first is column-major,
    so its inner loop always runs along contiguous memory."""
    def call(c, d):
        if c.strides[0] < c.strides[1]:
            return fn(c.T, d.T)
        return fn(c, d)
    return call


def _fortran_v(fn):
    """Call a panel kernel whose V argument is compiled Fortran-contiguous. A single column
    (``b = 1``) counts as C-contiguous to Numba, so it goes through a buffer of at least two
    rows and two columns (the kernels take the sizes from the panel, not from V)."""
    def call(src, v, *rest):
        if not v.flags.c_contiguous:
            return fn(src, v, *rest)
        rows, b = v.shape
        v2 = np.empty((max(2, b), max(2, rows)), v.dtype).T
        fn(src, v2, *rest)
        v[...] = v2[:rows, :b]
    return call


def _span(x):
    """``(span, ld)`` with ``x[r, j] == span[r * ld + j]``: the memory from the first to the
    last element of a 2-D ``x`` whose rows are contiguous, as a 1-D contiguous array (a copy
    of ``x`` when its rows are not contiguous)."""
    m, b = x.shape
    item = x.itemsize
    s0, s1 = x.strides
    if (b > 1 and s1 != item) or (m > 1 and (s0 < b * item or s0 % item)):
        x = np.ascontiguousarray(x)
        s0 = b * item
    ld = s0 // item if m > 1 else b
    return np.lib.stride_tricks.as_strided(x, ((m - 1) * ld + b,), (item,)), ld


def _reflectors(hh):
    """The CPU ``reflectors`` step: the kernel for the layout of ``v`` (row-major: the panel
    row by row; column-major: column by column), on the panel's span of memory."""
    def call(src, v, tau, beta):
        m = src.shape[0]
        if v.flags.c_contiguous:
            span, ld = _span(src)
            hh.reflectors_rows(span, ld, m, v, tau, beta)
        else:
            span, ld = _span(src.T)
            hh.reflectors_cols(span, ld, m, v.T, tau, beta)
    return call


_CPU_STEPS = None


def cpu_steps():
    """The NumPy + Numba steps (the kernels compile, or load from the disk cache, on first
    use, not at ``import fastinit``)."""
    global _CPU_STEPS
    if _CPU_STEPS is None:
        from . import _blas
        from .kernels import householder as hh
        _CPU_STEPS = Steps(np, _fortran_v(hh.panel_qr), _reflectors(hh), hh.unit_lower,
                           hh.larft_from_gram, _row_major(hh.subtract_), _blas.subtract_product,
                           _blas.triangular_product, _blas.gram_upper)
    return _CPU_STEPS


class Workspace:
    """The buffers of one blocked factorization of an ``m x ncols`` matrix ``a``: V
    (m x b), ``W = T V^T C`` (b x ncols) and, without the in-place products, a second
    ``b x ncols`` buffer and one tile of ``V W`` (``tile_elements`` at most), O(m b + b n) in
    all."""

    def __init__(self, xp, a, nb):
        m, ncols = a.shape
        dt = a.dtype
        self.xp = xp
        self._v = xp.empty(m * nb, dt)
        self.gram = xp.empty((nb, nb), dt)
        self.t = xp.empty((nb, nb), dt)
        self.tm = xp.empty((nb, nb), dt)
        self.w = xp.empty((nb, ncols), dt)
        self._w2 = None
        # the tile runs along the matrix's contiguous axis: rows of a row-major matrix
        self.row_major = a.strides[0] >= a.strides[1] if a.size else True
        elements = min(TILE_ELEMENTS_MAX, max(TILE_ELEMENTS, m * ncols // 32))
        long = ncols if self.row_major else m
        self.tile = max(1, elements // max(long, 1))
        self._tmp_shape = (self.tile * long, dt)
        self._tmp = None

    @property
    def w2(self):
        """``T W`` when it cannot be formed in place, allocated on first use."""
        if self._w2 is None:
            self._w2 = self.xp.empty_like(self.w)
        return self._w2

    @property
    def tmp(self):
        """The update tile, allocated on first use (never with ``subtract_product``)."""
        if self._tmp is None:
            self._tmp = self.xp.empty(*self._tmp_shape)
        return self._tmp

    def v(self, rows, b, row_major=False):
        """The ``rows x b`` block of V: Fortran-contiguous (each reflector one contiguous run,
        what the panel QR works in), or C-contiguous for a block copied from the panel of a
        row-major matrix (the copy then runs along rows on both sides)."""
        if row_major:
            return self._v[:rows * b].reshape(rows, b)
        return self._v[:rows * b].reshape(b, rows).T


def t_factor(v, tau, work, steps):
    """``T`` of the block ``V`` in the workspace: the product of its reflectors ``H_1`` to
    ``H_b`` is ``I - V T V^T``."""
    b = v.shape[1]
    gram = work.gram[:b, :b]
    if steps.gram_upper is not None:
        steps.gram_upper(v, gram)
    else:
        steps.xp.matmul(v.T, v, out=gram)
    t = work.t[:b, :b]
    steps.larft(gram, tau, t)
    return t


def apply_block(c, v, t, work, steps, transpose, zero_rows=0):
    """``C <- (I - V T V^T) C``, or with ``T^T`` when ``transpose``: ``W = T (V^T C)`` in two
    products (the second in place where the steps have ``triangular_product``), then
    ``C -= V W``: in place in one BLAS call where the steps have
    ``subtract_product``, else tile by tile (rows of a row-major ``C``, columns of a
    column-major one) through the workspace and ``subtract``. The first ``zero_rows`` rows of
    ``C``, known to be zero, are left out of ``V^T C``."""
    xp = steps.xp
    m, ncols = c.shape
    b = v.shape[1]
    w = work.w[:b, :ncols]
    z = min(zero_rows, m)
    xp.matmul(v[z:].T, c[z:], out=w)
    if steps.triangular_product is not None:
        w2 = steps.triangular_product(t, w, transpose)
    else:
        w2 = work.w2[:b, :ncols]
        xp.matmul(t.T if transpose else t, w, out=w2)
    if steps.subtract_product is not None:
        steps.subtract_product(c, v, w2)
    elif work.row_major:
        for r0 in range(0, m, work.tile):
            r1 = min(m, r0 + work.tile)
            tmp = work.tmp[:(r1 - r0) * ncols].reshape(r1 - r0, ncols)
            xp.matmul(v[r0:r1], w2, out=tmp)
            steps.subtract(c[r0:r1], tmp)
    else:
        for c0 in range(0, ncols, work.tile):
            c1 = min(ncols, c0 + work.tile)
            tmp = work.tmp[:(c1 - c0) * m].reshape(c1 - c0, m).T
            xp.matmul(v, w2[:, c0:c1], out=tmp)
            steps.subtract(c[:, c0:c1], tmp)


def geqrf(a, tau, beta, steps, nb=PANEL_WIDTH, work=None):
    """Blocked Householder QR of ``a`` (m x n) in place, in LAPACK's ``geqrf`` layout.

    Afterwards R is on and above the diagonal of ``a`` and reflector ``j`` below it;
    ``tau[j]`` is its scalar and ``beta[j] = R[j, j]`` (``tau`` and ``beta`` float64 vectors
    of ``min(m, n)``).
    """
    m, n = a.shape
    k = min(m, n)
    if work is None:
        work = Workspace(steps.xp, a, nb)
    for i in range(0, k, nb):
        b = min(nb, k - i)
        v = work.v(m - i, b)
        steps.panel_qr(a[i:, i:i + b], v, tau[i:i + b], beta[i:i + b])
        if i + b < n:
            t = t_factor(v, tau[i:i + b], work, steps)
            apply_block(a[i:, i + b:], v, t, work, steps, transpose=True)
    return a


def form_q(a, k, panel, steps, nb=PANEL_WIDTH, work=None):
    """Form ``Q``, the product of the reflectors ``H_0`` to ``H_{k-1}`` times ``[I; 0]
    diag(s)``, in place of ``a`` (m x ncols, ``k <= ncols <= m``), backwards block by block
    (LAPACK ``orgqr``).

    ``panel(src, v, i)`` is the pluggable panel step: given ``src = a[i:, i:i+b]`` (whatever
    the caller left there: reflectors from :func:`geqrf`, or Gaussian columns to turn into
    reflectors), it writes the block's explicit V into ``v`` and returns ``(tau, s)``, the
    reflector scalars and the scaling of the block's columns. Columns ``k`` and beyond start
    as columns of the identity (scaling 1).
    """
    xp = steps.xp
    m, ncols = a.shape
    if work is None:
        work = Workspace(xp, a, nb)
    if ncols > k:
        a[:, k:] = 0
        idx = xp.arange(ncols - k)
        a[k:ncols, k:ncols][idx, idx] = 1
    for i in reversed(range(0, k, nb)):
        b = min(nb, k - i)
        v = work.v(m - i, b, work.row_major)
        tau, scale = panel(a[i:, i:i + b], v, i)
        t = t_factor(v, tau, work, steps)
        if i + b < ncols:
            # rows i .. i+b of the columns formed so far are still zero
            apply_block(a[i:, i + b:], v, t, work, steps, transpose=False, zero_rows=b)
        tm = work.tm[:b, :b]
        xp.matmul(t, v[:b].T, out=tm)
        tm *= -xp.asarray(scale, a.dtype)[None, :]
        xp.matmul(v, tm, out=a[i:, i:i + b])
        idx = xp.arange(b)
        a[i:i + b, i:i + b][idx, idx] += xp.asarray(scale, a.dtype)
        a[:i, i:i + b] = 0
    return a


def stored_reflectors(tau, steps, scale=None):
    """The panel step of :func:`form_q` after :func:`geqrf`: V from below the diagonal."""
    xp = steps.xp

    def panel(src, v, i):
        b = v.shape[1]
        steps.unit_lower(src, v)
        s = xp.ones(b, np.float64) if scale is None else scale[i:i + b]
        return tau[i:i + b], s
    return panel


def _check_nb(nb):
    if isinstance(nb, bool) or not isinstance(nb, numbers.Integral) or nb < 1:
        raise ValueError(f"nb must be a positive int, got {nb!r}")
    return int(nb)


def _work_dtype(a):
    if a.dtype in (np.float32, np.float64):
        return a.dtype
    if a.dtype.kind in "biu":
        return np.dtype(np.float64)  # as numpy.linalg.qr
    raise TypeError(f"a must have a real floating (float32, float64) or integer dtype, "
                    f"got {a.dtype}")


def qr(a, mode="reduced", *, nb=None):
    """QR factorization by blocked Householder reflections (compact WY), like
    :func:`numpy.linalg.qr`.

    .. math:: A = Q R,\\quad Q^T Q = I,\\ R \\text{ upper triangular (trapezoidal)}

    ``R``'s diagonal follows LAPACK's sign convention (``R[j, j] = -sign(x_j) ||x||`` for the
    column ``x`` being reflected), so the result agrees with :func:`numpy.linalg.qr` up to
    rounding. The input is never modified; float32 input is factored in float32, float64 in
    float64, integers in float64.

    Parameters
    ----------
    a : array_like, shape (..., m, n)
        Real matrix (or a stack of matrices), float32, float64 or integer.
    mode : {"reduced", "complete", "r"}
        ``"reduced"``: ``q`` (m x k), ``r`` (k x n), ``k = min(m, n)``; ``"complete"``:
        ``q`` (m x m), ``r`` (m x n); ``"r"``: ``r`` (k x n) only.
    nb : int, optional
        Panel width (default ``PANEL_WIDTH``).

    Returns
    -------
    q, r : numpy.ndarray
        (or ``r`` alone for ``mode="r"``).

    Examples
    --------
    >>> q, r = fastinit.linalg.qr(np.random.default_rng(0).standard_normal((500, 300)))
    """
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}, got {mode!r}")
    nb = PANEL_WIDTH if nb is None else _check_nb(nb)
    arr = np.asarray(a)
    if arr.ndim < 2:
        raise ValueError(f"a must have at least 2 dimensions, got shape {arr.shape}")
    if arr.ndim > 2:
        return _qr_stack(arr, mode, nb)
    return _qr_matrix(arr, mode, nb)


def _qr_stack(arr, mode, nb):
    """:func:`qr` of each matrix of the stack ``arr`` (``..., m, n``), stacked back."""
    parts = [_qr_matrix(arr[idx], mode, nb) for idx in np.ndindex(arr.shape[:-2])]
    if mode == "r":
        return np.stack(parts).reshape(arr.shape[:-2] + parts[0].shape)
    q = np.stack([p[0] for p in parts]).reshape(arr.shape[:-2] + parts[0][0].shape)
    r = np.stack([p[1] for p in parts]).reshape(arr.shape[:-2] + parts[0][1].shape)
    return q, r


def _qr_matrix(arr, mode, nb):
    """:func:`qr` of the one matrix ``arr``, factored in a copy."""
    dtype = _work_dtype(arr)
    m, n = arr.shape
    k = min(m, n)
    work = np.array(arr, dtype=dtype, order="C", copy=True)  # never the caller's memory
    steps = cpu_steps()
    tau = np.zeros(k, np.float64)
    beta = np.zeros(k, np.float64)
    if k:
        geqrf(work, tau, beta, steps, nb)
    r = np.triu(work if mode == "complete" else work[:k])
    if mode == "r":
        return r
    if mode == "complete" or m < n:
        qcols = m if mode == "complete" else k
        q = np.zeros((m, qcols), dtype)
        q[:, :k] = work[:, :k]
        del work
    else:
        q = work
    if k or q.shape[1]:
        form_q(q, k, stored_reflectors(tau, steps), steps, max(1, min(nb, k)))
    return q, r
