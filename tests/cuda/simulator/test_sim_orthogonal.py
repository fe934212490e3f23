"""Orthogonal on the GPU under the CUDA simulator: the CUDA Householder panel kernels against
the Numba CPU ones, the blocked orchestration with NumPy as the array module and the CUDA steps,
and ``orthogonal_`` on simulator device arrays against the CPU result.

Small matrices (24 x 16, 16 x 24) with panel width 5, so there are several blocks and a ragged
last one; threads per block patched to 8 (the reductions run over several turns of each
thread's loop over the rows). Results agree with the CPU up to rounding: the reductions sum in
another order than the CPU's sequential loops.
"""
import ml_dtypes
import numpy as np
import pytest
from numba import config, cuda

import fastinit as fi
from fastinit import linalg
from fastinit._backend import cpu as cpu_backend, cuda as cuda_backend, cuda_steps

NB = 5
TOL = {np.dtype(np.float32): 2e-5, np.dtype(np.float64): 1e-12}
DTYPES = [np.dtype(np.float32), np.dtype(np.float64)]
DT_IDS = ["f32", "f64"]
CPU_FILL = cpu_backend.fill


@pytest.fixture(autouse=True)
def small_launches(monkeypatch):
    assert config.ENABLE_CUDASIM, "these tests must run with NUMBA_ENABLE_CUDASIM=1"
    monkeypatch.setattr(cuda_backend, "THREADS_PER_BLOCK", 8)
    monkeypatch.setattr(cuda_backend, "MAX_BLOCKS", 3)
    monkeypatch.setattr(cuda_steps, "PANEL_THREADS", 8)
    monkeypatch.setattr(cuda_steps, "MAX_BLOCKS", 2)  # fewer blocks than columns


def gaussian(shape, dtype, seed=7):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def fortran(shape, dtype):
    return np.full(shape[::-1], np.nan, dtype).T


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
def test_panel_kernels_match_cpu(dtype):
    cpu = linalg.cpu_steps()
    gpu = cuda_steps.cuda_steps(np)
    tol = TOL[dtype]
    src = gaussian((24, NB), dtype)
    src[3:, 2] = 0.0  # a column whose reflector is the identity (tau = 0)
    # reflectors_from_columns
    (v1, t1, b1), (v2, t2, b2) = [(fortran(src.shape, dtype), np.empty(NB), np.empty(NB))
                                  for _ in range(2)]
    cpu.reflectors(src, v1, t1, b1)
    gpu.reflectors(src.copy(), v2, t2, b2)
    np.testing.assert_allclose(v2, v1, rtol=tol, atol=tol)
    np.testing.assert_allclose(t2, t1, rtol=tol, atol=tol)
    np.testing.assert_allclose(b2, b1, rtol=tol, atol=tol)
    assert t1[2] == t2[2] == 0.0
    # panel_qr, on a strided view of a larger matrix as in the blocked algorithm
    big1 = gaussian((30, 16), dtype, seed=3)
    big2 = big1.copy()
    p1, p2 = big1[6:, 4:4 + NB], big2[6:, 4:4 + NB]
    (v1, t1, b1), (v2, t2, b2) = [(fortran(p1.shape, dtype), np.empty(NB), np.empty(NB))
                                  for _ in range(2)]
    cpu.panel_qr(p1, v1, t1, b1)
    gpu.panel_qr(p2, v2, t2, b2)
    np.testing.assert_allclose(big2, big1, rtol=tol, atol=tol)
    np.testing.assert_allclose(v2, v1, rtol=tol, atol=tol)
    np.testing.assert_allclose(t2, t1, rtol=tol, atol=tol)
    np.testing.assert_allclose(b2, b1, rtol=tol, atol=tol)
    assert not np.array_equal(big2, gaussian((30, 16), dtype, seed=3))  # it did factor
    # unit_lower: copies, exactly
    u1, u2 = fortran(p1.shape, dtype), fortran(p1.shape, dtype)
    cpu.unit_lower(p1, u1)
    gpu.unit_lower(p1, u2)
    np.testing.assert_array_equal(u2, u1)
    np.testing.assert_array_equal(u1, v1)
    # larft_from_gram
    gram = (v1.T @ v1).astype(dtype)
    tt1, tt2 = np.full((NB, NB), np.nan, dtype), np.full((NB, NB), np.nan, dtype)
    cpu.larft(gram, t1, tt1)
    gpu.larft(gram, t1, tt2)
    np.testing.assert_allclose(tt2, tt1, rtol=tol, atol=tol)
    assert (np.tril(tt2, -1) == 0).all()


def _orthogonality(q):
    k = min(q.shape)
    g = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
    return np.abs(g - np.eye(k)).max()


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("shape", [(24, 16), (16, 24)], ids=["24x16", "16x24"])
def test_geqrf_form_q_with_cuda_steps(shape, dtype):
    """The host orchestration with xp=numpy and the CUDA steps: Q orthogonal, close to the
    CPU's Q, and Q R = A."""
    a = gaussian(shape, dtype, seed=11)
    tall = a if shape[0] >= shape[1] else a.T
    m, n = tall.shape
    results = []
    for steps in (linalg.cpu_steps(), cuda_steps.cuda_steps(np)):
        w = np.array(tall, order="C")
        tau, beta = np.zeros(n), np.zeros(n)
        linalg.geqrf(w, tau, beta, steps, NB)
        r = np.triu(w[:n])
        linalg.form_q(w, n, linalg.stored_reflectors(tau, steps), steps, NB)
        results.append((w, r, beta))
    (q1, r1, b1), (q2, r2, b2) = results
    tol = TOL[dtype] * 10
    assert _orthogonality(q2.astype(np.float64)) < tol
    np.testing.assert_allclose(q2, q1, rtol=tol, atol=tol)
    np.testing.assert_allclose(r2, r1, rtol=tol, atol=tol)
    np.testing.assert_allclose(np.diag(r2), b2, rtol=tol, atol=tol)
    np.testing.assert_allclose(q2.astype(np.float64) @ r2, tall, rtol=tol, atol=tol)


@pytest.mark.parametrize("method", ["reflectors", "qr"])
@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("shape", [(24, 16), (16, 24)], ids=["24x16", "16x24"])
def test_orthogonal_on_device_arrays_equals_cpu(shape, dtype, method, monkeypatch):
    """``orthogonal_`` on a simulator device array: the Gaussian from the CUDA normal kernel,
    the CUDA panel steps; equal to the CPU result up to rounding, never through the CPU
    drivers."""
    monkeypatch.setattr(linalg, "PANEL_WIDTH", NB)
    expect = fi.orthogonal(shape, gain=1.5, method=method, seed=5, stream=2,
                           dtype=dtype.name)

    def refuse(*args, **kwargs):
        raise AssertionError("a device target went to the CPU drivers")
    monkeypatch.setattr(cpu_backend, "fill", refuse)
    monkeypatch.setattr(linalg, "cpu_steps", refuse)
    out = cuda.to_device(np.full(shape, 9, dtype))
    assert fi.orthogonal_(out, gain=1.5, method=method, seed=5, stream=2) is out
    got = out.copy_to_host()
    tol = TOL[dtype] * 20
    np.testing.assert_allclose(got, expect, rtol=tol, atol=tol)
    assert _orthogonality(got.astype(np.float64) / 1.5) < tol


def test_orthogonal_device_conventions_and_dtypes(monkeypatch):
    """jax's column axis, a conv shape, a transposed target and float16 go through the scratch
    matrix; delta_orthogonal zeroes the rest."""
    monkeypatch.setattr(linalg, "PANEL_WIDTH", NB)
    cases = [((4, 3, 2), dict(convention="jax", column_axis=1), np.float32, None),
             ((6, 2, 2, 3), dict(), np.float16, None),
             ((16, 12), dict(), np.float32, "transpose"),
             ((12, 10), dict(), ml_dtypes.bfloat16, None)]
    for shape, kw, dtype, layout in cases:
        expect = fi.orthogonal(shape, seed=1, dtype=np.dtype(dtype).name, **kw)
        if layout == "transpose":
            out = cuda.to_device(np.zeros(shape[::-1], dtype)).T
        else:
            out = cuda.to_device(np.zeros(shape, dtype))
        fi.orthogonal_(out, seed=1, **kw)
        got = out.copy_to_host().astype(np.float64)
        tol = 2e-5 if dtype == np.float32 else 1e-2
        np.testing.assert_allclose(got, expect.astype(np.float64), rtol=tol, atol=tol)
    expect = fi.delta_orthogonal((3, 3, 4, 6), seed=2)
    out = cuda.to_device(np.full((3, 3, 4, 6), 5, np.float32))
    fi.delta_orthogonal_(out, seed=2)
    np.testing.assert_allclose(out.copy_to_host(), expect, rtol=2e-5, atol=2e-5)
