"""Haar-distributed (semi-)orthogonal matrices from a Gaussian, by blocked Householder.

The one algorithm of ``fastinit.orthogonal`` that both backends run: each hands
:func:`haar` its matrix and its :class:`fastinit.linalg.Steps` (CPU: NumPy's BLAS and the
Numba panel kernels; GPU: CuPy's cuBLAS and the CUDA panel kernels).
"""
import math

import numpy as np

from . import linalg


def matrix_shape(shape, col):
    """``(rows, cols)`` of the matrix a weight of ``shape`` is seen as: torch's flattening
    ``(shape[0], prod(shape[1:]))`` when ``col`` is None, else the columns along ``col``."""
    if col is None:
        return shape[0], math.prod(shape[1:])
    return math.prod(shape) // shape[col], shape[col]


def compute_dtype(dtype):
    """The precision the matrix is computed in: float64 for float64 output, the complex dtype
    itself for complex output, else float32."""
    if dtype == np.float64 or dtype.kind == "c":
        return np.dtype(dtype)
    return np.dtype(np.float32)


def unitary(a, gain, xp):
    """Fill the tall ``m x n`` complex matrix ``a`` with ``gain`` times a Haar semi-unitary
    matrix from the complex Gaussian ``a`` holds: Q of its QR factorization (``xp.linalg.qr``:
    LAPACK, or cuSOLVER through CuPy) times the phases of ``diag(R)`` (Mezzadri 2007), which
    makes the law exactly Haar."""
    q, r = xp.linalg.qr(a)
    d = xp.diagonal(r)
    size = xp.abs(d)
    phase = xp.where(size == 0, 1, d / xp.where(size == 0, 1, size))
    a[...] = q * (phase * gain).astype(a.dtype)
    return a


def _signs_times_gain(xp, beta, gain):
    """``gain * sign(beta)`` (``+gain`` where ``beta`` is 0), float64."""
    scale = xp.full(beta.shape, gain, np.float64)
    scale[beta < 0.0] = -gain
    return scale


def haar(a, gain, method, steps, nb=None):
    """Fill the tall ``m x n`` matrix ``a`` (any layout) with ``gain`` times a Haar
    semi-orthogonal matrix from the Gaussian ``a`` is first filled with.

    ``method="qr"`` factors ``a`` and folds ``sign(diag R)`` into Q (Mezzadri 2007);
    ``method="reflectors"`` draws each reflector from its own Gaussian column (Stewart 1980)
    and forms only Q. ``steps`` carries the array module ``a`` belongs to and the panel
    kernels.
    """
    m, n = a.shape
    if nb is None:
        nb = linalg.q_panel_width(m, n) if method == "reflectors" else linalg.PANEL_WIDTH
    nb = max(1, min(nb, n))
    xp = steps.xp
    work = linalg.Workspace(xp, a, nb)
    if method == "qr":
        tau = xp.zeros(n, np.float64)
        beta = xp.zeros(n, np.float64)
        linalg.geqrf(a, tau, beta, steps, nb, work)
        scale = _signs_times_gain(xp, beta, gain)
        linalg.form_q(a, n, linalg.stored_reflectors(tau, steps, scale), steps, nb, work)
        return a

    def drawn_reflectors(src, v, i):
        b = v.shape[1]
        tau = xp.empty(b, np.float64)
        beta = xp.empty(b, np.float64)
        steps.reflectors(src, v, tau, beta)
        return tau, _signs_times_gain(xp, beta, gain)

    linalg.form_q(a, n, drawn_reflectors, steps, nb, work)
    return a
