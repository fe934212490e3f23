"""Fans, gains and the standard deviations of the fan-based initializers, for both conventions.

``convention="torch"`` follows ``torch.nn.init`` (layout ``(out, in, *kernel)``, untruncated
``*_normal``); ``convention="jax"`` follows ``jax.nn.initializers`` (``in_axis=-2``,
``out_axis=-1``, ``*_normal`` truncated at two standard deviations). Each formula is written
the way the framework writes it, so bounds and deviations agree to the last bit.
"""
import math
import numbers

from ._checks import check_choice, check_number, check_shape

CONVENTIONS = ("torch", "jax")
MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")
NONLINEARITIES = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh", "relu",
                  "leaky_relu", "selu")
# std of a standard normal truncated to [-2, 2]: JAX divides by it to keep the variance
TRUNCATED_STD = 0.87962566103423978


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity (torch's table, torch's exact values).

    ================= ====================================================
    nonlinearity      gain
    ================= ====================================================
    Linear / Identity :math:`1`
    Conv{1,2,3}D      :math:`1`
    Sigmoid           :math:`1`
    Tanh              :math:`\\frac{5}{3}`
    ReLU              :math:`\\sqrt{2}`
    Leaky ReLU        :math:`\\sqrt{\\frac{2}{1 + \\text{negative\\_slope}^2}}`
    SELU              :math:`\\frac{3}{4}`
    ================= ====================================================

    Parameters
    ----------
    nonlinearity : str
        One of the names above (``"linear"``, ``"conv2d"``, ``"relu"``, ``"leaky_relu"``, ...).
    param : float, optional
        The negative slope of ``"leaky_relu"`` (default 0.01).

    Examples
    --------
    >>> fastinit.calculate_gain("leaky_relu", 0.2)
    1.3867504905630728
    """
    check_choice(nonlinearity, "nonlinearity", NONLINEARITIES)
    if nonlinearity in ("tanh",):
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, bool) or not isinstance(param, numbers.Real):
            raise ValueError(f"negative_slope {param} not a valid number")
        else:
            slope = param
        return math.sqrt(2.0 / (1 + slope**2))
    return 1


def _axes(axis, ndim, name):
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, int) or not -ndim <= a < ndim:
            raise ValueError(f"{name} must be an axis (or axes) of a {ndim}-d shape, got {axis!r}")
    return tuple(a % ndim for a in axes)


def compute_fans(shape, convention="torch", in_axis=None, out_axis=None, batch_axis=()):
    """``(fan_in, fan_out)`` of a weight shape.

    torch: ``fan_in = shape[1] * prod(shape[2:])``, ``fan_out = shape[0] * prod(shape[2:])``
    (ints). jax: ``fan_in = in_size * receptive``, ``fan_out = out_size * receptive`` with
    ``receptive = prod(shape) / in_size / out_size / batch_size`` (floats), the sizes taken
    over ``in_axis`` (default -2), ``out_axis`` (default -1) and ``batch_axis`` (default none).
    Passing axes with the torch convention uses the same formula with those axes.

    Raises
    ------
    ValueError, TypeError
        For a shape that is not a sequence of non-negative ints, fewer than 2 dimensions or an
        unknown convention.
    """
    check_choice(convention, "convention", CONVENTIONS)
    shape = check_shape(shape)
    ndim = len(shape)
    if ndim < 2:
        raise ValueError(f"fan in and fan out can not be computed for shape {tuple(shape)} "
                         f"with fewer than 2 dimensions")
    if convention == "torch" and in_axis is None and out_axis is None and not batch_axis:
        receptive = 1
        for s in shape[2:]:
            receptive *= s
        return shape[1] * receptive, shape[0] * receptive
    default_in, default_out = (1, 0) if convention == "torch" else (-2, -1)
    ins = _axes(default_in if in_axis is None else in_axis, ndim, "in_axis")
    outs = _axes(default_out if out_axis is None else out_axis, ndim, "out_axis")
    batches = _axes(batch_axis, ndim, "batch_axis")
    in_size = math.prod(shape[i] for i in ins)
    out_size = math.prod(shape[i] for i in outs)
    batch_size = math.prod(shape[i] for i in batches)
    if in_size * out_size * batch_size == 0:  # a zero-element shape: no fans, no division
        return 0.0, 0.0
    receptive = math.prod(shape) / in_size / out_size / batch_size
    return in_size * receptive, out_size * receptive


def variance_scale(nonlinearity, param):
    """``calculate_gain(nonlinearity, param) ** 2`` written exactly (2.0 for ReLU, not
    2.0000000000000004), which is what JAX's ``scale`` holds."""
    check_choice(nonlinearity, "nonlinearity", NONLINEARITIES)
    if nonlinearity == "leaky_relu":
        calculate_gain(nonlinearity, param)  # validates param
        slope = 0.01 if param is None else param
        return 2.0 / (1 + slope**2)
    return {"tanh": 25.0 / 9, "relu": 2.0, "selu": 9.0 / 16}.get(nonlinearity, 1.0)


def jax_variance(shape, scale, mode, in_axis, out_axis, batch_axis, convention):
    """JAX's ``variance_scaling`` variance, ``scale / n`` for ``n`` from ``mode``, as JAX
    computes it."""
    check_choice(mode, "mode", MODES)
    fan_in, fan_out = compute_fans(shape, convention, in_axis, out_axis, batch_axis)
    if mode == "fan_in":
        denominator = fan_in
    elif mode == "fan_out":
        denominator = fan_out
    elif mode == "fan_avg":
        denominator = (fan_in + fan_out) / 2
    else:
        denominator = (fan_in * fan_out) ** 0.5
    return scale / denominator


def jax_scaled(shape, scale, mode, distribution, in_axis, out_axis, batch_axis, convention):
    """``(distribution, value)``: JAX's ``variance_scaling``; value is the uniform bound or the
    std of the (truncated) normal, computed as JAX computes it."""
    check_choice(distribution, "distribution", DISTRIBUTIONS)
    variance = jax_variance(shape, scale, mode, in_axis, out_axis, batch_axis, convention)
    if distribution == "truncated_normal":
        return distribution, math.sqrt(variance) / TRUNCATED_STD
    if distribution == "normal":
        return distribution, math.sqrt(variance)
    return distribution, math.sqrt(3 * variance)


def check_scale(scale):
    return check_number(scale, "scale", minimum=0.0)
