"""Plans: ``(kind, params)`` as the kernels of both backends take them, from checked arguments.

``kind`` is one of the codes of ``fastinit.kernels.codes``; ``params`` are the float64
numbers the kernel reads (see the codes for their meaning). Everything that can be worked out
once per call, rather than once per element, is worked out here.
"""
import functools
import math

import ml_dtypes
import numpy as np

from ._checks import FLOAT_DTYPES, REAL_OF
from .kernels import codes

_TOP = {dt: float(ml_dtypes.finfo(dt).max) for dt in FLOAT_DTYPES}  # the largest finite value

BITS = (codes.BITS, ())  # the raw words of random_bits


def constant(value, dtype):
    """The value rounded once into ``dtype`` (exact in the float32/float64 tile); for a
    complex ``dtype``, its real and imaginary parts, each rounded into the parts' dtype."""
    if dtype in REAL_OF:
        value = complex(value)
        return codes.CONSTANT, [constant(value.real, REAL_OF[dtype])[1][0],
                                constant(value.imag, REAL_OF[dtype])[1][0]]
    with np.errstate(over="ignore"):  # beyond the dtype's range is inf, as in torch
        v = np.array(value, np.float64).astype(dtype)
    return codes.CONSTANT, [float(v)]


def uniform(low, high, dtype):
    """``u * (high - low) + low`` in the generation precision; a value whose rounding into
    ``dtype`` reaches ``high`` becomes ``low`` (torch's rule). A complex ``dtype``: the real and
    imaginary parts each so, independently (torch's ``uniform_`` on complex tensors).

    The bounds must lie within the range of ``dtype`` and their span within that of the
    generation precision (float64 for float64 output, else float32), so that no value is
    infinite or NaN (as ``torch.Tensor.uniform_`` requires).
    """
    dtype = REAL_OF.get(dtype, dtype)  # complex: each part uniform (torch's rule)
    top = _TOP[dtype]
    gen = np.dtype(np.float64) if dtype == np.float64 else np.dtype(np.float32)
    if not (max(abs(low), abs(high)) <= top and high - low <= _TOP[gen]):
        raise ValueError(f"uniform bounds [{low!r}, {high!r}) must lie within the range of "
                         f"{np.dtype(dtype)} (+-{top:.6g}) and high - low within that of "
                         f"{gen}, the precision values are generated in")
    if dtype == np.float64:
        return codes.UNIFORM, [low, high - low, high]
    return codes.UNIFORM, [float(np.float32(low)), float(np.float32(high - low)),
                           _first_f32_reaching(high, dtype)]


@functools.lru_cache(maxsize=256)  # a model's layers share a few bounds: search each once
def _first_f32_reaching(high, dtype):
    """The smallest float32 whose rounding into ``dtype`` is >= ``high``."""
    def reaches(key):  # keys order float32 values monotonically
        bits = np.uint32(key if key >= 0 else (-key) | 0x80000000)
        x = np.array(bits, np.uint32).view(np.float32)
        with np.errstate(over="ignore"):  # float32 beyond float16's range rounds to inf
            return float(x.astype(dtype)) >= high
    lo, hi = -0x7F800000, 0x7F800000  # -inf, inf
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if reaches(mid):
            hi = mid
        else:
            lo = mid
    bits = np.uint32(hi if hi >= 0 else (-hi) | 0x80000000)
    return float(np.array(bits, np.uint32).view(np.float32))


def normal(mean, std, dtype=None):
    """Box-Muller normals, ``mean + std z``. A complex ``dtype``: the real and imaginary parts
    each ``mean + std / sqrt(2) z``, so that ``E|x - mean (1 + 1j)|**2 = std**2`` (torch's and
    JAX's complex normal)."""
    if dtype in REAL_OF:
        return codes.NORMAL, [mean, std / math.sqrt(2.0)]
    return codes.NORMAL, [mean, std]


# JAX's complex truncated normal in variance scaling: the modulus of a standard complex
# normal truncated to 2, and the scale divided by this constant (JAX's)
TRUNCATED_COMPLEX_STD = 0.95311164380491208


def disk(scale):
    """JAX's complex uniform: uniform on the disk of radius ``scale sqrt(2)`` (variance
    ``scale**2``)."""
    return codes.POLAR, [scale, 0.0, 0.0]


def truncated_modulus(scale, upper):
    """JAX's complex truncated normal: ``scale`` times a standard complex normal (variance 1)
    whose modulus is truncated to ``upper``, uniform in its angle."""
    return codes.POLAR, [scale, 1.0, -math.expm1(-upper * upper)]


def _phi(x):
    """Standard normal CDF, accurate in the lower tail."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def trunc_normal(mean, std, a, b):
    """Normal(mean, std) truncated to the absolute bounds [a, b], by inverse CDF."""
    if std == 0.0:
        return codes.CONSTANT, [min(max(mean, a), b)]
    alpha = (a - mean) / std
    beta = (b - mean) / std
    p_lo, q_hi = _phi(alpha), _phi(-beta)
    if beta <= 0.0:
        mass = _phi(beta) - p_lo
    elif alpha >= 0.0:
        mass = _phi(-alpha) - q_hi
    else:
        mass = 1.0 - p_lo - q_hi
    if not mass >= 1e-290:  # keeps every tail probability a normal float64
        raise ValueError(f"the interval [a, b] = [{a}, {b}] has probability below 1e-290 under "
                         f"normal(mean={mean}, std={std}): move it closer to the mean")
    return codes.TRUNC_NORMAL, [mean, std, a, b, p_lo, q_hi, mass]
