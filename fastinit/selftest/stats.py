"""The statistics of the selftest, in NumPy and the math module (SciPy is not a dependency):
Kolmogorov-Smirnov against a given CDF, a sign test, moments, and the CDFs the laws need.

Every sample the selftest draws comes from a fixed seed, and the bits are promised, so every
p-value is one fixed number on every machine: a check either always passes or never does.
"""
import math

import numpy as np

P_MIN = 1e-3  # a correct sampler passes every fixed-seed test with room to spare
_erfc = np.frompyfunc(math.erfc, 1, 1)


def ks_pvalue(x, cdf):
    """``(D, p)``: the Kolmogorov-Smirnov statistic of the sample ``x`` against ``cdf`` (a
    vectorized function) and its asymptotic p-value (Stephens' small-sample correction)."""
    x = np.sort(np.asarray(x, np.float64).ravel())
    n = x.size
    f = np.asarray(cdf(x), np.float64)
    i = np.arange(1, n + 1)
    d = float(max(np.max(i / n - f), np.max(f - (i - 1) / n)))
    lam = (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) * d
    if lam < 0.2:  # the series converges slowly there, and the p-value is 1 to many digits
        return d, 1.0
    p = 2.0 * sum((-1) ** (k - 1) * math.exp(-2.0 * k * k * lam * lam) for k in range(1, 101))
    return d, min(max(p, 0.0), 1.0)


def sign_pvalue(positive, n):
    """Two-sided p-value of ``positive`` successes in ``n`` fair coin flips (normal
    approximation with continuity correction: the selftest's ``n`` are in the hundreds)."""
    z = (abs(positive - n / 2) - 0.5) / (math.sqrt(n) / 2)
    return math.erfc(max(z, 0.0) / math.sqrt(2.0))


def moments_z(x, mean, var):
    """``(z_mean, z_var)``: how many standard errors the sample's mean and variance are from
    ``mean`` and ``var`` (the errors estimated from the sample's own second and fourth
    central moments)."""
    x = np.asarray(x, np.float64).ravel()
    n = x.size
    m = x.mean()
    c = x - m
    m2 = float(np.mean(c * c))
    m4 = float(np.mean(c ** 4))
    z_mean = (m - mean) / math.sqrt(m2 / n)
    z_var = (m2 - var) / math.sqrt(max(m4 - m2 * m2, 1e-300) / n)
    return float(z_mean), float(z_var)


# --- CDFs -------------------------------------------------------------------------------------

def normal_cdf(mean, std):
    return lambda x: 0.5 * _erfc(-(np.asarray(x) - mean) / (std * math.sqrt(2.0))).astype(
        np.float64)


def uniform_cdf(low, high):
    return lambda x: np.clip((np.asarray(x) - low) / (high - low), 0.0, 1.0)


def trunc_normal_cdf(mean, std, a, b):
    phi = normal_cdf(0.0, 1.0)
    lo, hi = (float(phi(np.array([(t - mean) / std]))[0]) for t in (a, b))
    return lambda x: np.clip((phi((np.asarray(x) - mean) / std) - lo) / (hi - lo), 0.0, 1.0)


def sphere3_coordinate_cdf(t):
    """CDF of one coordinate of a uniform point on the sphere S^3 (a column of a Haar
    orthogonal 4 x 4 matrix): density ``2 sqrt(1 - t**2) / pi`` on [-1, 1]."""
    t = np.clip(np.asarray(t, np.float64), -1.0, 1.0)
    return 0.5 + (t * np.sqrt(1.0 - t * t) + np.arcsin(t)) / math.pi


def truncated_exponential_cdf(upper):
    """CDF of ``|z|**2`` for a standard complex normal ``z`` (variance 1) whose modulus is
    truncated to ``upper``: an exponential of mean 1 cut at ``upper**2``."""
    mass = -math.expm1(-upper * upper)
    return lambda x: np.clip(-np.expm1(-np.asarray(x, np.float64)) / mass, 0.0, 1.0)
