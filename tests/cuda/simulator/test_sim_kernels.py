"""The CUDA kernels under the CUDA simulator, bit for bit against the CPU kernels.

Threads per block are patched to 8 and the grid to at most 3 blocks, so a thousand elements
cover many blocks and every thread turns the grid-stride loop many times. Every initializer,
every output dtype, whole targets, ``region=`` and strided targets (a column slice, a
transpose, reversed rows).
"""
import math

import ml_dtypes
import numpy as np
import pytest
from numba import config, cuda

import fastinit as fi
from fastinit import _api, _plans
from fastinit._backend import cpu as cpu_backend, cuda as cuda_backend

BF16 = np.dtype(ml_dtypes.bfloat16)
CPU_FILL = cpu_backend.fill  # the real CPU route, for the references
DTYPES = [np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.float16), BF16]
DT_IDS = ["f64", "f32", "f16", "bf16"]
SEED, STREAM = 20240607, 3

GSHAPE = (24, 45)                          # 1080 elements: 270 Philox blocks
REGION = (slice(3, 21), slice(5, 43))      # starts mid-block, rows not block-aligned

# name, in-place function, keyword arguments (seed and stream added when it takes them)
INITS = [
    ("uniform", fi.uniform_, dict(low=-0.25, high=0.75)),
    ("uniform_unit", fi.uniform_, dict()),
    ("normal", fi.normal_, dict(mean=0.5, std=2.0)),
    ("trunc_normal", fi.trunc_normal_, dict(mean=0.0, std=1.0, a=-2.0, b=2.0)),
    ("trunc_normal_tail", fi.trunc_normal_, dict(mean=0.0, std=1.0, a=6.0, b=math.inf)),
    ("truncated_normal", fi.truncated_normal_, dict(stddev=0.02)),
    ("constant", fi.constant_, dict(value=0.1)),
    ("constant_nan", fi.constant_, dict(value=math.nan)),
    ("zeros", fi.zeros_, dict()),
    ("ones", fi.ones_, dict()),
    ("xavier_uniform", fi.xavier_uniform_, dict(gain=2.0)),
    ("xavier_normal", fi.xavier_normal_, dict()),
    ("kaiming_uniform", fi.kaiming_uniform_, dict(a=5 ** 0.5)),
    ("kaiming_normal", fi.kaiming_normal_, dict(mode="fan_out", nonlinearity="relu")),
    ("lecun_uniform", fi.lecun_uniform_, dict()),
    ("lecun_normal", fi.lecun_normal_, dict()),
    ("he_normal_jax", fi.he_normal_, dict(convention="jax")),
    ("glorot_uniform_jax", fi.glorot_uniform_, dict(convention="jax")),
    ("variance_scaling_normal", fi.variance_scaling_,
     dict(scale=2.0, mode="fan_avg", distribution="normal")),
    ("variance_scaling_uniform", fi.variance_scaling_,
     dict(scale=0.5, mode="fan_geo_avg", distribution="uniform")),
    ("eye", fi.eye_, dict()),
    ("sparse", fi.sparse_, dict(sparsity=0.3, std=1.0)),
]
NO_SEED = {"constant", "constant_nan", "zeros", "ones", "eye"}


@pytest.fixture(autouse=True)
def small_launches(monkeypatch):
    assert config.ENABLE_CUDASIM, "these tests must run with NUMBA_ENABLE_CUDASIM=1"
    monkeypatch.setattr(cuda_backend, "THREADS_PER_BLOCK", 8)
    monkeypatch.setattr(cuda_backend, "MAX_BLOCKS", 3)


@pytest.fixture
def no_cpu_kernels(monkeypatch):
    """Device targets must never reach the CPU drivers (a simulator device array also looks
    like a NumPy array, so a wrong route would still give the right numbers)."""
    def refuse(*args, **kwargs):
        raise AssertionError("a device target went to the CPU drivers")
    monkeypatch.setattr(cpu_backend, "fill", refuse)


def bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.dtype(f"u{a.dtype.itemsize}"))


def assert_same_bits(got, expect):
    assert got.dtype == expect.dtype and got.shape == expect.shape
    bad = np.nonzero(bits(got) != bits(expect))
    assert bad[0].size == 0, (f"{bad[0].size} of {got.size} differ; first at "
                              f"{[b[0] for b in bad]}: got {got[tuple(b[0] for b in bad)]!r}, "
                              f"expected {expect[tuple(b[0] for b in bad)]!r}")


def _kwargs(name, kwargs):
    kw = dict(kwargs)
    if name not in NO_SEED:
        kw.update(seed=SEED, stream=STREAM)
    return kw


def _device_target(layout, shape, dtype):
    """A simulator device array of ``shape`` with the memory layout ``layout``, filled with a
    sentinel (a kernel that skips an element is caught), and its host twin's layout maker."""
    if layout == "contiguous":
        return cuda.to_device(np.full(shape, 7, dtype))
    if layout == "column_slice":  # every other column of a wider array
        return cuda.to_device(np.full((shape[0], 2 * shape[1]), 7, dtype))[:, ::2]
    if layout == "transpose":  # Fortran order
        return cuda.to_device(np.full(shape[::-1], 7, dtype)).T
    if layout == "reversed_rows":  # a negative stride
        return cuda.to_device(np.full(shape, 7, dtype))[::-1]
    raise ValueError(layout)


def _cpu_call(func, arr, kw):
    """``func`` on a NumPy array through the CPU drivers, even under ``no_cpu_kernels``."""
    saved = cpu_backend.fill
    cpu_backend.fill = CPU_FILL
    try:
        return func(arr, **kw)
    finally:
        cpu_backend.fill = saved


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
# sparse is slow under the simulator (a thread per column, bisection): it has its own tests below
@pytest.mark.parametrize("name, func, kwargs", [i for i in INITS if i[0] != "sparse"],
                         ids=[i[0] for i in INITS if i[0] != "sparse"])
def test_whole_and_region_equal_cpu(name, func, kwargs, dtype, no_cpu_kernels):
    kw = _kwargs(name, kwargs)
    expect = np.empty(GSHAPE, dtype)
    _cpu_call(func, expect, kw)
    rshape = tuple(s.stop - s.start for s in REGION)
    out = _device_target("contiguous", rshape, dtype)
    assert func(out, shape=GSHAPE, region=REGION, **kw) is out
    assert_same_bits(out.copy_to_host(), expect[REGION])
    whole = _device_target("contiguous", GSHAPE, dtype)
    func(whole, **kw)
    assert_same_bits(whole.copy_to_host(), expect)


@pytest.mark.parametrize("dtype", DTYPES, ids=DT_IDS)
@pytest.mark.parametrize("layout", ["column_slice", "transpose", "reversed_rows"])
@pytest.mark.parametrize("name, func, kwargs",
                         [i for i in INITS if i[0] in ("uniform", "normal", "trunc_normal",
                                                       "constant", "kaiming_uniform",
                                                       "eye")],
                         ids=lambda v: v if isinstance(v, str) else "")
def test_strided_targets_equal_cpu(name, func, kwargs, layout, dtype, no_cpu_kernels):
    kw = _kwargs(name, kwargs)
    shape = (18, 38)
    expect = np.empty(shape, dtype)
    _cpu_call(func, expect, kw)
    out = _device_target(layout, shape, dtype)
    func(out, **kw)
    assert_same_bits(out.copy_to_host(), expect)
    # and a strided target that is a region of a larger global tensor
    expect = np.empty(GSHAPE, dtype)
    _cpu_call(func, expect, kw)
    rshape = tuple(s.stop - s.start for s in REGION)
    out = _device_target(layout, rshape, dtype)
    func(out, shape=GSHAPE, region=REGION, **kw)
    assert_same_bits(out.copy_to_host(), expect[REGION])


@pytest.mark.parametrize("shape, region", [
    ((13,), None),
    ((4103,), (slice(3, 4102),)),
    ((3, 5, 7), (slice(1, 3), slice(0, 5), slice(2, 7))),
    ((2**36,), (slice(4 * 2**32 - 7, 4 * 2**32 + 6),)),   # counter word 1 carries
    ((7, 1, 9), (slice(2, 5), slice(0, 1), slice(1, 9))),  # unit middle dimension
], ids=["13", "4103-r3", "3x5x7", "huge", "unit-dim"])
def test_random_bits_kernel_equals_cpu(shape, region, no_cpu_kernels):
    expect = _cpu_call(lambda arr, **kw: fi.random_bits(**kw), None,
                       dict(shape=shape, seed=SEED, stream=2**40 + 5, region=region))
    out = cuda.to_device(np.zeros(expect.shape, np.uint32))
    req = _api.in_place(out, SEED, 2**40 + 5, shape, region, dtypes=(np.dtype(np.uint32),))
    req.fill(_plans.BITS)
    assert_same_bits(out.copy_to_host(), expect)


@pytest.mark.parametrize("dtype", [np.dtype(np.float32), BF16], ids=["f32", "bf16"])
def test_dirac_and_sparse_regions(dtype, no_cpu_kernels):
    shape = (8, 4, 3, 3)
    expect = np.empty(shape, dtype)
    _cpu_call(fi.dirac_, expect, dict(groups=2))
    region = (slice(1, 7), slice(0, 4), slice(1, 3))
    out = cuda.to_device(np.full((6, 4, 2, 3), 5, dtype))
    fi.dirac_(out, groups=2, shape=shape, region=region)
    assert_same_bits(out.copy_to_host(), expect[region])
    for sparsity in (0.0, 0.5, 0.9):
        expect = np.empty((40, 9), dtype)
        _cpu_call(fi.sparse_, expect, dict(sparsity=sparsity, seed=SEED, stream=1))
        region = (slice(5, 33), slice(2, 8))
        out = cuda.to_device(np.full((28, 6), 5, dtype))
        fi.sparse_(out, sparsity, seed=SEED, stream=1, shape=(40, 9), region=region)
        assert_same_bits(out.copy_to_host(), expect[region])


def test_grid_stride_loop_turns(monkeypatch):
    """With one block of 8 threads the loop covers everything alone; any grid gives the same
    bits."""
    expect = None
    for threads, blocks in ((8, 1), (8, 3), (32, 64), (1, 1)):
        monkeypatch.setattr(cuda_backend, "THREADS_PER_BLOCK", threads)
        monkeypatch.setattr(cuda_backend, "MAX_BLOCKS", blocks)
        out = cuda.device_array((9, 37), np.float32)
        fi.normal_(out, seed=SEED)
        got = out.copy_to_host()
        if expect is None:
            expect = got
        assert_same_bits(got, expect)


def test_bad_input_leaves_device_target_untouched(no_cpu_kernels):
    out = cuda.to_device(np.full((6, 8), 3.0, np.float32))
    with pytest.raises(ValueError, match="std"):
        fi.normal_(out, std=-1.0, seed=0)
    with pytest.raises(ValueError, match="region"):
        fi.normal_(out, seed=0, shape=(6, 8), region=(slice(0, 7),))
    with pytest.raises(ValueError, match="shape"):
        fi.normal_(out, seed=0, shape=(10, 10), region=(slice(0, 5),))
    with pytest.raises(ValueError, match="seed"):
        fi.uniform_(out, seed=-1)
    assert (out.copy_to_host() == 3.0).all()
    with pytest.raises(TypeError, match="dtype"):
        fi.normal_(cuda.device_array(4, np.int32), seed=0)


def test_empty_device_target_is_a_no_op(no_cpu_kernels):
    out = cuda.device_array((0, 5), np.float32)
    assert fi.normal_(out, seed=0) is out


class _SimCupy:
    """A stand-in for CuPy under the simulator (which has none): its arrays are the simulator's
    device arrays, so the ``device="cuda"`` allocating forms run end to end."""

    class cuda:
        class runtime:
            @staticmethod
            def getDeviceCount():
                return 1

    @staticmethod
    def empty(shape, dtype):
        if np.dtype(dtype) == BF16:
            raise TypeError("Unsupported dtype bfloat16")  # as CuPy says
        return cuda.device_array(shape, dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_allocating_forms_on_the_device(dtype, monkeypatch, no_cpu_kernels):
    import sys
    monkeypatch.setitem(sys.modules, "cupy", _SimCupy)
    region = (slice(2, 20), slice(1, 40))
    for name, alloc, kw in [("normal", fi.normal, dict(std=0.5, seed=SEED, stream=STREAM)),
                            ("uniform", fi.uniform, dict(low=-1.0, high=1.0, seed=SEED)),
                            ("kaiming_uniform", fi.kaiming_uniform, dict(seed=SEED)),
                            ("eye", fi.eye, dict())]:  # sparse: its own test (slow here)
        got = alloc(GSHAPE, dtype=dtype, region=region, device="cuda", **kw)
        assert getattr(type(got), "__cuda_ndarray__", False), name  # a device array
        expect = _cpu_call(lambda arr, **k: alloc(GSHAPE, dtype=dtype, region=region, **k),
                           None, kw)
        assert_same_bits(got.copy_to_host(), expect)


def test_allocating_bfloat16_on_the_device_says_cupy_lacks_it(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "cupy", _SimCupy)
    with pytest.raises(TypeError, match="bfloat16 is not supported by CuPy"):
        fi.normal((4, 4), dtype="bfloat16", seed=0, device="cuda")


class _HostBackedCAI:
    """A foreign GPU array as the CUDA array interface describes it (pointer to the first
    element, byte strides), backed here by host memory so that the simulator can run on it."""

    def __init__(self, arr):
        self.arr = arr

    @property
    def __cuda_array_interface__(self):
        a = self.arr
        return {"shape": a.shape, "typestr": a.dtype.str, "version": 3,
                "strides": None if a.flags.c_contiguous else a.strides,
                "data": (a.__array_interface__["data"][0], False)}


def _from_cai_on_host(desc, owner=None, sync=True):
    """``numba.cuda.from_cuda_array_interface`` for host-backed descriptors (the simulator has
    none): a simulator device array over the described memory, no copy."""
    import ctypes
    assert desc["strides"] is None and len(desc["shape"]) == 1
    dtype = np.dtype(desc["typestr"])
    raw = (ctypes.c_char * (desc["shape"][0] * dtype.itemsize)).from_address(desc["data"][0])
    return type(cuda.device_array(1))(np.frombuffer(raw, dtype))


@pytest.mark.parametrize("dtype", DTYPES[:3], ids=DT_IDS[:3])
@pytest.mark.parametrize("layout", ["contiguous", "column_slice", "transpose", "reversed_rows"])
def test_cuda_array_interface_route(layout, dtype, monkeypatch, no_cpu_kernels):
    """The route of CuPy arrays and torch CUDA tensors (pointer arithmetic from the interface,
    16-bit formats stored as bits), run under the simulator on host-backed memory."""
    monkeypatch.setattr(cuda, "from_cuda_array_interface", _from_cai_on_host, raising=False)
    rshape = tuple(s.stop - s.start for s in REGION)
    for name, func, kw in [("normal", fi.normal_, dict(std=0.5, seed=SEED, stream=STREAM)),
                           ("uniform", fi.uniform_, dict(low=-2.0, high=0.5, seed=SEED)),
                           ("eye", fi.eye_, dict())]:
        expect = np.empty(GSHAPE, dtype)
        _cpu_call(func, expect, kw)
        base = {"contiguous": lambda: np.full(rshape, 7, dtype),
                "column_slice": lambda: np.full((rshape[0], 2 * rshape[1]), 7, dtype)[:, ::2],
                "transpose": lambda: np.full(rshape[::-1], 7, dtype).T,
                "reversed_rows": lambda: np.full(rshape, 7, dtype)[::-1]}[layout]
        host = base()
        target = _HostBackedCAI(host)
        assert func(target, shape=GSHAPE, region=REGION, **kw) is target
        assert_same_bits(host, expect[REGION])
