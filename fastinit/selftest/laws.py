"""What every elementwise initializer must produce: the selftest's cases and their expected
values from the slow reference.

A :class:`Case` is one initializer with fixed arguments: its allocating and in-place forms,
the dtypes it takes and its expected values. The fans, gains and scales are written out here
as torch and JAX write them, not taken from fastinit; the values then come from
:mod:`fastinit.selftest.reference`. A complex target is its real view ``(*shape, 2)``: the
uniform and the normal are the float ones of that shape (the normal's std divided by
``sqrt(2)``); JAX's complex laws are the reference's ``polar_ref``.
"""
import math

import numpy as np

from . import reference as R

FLOAT = ("float32", "float64", "float16", "bfloat16")
COMPLEX = ("complex64", "complex128")
INEXACT = FLOAT + COMPLEX
REAL_OF = {"complex64": np.dtype(np.float32), "complex128": np.dtype(np.float64)}
# JAX: the std of a standard normal truncated to [-2, 2], and the std of the modulus-truncated
# standard complex normal (the constants jax.nn.initializers divides by)
TRUNCATED_STD = 0.87962566103423978
TRUNCATED_COMPLEX_STD = 0.95311164380491208


def dtype_of(name):
    """The NumPy dtype of a dtype name (``bfloat16``: ml_dtypes')."""
    return R.BFLOAT16 if name == "bfloat16" else np.dtype(name)


class Case:
    """One initializer with fixed arguments.

    Parameters
    ----------
    name : str
        The check's name (``kaiming_uniform``, ``glorot_normal_jax``).
    init : str
        The fastinit function (its ``_`` form is the in-place one).
    args, kwargs
        Its arguments after the shape (or the target).
    dtypes : tuple of str
    expect : callable
        ``expect(shape, dtype)``: the whole tensor, from the reference.
    shape : {"fast", "slow", "conv", "dirac", "eye"}
        Which shape it is checked at: ``slow`` for references that cost ~0.2 ms per element
        (the truncated normal's quantile in exact arithmetic), small.
    normal_family : bool
        Whether the values come from transcendental functions (a GPU's promise for them is a
        tolerance, not bits).
    """

    def __init__(self, name, init, args, kwargs, dtypes, expect, shape="fast",
                 normal_family=False):
        self.name, self.init, self.args, self.kwargs = name, init, tuple(args), dict(kwargs)
        self.dtypes, self.expect, self.shape = tuple(dtypes), expect, shape
        self.normal_family = normal_family

    def allocate(self, shape, dtype, **kw):
        import fastinit as fi
        extra = {} if dtype is None else {"dtype": dtype}
        return getattr(fi, self.init)(shape, *self.args, **self.kwargs, **extra, **kw)

    def fill(self, out, **kw):
        import fastinit as fi
        return getattr(fi, self.init + "_")(out, *self.args, **self.kwargs, **kw)

    @property
    def seeded(self):
        return "seed" in self.kwargs

    def __repr__(self):
        return f"Case({self.name!r})"


# --- fans, as torch and JAX compute them ------------------------------------------------------

def torch_fans(shape):
    """torch.nn.init: ``(fan_in, fan_out)`` of ``(out, in, *kernel)``."""
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive


def jax_fans(shape):
    """jax.nn.initializers: ``(fan_in, fan_out)`` with ``in_axis=-2, out_axis=-1``."""
    receptive = math.prod(shape) / shape[-2] / shape[-1]
    return shape[-2] * receptive, shape[-1] * receptive


def jax_variance(shape, scale, mode, fans=jax_fans):
    fan_in, fan_out = fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2,
         "fan_geo_avg": (fan_in * fan_out) ** 0.5}[mode]
    return scale / n


# --- expected values: shape, dtype -> the whole tensor -------------------------------------------

def _complex(real, dtype):
    return np.ascontiguousarray(real).view(np.dtype(dtype))[..., 0]


def uniform(low, high, seed, stream):
    def expect(shape, dtype):
        dt = dtype_of(dtype)
        if dtype in REAL_OF:
            return _complex(R.uniform_ref(shape + (2,), low, high, REAL_OF[dtype], seed,
                                          stream), dt)
        return R.uniform_ref(shape, low, high, dt, seed, stream)
    return expect


def normal(mean, std, seed, stream):
    def expect(shape, dtype):
        dt = dtype_of(dtype)
        if dtype in REAL_OF:
            return _complex(R.normal_ref(shape + (2,), mean, std / math.sqrt(2.0),
                                         REAL_OF[dtype], seed, stream), dt)
        return R.normal_ref(shape, mean, std, dt, seed, stream)
    return expect


def trunc_normal(mean, std, a, b, seed, stream):
    return lambda shape, dtype: R.trunc_normal_ref(shape, mean, std, a, b, dtype_of(dtype),
                                                   seed, stream)


def truncated_normal(stddev, lower, upper, seed, stream):
    return lambda shape, dtype: R.truncated_normal_ref(shape, stddev, lower, upper,
                                                       dtype_of(dtype), seed, stream)


def torch_scaled(family, uniform_law, seed, stream, gain=1.0, a=0.0, mode="fan_in"):
    """torch's xavier, kaiming (leaky_relu with slope ``a``) and lecun, as torch writes them:
    ``std`` from the fans, ``bound = sqrt(3) * std``."""
    def expect(shape, dtype):
        fan_in, fan_out = torch_fans(shape)
        if family == "xavier":
            std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
        elif family == "kaiming":
            std = math.sqrt(2.0 / (1 + a ** 2)) / math.sqrt(fan_in if mode == "fan_in"
                                                            else fan_out)
        else:
            std = 1.0 / math.sqrt(fan_in)
        if uniform_law:
            bound = math.sqrt(3.0) * std
            return uniform(-bound, bound, seed, stream)(shape, dtype)
        return normal(0.0, std, seed, stream)(shape, dtype)
    return expect


def variance_scaling(scale, mode, distribution, seed, stream, fans=jax_fans):
    """JAX's variance scaling, its complex laws included."""
    def expect(shape, dtype):
        var = jax_variance(shape, scale, mode, fans)
        sd = math.sqrt(var)
        if distribution == "normal":
            return normal(0.0, sd, seed, stream)(shape, dtype)
        if dtype in REAL_OF:
            if distribution == "uniform":
                return R.polar_ref(shape, sd, False, 0.0, dtype_of(dtype), seed, stream)
            return R.polar_ref(shape, sd / TRUNCATED_COMPLEX_STD, True, -math.expm1(-4.0),
                               dtype_of(dtype), seed, stream)
        if distribution == "uniform":
            bound = math.sqrt(3 * var)
            return uniform(-bound, bound, seed, stream)(shape, dtype)
        s = sd / TRUNCATED_STD
        return trunc_normal(0.0, s, -2.0 * s, 2.0 * s, seed, stream)(shape, dtype)
    return expect


def constant(value):
    def expect(shape, dtype):
        if dtype in REAL_OF:
            return np.full(shape, np.array(complex(value)).astype(dtype))
        return R.constant_ref(shape, value, dtype_of(dtype))
    return expect


def eye(shape, dtype):
    return np.eye(*shape, dtype=dtype_of(dtype))


def dirac(groups):
    """torch's dirac_: ``w[g * out_per_group + d, d, *centre] = 1`` for
    ``d < min(out_per_group, in)``."""
    def expect(shape, dtype):
        w = np.zeros(shape, dtype_of(dtype))
        per_group = shape[0] // groups
        centre = tuple(n // 2 for n in shape[2:])
        for g in range(groups):
            for d in range(min(per_group, shape[1])):
                w[(g * per_group + d, d) + centre] = 1
        return w
    return expect


def sparse(sparsity, std, seed, stream):
    """The normal's values, with ``ceil(sparsity * rows)`` zeros per column at the rows of the
    smallest mask words."""
    def expect(shape, dtype):
        values = normal(0.0, std, seed, stream)(shape, dtype)
        zeros = R.sparse_zeros_ref(shape, sparsity, dtype_of(dtype), seed, stream)
        return np.where(zeros, np.zeros((), values.dtype), values)
    return expect


def random_bits(seed, stream):
    return lambda shape, dtype: R.random_bits_ref(shape, seed, stream)


# --- the cases ----------------------------------------------------------------------------------

def _case(name, init, args, expect, dtypes=INEXACT, shape="fast", normal_family=False, **kw):
    return Case(name, init, args, kw, dtypes, expect, shape, normal_family)


def cases():
    """Every elementwise initializer (aliases once: they share one implementation), with both
    conventions where they differ, in every dtype it takes."""
    S = 7  # distinct seeds and streams per case, so no two cases check the same words
    jax = dict(convention="jax")
    return [
        _case("random_bits", "random_bits", (), random_bits(S, 2**40 + 1), dtypes=(None,),
              seed=S, stream=2**40 + 1),
        _case("uniform", "uniform", (-0.5, 2.0), uniform(-0.5, 2.0, 3, 1), seed=3, stream=1),
        _case("normal", "normal", (0.1, 0.02), normal(0.1, 0.02, 4, 5), seed=4, stream=5,
              normal_family=True),
        _case("trunc_normal", "trunc_normal", (0.0, 1.0, -1.0, 3.0),
              trunc_normal(0.0, 1.0, -1.0, 3.0, 5, 0), dtypes=FLOAT, shape="slow",
              normal_family=True, seed=5),
        # a narrow interval far in a tail: the float64 path for every dtype
        _case("trunc_normal_far_tail", "trunc_normal", (0.0, 1.0, 5.0, 5.002),
              trunc_normal(0.0, 1.0, 5.0, 5.002, 21, 4), dtypes=FLOAT, shape="slow",
              normal_family=True, seed=21, stream=4),
        _case("truncated_normal", "truncated_normal", (0.5,),
              truncated_normal(0.5, -2.0, 2.0, 6, 2**33), dtypes=FLOAT, shape="slow",
              normal_family=True, seed=6, stream=2**33),
        _case("xavier_uniform", "xavier_uniform", (1.5,),
              torch_scaled("xavier", True, 7, 0, gain=1.5), seed=7),
        _case("xavier_normal", "xavier_normal", (), torch_scaled("xavier", False, 8, 0),
              normal_family=True, seed=8),
        _case("kaiming_uniform", "kaiming_uniform", (5 ** 0.5,),
              torch_scaled("kaiming", True, 9, 3, a=5 ** 0.5), shape="conv", seed=9, stream=3),
        _case("kaiming_normal", "kaiming_normal", (),
              torch_scaled("kaiming", False, 10, 0, mode="fan_out"), normal_family=True,
              mode="fan_out", nonlinearity="leaky_relu", seed=10),
        _case("lecun_uniform", "lecun_uniform", (), torch_scaled("lecun", True, 11, 0),
              seed=11),
        _case("lecun_normal", "lecun_normal", (), torch_scaled("lecun", False, 12, 0),
              normal_family=True, seed=12),
        _case("glorot_uniform_jax", "glorot_uniform", (),
              variance_scaling(1.0, "fan_avg", "uniform", 13, 0), seed=13, **jax),
        _case("glorot_normal_jax", "glorot_normal", (),
              variance_scaling(1.0, "fan_avg", "truncated_normal", 14, 0), shape="slow",
              normal_family=True, seed=14, **jax),
        _case("he_uniform_jax", "he_uniform", (),
              variance_scaling(2.0, "fan_in", "uniform", 15, 0), shape="conv", seed=15, **jax),
        _case("he_normal_jax", "he_normal", (),
              variance_scaling(2.0, "fan_in", "truncated_normal", 16, 0), shape="slow",
              normal_family=True, seed=16, **jax),
        _case("lecun_normal_jax", "lecun_normal", (),
              variance_scaling(1.0, "fan_in", "truncated_normal", 17, 0), shape="slow",
              normal_family=True, seed=17, **jax),
        _case("variance_scaling_normal", "variance_scaling", (0.5, "fan_geo_avg", "normal"),
              variance_scaling(0.5, "fan_geo_avg", "normal", 18, 1), normal_family=True,
              seed=18, stream=1, **jax),
        _case("variance_scaling_uniform_torch", "variance_scaling", (2.0, "fan_out", "uniform"),
              variance_scaling(2.0, "fan_out", "uniform", 19, 0, fans=torch_fans), seed=19),
        _case("constant", "constant", (-0.3,), constant(-0.3)),
        _case("constant_complex", "constant", (1.5 - 2.25j,), constant(1.5 - 2.25j),
              dtypes=COMPLEX),
        _case("zeros", "zeros", (), constant(0.0)),
        _case("ones", "ones", (), constant(1.0)),
        _case("eye", "eye", (), eye, shape="eye"),
        _case("dirac", "dirac", (2,), dirac(2), shape="dirac"),
        _case("sparse", "sparse", (0.4, 0.1), sparse(0.4, 0.1, 20, 3), normal_family=True,
              seed=20, stream=3),
    ]


SHAPES = {  # name -> (quick, full): global shapes; "fast" covers several work items
    "fast": ((23, 211), (37, 301)),
    "slow": ((7, 45), (9, 61)),
    "conv": ((16, 8, 3, 3), (32, 8, 3, 5)),
    "eye": ((23, 41), (37, 45)),
    "dirac": ((8, 4, 3, 3), (8, 6, 3, 5)),
}


def shape_of(case, quick):
    return SHAPES[case.shape][0 if quick else 1]


def region_of(shape):
    """A block of ``shape`` that starts inside a Philox block and ends before the last row."""
    out = []
    for n in shape:
        lo = n // 4 if n > 3 else 0
        out.append(slice(lo | 1 if lo + 1 < n else lo, max(lo + 1, n - n // 5)))
    return tuple(out)
