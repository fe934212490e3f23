"""Raw bits and the plain distributions: uniform, normal, truncated normal (torch and JAX forms).

Every value is a pure function of ``(seed, stream, flat index)`` (see ``fastinit.kernels``), so
thread count, ``region=`` and the target's memory layout never change a bit.
"""
import numpy as np

from . import _plans
from ._api import allocating, in_place
from ._checks import INEXACT_DTYPES, check_number

_BITS = (np.dtype(np.uint32),)

COMMON = """seed : int, numpy.random.SeedSequence or None
        An int in [0, 2**64) is the Philox key itself (``key = (seed & 0xFFFFFFFF,
        seed >> 32)``); a SeedSequence is hashed to a key; None draws OS entropy.
    stream : int
        Counter words 2-3, in [0, 2**64): independent streams from one seed (default 0).
    region : tuple of slice, optional
        Generate only this block of the global tensor; it equals the same slice of the full
        result, bit for bit.
"""


def random_bits(shape, *, seed=None, stream=0, region=None):
    """The raw Philox4x32-10 words of the counter contract, as uint32.

    Element ``i`` (row-major flat index of the global tensor) is word ``i % 4`` of the block
    with counter ``(i // 4 mod 2**32, i // 4 >> 32, stream mod 2**32, stream >> 32)``
    under the key from ``seed``. Check it against any Philox implementation.

    Parameters
    ----------
    shape : int or tuple of int
    {common}
    Returns
    -------
    numpy.ndarray of uint32, of the region's shape.

    Examples
    --------
    >>> fastinit.random_bits(4, seed=0)  # Philox4x32-10 of counter 0, key 0
    array([1713891541, 3781805453, 3159862348, 2600524760], dtype=uint32)
    """
    req = allocating(shape, np.uint32, seed, stream, region, "cpu", dtypes=_BITS)
    return req.fill(_plans.BITS)


def _uniform(req, low, high):
    low = check_number(low, "low")
    high = check_number(high, "high")
    if not low < high:
        raise ValueError(f"uniform needs low < high, got low={low!r}, high={high!r}")
    return req.fill(_plans.uniform(low, high, req.dtype))


def uniform(shape, low=0.0, high=1.0, *, dtype="float32", seed=None, stream=0, region=None,
            device="cpu"):
    """Uniform on ``[low, high)``.

    .. math:: x = u \\cdot (\\text{{high}} - \\text{{low}}) + \\text{{low}},\\quad
              u = \\lfloor w / 2^8 \\rfloor \\, 2^{{-24}}

    from the 32-bit word ``w`` of each element (float64 output: 53 bits of a 64-bit draw).
    Computed in float32 (float64 for float64 output) and rounded once into ``dtype``; a value
    whose rounding reaches ``high`` becomes ``low`` (torch's rule), so the output stays in
    ``[low, high)``. Complex dtypes: the real and imaginary parts each so, independently
    (torch's ``uniform_`` on complex tensors; JAX's ``uniform`` refuses complex).

    Parameters
    ----------
    shape : int or tuple of int
    low, high : float
        Finite, ``low < high``.
    dtype : {{"float32", "float64", "float16", "bfloat16", "complex64", "complex128"}}
    {common}
    Examples
    --------
    >>> w = fastinit.uniform((256, 128), -0.1, 0.1, seed=0)
    """
    return _uniform(allocating(shape, dtype, seed, stream, region, device, INEXACT_DTYPES),
                    low, high)


def uniform_(out, low=0.0, high=1.0, *, seed=None, stream=0, shape=None, region=None):
    """In-place :func:`uniform`: fills ``out`` (the ``region`` of global ``shape``) and
    returns it."""
    return _uniform(in_place(out, seed, stream, shape, region, INEXACT_DTYPES), low, high)


def _normal(req, mean, std):
    mean = check_number(mean, "mean")
    std = check_number(std, "std", minimum=0.0)
    return req.fill(_plans.normal(mean, std, req.dtype))


def normal(shape, mean=0.0, std=1.0, *, dtype="float32", seed=None, stream=0, region=None,
           device="cpu"):
    """Normal with mean ``mean`` and standard deviation ``std``, by Box-Muller.

    .. math:: z_0 = r\\cos\\theta,\\ z_1 = r\\sin\\theta,\\quad r = \\sqrt{{-2\\ln u}},
              \\quad x = \\text{{mean}} + \\text{{std}}\\cdot z

    Elements ``2j`` and ``2j + 1`` share one pair of draws (Box and Muller 1958); see
    ``fastinit.kernels`` for the bit layout. Generated in float32 (float64 for float64
    output) and rounded once into ``dtype``.

    Complex dtypes (the convention of torch and JAX): the real and imaginary parts are
    independent, each ``N(mean, std**2 / 2)``, so ``E|x - mean (1 + 1j)|**2 = std**2``. The
    parts of element ``i`` are the pair ``2i, 2i + 1`` of the real view: ``normal(shape,
    mean, std, dtype="complex64")`` equals ``normal(shape + (2,), mean, std / sqrt(2))``
    viewed as complex64, bit for bit (complex128: float64).

    Parameters
    ----------
    shape : int or tuple of int
    mean : float
    std : float
        Finite and >= 0.
    dtype : {{"float32", "float64", "float16", "bfloat16", "complex64", "complex128"}}
    {common}
    Examples
    --------
    >>> w = fastinit.normal((4096, 4096), std=0.02, dtype="bfloat16", seed=0)
    """
    return _normal(allocating(shape, dtype, seed, stream, region, device, INEXACT_DTYPES),
                   mean, std)


def normal_(out, mean=0.0, std=1.0, *, seed=None, stream=0, shape=None, region=None):
    """In-place :func:`normal`: fills ``out`` (the ``region`` of global ``shape``) and
    returns it."""
    return _normal(in_place(out, seed, stream, shape, region, INEXACT_DTYPES), mean, std)


def _trunc_normal(req, mean, std, a, b):
    mean = check_number(mean, "mean")
    std = check_number(std, "std", minimum=0.0)
    a = check_number(a, "a", finite=False)
    b = check_number(b, "b", finite=False)
    if not a < b:
        raise ValueError(f"trunc_normal needs a < b, got a={a!r}, b={b!r}")
    return req.fill(_plans.trunc_normal(mean, std, a, b, req.dtype))


def trunc_normal(shape, mean=0.0, std=1.0, a=-2.0, b=2.0, *, dtype="float32", seed=None,
                 stream=0, region=None, device="cpu"):
    """Normal(mean, std) truncated to the absolute bounds ``[a, b]`` (torch's form).

    Sampled by inverse CDF, one draw per element and no rejection loop:

    .. math:: x = \\text{{mean}} + \\text{{std}}\\cdot\\Phi^{{-1}}\\big(\\Phi(\\alpha) +
              u\\,(\\Phi(\\beta) - \\Phi(\\alpha))\\big),\\quad
              \\alpha = \\tfrac{{a - \\text{{mean}}}}{{\\text{{std}}}},\\
              \\beta = \\tfrac{{b - \\text{{mean}}}}{{\\text{{std}}}}

    The quantile is taken from whichever tail probability is smaller, both kept exact, so
    intervals far in a tail (``a = 8 * std``) and tiny ``std`` are sampled correctly.

    - float64 output: Wichura's AS 241 in float64 (about 1e-16 relative), from a 53-bit ``u``.
    - float32, float16 and bfloat16 output: AS 241's single-precision form (PPND7) in float32
      arithmetic, from ``u = ((w >> 9) + 1/2) 2**-23``, with ``p - 1/2`` computed from
      two-float constants so that values near the mean are as exact as the others. Every
      value is within 7 units in the last place (float32) of ``mean + std`` times the exact
      quantile of its ``u`` (tested over all 2**23 uniforms on a set of intervals, worst case
      measured 6.3). Intervals of probability below 2**-100, or narrow ones far in a tail,
      use the float64 sampler instead, rounded to float32.

    Every value lies in ``[a, b]`` after rounding into ``dtype``: it is clamped to the bounds
    rounded inward into ``dtype`` (when ``[a, b]`` holds no value of ``dtype``, every value is
    the one nearest its midpoint), then float32 values are rounded once into ``dtype``.

    References: M. J. Wichura, "Algorithm AS 241: the percentage points of the normal
    distribution", Applied Statistics 37 (1988).

    Parameters
    ----------
    shape : int or tuple of int
    mean, std : float
        Finite; ``std >= 0`` (``std = 0`` gives ``mean`` clamped to ``[a, b]``).
    a, b : float
        ``a < b``; either may be infinite.
    dtype : {{"float32", "float64", "float16", "bfloat16"}}
    {common}
    Examples
    --------
    >>> w = fastinit.trunc_normal((768, 768), std=0.02, a=-0.04, b=0.04, seed=0)
    """
    return _trunc_normal(allocating(shape, dtype, seed, stream, region, device), mean, std, a, b)


def trunc_normal_(out, mean=0.0, std=1.0, a=-2.0, b=2.0, *, seed=None, stream=0, shape=None,
                  region=None):
    """In-place :func:`trunc_normal`: fills ``out`` and returns it."""
    return _trunc_normal(in_place(out, seed, stream, shape, region), mean, std, a, b)


def _truncated_normal(req, stddev, lower, upper):
    stddev = check_number(stddev, "stddev", minimum=0.0)
    lower = check_number(lower, "lower", finite=False)
    upper = check_number(upper, "upper", finite=False)
    if not lower < upper:
        raise ValueError(f"truncated_normal needs lower < upper, got lower={lower!r}, "
                         f"upper={upper!r}")
    if stddev == 0.0:
        return req.fill(_plans.constant(0.0, req.dtype))
    return req.fill(_plans.trunc_normal(0.0, stddev, lower * stddev, upper * stddev,
                                        req.dtype))


def truncated_normal(shape, stddev=1e-2, lower=-2.0, upper=2.0, *, dtype="float32", seed=None,
                     stream=0, region=None, device="cpu"):
    """JAX's ``truncated_normal``: a standard normal truncated to ``[lower, upper]``, times
    ``stddev`` (bounds in units of ``stddev``; note that, as in JAX, the result's standard
    deviation is below ``stddev``).

    .. math:: x = \\text{{stddev}}\\cdot z,\\quad z \\sim \\mathcal{{N}}(0, 1)\\ \\text{{on}}\\
              [\\text{{lower}}, \\text{{upper}}]

    Same sampler as :func:`trunc_normal` (``trunc_normal(0, stddev, lower * stddev,
    upper * stddev)``).

    Parameters
    ----------
    shape : int or tuple of int
    stddev : float
        Finite, >= 0 (JAX's default 0.01).
    lower, upper : float
        ``lower < upper``, in units of ``stddev``.
    dtype : {{"float32", "float64", "float16", "bfloat16"}}
    {common}
    Examples
    --------
    >>> w = fastinit.truncated_normal((512, 512), stddev=0.02, seed=0)
    """
    return _truncated_normal(allocating(shape, dtype, seed, stream, region, device),
                             stddev, lower, upper)


def truncated_normal_(out, stddev=1e-2, lower=-2.0, upper=2.0, *, seed=None, stream=0,
                      shape=None, region=None):
    """In-place :func:`truncated_normal`: fills ``out`` and returns it."""
    return _truncated_normal(in_place(out, seed, stream, shape, region), stddev, lower, upper)


for _f in (random_bits, uniform, normal, trunc_normal, truncated_normal):
    _f.__doc__ = _f.__doc__.format(common=COMMON)
