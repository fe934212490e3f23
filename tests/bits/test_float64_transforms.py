"""The error of the float64 transforms' logarithm and sine/cosine, against ``decimal`` at 40
digits: the bounds their docstrings state (``kernels/philox.py``), over their edges and many
random arguments (fixed seeds)."""
import math
from decimal import Decimal, getcontext

import numpy as np
from numba import njit

from fastinit.kernels import philox

getcontext().prec = 40
N = 1 << 13


@njit
def _logs(x):
    out = np.empty_like(x)
    for i in range(x.size):
        out[i] = philox.log_f64(x[i])
    return out


@njit
def _sincos(x):
    s, c = np.empty_like(x), np.empty_like(x)
    for i in range(x.size):
        s[i], c[i] = philox.sincos_octant_f64(x[i])
    return s, c


def _ulps(got, exact):
    """|got - exact| in units in the last place of the float nearest ``exact``."""
    return [float(abs(Decimal(float(g)) - e)) / math.ulp(float(e)) for g, e in zip(got, exact)]


def _sin_cos_exact(x):
    """sin and cos of the float ``x`` (|x| < 1) by their series in 40-digit decimals."""
    x = Decimal(float(x))
    z = x * x
    s, c, ts, tc, n = Decimal(0), Decimal(0), x, Decimal(1), 0
    while abs(tc) > Decimal(10) ** -45 or abs(ts) > Decimal(10) ** -45:
        s, c = s + ts, c + tc
        ts = -ts * z / ((2 * n + 2) * (2 * n + 3))
        tc = -tc * z / ((2 * n + 1) * (2 * n + 2))
        n += 1
    return s, c


def test_log_f64_within_one_ulp():
    rng = np.random.default_rng(41)
    x = np.concatenate([
        rng.random(N),                                   # the uniforms Box-Muller takes
        np.exp2(-rng.random(N) * 60.0),                  # small ones, down to 2**-60
        np.exp2(rng.uniform(-1000.0, 1000.0, N // 4)),   # the whole normal range
        # the edges: the smallest uniforms, powers of two, both sides of sqrt(1/2) and 1
        [2.0**-54, 2.0**-53 * 1.5, 0.5, 1.0, 2.0, 1.0 - 2.0**-53, 1.0 + 2.0**-52],
        np.nextafter(philox.SQRT_HALF, [0.0, 1.0]), [philox.SQRT_HALF],
        np.nextafter(1.0, [0.0, 2.0]),
    ])
    x = x[x > 0.0]
    got = _logs(x)
    exact = [Decimal(float(v)).ln() for v in x]
    ok = [e != 0 for e in exact]  # ln 1 = 0 exactly: checked on its own
    worst = max(u for u, k in zip(_ulps(got, exact), ok) if k)
    assert worst <= 1.0, worst
    assert got[x == 1.0].tolist() == [0.0]


def test_sincos_octant_f64_within_one_ulp():
    rng = np.random.default_rng(42)
    quarter = math.pi / 4
    x = np.concatenate([rng.random(N) * quarter, np.exp2(-rng.random(N // 4) * 40.0),
                        [2.0**-54, quarter, np.nextafter(quarter, 0.0)]])
    s, c = _sincos(x)
    exact = [_sin_cos_exact(v) for v in x]
    worst_s = max(_ulps(s, [e[0] for e in exact]))
    worst_c = max(_ulps(c, [e[1] for e in exact]))
    assert worst_s <= 1.0 and worst_c <= 1.0, (worst_s, worst_c)
