"""The README's tolerance for normal-family outputs on real GPUs, checked without a GPU.

On a GPU, NVVM contracts ``a * b + c`` into fused multiply-adds by default (``-fma=1``); the CPU
kernels never fuse implicitly. That is the only source of difference for the normal family
(sqrt and division are correctly rounded on both, and no libm call is involved). Here the same
scalar source is compiled for the CPU with LLVM's ``contract`` flag, so the transforms'
multiply-adds are fused as a GPU compiler would, and compared with the CPU kernels' transforms
over a million draws. The Box-Muller transforms write their multiply-adds as explicit FMAs
(``fma_f32``, ``fma_f64``), so there it must change nothing at all. (The uniforms are not in question:
their kernels contain no fused multiply-add at all, which ``tests/cuda/test_cuda.py`` checks in
the PTX.)
"""
import numpy as np
import pytest
from numba import njit

from fastinit import _plans
from fastinit.kernels import philox

# the README states: |x_gpu - x_cpu| <= TOL * (std * max(|z|, 1) + |mean|)
TOL_F32 = 2.0**-20
TOL_F64 = 2.0**-49
N = 1 << 20

def _fma_f64(a, b, c):  # the source's exact-fraction emulation does not compile
    return philox._llvm_fma_f64(a, b, c)


FUSED = philox.for_target(lambda f: njit(fastmath={"contract"}, error_model="numpy")(f),
                          {"fma_f64": _fma_f64})
bm32_fused, bm64_fused = FUSED["box_muller_f32"], FUSED["box_muller_f64"]
tn_fused, pair32_fused = FUSED["truncated_normal"], FUSED["open_uniform_pair_u32"]
pair64_fused = FUSED["open_uniform_pair_u64"]
affine32_fused, affine64_fused = FUSED["normal_affine_f32"], FUSED["normal_affine_f64"]
bm32, bm64, tn = philox.box_muller_f32, philox.box_muller_f64, philox.truncated_normal
affine32, affine64 = philox.normal_affine_f32, philox.normal_affine_f64
pair32, pair64 = philox.open_uniform_pair_u32, philox.open_uniform_pair_u64


@njit(fastmath={"contract"})
def _normal32_fused(a, b, out):
    for i in range(a.size):
        out[2 * i], out[2 * i + 1] = bm32_fused(a[i], b[i])


@njit
def _normal32(a, b, out):
    for i in range(a.size):
        out[2 * i], out[2 * i + 1] = bm32(a[i], b[i])


@njit(fastmath={"contract"})
def _affine32_fused(z, mean, std):
    out = np.empty_like(z)
    for i in range(z.size):
        out[i] = affine32_fused(z[i], mean, std)
    return out


@njit
def _affine32(z, mean, std):
    out = np.empty_like(z)
    for i in range(z.size):
        out[i] = affine32(z[i], mean, std)
    return out


@njit(fastmath={"contract"})
def _normal64_fused(a, b, out, mean, std):
    for i in range(a.size):
        z0, z1 = bm64_fused(a[i], b[i])
        out[2 * i], out[2 * i + 1] = affine64_fused(z0, mean, std), affine64_fused(z1, mean, std)


@njit
def _normal64(a, b, out, mean, std):
    for i in range(a.size):
        z0, z1 = bm64(a[i], b[i])
        out[2 * i], out[2 * i + 1] = affine64(z0, mean, std), affine64(z1, mean, std)


@njit(fastmath={"contract"})
def _trunc_fused(w, x, p, out32, out64):
    for i in range(w.size):
        u, v = pair32_fused(w[i])
        out32[i] = np.float32(tn_fused(u, v, p[0], p[1], p[2], p[3], p[4], p[5], p[6]))
        u, v = pair64_fused(x[i])
        out64[i] = tn_fused(u, v, p[0], p[1], p[2], p[3], p[4], p[5], p[6])


@njit
def _trunc(w, x, p, out32, out64):
    for i in range(w.size):
        u, v = pair32(w[i])
        out32[i] = np.float32(tn(u, v, p[0], p[1], p[2], p[3], p[4], p[5], p[6]))
        u, v = pair64(x[i])
        out64[i] = tn(u, v, p[0], p[1], p[2], p[3], p[4], p[5], p[6])


@pytest.fixture(scope="module")
def words():
    rng = np.random.default_rng(12345)
    w32 = rng.integers(0, 2**32, (2, N), dtype=np.uint32)
    w32[:, :4] = [[0, 1, 2**32 - 1, 2**31], [0, 2**32 - 1, 2**30, 2**29]]  # the extremes
    w64 = rng.integers(0, 2**64, (2, N), dtype=np.uint64)
    return w32, w64


def _excess(got, ref, tol, std=1.0, mean=0.0):
    ref = ref.astype(np.float64)
    bound = tol * (std * np.maximum(np.abs((ref - mean) / std), 1.0) + abs(mean))
    return np.abs(got.astype(np.float64) - ref) / bound


def test_normal32_unchanged_when_fused(words):
    """The float32 transform spells every multiply-add as an explicit FMA, so a compiler that
    contracts has nothing left to fuse: the same bits, mean and std included."""
    w32, _ = words
    ref, got = np.empty(2 * N, np.float32), np.empty(2 * N, np.float32)
    _normal32(w32[0], w32[1], ref)
    _normal32_fused(w32[0], w32[1], got)
    np.testing.assert_array_equal(got.view(np.uint32), ref.view(np.uint32))
    assert np.isfinite(ref).all() and ref.std() > 0.99  # the transform did run
    mean, std = np.float32(0.1), np.float32(0.02)
    np.testing.assert_array_equal(_affine32_fused(got, mean, std).view(np.uint32),
                                  _affine32(ref, mean, std).view(np.uint32))


@pytest.mark.parametrize("mean, std", [(0.0, 1.0), (0.1, 0.02)])
def test_normal64_unchanged_when_fused(words, mean, std):
    """As the float32 transform: every multiply-add of the float64 Box-Muller (its log and
    sincos series, the angle, the affine map) is an explicit FMA, so a contracting compiler
    changes no bit."""
    _, w64 = words
    ref, got = np.empty(2 * N), np.empty(2 * N)
    _normal64(w64[0], w64[1], ref, mean, std)
    _normal64_fused(w64[0], w64[1], got, mean, std)
    np.testing.assert_array_equal(got.view(np.uint64), ref.view(np.uint64))
    assert np.isfinite(ref).all() and abs(ref.std() / std - 1.0) < 0.01  # the transform ran


@pytest.mark.parametrize("mean, std, a, b", [(0.0, 1.0, -2.0, 2.0), (0.0, 0.02, -0.04, 0.04),
                                             (1.0, 1.0, 7.0, np.inf)])
def test_truncated_normal_within_tolerance_when_fused(words, mean, std, a, b):
    w32, w64 = words
    _, p = _plans.trunc_normal(mean, std, a, b)
    p = np.asarray(p, np.float64)
    r32, g32 = np.empty(N, np.float32), np.empty(N, np.float32)
    r64, g64 = np.empty(N), np.empty(N)
    _trunc(w32[0], w64[0], p, r32, r64)
    _trunc_fused(w32[0], w64[0], p, g32, g64)
    assert _excess(g32, r32, TOL_F32, std, mean).max() <= 1.0
    assert _excess(g64, r64, TOL_F64, std, mean).max() <= 1.0
    assert ((g32 >= a) & (g32 <= b)).all() and ((g64 >= a) & (g64 <= b)).all()

