"""Orthogonal initialization and the blocked Householder QR behind it.

- ``fastinit.linalg.qr`` against ``numpy.linalg.qr`` and the reconstruction of ``a``; its
  orthogonality against LAPACK's ``geqrf`` + ``orgqr`` (``scipy.linalg.qr``) on a matrix of the
  same size and dtype, measured here;
- both methods of ``orthogonal`` against the slow reference of ``householder_reference.py``
  built from the counter-contract Gaussian, so the blocked orchestration, the kernels and the
  Gaussian are all pinned down;
- the Haar law at n = 4 over many fixed seeds (KS and binomial tests: fixed numbers, no flakes);
- shapes and conventions, gain, dtypes, determinism, in-place targets, delta orthogonal, bad
  input.

Panel widths are set small (``nb``) where a test wants many blocks at a small size.
"""
import dataclasses
import importlib
import math

import ml_dtypes
import numpy as np
import pytest
import scipy.linalg
from scipy import stats

import fastinit as fi
from fastinit import _blas, linalg

orth_mod = importlib.import_module("fastinit.orthogonal")  # (fi.orthogonal is the function)

from .. import householder_reference as H

BF16 = ml_dtypes.bfloat16
P_MIN = 1e-3
METHODS = ["reflectors", "qr"]


def orth_error(q):
    """max |Q^T Q - I| over the smaller side, in float64."""
    q = np.asarray(q, np.float64)
    g = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
    return np.abs(g - np.eye(g.shape[0])).max()


def lapack_error(m, n, dtype, seed=0):
    """The orthogonality LAPACK's geqrf + orgqr reaches on a Gaussian of the same size/dtype."""
    g = np.random.default_rng(seed).standard_normal((max(m, n), min(m, n))).astype(dtype)
    q = scipy.linalg.qr(g, mode="economic")[0]
    assert q.dtype == np.dtype(dtype)
    return orth_error(q)


def fix_signs(q, r):
    """Make diag(r) >= 0 (column signs of q): QR is unique up to these."""
    s = np.where(np.diag(r) < 0, -1.0, 1.0)
    return q * s, r * s[:, None]


# --- fastinit.linalg.qr --------------------------------------------------------------------------

QR_SHAPES = [(1, 1), (1, 7), (7, 1), (40, 40), (57, 23), (23, 57), (130, 64), (64, 130),
             (300, 299)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", QR_SHAPES)
@pytest.mark.parametrize("nb", [5, 128])
def test_qr_reconstructs_and_matches_numpy(shape, dtype, nb):
    a = np.random.default_rng(sum(shape)).standard_normal(shape).astype(dtype)
    before = a.copy()
    q, r = linalg.qr(a, nb=nb)
    assert np.array_equal(a, before)  # the caller's array is never written
    k = min(shape)
    assert q.shape == (shape[0], k) and r.shape == (k, shape[1])
    assert q.dtype == dtype and r.dtype == dtype
    eps = np.finfo(dtype).eps
    scale = max(shape) * eps
    assert np.array_equal(r, np.triu(r))
    assert np.abs(q @ r - a).max() <= 10 * scale * max(1.0, np.abs(a).max())
    qn, rn = np.linalg.qr(a)
    q1, r1 = fix_signs(q.astype(np.float64), r.astype(np.float64))
    q2, r2 = fix_signs(qn.astype(np.float64), rn.astype(np.float64))
    np.testing.assert_allclose(q1, q2, atol=50 * scale)
    np.testing.assert_allclose(r1, r2, atol=50 * scale * max(1.0, np.abs(a).max()))
    assert orth_error(q) <= 4 * max(lapack_error(*shape, dtype), eps)


@pytest.mark.parametrize("shape", [(50, 20), (20, 50), (33, 33)])
def test_qr_modes(shape):
    a = np.random.default_rng(1).standard_normal(shape)
    m, n = shape
    q, r = linalg.qr(a, mode="complete", nb=8)
    assert q.shape == (m, m) and r.shape == (m, n)
    assert orth_error(q) < 1e-13
    np.testing.assert_allclose(q @ r, a, atol=1e-12)
    qn, rn = np.linalg.qr(a, mode="complete")
    np.testing.assert_allclose(np.abs(r), np.abs(rn), atol=1e-12)
    r_only = linalg.qr(a, mode="r", nb=8)
    np.testing.assert_allclose(r_only, linalg.qr(a, nb=8)[1], atol=0)


def test_qr_stack_and_integers():
    a = np.random.default_rng(2).integers(-5, 5, size=(3, 12, 7))
    q, r = linalg.qr(a, nb=4)
    assert q.shape == (3, 12, 7) and r.shape == (3, 7, 7) and q.dtype == np.float64
    np.testing.assert_allclose(q @ r, a, atol=1e-12)


def test_qr_rank_deficient_and_zero_columns():
    a = np.zeros((20, 6))
    a[:, 1] = np.arange(20)
    a[:, 3] = 2 * a[:, 1]
    q, r = linalg.qr(a, nb=4)
    np.testing.assert_allclose(q @ r, a, atol=1e-12)
    assert orth_error(q) < 1e-13


def test_qr_large_float32_against_lapack():
    # one size where the blocked updates and a several-block panel loop really run
    a = np.random.default_rng(3).standard_normal((1500, 1100)).astype(np.float32)
    q, r = linalg.qr(a)
    assert orth_error(q) <= 4 * lapack_error(1500, 1100, np.float32)
    assert np.abs(q @ r - a).max() < 1e-3


@pytest.mark.parametrize("bad, exc, words", [
    (dict(a=np.ones(5)), ValueError, "2 dimensions"),
    (dict(a=np.ones((3, 3)), mode="raw"), ValueError, "mode"),
    (dict(a=np.ones((3, 3), np.complex64)), TypeError, "complex64"),
    (dict(a=np.ones((3, 3), np.float16)), TypeError, "float16"),
    (dict(a=np.ones((3, 3)), nb=0), ValueError, "nb"),
])
def test_qr_bad_input(bad, exc, words):
    with pytest.raises(exc, match=words):
        linalg.qr(**bad)


def test_orchestration_runs_on_pluggable_numpy_steps():
    # the host-side algorithm only uses xp and the steps: with NumPy reference steps (what a
    # CuPy backend swaps for CUDA kernels) it gives the same factorization
    ref_steps = linalg.Steps(np, H.panel_qr, H.reflectors, H.unit_lower, H.larft, H.subtract)
    a = np.random.default_rng(4).standard_normal((90, 70))
    mine = [a.copy(), np.zeros(70), np.zeros(70)]
    ref = [a.copy(), np.zeros(70), np.zeros(70)]
    linalg.geqrf(*mine, linalg.cpu_steps(), 16)
    linalg.geqrf(*ref, ref_steps, 16)
    np.testing.assert_allclose(mine[0], ref[0], atol=1e-12)
    np.testing.assert_allclose(mine[2], ref[2], atol=1e-12)
    linalg.form_q(mine[0], 70, linalg.stored_reflectors(mine[1], linalg.cpu_steps()),
                  linalg.cpu_steps(), 16)
    linalg.form_q(ref[0], 70, linalg.stored_reflectors(ref[1], ref_steps), ref_steps, 16)
    np.testing.assert_allclose(mine[0], ref[0], atol=1e-12)
    np.testing.assert_allclose(mine[0], H.qr_unblocked(a)[0], atol=1e-12)


def _panel(rows, b, dtype, order, scale, seed):
    """A panel inside a larger matrix (so its rows or columns are strided), with a zero column,
    a column whose only non-zero is on the diagonal, and entries times ``scale``."""
    g = np.random.default_rng(seed).standard_normal((rows + 3, b + 5)) * scale
    if b > 2:
        g[:, 1] = 0.0
        g[3:, 2] = 0.0
    big = np.array(g, dtype, order=order)
    return big[3:, 5:]


@pytest.mark.parametrize("dtype, scale", [(np.float32, 1.0), (np.float32, 1e-30),
                                          (np.float64, 1.0), (np.float64, 1e200),
                                          (np.float64, 1e-200), (np.float64, 1e-160)])
@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("rows, b", [(40, 16), (300, 37), (9, 1), (1, 1), (5, 5)])
def test_reflector_step_matches_reference(dtype, scale, order, rows, b):
    # the CPU reflectors step on a row-major panel (V row-major) and a column-major one (V
    # column-major), against larfg in float64; scales where float64 squares overflow or
    # underflow take the scaled path
    src = _panel(rows, b, dtype, order, scale, seed=rows + b)
    work = linalg.Workspace(np, src, b)
    v = work.v(rows, b, row_major=order == "C")
    tau, beta = np.full(b, np.nan), np.full(b, np.nan)
    before = src.copy()
    linalg.cpu_steps().reflectors(src, v, tau, beta)
    assert np.array_equal(src, before)
    ref_v, ref_tau, ref_beta = np.zeros((rows, b)), np.zeros(b), np.zeros(b)
    # larfg commutes with scaling (v and tau unchanged, beta scaled): the reference runs on
    # unit-sized data, where its own plain norm is safe
    H.reflectors(src.astype(np.float64) / scale, ref_v, ref_tau, ref_beta)
    ref_beta *= scale
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(tau, ref_tau, rtol=rtol, atol=0)
    np.testing.assert_allclose(beta, ref_beta, rtol=rtol, atol=0)
    np.testing.assert_allclose(v, ref_v, rtol=rtol, atol=rtol * np.abs(ref_v).max())
    assert np.array_equal(v == 0, ref_v == 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_larft_matches_reference(dtype):
    rng = np.random.default_rng(8)
    v = np.tril(rng.standard_normal((60, 37)), -1) + np.eye(60, 37)
    tau = 2.0 / (v * v).sum(axis=0)
    gram = (v.T @ v).astype(dtype)
    t, ref = np.full((37, 37), np.nan, dtype), np.zeros((37, 37))
    linalg.cpu_steps().larft(gram, tau, t)
    H.larft(gram.astype(np.float64), tau, ref)
    np.testing.assert_allclose(t, ref, rtol=1e-5 if dtype == np.float32 else 1e-13,
                               atol=1e-6 if dtype == np.float32 else 1e-14)
    assert np.array_equal(np.tril(t, -1), np.zeros_like(t))


# --- orthogonal: the algorithm, pinned by the reference -----------------------------------------

def counter_gaussian(rows, cols, seed, stream=0):
    return fi.normal((rows, cols), dtype="float64", seed=seed, stream=stream)


@pytest.mark.parametrize("shape", [(37, 37), (60, 25), (25, 60), (1, 9), (9, 1)])
@pytest.mark.parametrize("method", METHODS)
def test_orthogonal_equals_reference(shape, method):
    rows, cols = shape
    g = counter_gaussian(rows, cols, seed=11, stream=3)
    tall = g if rows >= cols else g.T
    ref = H.haar_by_reflectors(tall) if method == "reflectors" else H.haar_by_qr(tall)
    if rows < cols:
        ref = ref.T
    for nb in (4, None):  # many blocks, and the tuned width (one block here)
        req = fi._api.allocating(shape, "float64", 11, 3, None, "cpu")
        w = orth_mod._orthogonal(req, 1.5, method, "torch", -1, nb=nb)
        np.testing.assert_allclose(w, 1.5 * ref, atol=1e-12)
    np.testing.assert_allclose(fi.orthogonal(shape, 1.5, method=method, dtype="float64",
                                             seed=11, stream=3), 1.5 * ref, atol=1e-12)


def test_default_method_is_reflectors():
    a = fi.orthogonal((30, 20), seed=5)
    assert np.array_equal(a, fi.orthogonal((30, 20), method="reflectors", seed=5))
    assert not np.allclose(a, fi.orthogonal((30, 20), method="qr", seed=5))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", [(512, 512), (512, 200), (200, 512)])
def test_orthogonality_against_lapack(shape, dtype, method):
    w = fi.orthogonal(shape, method=method, dtype=dtype, seed=21)
    assert w.dtype == np.dtype(dtype)
    assert orth_error(w) <= 4 * lapack_error(*shape, dtype)


@pytest.mark.slow
def test_orthogonality_against_lapack_large_float32():
    w = fi.orthogonal((2048, 1536), seed=22)
    assert orth_error(w) <= 4 * lapack_error(2048, 1536, np.float32)


# --- the Haar law -------------------------------------------------------------------------------

N_HAAR = 2000


def _haar_samples(method, shape=(4, 4)):
    q00 = np.empty(N_HAAR)
    det = np.empty(N_HAAR)
    q_last = np.empty(N_HAAR)
    for s in range(N_HAAR):
        q = fi.orthogonal(shape, method=method, dtype="float64", seed=1000 + s)
        q00[s] = q[0, 0]
        q_last[s] = q[-1, -1]
        det[s] = np.linalg.det(q) if shape[0] == shape[1] else 0.0
    return q00, q_last, det


@pytest.mark.parametrize("method", METHODS)
def test_haar_law_n4(method):
    q00, q_last, det = _haar_samples(method)
    # a column of a Haar matrix is uniform on the sphere S^3: x_1^2 ~ Beta(1/2, 3/2), and its
    # sign is symmetric
    for x in (q00, q_last):
        assert stats.kstest(x ** 2, "beta", args=(0.5, 1.5)).pvalue > P_MIN
        assert stats.binomtest(int(np.sum(x > 0)), N_HAAR).pvalue > P_MIN
    # O(4) has two components of equal mass: det = +1 and -1 equally often
    assert np.allclose(np.abs(det), 1.0)
    assert stats.binomtest(int(np.sum(det > 0)), N_HAAR).pvalue > P_MIN


@pytest.mark.parametrize("method", METHODS)
def test_haar_law_tall_and_wide(method):
    # semi-orthogonal 4 x 2 (a Stiefel frame) and its 2 x 4 transpose: every column of the
    # tall frame is uniform on S^3
    tall = np.array([fi.orthogonal((4, 2), method=method, dtype="float64", seed=5000 + s)
                     for s in range(1000)])
    wide = np.array([fi.orthogonal((2, 4), method=method, dtype="float64", seed=7000 + s)
                     for s in range(1000)])
    for x in (tall[:, 0, 0], tall[:, 3, 1], wide[:, 0, 0], wide[:, 1, 3]):
        assert stats.kstest(x ** 2, "beta", args=(0.5, 1.5)).pvalue > P_MIN


def test_haar_law_is_not_vacuous():
    # the same sign test rejects QR without the sign fix (Mezzadri's point): Q[0, 0] =
    # G[0, 0] / R[0, 0] with R[0, 0] = -sign(G[0, 0]) ||G[:, 0]|| is never positive
    q00 = np.array([H.qr_unblocked(counter_gaussian(4, 4, seed=s))[0][0, 0]
                    for s in range(300)])
    assert np.all(q00 < 0)
    assert stats.binomtest(int(np.sum(q00 > 0)), 300).pvalue < 1e-50


# --- shapes, conventions, gain, dtypes ------------------------------------------------------------

TORCH_SHAPES = [(16, 16), (64, 8), (8, 64), (1, 10), (10, 1), (32, 8, 3, 3), (4, 8, 3, 3),
                (6, 4, 5), (3, 2, 2, 2, 2)]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", TORCH_SHAPES)
def test_torch_convention_shapes(shape, method):
    w = fi.orthogonal(shape, 0.5, method=method, seed=1)
    assert w.shape == shape and w.dtype == np.float32
    m = w.reshape(shape[0], -1) / 0.5
    assert orth_error(m) < 1e-5


JAX_CASES = [((16, 16), -1), ((8, 64), -1), ((64, 8), -1), ((3, 3, 16, 32), -1),
             ((3, 3, 16, 32), -2), ((3, 3, 16, 32), 0), ((5, 4, 3), 1), ((1, 10), -1)]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape, axis", JAX_CASES)
def test_jax_convention_shapes(shape, axis, method):
    w = fi.orthogonal(shape, 2.0, method=method, convention="jax", column_axis=axis, seed=2)
    assert w.shape == shape
    # JAX: columns along column_axis, rows the other axes in order
    m = np.moveaxis(w, axis, -1).reshape(-1, shape[axis]) / 2.0
    assert orth_error(m) < 1e-5
    # the Gaussian is that of the (rows, cols) matrix: the same as with the axis moved last
    moved_shape = tuple(np.delete(shape, axis % len(shape))) + (shape[axis],)
    last = fi.orthogonal(moved_shape, 2.0, method=method, convention="jax", seed=2)
    np.testing.assert_allclose(np.moveaxis(w, axis, -1), last, atol=1e-6)


def test_torch_and_jax_agree_on_matrices():
    # for a 2-D shape the two conventions are the same matrix
    a = fi.orthogonal((40, 30), seed=3)
    assert np.array_equal(a, fi.orthogonal((40, 30), convention="jax", seed=3))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("gain", [0.0, 1e-3, -2.0, 3.5])
def test_gain(gain, method):
    base = fi.orthogonal((70, 50), method=method, dtype="float64", seed=4)
    w = fi.orthogonal((70, 50), gain, method=method, dtype="float64", seed=4)
    np.testing.assert_allclose(w, gain * base, atol=1e-13 * max(1, abs(gain)))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("shape", [(48, 48), (20, 70)])
def test_half_dtypes_round_float32_once(dtype, shape):
    w = fi.orthogonal(shape, 1.3, dtype=dtype, seed=6)
    ref = fi.orthogonal(shape, 1.3, dtype="float32", seed=6).astype(dtype)
    assert w.dtype == np.dtype(BF16 if dtype == "bfloat16" else dtype)
    assert np.array_equal(w.view(np.uint16), ref.view(np.uint16))


def test_same_seed_same_bits_streams_differ():
    a = fi.orthogonal((300, 200), seed=7, stream=1)
    assert np.array_equal(a, fi.orthogonal((300, 200), seed=7, stream=1))
    assert not np.allclose(a, fi.orthogonal((300, 200), seed=7, stream=2))
    assert not np.allclose(a, fi.orthogonal((300, 200), seed=8, stream=1))
    b = fi.orthogonal((300, 200), seed=np.random.SeedSequence(5))
    assert np.array_equal(b, fi.orthogonal((300, 200), seed=np.random.SeedSequence(5)))


# --- in-place targets ---------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["C", "F", "strided", "bfloat16"])
def test_in_place_equals_allocating(layout):
    shape = (40, 24)
    dtype = BF16 if layout == "bfloat16" else np.float32
    ref = fi.orthogonal(shape, 1.5, dtype=dtype, seed=9, stream=4)
    if layout == "F":
        out = np.asfortranarray(np.full(shape, 7.0, dtype))
    elif layout == "strided":
        out = np.full((80, 48), 7.0, dtype)[::2, ::2]
    else:
        out = np.full(shape, 7.0, dtype)
    res = fi.orthogonal_(out, 1.5, seed=9, stream=4)
    assert res is out
    np.testing.assert_allclose(out.astype(np.float64), ref.astype(np.float64),
                               atol=1e-6 if dtype == np.float32 else 0)


def test_in_place_torch_tensor_zero_copy():
    torch = pytest.importorskip("torch")
    t = torch.empty(32, 4, 3, 3)
    res = fi.orthogonal_(t, 2.0, seed=1)
    assert res is t
    ref = fi.orthogonal((32, 4, 3, 3), 2.0, seed=1)
    assert np.array_equal(t.numpy(), ref)
    tb = torch.empty(20, 30, dtype=torch.bfloat16)
    fi.orthogonal_(tb, seed=2)
    refb = fi.orthogonal((20, 30), dtype="bfloat16", seed=2)
    assert np.array_equal(tb.view(torch.int16).numpy(), refb.view(np.int16))


# --- delta orthogonal ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(3, 8, 16), (3, 3, 8, 16), (4, 2, 8, 8), (3, 3, 3, 4, 6),
                                   (1, 5, 5)])
@pytest.mark.parametrize("axis", [-1, -2])
def test_delta_orthogonal(shape, axis):
    w = fi.delta_orthogonal(shape, 1.7, axis, seed=3)
    assert w.shape == shape and w.dtype == np.float32
    centre = tuple((k - 1) // 2 for k in shape[:-2])
    mat = fi.orthogonal(shape[-2:], 1.7, convention="jax", column_axis=axis, seed=3)
    assert np.array_equal(w[centre], mat)
    rest = w.copy()
    rest[centre] = 0
    assert not rest.any()
    assert orth_error(w[centre] / 1.7) < 1e-5
    out = np.full(shape, 9.0, np.float32)
    assert fi.delta_orthogonal_(out, 1.7, axis, seed=3) is out
    assert np.array_equal(out, w)


# --- bad input ----------------------------------------------------------------------------------

BAD = [
    (lambda o: fi.orthogonal_(o[0]), ValueError, "at least 2 dimensions"),
    (lambda o: fi.orthogonal_(o, gain=math.inf), ValueError, "gain"),
    (lambda o: fi.orthogonal_(o, gain=math.nan), ValueError, "gain"),
    (lambda o: fi.orthogonal_(o, gain="1"), TypeError, "gain"),
    (lambda o: fi.orthogonal_(o, method="svd"), ValueError, "method"),
    (lambda o: fi.orthogonal_(o, convention="keras"), ValueError, "convention"),
    (lambda o: fi.orthogonal_(o, convention="jax", column_axis=2), ValueError, "column_axis"),
    (lambda o: fi.orthogonal_(o, column_axis=1.0), TypeError, "column_axis"),
    (lambda o: fi.orthogonal_(o, seed=-1), ValueError, "seed"),
    (lambda o: fi.orthogonal_(o, stream=2**64), ValueError, "stream"),
    (lambda o: fi.delta_orthogonal_(o), ValueError, "3, 4 or 5 dimensions"),
]


@pytest.mark.parametrize("call, exc, words", BAD)
def test_bad_input_leaves_out_untouched(call, exc, words):
    out = np.full((6, 4), 7.25, np.float32)
    with pytest.raises(exc, match=words):
        call(out)
    assert np.all(out == 7.25)


@pytest.mark.parametrize("call, exc, words", [
    (lambda: fi.orthogonal((5,)), ValueError, "at least 2 dimensions"),
    (lambda: fi.orthogonal((0, 4), gain=math.nan), ValueError, "gain"),
    (lambda: fi.orthogonal((4, 4), dtype="int32"), TypeError, "dtype"),
    (lambda: fi.orthogonal((4, 4), device="tpu"), ValueError, "device"),
    (lambda: fi.delta_orthogonal((3, 3, 8, 4)), ValueError, "fan_in <= fan_out"),
    (lambda: fi.delta_orthogonal((3, 3)), ValueError, "3, 4 or 5 dimensions"),
    (lambda: fi.delta_orthogonal((0, 3, 8, 4)), ValueError, "fan_in <= fan_out"),
    (lambda: fi.delta_orthogonal((3, 4, 4), scale=math.inf), ValueError, "scale"),
])
def test_bad_input_allocating(call, exc, words):
    with pytest.raises(exc, match=words):
        call()


def test_bad_in_place_targets_untouched():
    ro = np.full((4, 4), 7.25, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        fi.orthogonal_(ro)
    with pytest.raises(TypeError, match="dtype"):
        fi.orthogonal_(np.zeros((4, 4), np.int32))
    zero = np.zeros((0, 4), np.float32)
    assert fi.orthogonal_(zero) is zero  # a zero-element tensor: a no-op
    assert fi.orthogonal((4, 3, 0), seed=1).shape == (4, 3, 0)
    assert fi.delta_orthogonal((0, 3, 4, 4), seed=1).shape == (0, 3, 4, 4)
    with pytest.raises(ValueError, match="gain"):
        fi.orthogonal_(zero, gain=math.inf)
    out = np.full((3, 4, 4), 7.25, np.float32)
    with pytest.raises(ValueError, match="fan_in"):
        fi.delta_orthogonal_(out[:, :, :3].copy().reshape(3, 4, 3))
    assert np.all(out == 7.25)


# --- the in-place update C -= V W through NumPy's BLAS, and the tile path without it ------------

def _layouts(rng, shape, dtype):
    """The same matrix C-ordered, F-ordered, and as a block of larger C and F matrices."""
    x = rng.standard_normal(shape).astype(dtype)
    big_c = np.zeros((shape[0] + 3, shape[1] + 5), dtype)
    big_f = np.zeros((shape[0] + 3, shape[1] + 5), dtype, order="F")
    out = []
    for base in (None, big_c, big_f):
        if base is None:
            out += [x.copy(), np.asfortranarray(x)]
        else:
            v = base[2:2 + shape[0], 1:1 + shape[1]]
            v[...] = x
            out.append(v)
    return out


def _assert_only_block_written(block, before, written=None):
    """For a block of ``_layouts`` cut from a larger matrix: nothing of that matrix outside
    ``block`` (or outside ``block[written]``) changed from ``before``."""
    rows, cols = block.shape
    mask = np.ones(block.base.shape, bool)
    if written is None:
        mask[2:2 + rows, 1:1 + cols] = False
    else:
        mask[2:2 + rows, 1:1 + cols][written] = False
    assert np.array_equal(block.base[mask], before[mask])


@pytest.mark.skipif(_blas.subtract_product is None,
                    reason="NumPy is not linked against its bundled OpenBLAS")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mnk", [(7, 5, 3), (1, 5, 3), (7, 1, 3), (7, 5, 1), (40, 1, 4),
                                 (65, 33, 16)])
def test_subtract_product_matches_numpy(dtype, mnk):
    m, n, k = mnk
    rng = np.random.default_rng(m * 100 + n * 10 + k)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    for c in _layouts(rng, (m, n), dtype):
        for a in _layouts(rng, (m, k), dtype):
            for b in _layouts(rng, (k, n), dtype):
                want = c.astype(np.float64) - a.astype(np.float64) @ b.astype(np.float64)
                got = c.copy(order="K") if c.base is None else c
                before = None if c.base is None else c.base.copy()
                _blas.subtract_product(got, a, b)
                np.testing.assert_allclose(got, want, atol=tol)
                if before is not None:  # nothing outside the block was written
                    _assert_only_block_written(c, before)


@pytest.mark.skipif(_blas.triangular_product is None,
                    reason="NumPy is not linked against its bundled OpenBLAS")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("transpose", [False, True])
@pytest.mark.parametrize("bn", [(5, 7), (1, 4), (4, 1), (1, 1), (13, 30)])
def test_triangular_product_matches_numpy(dtype, transpose, bn):
    b, n = bn
    rng = np.random.default_rng(b * 10 + n)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    for t in _layouts(rng, (b, b), dtype):
        upper = np.triu(t.astype(np.float64))  # the lower triangle is never read
        for w in _layouts(rng, (b, n), dtype):
            want = (upper.T if transpose else upper) @ w.astype(np.float64)
            got = w.copy(order="K") if w.base is None else w
            before = None if w.base is None else w.base.copy()
            assert _blas.triangular_product(t, got, transpose) is got
            np.testing.assert_allclose(got, want, atol=tol)
            if before is not None:
                _assert_only_block_written(w, before)


@pytest.mark.skipif(_blas.gram_upper is None,
                    reason="NumPy is not linked against its bundled OpenBLAS")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("rows_b", [(7, 3), (1, 4), (5, 1), (1, 1), (60, 37), (3, 5)])
def test_gram_upper_matches_numpy(dtype, rows_b):
    rows, b = rows_b
    rng = np.random.default_rng(rows * 10 + b)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    upper, lower = np.triu_indices(b), np.tril_indices(b, -1)
    for v in _layouts(rng, (rows, b), dtype):
        want = v.astype(np.float64).T @ v.astype(np.float64)
        for g in _layouts(rng, (b, b), dtype):
            before = (g if g.base is None else g.base).copy()
            assert _blas.gram_upper(v, g) is g
            np.testing.assert_allclose(g[upper], want[upper], atol=tol * max(1, rows))
            if g.base is None:
                assert np.array_equal(g[lower], before[lower])  # read by nobody, kept
            else:  # nothing outside the upper triangle of the block was written
                _assert_only_block_written(g, before, upper)


def test_tile_path_without_in_place_product(monkeypatch):
    # the update through the workspace tile, `subtract`, a second W buffer and full Gram
    # products (NumPy without its bundled OpenBLAS) gives the same Q up to rounding, for both
    # methods
    kw = dict(dtype="float64", seed=5)
    want = {m: fi.orthogonal((300, 200), method=m, **kw) for m in ("reflectors", "qr")}
    steps = dataclasses.replace(linalg.cpu_steps(), subtract_product=None,
                                triangular_product=None, gram_upper=None)
    monkeypatch.setattr(linalg, "_CPU_STEPS", steps)
    for method, ref in want.items():
        got = fi.orthogonal((300, 200), method=method, **kw)
        np.testing.assert_allclose(got, ref, atol=1e-12)
        q, r = linalg.qr(got)
        np.testing.assert_allclose(q @ r, got, atol=1e-12)
