"""Every elementwise transform bit for bit against tests/reference.py, and the pieces' accuracy."""
import math

import ml_dtypes
import numba
import numpy as np
import pytest
import scipy.special

import fastinit as fi
from fastinit.kernels import philox
from fastinit.kernels.philox import (
    box_muller_f32, box_muller_f64, f32_to_bf16_bits, f32_to_f16_bits, fma_f32, fma_f64, log_f32,
    normal_quantile_lower, sincos_octant_f32,
)

from .. import reference as R

BF16 = np.dtype(ml_dtypes.bfloat16)
DTYPES = [np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.float16), BF16]
DT_IDS = ["f64", "f32", "f16", "bf16"]

# (global shape, region): odd sizes, regions starting mid-block, more than one work item
LAYOUTS = [
    ((13,), None),
    ((4099,), (slice(1, 4099),)),
    ((4103,), (slice(3, 4102),)),
    ((9, 37), (slice(2, 9), slice(5, 36))),
    ((3, 5, 7), (slice(1, 3), slice(0, 5), slice(2, 7))),
    ((3, 301), (slice(0, 3), slice(5, 298))),  # a PAIR_GROUP of blocks and a rest
    ((2**36,), (slice(4 * 2**32 - 7, 4 * 2**32 + 6),)),   # counter word 1 carries
]
LAYOUT_IDS = ["13", "4099-r1", "4103-r3", "9x37", "3x5x7", "3x301-r", "huge"]
SEED, STREAM = 20240607, 3


def assert_bits_equal(out, ref):
    ref = np.asarray(ref)
    assert out.dtype == ref.dtype and out.shape == ref.shape
    bad = np.nonzero(R.bits(out) != R.bits(ref))
    assert bad[0].size == 0, (f"{bad[0].size} of {out.size} differ; first at {[b[0] for b in bad]}: "
                              f"got {out[tuple(b[0] for b in bad)]!r}, "
                              f"expected {ref[tuple(b[0] for b in bad)]!r}")


# --- uniform --------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("shape, region", LAYOUTS, ids=LAYOUT_IDS)
@pytest.mark.parametrize("low, high", [(0.0, 1.0), (-0.1, 0.1), (-3.0, 1e-3), (0.5, 0.7)])
def test_uniform_bits(dtype, shape, region, low, high):
    out = fi.uniform(shape, low, high, dtype=dtype, seed=SEED, stream=STREAM, region=region)
    assert_bits_equal(out, R.uniform_ref(shape, low, high, dtype, SEED, STREAM, region))


def test_uniform_float64_uses_53_bits():
    idx = np.arange(10, dtype=np.uint64)
    x = R.words64(idx, 9, 0)
    expect = (x >> np.uint64(11)).astype(np.float64) / 2.0**53
    assert_bits_equal(fi.uniform(10, dtype="float64", seed=9), expect)


@pytest.mark.parametrize("dtype", [np.dtype(np.float16), BF16], ids=["f16", "bf16"])
@pytest.mark.parametrize("low, high", [(0.0, 0.1), (-1.0, 0.3), (0.0, 1.0 / 3.0), (2.0, 3.141592653589793),
                                       (-0.2, -0.1), (0.5, 0.7), (0.0, 0.2), (1.0, 1.1)])
def test_uniform_stays_below_unrepresentable_high(dtype, low, high):
    n = 1 << 17
    assert float(np.array(high).astype(dtype)) != high
    out = fi.uniform(n, low, high, dtype=dtype, seed=77)
    vals = out.astype(np.float64)
    assert vals.max() < high
    assert vals.min() >= float(np.array(np.float32(low)).astype(dtype))
    # the float32 values before rounding: where high rounds up into dtype, some of them do
    # reach high after rounding, so the test exercises the replacement rule
    v32 = R.uniform01_f32(R.words32(np.arange(n, dtype=np.uint64), 77, 0)) * np.float32(high - low) \
        + np.float32(low)
    reaching = v32.astype(dtype).astype(np.float64) >= high
    if float(np.array(high).astype(dtype)) > high:
        assert reaching.any()
    assert np.all(R.bits(out[reaching]) == R.bits(np.array(np.float32(low)).astype(dtype)))
    assert_bits_equal(out[~reaching], v32[~reaching].astype(dtype))
    assert_bits_equal(out, R.uniform_ref(n, low, high, dtype, 77, 0))


def test_uniform_float32_below_high():
    # high - low rounds up in float32, so u * span + low can reach high: it becomes low
    low, high = 0.0, 0.1
    out = fi.uniform(1 << 16, low, high, dtype="float32", seed=5)
    assert out.astype(np.float64).max() < high
    assert_bits_equal(out, R.uniform_ref(1 << 16, low, high, np.float32, 5))


# --- normal ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("shape, region", LAYOUTS, ids=LAYOUT_IDS)
@pytest.mark.parametrize("mean, std", [(0.0, 1.0), (0.25, 0.02), (-3.0, 7.5)])
def test_normal_bits(dtype, shape, region, mean, std):
    if dtype == np.float64 and shape == (4099,) and (mean, std) != (0.0, 1.0):
        shape, region = (1031,), (slice(1, 1030),)  # the pure-Python float64 reference is slow
    out = fi.normal(shape, mean, std, dtype=dtype, seed=SEED, stream=STREAM, region=region)
    assert_bits_equal(out, R.normal_ref(shape, mean, std, dtype, SEED, STREAM, region))


def test_normal_std_zero_is_mean():
    for dtype in DTYPES:
        out = fi.normal(11, 0.3, 0.0, dtype=dtype, seed=1)
        assert_bits_equal(out, R.normal_ref(11, 0.3, 0.0, dtype, 1))
        assert np.all(out == np.array(np.float32(0.3) if dtype != np.float64 else 0.3).astype(dtype))


# edge words: u at both ends, every quadrant and half-quadrant boundary
EDGE_WR = [0, 1, 2, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF]
EDGE_WA = [0, 0x1F, 0x20, 0x1FFFFFFF, 0x20000000, 0x3FFFFFFF, 0x40000000, 0x5FFFFFFF, 0x60000000,
           0x7FFFFFFF, 0x80000000, 0xA0000000, 0xBFFFFFFF, 0xC0000000, 0xE0000000, 0xFFFFFFFF,
           0x10000000, 0x0FFFFFE0]


def test_box_muller_f32_edge_words():
    rng = np.random.default_rng(11)
    wr = np.array(EDGE_WR + list(rng.integers(0, 2**32, 40)), np.uint32)
    wa = np.array(EDGE_WA + list(rng.integers(0, 2**32, 40)), np.uint32)
    WR, WA = (a.ravel() for a in np.meshgrid(wr, wa))
    r = R.radius_f32(WR)
    c, s = R.angle_f32(WA)
    z0, z1 = r * c, r * s
    for n in range(0, WR.size, 7):
        a, b = box_muller_f32(WR[n], WA[n])
        assert (np.float32(a).view(np.uint32), np.float32(b).view(np.uint32)) == \
            (z0[n].view(np.uint32), z1[n].view(np.uint32)), (hex(WR[n]), hex(WA[n]))
    # the angle is a unit vector and its quadrant is the top two bits
    assert np.all(np.abs(np.hypot(c.astype(np.float64), s.astype(np.float64)) - 1.0) < 3e-7)
    theta = np.arctan2(s.astype(np.float64), c.astype(np.float64)) % (2 * np.pi)
    q = (WA >> np.uint32(30)).astype(np.float64)
    assert np.all((theta >= q * np.pi / 2 - 1e-6) & (theta <= (q + 1) * np.pi / 2 + 1e-6))


def test_box_muller_f64_edge_words():
    rng = np.random.default_rng(12)
    xr = [0, 1, 2**11 - 1, 2**11, 2**63, 2**64 - 2**11, 2**64 - 1] + \
        [int(v) for v in rng.integers(0, 2**64, 20, dtype=np.uint64)]
    xa = [0, 2**61 - 1, 2**61, 2**62, 2**62 + 2**61, 2**63, 3 * 2**62, 2**64 - 1, 255, 256] + \
        [int(v) for v in rng.integers(0, 2**64, 20, dtype=np.uint64)]
    for a in xr:
        for b in xa:
            got = box_muller_f64(np.uint64(a), np.uint64(b))
            assert tuple(float(g) for g in got) == R.box_muller_f64_ref(a, b), (hex(a), hex(b))


# --- truncated normal -------------------------------------------------------------------------

TRUNC_CASES = [  # mean, std, a, b
    (0.0, 1.0, -2.0, 2.0),
    (0.1, 0.02, -0.04, 0.04),
    (0.3, 0.02, 0.3 + 5 * 0.02, 0.3 + 6 * 0.02),          # far upper tail, a = 5 std
    (0.0, 1.0, -math.inf, -8.0),                          # far lower tail, one-sided
    (0.0, 1.0, 8.0, math.inf),
    (-1.0, 2.0, -math.inf, math.inf),
    (0.0, 1.0, -37.0, -36.0),                             # Phi(beta) ~ 1e-284: deep lower tail
    (0.0, 1.0, -7.5, -6.0),                               # AS 241's near and far tails mixed
    (0.0, 1e-30, -2e-30, 1e-30),                          # tiny std
    (1.0, 1e-12, 1.0 - 1e-12, 1.0 + 3e-12),
    (0.0, 1.0, -1e-3, 1e-3),                              # narrow interval around the mean
]
TRUNC_IDS = ["std", "torch-ex", "tail5-6", "ninf-8", "8-inf", "inf-inf", "tail-38", "mixed-tail",
             "tiny", "pico", "narrow"]
TRUNC_LAYOUTS = [((13,), None), ((1031,), (slice(3, 1030),)), ((7, 11), (slice(1, 7), slice(2, 9))),
                 ((2**36,), (slice(4 * 2**32 - 5, 4 * 2**32 + 6),))]


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("shape, region", TRUNC_LAYOUTS, ids=["13", "1031-r3", "7x11", "huge"])
@pytest.mark.parametrize("mean, std, a, b", TRUNC_CASES, ids=TRUNC_IDS)
def test_trunc_normal_bits(dtype, shape, region, mean, std, a, b):
    out = fi.trunc_normal(shape, mean, std, a, b, dtype=dtype, seed=SEED, stream=STREAM, region=region)
    ref = R.trunc_normal_ref(shape, mean, std, a, b, dtype, SEED, STREAM, region)
    assert_bits_equal(out, ref)
    if dtype in (np.float64, np.float32):
        lo = np.array(a).astype(dtype) if math.isfinite(a) else -np.inf
        hi = np.array(b).astype(dtype) if math.isfinite(b) else np.inf
        assert np.all((out >= lo) & (out <= hi))


def test_trunc_normal_interval_with_subnormal_mass_is_rejected():
    # Phi(-37.5) ~ 1e-308: the tail probabilities would leave the normal float64 range
    out = np.full(8, 7.0, np.float32)
    with pytest.raises(ValueError, match=r"\[a, b\]"):
        fi.trunc_normal_(out, 0.0, 1.0, -38.5, -37.5, seed=1)
    assert np.all(out == 7.0)


def test_trunc_normal_std_zero_is_clamped_mean():
    for dtype in DTYPES:
        for mean, a, b in [(0.5, -1.0, 1.0), (3.0, -1.0, 1.0), (-3.0, -1.0, 1.0)]:
            out = fi.trunc_normal(5, mean, 0.0, a, b, dtype=dtype, seed=1)
            assert_bits_equal(out, R.trunc_normal_ref(5, mean, 0.0, a, b, dtype, 1))
            assert_bits_equal(out, R.constant_ref(5, min(max(mean, a), b), dtype))


def test_trunc_normal_far_tail_values_are_in_the_tail():
    out = fi.trunc_normal(4000, 0.0, 1.0, 5.0, 6.0, dtype="float64", seed=3)
    assert out.min() >= 5.0 and out.max() <= 6.0
    # the tail's mean E[Z | 5 < Z < 6] is about 5.1865
    assert abs(out.mean() - 5.1865) < 0.01
    out = fi.trunc_normal(4000, 0.0, 1.0, -math.inf, -8.0, dtype="float64", seed=3)
    assert out.max() <= -8.0 and abs(out.mean() + 8.1211) < 0.01


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("stddev, lower, upper", [(0.02, -2.0, 2.0), (1.0, 5.0, 6.0), (3.0, -math.inf, -8.0),
                                                  (1e-2, -1.0, math.inf)])
def test_truncated_normal_bits(dtype, stddev, lower, upper):
    shape, region = (5, 211), (slice(1, 4), slice(3, 210))
    out = fi.truncated_normal(shape, stddev, lower, upper, dtype=dtype, seed=SEED, stream=STREAM,
                              region=region)
    assert_bits_equal(out, R.truncated_normal_ref(shape, stddev, lower, upper, dtype, SEED, STREAM,
                                                  region))
    same = fi.trunc_normal(shape, 0.0, stddev, lower * stddev, upper * stddev, dtype=dtype,
                           seed=SEED, stream=STREAM, region=region)
    assert_bits_equal(out, same)


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_truncated_normal_stddev_zero(dtype):
    out = fi.truncated_normal((3, 4), 0.0, dtype=dtype, seed=1)
    assert_bits_equal(out, R.constant_ref((3, 4), 0.0, dtype))


# --- constant -----------------------------------------------------------------------------------

CONSTANTS = [0.0, -0.0, 1.0, 0.1, -1.0 / 3.0, 1e-8, 6e-8, 2.0**-149, 1e-45, 65519.0, 65520.0, 70000.0,
             3.3e38, 3.4e38, 1e300, math.inf, -math.inf, 1.0 + 2.0**-8 + 2.0**-30]


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("value", CONSTANTS)
def test_constant_bits(dtype, value):
    shape, region = (5, 1027), (slice(1, 5), slice(3, 1026))
    with np.errstate(over="ignore"):
        ref = R.constant_ref(shape, value, dtype, region)
        out = fi.constant(shape, value, dtype=dtype, region=region)
    assert_bits_equal(out, ref)


# --- 16-bit outputs are the float32 values rounded by ml_dtypes / NumPy ---------------------------------

@pytest.mark.parametrize("dtype", [np.dtype(np.float16), BF16], ids=["f16", "bf16"])
def test_16bit_outputs_are_rounded_float32(dtype):
    shape, region = (3, 4097), (slice(0, 3), slice(1, 4096))
    kw = dict(seed=4, stream=8, region=region)
    for f, args, bounds in [(fi.normal, (0.0, 0.02), None), (fi.normal, (1.0, 3.0), None),
                            (fi.trunc_normal, (0.0, 0.5, -1.0, 1.0), (-1.0, 1.0)),
                            (fi.truncated_normal, (0.1, -2.0, 2.0), (-0.2, 0.2)),
                            (fi.uniform, (-0.5, 0.5), None)]:
        a32 = f(shape, *args, dtype="float32", **kw)
        a16 = f(shape, *args, dtype=dtype, **kw)
        if bounds is not None:  # clamped to the bounds rounded inward into dtype, then rounded
            a32 = np.clip(a32, *R.inward_bounds(*bounds, dtype)).astype(np.float32)
        if f is fi.uniform:  # float32 values whose rounding reaches high become low
            top = a32.astype(dtype).astype(np.float64) >= args[1]
            assert np.all(a16[top] == np.array(np.float32(args[0])).astype(dtype))
            a16, a32 = a16[~top], a32[~top]
        assert_bits_equal(a16, a32.astype(dtype))


@numba.njit
def _map_bf16(x):
    out = np.empty(x.size, np.uint16)
    for i in range(x.size):
        out[i] = f32_to_bf16_bits(x[i])
    return out


@numba.njit
def _map_f16(x):
    out = np.empty(x.size, np.uint16)
    for i in range(x.size):
        out[i] = f32_to_f16_bits(x[i])
    return out


def _rounding_inputs():
    rng = np.random.default_rng(21)
    b = [rng.integers(0, 2**32, 1 << 19, dtype=np.uint64).astype(np.uint32)]
    # around the float16 range: subnormals, normal boundary, overflow, and exact ties
    for lo, hi in [(0x33000000, 0x33800000), (0x387FC000, 0x38802000), (0x477FE000, 0x47800100),
                   (0x3F7FFF00, 0x3F800100)]:
        r = np.arange(lo, hi, max(1, (hi - lo) // 20000), dtype=np.uint32)
        b += [r, r | np.uint32(0x80000000)]
    ties = (rng.integers(0, 2**16, 20000, dtype=np.uint64).astype(np.uint32) << np.uint32(16)) | np.uint32(0x8000)
    ties16 = (rng.integers(0x30000, 0x3C000, 20000, dtype=np.uint64).astype(np.uint32) << np.uint32(13)) \
        | np.uint32(0x1000)
    b += [ties, ties16, np.array([0, 0x80000000, 0x7F800000, 0xFF800000, 0x7F7FFFFF, 0x00000001, 0x007FFFFF],
                                 np.uint32)]
    return np.concatenate(b).view(np.float32)


def test_bf16_rounding_matches_ml_dtypes():
    x = _rounding_inputs()
    got = _map_bf16(x)
    with np.errstate(invalid="ignore"):
        ref = x.astype(BF16).view(np.uint16)
    nan = np.isnan(x)
    np.testing.assert_array_equal(got[~nan], ref[~nan])
    assert np.all(np.isnan(got[nan].view(BF16).astype(np.float32)))


def test_f16_rounding_matches_numpy():
    x = _rounding_inputs()
    got = _map_f16(x)
    with np.errstate(over="ignore"):
        ref = x.astype(np.float16).view(np.uint16)
    nan = np.isnan(x)
    np.testing.assert_array_equal(got[~nan], ref[~nan])
    assert np.all(np.isnan(got[nan].view(np.float16)))


# --- the fused multiply-add ---------------------------------------------------------------------------

def _fma_exact(a, b, c):
    """``a * b + c`` rounded to float32 (nearest, ties to even) in exact rational arithmetic."""
    from fractions import Fraction
    exact = Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c))
    x = np.float32(float(exact))  # within one float32 step of the answer
    cands = [np.nextafter(x, np.float32(-np.inf)), x, np.nextafter(x, np.float32(np.inf))]
    dist = [abs(Fraction(float(v)) - exact) for v in cands]
    best = min(dist)
    ties = [v for v, d in zip(cands, dist) if d == best]
    return min(ties, key=lambda v: int(np.float32(v).view(np.uint32)) & 1)  # the even one


def _fma_cases():
    """Random triples, cancellations and sums just off a float32 halfway point (where
    rounding the float64 sum to float32 again would go wrong)."""
    rng = np.random.default_rng(51)
    n = 3000
    a = (rng.standard_normal(n) * 2.0 ** rng.integers(-20, 20, n)).astype(np.float32)
    b = (rng.standard_normal(n) * 2.0 ** rng.integers(-20, 20, n)).astype(np.float32)
    c = (rng.standard_normal(n) * 2.0 ** rng.integers(-40, 40, n)).astype(np.float32)
    cancel = -(a[:1000] * b[:1000]).astype(np.float32)  # a * b + c is the product's rounding error
    h = np.float32(1 + 2.0**-12)  # h * h = 1 + 2**-11 + 2**-24: exactly halfway between floats
    tie_a = np.array([h, h, h, -h, h, np.float32(3), np.float32(1 + 2.0**-23)], np.float32)
    tie_b = np.array([h, h, h, h, -h, np.float32(1 + 2.0**-23), np.float32(1 - 2.0**-24)], np.float32)
    tie_c = np.array([0, 2.0**-80, -2.0**-80, -2.0**-80, 2.0**-80, 2.0**-100, 0], np.float32)
    return (np.concatenate([a, a[:1000], tie_a]), np.concatenate([b, b[:1000], tie_b]),
            np.concatenate([c, cancel, tie_c]))


@numba.njit
def _map_fma(fma, a, b, c):
    out = np.empty(a.size, np.float32)
    for i in range(a.size):
        out[i] = fma(a[i], b[i], c[i])
    return out


def test_fma_f32_is_correctly_rounded_everywhere():
    """The CPU's instruction, the plain source run as Python (what the CUDA simulator does) and
    compiled (what ``for_target`` does for another target), and the reference's array version
    all round ``a * b + c`` once, as exact arithmetic says."""
    a, b, c = _fma_cases()
    want = np.array([_fma_exact(*t) for t in zip(a, b, c)], np.float32)
    source = philox.SOURCES["fma_f32"]
    as_python = np.array([source(*t) for t in zip(a, b, c)], np.float32)
    for got in (_map_fma(fma_f32, a, b, c), as_python, _map_fma(numba.njit(source), a, b, c),
                R.fma_f32(a, b, c)):
        np.testing.assert_array_equal(got.view(np.uint32), want.view(np.uint32))
    # the halfway cases: one rounding differs from rounding the float64 sum again
    naive = (a.astype(np.float64) * b + c).astype(np.float32)
    assert (naive[-7:] != want[-7:]).sum() >= 2


@numba.njit
def _map_fma64(a, b, c):
    out = np.empty(a.size)
    for i in range(a.size):
        out[i] = fma_f64(a[i], b[i], c[i])
    return out


def test_fma_f64_is_correctly_rounded():
    """The CPU's instruction against exact rationals (what the simulator's source and the
    reference compute), on random triples and on cancellations, where rounding ``a * b``
    first loses the answer's low bits."""
    from fractions import Fraction
    rng = np.random.default_rng(52)
    n = 4000
    a = rng.standard_normal(n) * 2.0 ** rng.integers(-30, 30, n)
    b = rng.standard_normal(n) * 2.0 ** rng.integers(-30, 30, n)
    c = np.where(np.arange(n) % 2 == 0, -(a * b) * (1 + rng.standard_normal(n) * 2.0**-40),
                 rng.standard_normal(n) * 2.0 ** rng.integers(-60, 60, n))
    # (1 + 2**-26)(1 + 2**-27) lies exactly halfway between two floats: a tiny c decides
    h1, h2 = 1 + 2.0**-26, 1 + 2.0**-27
    a = np.concatenate([a, [h1, h1, h1, -h1, 1e-300, 3.0, 1.5]])
    b = np.concatenate([b, [h2, h2, h2, h2, 1e-300, 2.0**-600, 2.0]])
    c = np.concatenate([c, [0.0, 2.0**-200, -2.0**-200, 2.0**-200, 1.0, -2.0**-1000, -3.0]])
    want = np.array([float(Fraction(x) * Fraction(y) + Fraction(z)) for x, y, z in zip(a, b, c)])
    source = philox.SOURCES["fma_f64"]
    for got in (_map_fma64(a, b, c), np.array([source(*t) for t in zip(a, b, c)]),
                np.array([R.fma64(*t) for t in zip(a, b, c)])):
        np.testing.assert_array_equal(got.view(np.uint64), want.view(np.uint64))
    assert np.mean(a * b + c != want) > 0.3  # two roundings differ: the test can fail


# --- accuracy of the pieces against NumPy / SciPy ---------------------------------------------------

@numba.njit
def _map_log(x):
    out = np.empty(x.size, np.float32)
    for i in range(x.size):
        out[i] = log_f32(x[i])
    return out


def test_log_f32_accuracy_and_reference():
    rng = np.random.default_rng(31)
    x = np.concatenate([
        rng.integers(0x00800000, 0x7F800000, 1 << 18, dtype=np.uint64).astype(np.uint32).view(np.float32),
        (1.0 + rng.standard_normal(1 << 16) * 1e-3).astype(np.float32),
        ((np.arange(1, 1 << 16, dtype=np.float64) * 2 + 1) * 2.0**-33).astype(np.float32),  # small u
        np.array([np.float32(2.0**-126), np.float32(2.0**-33), np.float32(0.70710677),
                  np.nextafter(np.float32(0.70710677), np.float32(0)), np.float32(1.0),
                  np.nextafter(np.float32(1), np.float32(0)), np.nextafter(np.float32(1), np.float32(2)),
                  np.finfo(np.float32).max], np.float32),
    ])
    got = _map_log(x)
    np.testing.assert_array_equal(got.view(np.uint32), R.log_f32_ref(x).view(np.uint32))
    exact = np.log(x.astype(np.float64))
    ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    ulp[exact == 0] = np.float64(np.finfo(np.float32).smallest_subnormal)
    err = np.abs(got.astype(np.float64) - exact) / ulp
    assert err.max() <= 1.0, (err.max(), x[np.argmax(err)])
    assert got[x == 1.0][0] == 0.0


@numba.njit
def _map_sincos(f):
    s, c = np.empty(f.size, np.float32), np.empty(f.size, np.float32)
    for i in range(f.size):
        s[i], c[i] = sincos_octant_f32(f[i])
    return s, c


def test_sincos_octant_accuracy():
    f = np.concatenate([np.linspace(0, np.pi / 4, 1 << 16, dtype=np.float32),
                        np.float32(np.pi / 4 * 2.0**-24) * np.arange(1, 64, dtype=np.float32)])
    s, c = _map_sincos(f)
    for got, exact in ((s, np.sin(f.astype(np.float64))), (c, np.cos(f.astype(np.float64)))):
        ulp = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
        assert (np.abs(got - exact) / ulp).max() <= 0.9


def test_normal_quantile_lower_vs_ndtri():
    rng = np.random.default_rng(41)
    p = np.concatenate([
        np.logspace(-300, math.log10(0.5), 4000),
        rng.random(4000) * 0.5,
        10.0 ** -rng.uniform(0, 300, 2000),
        [1e-300, 2.2250738585072014e-308 * 1e8, 0.075, np.nextafter(0.075, 0), np.nextafter(0.075, 1),
         math.exp(-25.0), np.nextafter(math.exp(-25.0), 0), np.nextafter(math.exp(-25.0), 1),
         0.5, np.nextafter(0.5, 0), 0.25, 1e-10, 2.0**-33, 2.0**-53],
    ])
    p = p[(p > 0) & (p <= 0.5)]
    got = np.array([normal_quantile_lower(float(v)) for v in p])
    ref = scipy.special.ndtri(p)
    nz = ref != 0
    rel = np.abs(got[nz] - ref[nz]) / np.abs(ref[nz])
    assert rel.max() < 1e-14, (rel.max(), p[nz][np.argmax(rel)])
    assert got[p == 0.5][0] == 0.0
    assert np.all(got[p < 0.5] < 0)
    # and the reference PPND16 computes the same bits
    assert np.array_equal(got, np.array([R.ppnd16_lower(float(v)) for v in p]))
    # far tail: Phi^-1(1e-300) = -37.0471...
    assert abs(normal_quantile_lower(1e-300) - scipy.special.ndtri(1e-300)) < 1e-12


def test_trunc_plan_tails_vs_scipy():
    """The reference's plan parameters (as the package's) keep relative precision in the tails."""
    for mean, std, a, b in TRUNC_CASES:
        p_lo, q_hi, mass = R.trunc_params(mean, std, a, b)
        alpha, beta = (a - mean) / std, (b - mean) / std
        assert p_lo == pytest.approx(scipy.special.ndtr(alpha), rel=1e-12, abs=1e-320)
        assert q_hi == pytest.approx(scipy.special.ndtr(-beta), rel=1e-12, abs=1e-320)
        exact = (scipy.special.ndtr(beta) - scipy.special.ndtr(alpha) if beta <= 0
                 else scipy.special.ndtr(-alpha) - scipy.special.ndtr(-beta))
        assert mass == pytest.approx(exact, rel=1e-12)


def test_units_compile_for_512_bit_vectors():
    """The arithmetic units carry ``prefer-vector-width=512`` (kernels/cpu.py, ``_wide_vectors``)
    and, on a CPU with AVX-512, use its registers. Compiled here afresh (a unit loaded from the
    cache has no IR to inspect). The bit-for-bit tests above run the same units, so the width
    is shown not to change a value."""
    import llvmlite.binding as ll
    from fastinit.kernels import cpu
    from fastinit.kernels.philox import u32
    key = (u32(1), u32(2), u32(3), u32(4))
    normal = np.array([0.0, 1.0])
    trunc = np.array([0.0, 1.0, -2.0, 2.0, 0.0227501319, 0.0227501319, 0.9544997361])
    calls = [
        (cpu._blocks_bits, (0, normal, np.empty(16, np.uint32), 0, 0, 4, *key)),
        (cpu._blocks_f32, (cpu.NORMAL, normal, np.empty(16, np.float32), 0, 0, 4, *key)),
        (cpu._blocks_f64, (cpu.NORMAL, normal, np.empty(8), 0, 0, 4, *key)),
        (cpu._trunc_normal, (np.empty(16), 0, np.arange(1, 17, dtype=np.uint32), 16, False, trunc)),
        (cpu._blocks_pairs, (np.empty(128, np.uint32), np.empty(128, np.uint32), 0, 64, *key,
                             np.empty(256, np.float32), 0)),
        (cpu._round_half, (np.empty(64, np.uint16), 0, np.ones(64, np.float32), 64, cpu.OUT_BF16)),
    ]
    avx512 = "+avx512f" in ll.get_host_cpu_features().flatten().split(",")
    for unit, args in calls:
        fresh = numba.njit(error_model="numpy")(unit.py_func)
        fresh(*args)
        sig = fresh.signatures[0]
        llvm = fresh.inspect_llvm(sig)
        assert '"prefer-vector-width"="512"' in llvm, unit
        if avx512:
            assert "%zmm" in fresh.inspect_asm(sig), unit


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "bfloat16"])
@pytest.mark.parametrize("shape,sparsity", [((40, 9), 0.5), ((7, 130), 0.9), ((33, 3), 0.1)])
def test_sparse_zero_pattern_and_values(shape, sparsity, dtype):
    """The zeros are the reference's rows (mask words past the values' words: float64 values
    take two words each), every other element is the normal value of its index."""
    got = fi.sparse(shape, sparsity, 0.1, dtype=dtype, seed=21, stream=4)
    zeros = R.sparse_zeros_ref(shape, sparsity, dtype, 21, 4)
    values = fi.normal(shape, 0.0, 0.1, dtype=dtype, seed=21, stream=4)
    np.testing.assert_array_equal(got == 0, zeros | (values == 0))
    expect = np.where(zeros, np.zeros((), got.dtype), values)
    np.testing.assert_array_equal(R.bits(got), R.bits(expect))
