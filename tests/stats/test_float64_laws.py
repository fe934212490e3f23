"""The float64 normal and uniform laws beyond the KS tests: moments against their exact
values, the 53-bit grid of the uniform, and the far tails of the normal over 2**30 draws.

Every seed is fixed, so every statistic is a fixed number: a correct sampler passes with
room to spare and no test here can flake. The 2**30-draw tests fill one 512 MiB buffer
region by region (``region=`` gives the slice of the global tensor, bit for bit), so they
never hold more than 2**26 values.
"""
import math

import numpy as np
import pytest
from scipy import stats

import fastinit as fi

N = 1 << 24
Z_MAX = 5.0       # moments: standard scores within 5
P_MIN = 1e-4      # tail counts: two-sided Poisson p-values above this
BIG, CHUNK = 1 << 30, 1 << 26


def _moments(x):
    x = np.asarray(x, np.float64)
    m = x.mean()
    d = x - m
    var = np.mean(d * d)
    return m, var, np.mean(d ** 3) / var ** 1.5, np.mean(d ** 4) / var ** 2 - 3.0


@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (3.0, 0.02), (-1.0, 1e-8)])
def test_normal_f64_moments(mean, std):
    x = fi.normal((N,), mean, std, dtype="float64", seed=21)
    m, var, skew, kurt = _moments(x)
    n = x.size
    assert abs(m - mean) < Z_MAX * std / math.sqrt(n)
    assert abs(var / std ** 2 - 1.0) < Z_MAX * math.sqrt(2.0 / n)
    assert abs(skew) < Z_MAX * math.sqrt(6.0 / n)
    assert abs(kurt) < Z_MAX * math.sqrt(24.0 / n)


@pytest.mark.parametrize("low,high", [(0.0, 1.0), (-0.1, 0.1), (5.0, 7.0)])
def test_uniform_f64_moments(low, high):
    x = fi.uniform((N,), low, high, dtype="float64", seed=22)
    assert x.min() >= low and x.max() < high
    m, var, skew, kurt = _moments(x)
    n, w = x.size, high - low
    # the uniform's moments: variance w**2/12, skewness 0, excess kurtosis -6/5; the standard
    # errors of the sample's: w/sqrt(12 n), w**2 sqrt(1/180n), sqrt(6/n)-ish (bounded above)
    assert abs(m - (low + high) / 2) < Z_MAX * w / math.sqrt(12 * n)
    assert abs(var - w * w / 12) < Z_MAX * w * w / math.sqrt(180 * n)
    assert abs(skew) < Z_MAX * math.sqrt(6.0 / n)
    assert abs(kurt + 1.2) < Z_MAX * math.sqrt(24.0 / n)


def test_uniform_f64_is_the_53_bit_grid():
    """``uniform(0, 1)`` in float64 takes the values ``k 2**-53``, ``k < 2**53``: every one of
    the 53 bits is random (each bit of ``k`` is set in half of the draws)."""
    x = fi.uniform((1 << 20,), 0.0, 1.0, dtype="float64", seed=23)
    k = x * 2.0 ** 53
    assert np.array_equal(k, np.floor(k)) and k.max() < 2.0 ** 53
    bits = (k.astype(np.uint64)[:, None] >> np.arange(53, dtype=np.uint64)) & np.uint64(1)
    frac = bits.mean(axis=0)
    assert np.all(np.abs(frac - 0.5) < Z_MAX * 0.5 / math.sqrt(x.size)), frac


def _poisson_p(count, expected):
    """Two-sided p-value of ``count`` for a Poisson law of mean ``expected``."""
    low = stats.poisson.cdf(count, expected)
    high = stats.poisson.sf(count - 1, expected)
    return min(1.0, 2.0 * min(low, high))


def _chunked(fill, count):
    """Run ``fill(buf, region)`` over 2**30 elements, 2**26 at a time, and sum the counts
    ``count(buf)`` (an integer array) of the chunks."""
    buf = np.empty(CHUNK, np.float64)
    total = 0
    for s in range(0, BIG, CHUNK):
        fill(buf, (slice(s, s + CHUNK),))
        total = total + count(buf)
    return total


@pytest.mark.slow
def test_normal_f64_far_tails():
    """The fraction beyond 4, 5, 6 and 8 standard deviations over 2**30 draws against
    ``P(|Z| > t) = erfc(t / sqrt(2))``: the logarithm of the radius is exact down to the
    smallest uniforms (Box-Muller's radius reaches 8.6 standard deviations)."""
    ts = np.array([4.0, 5.0, 6.0, 8.0])

    def beyond(buf):
        far = np.abs(buf[np.abs(buf) > ts[0]])
        return (far[:, None] > ts).sum(axis=0)
    counts = _chunked(lambda buf, region: fi.normal_(buf, shape=(BIG,), region=region,
                                                     seed=31), beyond)
    for t, count in zip(ts, counts):
        expected = BIG * math.erfc(t / math.sqrt(2.0))
        assert _poisson_p(count, expected) > P_MIN, (t, count, expected)
    assert counts[0] > 60000  # not vacuous: 68,000 expected beyond 4 standard deviations


@pytest.mark.slow
def test_uniform_f64_small_and_large_values():
    """The float64 uniform's smallest and largest values over 2**30 draws: as many below
    ``2**-20`` and at or above ``1 - 2**-20`` as the law says (1024 each)."""
    eps = 2.0 ** -20
    counts = _chunked(lambda buf, region: fi.uniform_(buf, 0.0, 1.0, shape=(BIG,),
                                                      region=region, seed=32),
                      lambda b: np.array([np.count_nonzero(b < eps),
                                          np.count_nonzero(b >= 1.0 - eps),
                                          np.count_nonzero(b >= 1.0)]))
    for count in counts[:2]:
        assert _poisson_p(count, BIG * eps) > P_MIN, counts
    assert counts[2] == 0
