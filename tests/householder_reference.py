"""A slow, obvious reference of the Householder algorithms, in plain NumPy (float64).

Written from the textbook (Golub and Van Loan, "Matrix Computations", 4th ed., 5.1-5.2; LAPACK's
``larfg`` sign convention), not from the package: nothing here imports ``fastinit``. One
reflector at a time, applied as an explicit rank-one update; no blocking, no WY form.
"""
import numpy as np


def house(x):
    """``(v, tau, beta)`` with ``(I - tau v v^T) x = beta e_1``, ``v[0] = 1`` (LAPACK larfg:
    ``beta = -sign(x[0]) ||x||``; ``tau = 0`` when ``x[1:]`` is zero)."""
    x = np.asarray(x, np.float64)
    v = np.zeros_like(x)
    v[0] = 1.0
    if x.size == 1 or not np.any(x[1:]):
        return v, 0.0, float(x[0])
    norm = np.linalg.norm(x)
    beta = -norm if x[0] >= 0 else norm
    v[1:] = x[1:] / (x[0] - beta)
    return v, (beta - x[0]) / beta, beta


def qr_unblocked(a):
    """Householder QR, reduced: ``(q, r, beta)`` with ``beta = diag(r)``."""
    a = np.array(a, np.float64)
    m, n = a.shape
    k = min(m, n)
    vs = []
    for j in range(k):
        v, tau, beta = house(a[j:, j])
        a[j:, j:] -= tau * np.outer(v, v @ a[j:, j:])
        a[j + 1:, j] = 0.0
        vs.append((v, tau))
    q = np.eye(m, k)
    for j in reversed(range(k)):
        v, tau = vs[j]
        q[j:, :] -= tau * np.outer(v, v @ q[j:, :])
    return q, np.triu(a[:k]), np.diag(a[:k, :k]).copy()


def haar_by_qr(g):
    """Mezzadri (2007): Q of the tall Gaussian ``g`` times ``sign(diag R)``."""
    q, _, beta = qr_unblocked(g)
    return q * np.where(beta < 0, -1.0, 1.0)


def haar_by_reflectors(g):
    """Stewart (1980): reflector ``j`` from the Gaussian vector ``g[j:, j]`` itself, each
    column on its own; ``Q = H_0 ... H_{n-1} [I; 0] diag(sign(beta))``."""
    g = np.asarray(g, np.float64)
    m, n = g.shape
    q = np.eye(m, n)
    for j in reversed(range(n)):
        v, tau, beta = house(g[j:, j])
        q[j:, :] -= tau * np.outer(v, v @ q[j:, :])
        q[:, j] *= -1.0 if beta < 0 else 1.0
    return q


# --- the panel steps of fastinit.linalg.Steps, in NumPy: the orchestration runs on them too ----

def panel_qr(panel, v, tau, beta):
    m, b = panel.shape
    work = np.array(panel, np.float64)
    for j in range(b):
        vj, tau[j], beta[j] = house(work[j:, j])
        work[j:, j + 1:] -= tau[j] * np.outer(vj, vj @ work[j:, j + 1:])
        work[j, j] = beta[j]
        work[j + 1:, j] = vj[1:]
    panel[...] = work
    unit_lower(panel, v)


def reflectors(src, v, tau, beta):
    m, b = src.shape
    v[...] = 0.0
    for j in range(b):
        vj, tau[j], beta[j] = house(src[j:, j])
        v[j:, j] = vj


def unit_lower(panel, v):
    v[...] = np.tril(panel, -1)
    b = panel.shape[1]
    v[np.arange(b), np.arange(b)] = 1.0


def larft(gram, tau, t):
    b = tau.size
    t[...] = 0.0
    for j in range(b):
        t[j, j] = tau[j]
        t[:j, j] = -tau[j] * (t[:j, :j] @ gram[:j, j])


def subtract(c, d):
    c -= d
