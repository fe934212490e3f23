"""The float32 truncated normal: its error bound over every uniform it can receive, its
bounds after rounding into every output dtype, and which intervals take it.

The kernel maps a word ``w`` to ``u = ((w >> 9) + 1/2) 2**-23``: 2**23 uniforms in all. The
error of each value is measured against the exact inverse CDF of the same ``u`` (SciPy's
``ndtri`` of the smaller tail probability, in float64), with the float32-rounded ``mean`` and
``std`` (the caller's numbers as float32 holds them) and clamped to the same bounds, in units
in the last place of the float32 result. The default run takes every 61st uniform; the full
sweep is marked ``slow``.
"""
import math

import ml_dtypes
import numpy as np
import pytest
from numba import njit
from scipy import special

import fastinit as fi
from fastinit import _plans
from fastinit.kernels import codes, philox

from .. import reference as R

# The bound the docstring of fastinit.trunc_normal states
MAX_ULP = 7.0

INTERVALS = [  # mean, std, a, b
    (0.0, 1.0, -2.0, 2.0),
    (0.0, 1.0, 2.0, 3.0),
    (0.0, 1.0, 0.0, 3.0),
    (0.0, 1.0, -6.0, 6.0),
    (0.0, 1.0, 8.0, 8.5),
    (0.0, 0.02, -2.0, 2.0),        # torch's default bounds at transformers' std
    (0.0, 0.02, -0.04, 0.04),
    (0.0, 1.0, -1.0, 0.5),         # asymmetric: p - 1/2 crosses zero inside
    (1.0, 1e-10, 1.0 - 2e-10, 1.0 + 3e-10),
]
IDS = ["2sd", "2-3", "0-3", "6sd", "8-8.5", "torch-default", "jax-2sd", "asym", "tiny-std"]


@njit
def _values(words, p, out):
    for j in range(words.size):
        out[j] = philox.truncated_normal_f32(
            words[j], np.float32(p[0]), np.float32(p[1]), np.float32(p[2]), np.float32(p[3]),
            np.float32(p[4]), np.float32(p[5]), np.float32(p[6]), np.float32(p[7]),
            np.float32(p[8]), np.float32(p[9]))


def _exact(u, mean, std, a, b, lo, hi):
    """The exact quantile of each uniform, from the smaller tail, in float64."""
    p_lo, q_hi, mass = R.trunc_params(mean, std, a, b)
    p = p_lo + u * mass
    q = q_hi + (1.0 - u) * mass
    z = np.where(p <= q, special.ndtri(np.minimum(p, 0.5)), -special.ndtri(np.minimum(q, 0.5)))
    return np.clip(float(np.float32(mean)) + float(np.float32(std)) * z, lo, hi)


def _ulp_errors(step, mean, std, a, b):
    kind, params = _plans.trunc_normal(mean, std, a, b, np.dtype(np.float32))
    assert kind == codes.TRUNC_NORMAL_F32
    k = np.arange(0, 2**23, step, dtype=np.uint32)
    got = np.empty(k.size, np.float32)
    _values(k << np.uint32(9), np.array(params), got)
    lo, hi = R.inward_bounds(a, b, np.float32)
    exact = _exact((k + 0.5) * 2.0**-23, mean, std, a, b, lo, hi)
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    return got, np.abs(got - exact) / ulp, lo, hi


def _check(step, mean, std, a, b):
    got, err, lo, hi = _ulp_errors(step, mean, std, a, b)
    assert err.max() <= MAX_ULP, (err.max(), got[np.argmax(err)])
    assert lo <= got.min() and got.max() <= hi and a <= lo and hi <= b


@pytest.mark.parametrize("mean, std, a, b", INTERVALS, ids=IDS)
def test_error_bound_on_a_strided_sweep(mean, std, a, b):
    _check(61, mean, std, a, b)


@pytest.mark.slow
@pytest.mark.parametrize("mean, std, a, b", INTERVALS, ids=IDS)
def test_error_bound_on_every_uniform(mean, std, a, b):
    _check(1, mean, std, a, b)


@pytest.mark.parametrize("mean, std, a, b", INTERVALS, ids=IDS)
def test_cpu_driver_equals_the_scalar_source(mean, std, a, b):
    """The CPU driver (central rational over every draw, then the tail draws gathered, with
    the near tail rational alone when no draw needs the far one) gives the bits of
    ``philox.truncated_normal_f32`` word by word: intervals with no tail draws, near ones
    only (2sd, 6sd) and far ones (8-8.5)."""
    n = 3 * 4096 + 77  # whole work items and a partial one
    x = fi.trunc_normal(n, mean, std, a, b, dtype="float32", seed=5, stream=2)
    _, params = _plans.trunc_normal(mean, std, a, b, np.dtype(np.float32))
    expect = np.empty(n, np.float32)
    _values(fi.random_bits(n, seed=5, stream=2), np.array(params), expect)
    np.testing.assert_array_equal(x.view(np.uint32), expect.view(np.uint32))


def test_the_sweep_sees_errors():
    """The error measure is not vacuous: the values are not exactly rounded everywhere, and a
    perturbed result (one ulp off the kernel's) moves the measured error."""
    got, err, _, _ = _ulp_errors(61, 0.0, 1.0, -2.0, 2.0)
    assert 1.0 < err.max() <= MAX_ULP
    assert np.mean(err) < 1.0


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("mean, std, a, b", [
    (0.0, 0.02, -0.04, 0.04), (0.1, 0.3, -0.2, 0.9), (0.0, 1.0, 1.001, 1.002),
    (0.0, 1.0, 2.0, 3.0), (5.0, 1e-3, 4.999, 5.0005), (0.0, 1.0, -30.0, -29.9)],
    ids=["jax-2sd", "asym", "no-bf16-inside", "2-3", "narrow-at-5", "far-tail"])
def test_no_value_outside_the_bounds_after_rounding(dtype, mean, std, a, b):
    dt = np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)
    x = fi.trunc_normal(20000, mean, std, a, b, dtype=dtype, seed=1).astype(np.float64)
    lo, hi = R.inward_bounds(a, b, dt)
    assert lo <= x.min() and x.max() <= hi
    if lo <= hi and a <= lo:  # some value of dtype lies in [a, b]
        assert a <= x.min() and x.max() <= b
    else:  # none does: the value nearest the midpoint, every time
        assert np.all(x == lo)


@pytest.mark.parametrize("mean, std, a, b, path", [
    (0.0, 1.0, -2.0, 2.0, codes.TRUNC_NORMAL_F32),
    (0.0, 1.0, 8.0, 8.5, codes.TRUNC_NORMAL_F32),            # far, but not narrow
    (0.0, 1.0, -30.0, -29.9, codes.TRUNC_NORMAL),            # probability below 2**-100
    (0.0, 1.0, 8.0, 8.0001, codes.TRUNC_NORMAL),             # a narrow interval far out
    (0.0, 1.0, -1e-3, 1e-3, codes.TRUNC_NORMAL_F32),         # narrow around the mean
])
def test_which_intervals_take_the_float32_path(mean, std, a, b, path):
    assert _plans.trunc_normal(mean, std, a, b, np.dtype(np.float32))[0] == path
    assert _plans.trunc_normal(mean, std, a, b, np.dtype(np.float64))[0] == codes.TRUNC_NORMAL
    x = fi.trunc_normal(5000, mean, std, a, b, seed=2).astype(np.float64)
    assert a <= x.min() and x.max() <= b
    assert np.unique(x).size > 4000 or b - a < 1e-3  # no coarse grid of values


def test_inward_bounds_match_the_reference():
    for a, b in ((-0.2, 0.9), (1.001, 1.002), (-2e-30, 1e-30), (-math.inf, 0.3), (1e5, 2e5)):
        for dt in (np.dtype(np.float32), np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)):
            with np.errstate(over="ignore"):
                assert _plans._inward(a, b, dt) == R.inward_bounds(a, b, dt), (a, b, dt)
