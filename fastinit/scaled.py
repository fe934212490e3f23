"""Fan-based initializers: Xavier/Glorot, Kaiming/He, LeCun and JAX's variance scaling.

torch's and JAX's names are aliases of one implementation (``glorot_uniform is
xavier_uniform``); ``convention`` picks the framework whose formulas and layout are followed:

- ``"torch"`` (default): fans from ``(out, in, *kernel)``; ``*_normal`` is an untruncated
  normal; gains from :func:`fastinit.calculate_gain`.
- ``"jax"``: fans from ``in_axis=-2``, ``out_axis=-1``, ``batch_axis=()``; ``*_normal`` is a
  normal truncated at two standard deviations whose std is divided by 0.87962566103423978,
  so the variance is the intended one (Keras does the same).

References: X. Glorot and Y. Bengio, "Understanding the difficulty of training deep
feedforward neural networks", AISTATS 2010. K. He, X. Zhang, S. Ren and J. Sun, "Delving deep
into rectifiers", ICCV 2015. Y. LeCun, L. Bottou, G. Orr and K.-R. Mueller, "Efficient
BackProp", 1998.
"""
import math

from . import _plans
from ._api import allocating, in_place, warn_zero_element
from ._checks import INEXACT_DTYPES, check_choice, check_number
from .fans import (CONVENTIONS, DISTRIBUTIONS, MODES, calculate_gain, compute_fans, jax_scaled,
                   jax_variance, variance_scale)

COMMON = """convention : {"torch", "jax"}
        Whose fans and distribution to follow (see the module docstring).
    in_axis, out_axis, batch_axis : int or tuple of int, optional
        Override the convention's axes for the fans (JAX's parameters).
    dtype : {"float32", "float64", "float16", "bfloat16", "complex64", "complex128"}
        Complex: torch's law for ``convention="torch"`` (each part uniform, or the complex
        normal); JAX's complex laws for ``"jax"`` and for :func:`variance_scaling` (the
        complex normal, the uniform law on a disk, the normal with a truncated modulus).
    seed, stream, region, device
        As for :func:`fastinit.normal`. Fans always come from the global ``shape``.
"""


def _fill(req, distribution, value):
    """Fill by the distribution of the resolved scale ``value`` (a bound or a std). A complex
    target: each part uniform (torch's law), or the complex normal of variance ``value**2``."""
    if value == 0.0:
        return req.fill(_plans.constant(0.0, req.dtype))
    if distribution == "uniform":
        return req.fill(_plans.uniform(-value, value, req.dtype))
    if distribution == "normal":
        return req.fill(_plans.normal(0.0, value, req.dtype))
    return req.fill(_plans.trunc_normal(0.0, value, -2.0 * value, 2.0 * value, req.dtype))


def _fill_jax(req, scale, mode, distribution, axes, convention):
    """Fill by JAX's ``variance_scaling``. A complex target takes JAX's complex laws: the
    complex normal, the uniform law on a disk, the normal whose modulus is truncated."""
    if not req.is_complex or distribution == "normal":
        return _fill(req, *jax_scaled(req.shape, scale, mode, distribution, *axes, convention))
    sd = math.sqrt(jax_variance(req.shape, scale, mode, *axes, convention))
    if sd == 0.0:
        return req.fill(_plans.constant(0.0, req.dtype))
    if distribution == "uniform":
        return req.fill(_plans.disk(sd))
    return req.fill(_plans.truncated_modulus(sd / _plans.TRUNCATED_COMPLEX_STD, 2.0))


def _torch_fan(shape, mode, axes):
    fan_in, fan_out = compute_fans(shape, "torch", *axes)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    if mode == "fan_avg":
        return (fan_in + fan_out) / 2
    return math.sqrt(fan_in * fan_out)


def _scaled(req, family, uniform, convention, axes, gain=1.0, a=0, mode="fan_in",
            nonlinearity="leaky_relu"):
    """Resolve and fill one fan-based initializer; every check runs before the fill."""
    check_choice(convention, "convention", CONVENTIONS)
    check_choice(mode, "mode", MODES)
    gain = check_number(gain, "gain")
    shape = req.shape
    if family == "kaiming":
        if len(shape) and 0 in shape:
            warn_zero_element()
            return req.out
        calculate_gain(nonlinearity, a)  # validates nonlinearity and a
    compute_fans(shape, convention, *axes)  # validates the dimensions and axes
    if req.empty:
        return req.out
    if convention == "torch":
        if family == "xavier":
            fan_in, fan_out = compute_fans(shape, "torch", *axes)
            std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
        elif family == "kaiming":
            std = calculate_gain(nonlinearity, a) / math.sqrt(_torch_fan(shape, mode, axes))
        else:  # lecun: fan_in, gain 1
            std = 1.0 / math.sqrt(_torch_fan(shape, "fan_in", axes))
        if uniform:
            return _fill(req, "uniform", math.sqrt(3.0) * std)
        return _fill(req, "normal", std)
    if family == "xavier":
        scale, mode = gain**2, "fan_avg"
    elif family == "kaiming":
        scale = variance_scale(nonlinearity, a)
    else:
        scale, mode = 1.0, "fan_in"
    distribution = "uniform" if uniform else "truncated_normal"
    return _fill_jax(req, scale, mode, distribution, axes, "jax")


def xavier_uniform(shape, gain=1.0, *, convention="torch", in_axis=None, out_axis=None,
                   batch_axis=(), dtype="float32", seed=None, stream=0, region=None,
                   device="cpu"):
    """Xavier/Glorot uniform (Glorot and Bengio 2010); alias ``glorot_uniform``.

    .. math:: U(-b, b),\\quad b = \\text{{gain}}\\sqrt{{\\frac{{6}}{{\\text{{fan\\_in}} +
              \\text{{fan\\_out}}}}}}

    (torch: ``std = gain * sqrt(2 / (fan_in + fan_out))``, ``b = sqrt(3) * std``; jax:
    ``variance_scaling(gain**2, "fan_avg", "uniform")``).

    Parameters
    ----------
    shape : tuple of int
        At least 2 dimensions.
    gain : float
    {common}
    Examples
    --------
    >>> w = fastinit.xavier_uniform((256, 128), seed=0)
    """
    req = allocating(shape, dtype, seed, stream, region, device, INEXACT_DTYPES)
    return _scaled(req, "xavier", True, convention, (in_axis, out_axis, batch_axis), gain=gain)


def xavier_uniform_(out, gain=1.0, *, convention="torch", in_axis=None, out_axis=None,
                    batch_axis=(), seed=None, stream=0, shape=None, region=None):
    """In-place :func:`xavier_uniform` (alias ``glorot_uniform_``)."""
    req = in_place(out, seed, stream, shape, region, INEXACT_DTYPES)
    return _scaled(req, "xavier", True, convention, (in_axis, out_axis, batch_axis), gain=gain)


def xavier_normal(shape, gain=1.0, *, convention="torch", in_axis=None, out_axis=None,
                  batch_axis=(), dtype="float32", seed=None, stream=0, region=None,
                  device="cpu"):
    """Xavier/Glorot normal (Glorot and Bengio 2010); alias ``glorot_normal``.

    .. math:: \\text{{std}} = \\text{{gain}}\\sqrt{{\\frac{{2}}{{\\text{{fan\\_in}} +
              \\text{{fan\\_out}}}}}}

    torch: ``N(0, std)``. jax: ``variance_scaling(gain**2, "fan_avg", "truncated_normal")``,
    a normal truncated to ``[-2 s, 2 s]`` with ``s = std / 0.87962566103423978``.

    Parameters
    ----------
    shape : tuple of int
        At least 2 dimensions.
    gain : float
    {common}
    Examples
    --------
    >>> w = fastinit.glorot_normal((3, 3, 128, 256), convention="jax", seed=2)
    """
    req = allocating(shape, dtype, seed, stream, region, device, INEXACT_DTYPES)
    return _scaled(req, "xavier", False, convention, (in_axis, out_axis, batch_axis), gain=gain)


def xavier_normal_(out, gain=1.0, *, convention="torch", in_axis=None, out_axis=None,
                   batch_axis=(), seed=None, stream=0, shape=None, region=None):
    """In-place :func:`xavier_normal` (alias ``glorot_normal_``)."""
    req = in_place(out, seed, stream, shape, region, INEXACT_DTYPES)
    return _scaled(req, "xavier", False, convention, (in_axis, out_axis, batch_axis), gain=gain)


def kaiming_uniform(shape, a=0, mode="fan_in", nonlinearity="leaky_relu", *, convention="torch",
                    in_axis=None, out_axis=None, batch_axis=(), dtype="float32", seed=None,
                    stream=0, region=None, device="cpu"):
    """Kaiming/He uniform (He et al. 2015); alias ``he_uniform``.

    .. math:: U(-b, b),\\quad b = \\text{{gain}}\\sqrt{{\\frac{{3}}{{\\text{{fan\\_mode}}}}}}

    torch: ``gain = calculate_gain(nonlinearity, a)``, ``std = gain / sqrt(fan)``,
    ``b = sqrt(3) * std``. jax: ``variance_scaling(gain**2, mode, "uniform")`` with
    ``gain**2`` written exactly (2.0 for ReLU). A zero-element shape warns, as torch does,
    and is a no-op.

    Parameters
    ----------
    shape : tuple of int
        At least 2 dimensions.
    a : float
        Negative slope of the rectifier (``nonlinearity="leaky_relu"``).
    mode : {{"fan_in", "fan_out", "fan_avg", "fan_geo_avg"}}
    nonlinearity : str
        As for :func:`fastinit.calculate_gain`.
    {common}
    Examples
    --------
    >>> w = fastinit.kaiming_uniform((256, 128, 3, 3), a=5 ** 0.5, seed=1)
    """
    req = allocating(shape, dtype, seed, stream, region, device, INEXACT_DTYPES)
    return _scaled(req, "kaiming", True, convention, (in_axis, out_axis, batch_axis), a=a,
                   mode=mode, nonlinearity=nonlinearity)


def kaiming_uniform_(out, a=0, mode="fan_in", nonlinearity="leaky_relu", *, convention="torch",
                     in_axis=None, out_axis=None, batch_axis=(), seed=None, stream=0,
                     shape=None, region=None):
    """In-place :func:`kaiming_uniform` (alias ``he_uniform_``)."""
    req = in_place(out, seed, stream, shape, region, INEXACT_DTYPES)
    return _scaled(req, "kaiming", True, convention, (in_axis, out_axis, batch_axis), a=a,
                   mode=mode, nonlinearity=nonlinearity)


def kaiming_normal(shape, a=0, mode="fan_in", nonlinearity="leaky_relu", *, convention="torch",
                   in_axis=None, out_axis=None, batch_axis=(), dtype="float32", seed=None,
                   stream=0, region=None, device="cpu"):
    """Kaiming/He normal (He et al. 2015); alias ``he_normal``.

    .. math:: \\text{{std}} = \\frac{{\\text{{gain}}}}{{\\sqrt{{\\text{{fan\\_mode}}}}}}

    torch: ``N(0, std)``. jax: ``variance_scaling(gain**2, mode, "truncated_normal")``.
    A zero-element shape warns, as torch does, and is a no-op.

    Parameters
    ----------
    shape : tuple of int
        At least 2 dimensions.
    a : float
    mode : {{"fan_in", "fan_out", "fan_avg", "fan_geo_avg"}}
    nonlinearity : str
    {common}
    Examples
    --------
    >>> w = fastinit.he_normal((512, 256), seed=0)
    """
    req = allocating(shape, dtype, seed, stream, region, device, INEXACT_DTYPES)
    return _scaled(req, "kaiming", False, convention, (in_axis, out_axis, batch_axis), a=a,
                   mode=mode, nonlinearity=nonlinearity)


def kaiming_normal_(out, a=0, mode="fan_in", nonlinearity="leaky_relu", *, convention="torch",
                    in_axis=None, out_axis=None, batch_axis=(), seed=None, stream=0,
                    shape=None, region=None):
    """In-place :func:`kaiming_normal` (alias ``he_normal_``)."""
    req = in_place(out, seed, stream, shape, region, INEXACT_DTYPES)
    return _scaled(req, "kaiming", False, convention, (in_axis, out_axis, batch_axis), a=a,
                   mode=mode, nonlinearity=nonlinearity)


def lecun_uniform(shape, *, convention="torch", in_axis=None, out_axis=None, batch_axis=(),
                  dtype="float32", seed=None, stream=0, region=None, device="cpu"):
    """LeCun uniform (LeCun et al. 1998): ``U(-b, b)``, ``b = sqrt(3 / fan_in)``.

    jax: ``variance_scaling(1.0, "fan_in", "uniform")``.

    Parameters
    ----------
    shape : tuple of int
        At least 2 dimensions.
    {common}
    Examples
    --------
    >>> w = fastinit.lecun_uniform((256, 128), seed=0)
    """
    req = allocating(shape, dtype, seed, stream, region, device, INEXACT_DTYPES)
    return _scaled(req, "lecun", True, convention, (in_axis, out_axis, batch_axis))


def lecun_uniform_(out, *, convention="torch", in_axis=None, out_axis=None, batch_axis=(),
                   seed=None, stream=0, shape=None, region=None):
    """In-place :func:`lecun_uniform`."""
    req = in_place(out, seed, stream, shape, region, INEXACT_DTYPES)
    return _scaled(req, "lecun", True, convention, (in_axis, out_axis, batch_axis))


def lecun_normal(shape, *, convention="torch", in_axis=None, out_axis=None, batch_axis=(),
                 dtype="float32", seed=None, stream=0, region=None, device="cpu"):
    """LeCun normal (LeCun et al. 1998): ``std = 1 / sqrt(fan_in)``.

    torch: ``N(0, std)``. jax: ``variance_scaling(1.0, "fan_in", "truncated_normal")``.

    Parameters
    ----------
    shape : tuple of int
        At least 2 dimensions.
    {common}
    Examples
    --------
    >>> w = fastinit.lecun_normal((256, 128), convention="jax", seed=0)
    """
    req = allocating(shape, dtype, seed, stream, region, device, INEXACT_DTYPES)
    return _scaled(req, "lecun", False, convention, (in_axis, out_axis, batch_axis))


def lecun_normal_(out, *, convention="torch", in_axis=None, out_axis=None, batch_axis=(),
                  seed=None, stream=0, shape=None, region=None):
    """In-place :func:`lecun_normal`."""
    req = in_place(out, seed, stream, shape, region, INEXACT_DTYPES)
    return _scaled(req, "lecun", False, convention, (in_axis, out_axis, batch_axis))


def _variance_scaling(req, scale, mode, distribution, convention, axes):
    check_choice(convention, "convention", CONVENTIONS)
    scale = check_number(scale, "scale", minimum=0.0)
    check_choice(mode, "mode", MODES)
    check_choice(distribution, "distribution", DISTRIBUTIONS)
    compute_fans(req.shape, convention, *axes)
    if req.empty:
        return req.out
    return _fill_jax(req, scale, mode, distribution, axes, convention)


def variance_scaling(shape, scale, mode, distribution, *, convention="torch", in_axis=None,
                     out_axis=None, batch_axis=(), dtype="float32", seed=None, stream=0,
                     region=None, device="cpu"):
    """JAX's ``variance_scaling``: variance ``scale / n`` for ``n`` from ``mode``.

    .. math:: n = \\begin{{cases}} \\text{{fan\\_in}} & \\text{{fan\\_in}}\\\\
              \\text{{fan\\_out}} & \\text{{fan\\_out}}\\\\
              (\\text{{fan\\_in}} + \\text{{fan\\_out}})/2 & \\text{{fan\\_avg}}\\\\
              \\sqrt{{\\text{{fan\\_in}}\\,\\text{{fan\\_out}}}} & \\text{{fan\\_geo\\_avg}}
              \\end{{cases}}

    ``"uniform"``: ``U(-b, b)`` with ``b = sqrt(3 scale / n)``; ``"normal"``:
    ``N(0, sqrt(scale / n))``; ``"truncated_normal"``: a normal truncated at two standard
    deviations with ``std = sqrt(scale / n) / 0.87962566103423978``.

    Parameters
    ----------
    shape : tuple of int
        At least 2 dimensions.
    scale : float
        Finite, >= 0.
    mode : {{"fan_in", "fan_out", "fan_avg", "fan_geo_avg"}}
    distribution : {{"truncated_normal", "normal", "uniform"}}
    {common}
    Examples
    --------
    >>> w = fastinit.variance_scaling((3, 3, 64, 128), 2.0, "fan_in", "truncated_normal",
    ...                               convention="jax", seed=0)
    """
    req = allocating(shape, dtype, seed, stream, region, device, INEXACT_DTYPES)
    return _variance_scaling(req, scale, mode, distribution, convention,
                             (in_axis, out_axis, batch_axis))


def variance_scaling_(out, scale, mode, distribution, *, convention="torch", in_axis=None,
                      out_axis=None, batch_axis=(), seed=None, stream=0, shape=None,
                      region=None):
    """In-place :func:`variance_scaling`."""
    req = in_place(out, seed, stream, shape, region, INEXACT_DTYPES)
    return _variance_scaling(req, scale, mode, distribution, convention,
                             (in_axis, out_axis, batch_axis))


for _f in (xavier_uniform, xavier_normal, kaiming_uniform, kaiming_normal, lecun_uniform,
           lecun_normal, variance_scaling):
    _f.__doc__ = _f.__doc__.format(common=COMMON)

glorot_uniform, glorot_uniform_ = xavier_uniform, xavier_uniform_
glorot_normal, glorot_normal_ = xavier_normal, xavier_normal_
he_uniform, he_uniform_ = kaiming_uniform, kaiming_uniform_
he_normal, he_normal_ = kaiming_normal, kaiming_normal_
