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


# The float32 truncated normal serves intervals whose probability is a normal float32 with
# room for the products by the uniforms (2**-24 at least) and whose draws keep at least 2**17
# distinct positions (a narrow interval far in one tail would sit on a coarse grid of its
# float32 tail probabilities); any other goes to the float64 path.
_F32_MIN_MASS = 2.0**-100
_F32_MAX_COARSENING = 2.0**6


def _two_f32(x):
    """``x`` as the sum of two float32 (the second the rounded rest of the first)."""
    hi = np.float32(x)
    return [float(hi), float(np.float32(x - float(hi)))]


def _inward(a, b, dtype):
    """The bounds rounded inward into ``dtype``: the smallest value of ``dtype`` >= ``a`` and
    the largest <= ``b``, so that no value clamped to them rounds outside ``[a, b]``. When
    ``[a, b]`` holds no value of ``dtype``, both are the value of ``dtype`` nearest to its
    midpoint."""
    up, down = np.array(np.inf, dtype), np.array(-np.inf, dtype)
    with np.errstate(over="ignore"):
        lo, hi = np.array(a).astype(dtype), np.array(b).astype(dtype)
        if float(lo) < a:
            lo = np.nextafter(lo, up)
        if float(hi) > b:
            hi = np.nextafter(hi, down)
        if float(lo) > float(hi):
            lo = hi = np.array(a / 2 + b / 2).astype(dtype)
    return float(lo), float(hi)


def trunc_normal(mean, std, a, b, dtype=np.dtype(np.float64)):
    """Normal(mean, std) truncated to the absolute bounds [a, b], by inverse CDF: in float64
    (AS 241) for float64 output; for the other dtypes in float32 (PPND7) where the interval
    allows it (see ``_F32_MIN_MASS``), else in float64 and rounded. The bounds of the clamp are
    rounded inward into the output dtype."""
    lo, hi = (a, b) if dtype == np.float64 else _inward(a, b, dtype)
    if std == 0.0:
        return codes.CONSTANT, [min(max(mean, lo), hi)]
    alpha = (a - mean) / std
    beta = (b - mean) / std
    p_lo, q_hi = _phi(alpha), _phi(-beta)
    if beta <= 0.0:
        mass = _phi(beta) - p_lo
        coarsening = (p_lo + mass) / mass if mass > 0.0 else math.inf
    elif alpha >= 0.0:
        mass = _phi(-alpha) - q_hi
        coarsening = (q_hi + mass) / mass if mass > 0.0 else math.inf
    else:
        mass = 1.0 - p_lo - q_hi
        coarsening = 1.0
    if not mass >= 1e-290:  # keeps every tail probability a normal float64
        raise ValueError(f"the interval [a, b] = [{a}, {b}] has probability below 1e-290 under "
                         f"normal(mean={mean}, std={std}): move it closer to the mean")
    if dtype != np.float64 and mass >= _F32_MIN_MASS and coarsening <= _F32_MAX_COARSENING:
        return codes.TRUNC_NORMAL_F32, [float(np.float32(v)) for v in (
            mean, std, lo, hi, p_lo, q_hi)] + _two_f32(mass) + _two_f32(p_lo - 0.5)
    return codes.TRUNC_NORMAL, [mean, std, lo, hi, p_lo, q_hi, mass]
