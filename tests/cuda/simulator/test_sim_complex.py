"""Complex targets on the CUDA backend under the simulator, against the CPU.

A complex device target is filled through its real view (shape ``(*shape, 2)``, strides
doubled), a constant's parts through the real and imaginary views: the same kernels as the
float dtypes, so the bits equal the CPU's, whole, by region and in every layout. Orthogonal
goes through the array module's QR (NumPy's here, CuPy's on a GPU).
"""
import numpy as np
import pytest
from numba import config, cuda

import fastinit as fi
from fastinit._backend import cpu as cpu_backend, cuda as cuda_backend

COMPLEX = [np.dtype(np.complex64), np.dtype(np.complex128)]
IDS = ["c64", "c128"]
SEED, STREAM = 77, 5
GSHAPE = (14, 21)
REGION = (slice(2, 13), slice(3, 20))
CPU_FILL = cpu_backend.fill

INITS = [
    ("normal", fi.normal_, dict(mean=0.25, std=2.0)),
    ("uniform", fi.uniform_, dict(low=-1.0, high=0.5)),
    ("constant", fi.constant_, dict(value=0.5 - 3j)),
    ("ones", fi.ones_, dict()),
    ("xavier_uniform", fi.xavier_uniform_, dict()),
    ("kaiming_normal", fi.kaiming_normal_, dict()),
    ("vs_uniform_jax", fi.variance_scaling_,
     dict(scale=2.0, mode="fan_in", distribution="uniform", convention="jax")),
    ("vs_truncated_jax", fi.variance_scaling_,
     dict(scale=1.0, mode="fan_avg", distribution="truncated_normal", convention="jax")),
    ("he_normal_jax", fi.he_normal_, dict(convention="jax")),
    ("eye", fi.eye_, dict()),
]
NO_SEED = {"constant", "ones", "eye"}


@pytest.fixture(autouse=True)
def small_launches(monkeypatch):
    assert config.ENABLE_CUDASIM, "these tests must run with NUMBA_ENABLE_CUDASIM=1"
    monkeypatch.setattr(cuda_backend, "THREADS_PER_BLOCK", 8)
    monkeypatch.setattr(cuda_backend, "MAX_BLOCKS", 3)


def _kw(name, kwargs):
    return dict(kwargs) if name in NO_SEED else dict(kwargs, seed=SEED, stream=STREAM)


def _on_cpu(func, arr, kw):
    """``func`` through the CPU drivers, even while the test refuses them for device targets."""
    saved = cpu_backend.fill
    cpu_backend.fill = CPU_FILL
    try:
        return func(arr, **kw)
    finally:
        cpu_backend.fill = saved


@pytest.fixture
def no_cpu_kernels(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a device target went to the CPU drivers")
    monkeypatch.setattr(cpu_backend, "fill", refuse)


def _bits(a):
    return np.ascontiguousarray(a).view(np.uint32)


def _device(layout, shape, dtype):
    if layout == "contiguous":
        return cuda.to_device(np.full(shape, 7 + 7j, dtype))
    if layout == "transpose":
        return cuda.to_device(np.full(shape[::-1], 7 + 7j, dtype)).T
    return cuda.to_device(np.full((shape[0], 2 * shape[1]), 7 + 7j, dtype))[:, ::2]


@pytest.mark.parametrize("dtype", COMPLEX, ids=IDS)
@pytest.mark.parametrize("layout", ["contiguous", "transpose", "column_slice"])
@pytest.mark.parametrize("name, func, kwargs", INITS, ids=[i[0] for i in INITS])
def test_complex_targets_equal_cpu(name, func, kwargs, layout, dtype, no_cpu_kernels):
    kw = _kw(name, kwargs)
    expect = np.empty(GSHAPE, dtype)
    _on_cpu(func, expect, kw)
    out = _device(layout, GSHAPE, dtype)
    assert func(out, **kw) is out
    np.testing.assert_array_equal(_bits(out.copy_to_host()), _bits(expect))
    rshape = tuple(s.stop - s.start for s in REGION)
    out = _device(layout, rshape, dtype)
    func(out, shape=GSHAPE, region=REGION, **kw)
    np.testing.assert_array_equal(_bits(out.copy_to_host()), _bits(expect[REGION]))


@pytest.mark.parametrize("dtype", COMPLEX, ids=IDS)
def test_complex_sparse_equals_cpu(dtype, no_cpu_kernels):
    expect = np.empty((20, 6), dtype)
    _on_cpu(fi.sparse_, expect, dict(sparsity=0.5, seed=SEED, stream=1))
    out = cuda.to_device(np.full((20, 6), 7 + 7j, dtype))
    fi.sparse_(out, 0.5, seed=SEED, stream=1)
    np.testing.assert_array_equal(_bits(out.copy_to_host()), _bits(expect))


@pytest.mark.parametrize("dtype", COMPLEX, ids=IDS)
@pytest.mark.parametrize("shape", [(12, 8), (8, 12)])
def test_complex_orthogonal_on_the_device(shape, dtype):
    expect = fi.orthogonal(shape, 1.5, dtype=dtype.name, seed=SEED)
    out = cuda.to_device(np.full(shape, 7 + 7j, dtype))
    fi.orthogonal_(out, 1.5, seed=SEED)
    got = out.copy_to_host()
    tol = 1e-5 if dtype == np.complex64 else 1e-12
    np.testing.assert_allclose(got, expect, rtol=tol, atol=tol)
    m = got / 1.5
    g = m.conj().T @ m if shape[0] >= shape[1] else m @ m.conj().T
    np.testing.assert_allclose(g, np.eye(len(g)), atol=10 * tol)
