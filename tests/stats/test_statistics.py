"""Distributions at fixed seeds: KS tests against scipy, independence of streams, sparse, eye and
dirac structure (against torch), and the rounding of float16/bfloat16 outputs.

Every seed is fixed, so every p-value is a fixed number: no test here can flake.
"""
import math

import ml_dtypes
import numpy as np
import pytest
from scipy import stats

import fastinit as fi

from .. import reference as R

N = 1 << 17       # 131072 samples per KS test
P_MIN = 1e-3      # fixed seeds: a correct sampler passes all of these with room to spare
BF16 = ml_dtypes.bfloat16


def ks(x, dist, *args):
    x = np.asarray(x, np.float64).ravel()
    res = stats.kstest(x, dist, args=args)
    assert res.pvalue > P_MIN, (res.statistic, res.pvalue)
    return res


# --- plain distributions -----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("low,high", [(0.0, 1.0), (-3.0, 5.0), (-1e-3, 1e-3), (100.0, 101.0)])
def test_uniform_ks(dtype, low, high):
    x = fi.uniform((N,), low, high, dtype=dtype, seed=1234)
    assert x.dtype == np.dtype(dtype)
    assert x.min() >= low and x.max() < high
    ks(x, "uniform", low, high - low)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (2.5, 0.02), (-1.0, 3.0), (0.0, 1e-6)])
def test_normal_ks(dtype, mean, std):
    x = fi.normal((256, N // 256), mean, std, dtype=dtype, seed=99)
    ks(x, "norm", mean, std)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_normal_tails(dtype):
    # Box-Muller reaches the tails with the right frequency: P(|z| > 4) = 6.3e-5
    x = fi.normal((1 << 20,), dtype=dtype, seed=5).astype(np.float64)
    expected = (1 << 20) * 2 * stats.norm.sf(4.0)
    count = np.count_nonzero(np.abs(x) > 4.0)
    assert abs(count - expected) < 5 * math.sqrt(expected)
    assert np.all(np.isfinite(x))


TRUNC_CASES = [
    # mean, std, a, b (absolute bounds, torch's form)
    (0.0, 1.0, -2.0, 2.0),
    (0.0, 1.0, 5.0, 6.0),           # far upper tail
    (0.0, 1.0, -6.0, -5.0),         # far lower tail
    (0.0, 1.0, -1.0, 3.0),          # asymmetric
    (0.0, 1.0, 0.5, math.inf),      # half-infinite
    (0.0, 1.0, -math.inf, -0.5),
    (1.0, 0.02, 0.99, 1.05),        # small sigma, asymmetric
    (0.0, 1e-4, -2e-4, 2e-4),       # tiny sigma
    (3.0, 2.0, -1.0, 13.0),         # a = -2 sigma, b = +5 sigma
    (0.0, 1.0, 2.0, 3.0),           # one-sided tail interval
    (0.0, 1.0, 0.0, 3.0),           # from the mean
    (0.0, 1.0, -6.0, 6.0),          # wide: the float32 tail rationals at work
    (0.0, 1.0, 8.0, 8.5),           # far out (float32 path)
    (0.0, 1.0, -30.0, -29.9),       # beyond float32 probabilities (float64 path)
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("mean,std,a,b", TRUNC_CASES)
def test_trunc_normal_ks(dtype, mean, std, a, b):
    x = fi.trunc_normal((N,), mean, std, a, b, dtype=dtype, seed=7)
    assert x.min() >= a and x.max() <= b
    alpha, beta = (a - mean) / std, (b - mean) / std
    ks(x, "truncnorm", alpha, beta, mean, std)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("stddev,lower,upper", [
    (0.01, -2.0, 2.0), (1.0, 5.0, 6.0), (0.5, -1.0, 3.0), (2.0, -3.0, -2.5), (1e-3, 0.0, 1.0),
])
def test_truncated_normal_ks(dtype, stddev, lower, upper):
    x = fi.truncated_normal((N,), stddev, lower, upper, dtype=dtype, seed=8)
    assert x.min() >= lower * stddev and x.max() <= upper * stddev
    ks(x, "truncnorm", lower, upper, 0.0, stddev)


def test_truncated_normal_is_trunc_normal_in_stddev_units():
    for dtype in ("float32", "float64"):
        np.testing.assert_array_equal(
            fi.truncated_normal((1000,), 0.5, -1.0, 3.0, dtype=dtype, seed=3),
            fi.trunc_normal((1000,), 0.0, 0.5, -0.5, 1.5, dtype=dtype, seed=3))


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("a, b", [(2.0, 3.0), (0.0, 3.0), (-6.0, 6.0), (8.0, 8.5),
                                  (-1e-10, 3e-10)])
def test_trunc_normal_moments_match_scipy(dtype, a, b):
    """Mean and variance on the hard intervals, within 6 standard errors of SciPy's
    ``truncnorm`` (float32 and bfloat16: the law survives the rounding)."""
    std = 1e-10 if b < 1e-9 else 1.0
    x = fi.trunc_normal((N,), 0.0, std, a, b, dtype=dtype, seed=12).astype(np.float64)
    law = stats.truncnorm(a / std, b / std, scale=std)
    se_mean = law.std() / math.sqrt(N)
    assert abs(x.mean() - law.mean()) < 6 * se_mean + (0.004 * std if dtype == "bfloat16" else 0)
    se_var = law.var() * math.sqrt(2.0 / N) * 2  # (excess kurtosis of these laws: at most 0)
    tol = 6 * se_var + (0.01 * law.var() if dtype == "bfloat16" else 0)
    assert abs(x.var() - law.var()) < tol


def test_trunc_normal_far_tail_mean():
    # the mean of N(0,1) on [5, 6] is 5.18...; a sampler that loses the tail drifts
    x = fi.trunc_normal((N,), 0.0, 1.0, 5.0, 6.0, dtype="float64", seed=1)
    expected = stats.truncnorm.mean(5.0, 6.0)
    se = stats.truncnorm.std(5.0, 6.0) / math.sqrt(N)
    assert abs(x.mean() - expected) < 6 * se


# --- fan-based initializers --------------------------------------------------------------------

FAN_SHAPE = (256, 512)  # torch: fan_in 512, fan_out 256; jax: fan_in 256, fan_out 512


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_fan_based_ks(dtype):
    shape = FAN_SHAPE
    kw = dict(dtype=dtype)
    b = math.sqrt(3.0) * math.sqrt(2.0 / (512 + 256))
    ks(fi.xavier_uniform(shape, seed=10, **kw), "uniform", -b, 2 * b)
    ks(fi.xavier_normal(shape, seed=11, **kw), "norm", 0.0, math.sqrt(2.0 / (512 + 256)))
    b = math.sqrt(3.0) * math.sqrt(2.0 / (1 + 5.0)) / math.sqrt(512)
    ks(fi.kaiming_uniform(shape, a=5 ** 0.5, seed=12, **kw), "uniform", -b, 2 * b)
    ks(fi.kaiming_normal(shape, mode="fan_out", nonlinearity="relu", seed=13, **kw), "norm",
       0.0, math.sqrt(2.0) / math.sqrt(256))
    ks(fi.lecun_normal(shape, seed=14, **kw), "norm", 0.0, 1 / math.sqrt(512))
    # jax: truncated at 2 s, s = sqrt(var) / 0.8796...
    s = math.sqrt(2.0 / 256) / 0.87962566103423978
    ks(fi.he_normal(shape, convention="jax", seed=15, **kw), "truncnorm", -2, 2, 0.0, s)
    s = math.sqrt(1.0 / 384) / 0.87962566103423978
    ks(fi.glorot_normal(shape, convention="jax", seed=16, **kw), "truncnorm", -2, 2, 0.0, s)
    b = math.sqrt(3 * (1.0 / 256))
    ks(fi.lecun_uniform(shape, convention="jax", seed=17, **kw), "uniform", -b, 2 * b)
    ks(fi.variance_scaling(shape, 2.0, "fan_geo_avg", "normal", convention="jax", seed=18, **kw),
       "norm", 0.0, math.sqrt(2.0 / math.sqrt(256 * 512)))


# --- independence ------------------------------------------------------------------------------

def _corr(x, y):
    return float(np.corrcoef(np.asarray(x, np.float64).ravel(),
                             np.asarray(y, np.float64).ravel())[0, 1])


@pytest.mark.parametrize("init", ["uniform", "normal", "trunc_normal"])
def test_streams_and_seeds_uncorrelated(init):
    f = getattr(fi, init)
    limit = 5 / math.sqrt(N)
    base = f((N,), seed=42, stream=0)
    for other in (f((N,), seed=42, stream=1), f((N,), seed=42, stream=2**32),
                  f((N,), seed=42, stream=2**64 - 1), f((N,), seed=43, stream=0),
                  f((N,), seed=42 + 2**32, stream=0)):
        assert not np.array_equal(base, other)
        assert abs(_corr(base, other)) < limit
        # and the other stream is itself correctly distributed
    ks(f((N,), seed=42, stream=12345), *{"uniform": ("uniform", 0.0, 1.0),
                                         "normal": ("norm", 0.0, 1.0),
                                         "trunc_normal": ("truncnorm", -2.0, 2.0)}[init])


def test_neighbours_uncorrelated():
    # Box-Muller pairs (2j, 2j + 1), words within a Philox block, consecutive blocks
    limit = 5 / math.sqrt(N // 4)
    for dtype in ("float32", "float64"):
        for x in (fi.normal((N,), dtype=dtype, seed=3), fi.uniform((N,), dtype=dtype, seed=3)):
            x = x.astype(np.float64)
            for lag in (1, 2, 3, 4, 5):
                assert abs(_corr(x[:-lag], x[lag:])) < limit, (dtype, lag)
            assert abs(_corr(x[0::2], x[1::2])) < limit
            # squares too: r cos t and r sin t share r
            assert abs(_corr(x[0::2] ** 2, x[1::2] ** 2)) < limit


def test_box_muller_pair_is_independent_normal():
    x = fi.normal((N,), dtype="float64", seed=77)
    # the radius^2 of each pair is chi-square with 2 dof, i.e. exponential with mean 2
    r2 = x[0::2] ** 2 + x[1::2] ** 2
    ks(r2, "expon", 0.0, 2.0)
    # and the angle is uniform
    ks(np.arctan2(x[1::2], x[0::2]), "uniform", -math.pi, 2 * math.pi)


# --- sparse ------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape,sparsity", [((100, 300), 0.1), ((37, 50), 0.5), ((64, 64), 0.99),
                                            ((10, 1000), 0.25), ((16, 8), 0.0), ((5, 7), 0.01)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_sparse_zero_count_per_column(shape, sparsity, dtype):
    import torch

    rows, cols = shape
    x = fi.sparse(shape, sparsity, std=0.5, dtype=dtype, seed=3)
    zeros = np.count_nonzero(np.asarray(x, np.float64) == 0, axis=0)
    expected = math.ceil(sparsity * rows)
    np.testing.assert_array_equal(zeros, np.full(cols, expected))
    t = torch.nn.init.sparse_(torch.empty(shape), sparsity, std=0.5)
    np.testing.assert_array_equal((t == 0).sum(0).numpy(), zeros)


def test_sparse_zeros_vary_between_columns_and_seeds():
    x = fi.sparse((50, 200), 0.2, seed=1)
    mask = x == 0
    assert len({mask[:, c].tobytes() for c in range(200)}) > 150
    # each row is hit about equally often
    hits = mask.sum(1)
    assert hits.min() > 0
    y = fi.sparse((50, 200), 0.2, seed=2)
    assert not np.array_equal(mask, y == 0)
    z = fi.sparse((50, 200), 0.2, seed=1, stream=1)
    assert not np.array_equal(mask, z == 0)


def test_sparse_nonzeros_are_normal():
    std = 0.02
    x = fi.sparse((512, 512), 0.3, std=std, dtype="float64", seed=12)
    nz = x[x != 0]
    assert nz.size == 512 * (512 - math.ceil(0.3 * 512))
    ks(nz, "norm", 0.0, std)


def test_sparse_nonzeros_are_the_normal_values():
    # the values that are not zeroed are those of normal(0, std) at the same seed and stream
    x = fi.sparse((64, 32), 0.25, std=0.1, seed=5, stream=3)
    y = fi.normal((64, 32), 0.0, 0.1, seed=5, stream=3)
    keep = x != 0
    np.testing.assert_array_equal(x[keep], y[keep])


# --- eye and dirac against torch --------------------------------------------------------------

@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4), (1, 7), (7, 1), (1, 1)])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_eye_matches_torch(shape, dtype):
    import torch

    x = fi.eye(shape, dtype=dtype)
    assert x.dtype == np.dtype(BF16 if dtype == "bfloat16" else dtype)
    t = torch.nn.init.eye_(torch.empty(shape, dtype=torch.float64)).numpy()
    np.testing.assert_array_equal(x.astype(np.float64), t)
    np.testing.assert_array_equal(x.astype(np.float64), np.eye(*shape))
    # in place, over garbage
    out = np.full(shape, 7.0)
    fi.eye_(out)
    np.testing.assert_array_equal(out, t)


@pytest.mark.parametrize("shape,groups", [
    ((6, 4, 3, 3), 1), ((6, 4, 3, 3), 2), ((6, 4, 3, 3), 3), ((6, 4, 3, 3), 6),
    ((4, 6, 3), 1), ((4, 6, 5), 2), ((2, 2, 3, 3, 3), 1), ((8, 2, 4, 2), 2),
    ((3, 5, 1, 1), 1), ((12, 3, 2, 5), 4), ((4, 4, 3, 3, 2), 2),
])
def test_dirac_matches_torch(shape, groups):
    import torch

    t = torch.nn.init.dirac_(torch.empty(shape, dtype=torch.float64), groups).numpy()
    for dtype in ("float32", "float64", "bfloat16"):
        x = fi.dirac(shape, groups, dtype=dtype)
        np.testing.assert_array_equal(x.astype(np.float64), t)
    out = np.full(shape, np.nan, np.float32)
    fi.dirac_(out, groups)
    np.testing.assert_array_equal(out, t)
    assert np.count_nonzero(t) == groups * min(shape[0] // groups, shape[1])


# --- constants ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
def test_constants(dtype):
    dt = np.dtype(BF16 if dtype == "bfloat16" else dtype)
    for value in (0.1, -3.7, 1e30, math.inf, -math.inf, 65504.0, 1e-30):
        with np.errstate(over="ignore"):  # 1e30 overflows float16 to inf, as a cast does
            x = fi.constant((5, 7), value, dtype=dtype)
            expected = np.full((5, 7), np.float64(value)).astype(dt)
        assert x.dtype == dt
        np.testing.assert_array_equal(x.view(np.uint8), expected.view(np.uint8))
    # (nan: see targets/test_bad_input.py::test_constant_nan_and_inf_allowed)
    np.testing.assert_array_equal(fi.zeros((4, 3), dtype=dtype).astype(np.float64), 0.0)
    assert not np.signbit(fi.zeros((4, 3), dtype=dtype).astype(np.float64)).any()
    np.testing.assert_array_equal(fi.ones((4, 3), dtype=dtype).astype(np.float64), 1.0)


# --- float16 / bfloat16: one rounding of the float32 value ------------------------------------

NON_UNIFORM = [
    ("normal", lambda dt: fi.normal((300, 257), 0.5, 2.0, dtype=dt, seed=1, stream=2)),
    ("normal_small", lambda dt: fi.normal((4099,), 0.0, 0.02, dtype=dt, seed=2)),
    ("trunc_normal", lambda dt: fi.trunc_normal((4099,), 0.1, 0.3, -0.2, 0.9, dtype=dt, seed=3)),
    ("trunc_normal_tail", lambda dt: fi.trunc_normal((4099,), 0.0, 1.0, 5.0, 6.0, dtype=dt, seed=3)),
    ("truncated_normal", lambda dt: fi.truncated_normal((4099,), 0.02, dtype=dt, seed=4)),
    ("xavier_normal", lambda dt: fi.xavier_normal((64, 65), dtype=dt, seed=5)),
    ("kaiming_normal", lambda dt: fi.kaiming_normal((64, 65), dtype=dt, seed=6)),
    ("glorot_normal_jax", lambda dt: fi.glorot_normal((3, 3, 16, 32), convention="jax", dtype=dt,
                                                      seed=7)),
    ("lecun_normal_jax", lambda dt: fi.lecun_normal((64, 65), convention="jax", dtype=dt, seed=8)),
    ("variance_scaling_normal", lambda dt: fi.variance_scaling((64, 65), 2.0, "fan_avg", "normal",
                                                               dtype=dt, seed=9)),
    ("sparse", lambda dt: fi.sparse((64, 65), 0.3, std=0.5, dtype=dt, seed=10)),
    ("normal_large", lambda dt: fi.normal((4099,), 0.0, 3e4, dtype=dt, seed=11)),
]


def _jax_bound(variance):
    """2 standard deviations of JAX's truncated variance scaling, as the plan computes them."""
    return 2.0 * (math.sqrt(variance) / 0.87962566103423978)


# the truncated ones' bounds: a value whose rounding would leave them is the bound rounded inward
TRUNC_BOUNDS = {"trunc_normal": (-0.2, 0.9), "trunc_normal_tail": (5.0, 6.0),
                "truncated_normal": (-0.04, 0.04),
                "glorot_normal_jax": (-_jax_bound(1.0 / 216.0), _jax_bound(1.0 / 216.0)),
                "lecun_normal_jax": (-_jax_bound(1.0 / 64.0), _jax_bound(1.0 / 64.0))}


@pytest.mark.parametrize("name,make", NON_UNIFORM, ids=[c[0] for c in NON_UNIFORM])
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_outputs_are_rounded_float32(name, make, dtype):
    dt = np.dtype(BF16 if dtype == "bfloat16" else dtype)
    a32 = make("float32")
    if name in TRUNC_BOUNDS:  # clamped to the bounds rounded inward, then rounded
        a32 = np.clip(a32, *R.inward_bounds(*TRUNC_BOUNDS[name], dt)).astype(np.float32)
    with np.errstate(over="ignore"):
        expected = a32.astype(dt)
    got = make(dtype)
    assert got.dtype == dt
    np.testing.assert_array_equal(got.view(np.uint16), expected.view(np.uint16))
    if name in TRUNC_BOUNDS:
        lo, hi = TRUNC_BOUNDS[name]
        assert lo <= got.astype(np.float64).min() and got.astype(np.float64).max() <= hi


UNIFORM_FAMILY = [
    ("uniform", lambda dt: fi.uniform((300, 257), -0.5, 0.5, dtype=dt, seed=1), -0.5, 0.5),
    ("uniform_01", lambda dt: fi.uniform((1 << 16,), 0.0, 1.0, dtype=dt, seed=2), 0.0, 1.0),
    ("uniform_odd", lambda dt: fi.uniform((1 << 16,), 1.0, 1.01, dtype=dt, seed=2), 1.0, 1.01),
]


def _uniform_family_cases():
    b = math.sqrt(3.0) * math.sqrt(2.0 / (64 + 65))
    cases = list(UNIFORM_FAMILY)
    cases.append(("xavier_uniform", lambda dt: fi.xavier_uniform((64, 65), dtype=dt, seed=3),
                  -b, b))
    b = math.sqrt(3.0) * math.sqrt(2.0 / (1 + 5.0)) / math.sqrt(65)
    cases.append(("kaiming_uniform", lambda dt: fi.kaiming_uniform((64, 65), a=5 ** 0.5,
                                                                   dtype=dt, seed=4), -b, b))
    b = math.sqrt(3 * (2.0 / 65))
    cases.append(("variance_scaling_uniform", lambda dt: fi.variance_scaling(
        (64, 65), 2.0, "fan_in", "uniform", dtype=dt, seed=5), -b, b))
    return cases


UNIFORM_CASES = _uniform_family_cases()


@pytest.mark.parametrize("name,make,low,high", UNIFORM_CASES, ids=[c[0] for c in UNIFORM_CASES])
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_half_uniform_family_rounded_and_below_high(name, make, low, high, dtype):
    dt = np.dtype(BF16 if dtype == "bfloat16" else dtype)
    expected = make("float32").astype(dt)
    # torch's rule: a value whose rounding reaches high becomes low
    hit = expected.astype(np.float64) >= high
    expected[hit] = np.array(low, np.float64).astype(dt)
    got = make(dtype)
    np.testing.assert_array_equal(got.view(np.uint16), expected.view(np.uint16))
    g = got.astype(np.float64)
    assert g.max() < high
    assert g.min() >= np.float64(np.array(low).astype(dt)) and g.min() >= low - abs(low) * 1e-2


def test_half_uniform_rounding_hits_high_somewhere():
    # the rule above is exercised: in bfloat16, uniform(0, 1) rounds the top of [0, 1) to 1
    x32 = fi.uniform((1 << 16,), 0.0, 1.0, dtype="float32", seed=2)
    assert np.any(x32.astype(BF16).astype(np.float64) >= 1.0)
    x = fi.uniform((1 << 16,), 0.0, 1.0, dtype="bfloat16", seed=2).astype(np.float64)
    assert x.max() < 1.0
