"""Where and how the CUDA kernels run, under the simulator: the walk in storage order, the
32- and 64-bit index variants, sparse's block-per-column kernel, and the device and stream
every launch of a call goes on (two GPUs and the frameworks' streams mocked).

Every test compares bits with the CPU: a choice of walk, kernel or stream never changes them.
"""
import contextlib
import sys
import threading
import types

import ml_dtypes
import numpy as np
import pytest
from numba import config, cuda
from numba.cuda.simulator.cudadrv.devicearray import FakeWithinKernelCUDAArray

import fastinit as fi
from fastinit import _api, _plans, linalg
from fastinit._backend import cpu as cpu_backend, cuda as cuda_backend, cuda_steps
from fastinit._backend.cuda_runtime import Placement

BF16 = np.dtype(ml_dtypes.bfloat16)
SEED, STREAM = 20240607, 3
THREADS = 8


@pytest.fixture(autouse=True)
def small_launches(monkeypatch):
    assert config.ENABLE_CUDASIM, "these tests must run with NUMBA_ENABLE_CUDASIM=1"
    monkeypatch.setattr(cuda_backend, "THREADS_PER_BLOCK", THREADS)
    monkeypatch.setattr(cuda_backend, "MAX_BLOCKS", 3)
    monkeypatch.setattr(cuda_steps, "PANEL_THREADS", 8)
    monkeypatch.setattr(cuda_steps, "MAX_BLOCKS", 2)
    monkeypatch.setattr(linalg, "PANEL_WIDTH", 5)


CPU_FILL = cpu_backend.fill


@pytest.fixture
def no_cpu(monkeypatch):
    """Device targets must never reach the CPU drivers (a simulator device array also looks
    like a NumPy array, so a wrong route would still give the right numbers)."""
    def refuse(*args, **kwargs):
        raise AssertionError("a device target went to the CPU drivers")
    monkeypatch.setattr(cpu_backend, "fill", refuse)


def on_cpu(func, arr, **kw):
    """``func(arr, **kw)`` on a NumPy array through the CPU drivers, even under ``no_cpu``."""
    saved, cpu_backend.fill = cpu_backend.fill, CPU_FILL
    try:
        return func(arr, **kw)
    finally:
        cpu_backend.fill = saved


def same_bits(got, expect):
    got, expect = np.ascontiguousarray(got), np.ascontiguousarray(expect)
    assert got.dtype == expect.dtype and got.shape == expect.shape
    assert (got.view(np.uint8) == expect.view(np.uint8)).all()


# --- the walk: storage order ----------------------------------------------------------------------

def test_walk_takes_out_the_fastest_dimension():
    # F-ordered 2-D: the first dimension moves fastest in memory
    geo, fast = cuda_backend.walk((1, 24), (24, 45), (0, 0), (45, 1))
    assert fast == (24, 1, 45) and geo == ((24,), (45,), (0,), (1,))
    # row-major: nothing to take out
    geo, fast = cuda_backend.walk((45, 1), (24, 45), (0, 0), (45, 1))
    assert fast == (1, 0, 0) and geo[1] == (24, 45)
    # a region's start along the fast dimension folds into the last start
    geo, fast = cuda_backend.walk((1, 18, 360), (18, 20, 7), (3, 5, 2), (900, 45, 1))
    assert fast == (18, 1, 900) and geo == ((18, 360), (20, 7), (5, 2 + 3 * 900), (45, 1))
    # a strided last dimension with no faster one (a column slice) keeps the row walk
    assert cuda_backend.walk((90, 2), (24, 45), (0, 0), (45, 1))[1] == (1, 0, 0)


@contextlib.contextmanager
def _recorded_writes():
    """Every element write of a simulated kernel, by global thread index, in program order."""
    writes = {}
    original = FakeWithinKernelCUDAArray.__setitem__

    def record(self, idx, val):
        t = threading.current_thread()
        gid = t.blockIdx.x * THREADS + t.threadIdx.x
        writes.setdefault(gid, []).append(int(idx))
        original(self, idx, val)

    FakeWithinKernelCUDAArray.__setitem__ = record
    try:
        yield writes
    finally:
        FakeWithinKernelCUDAArray.__setitem__ = original


@pytest.mark.parametrize("order, lane_step", [("C", 4), ("F", 1)])
def test_threads_of_a_block_write_neighbouring_memory(order, lane_step, no_cpu):
    """In each round of the grid-stride loop, the threads of a block (a warp's stand-in) write
    memory in the target's storage order: consecutive threads, consecutive 16-byte pieces of
    a row-major target (one vector store each) or consecutive elements of an F-ordered one."""
    shape = (64, 24)  # rows a multiple of the block, row length of the Philox block
    expect = on_cpu(lambda a, **kw: fi.uniform(shape, **kw), None, seed=SEED)
    host = np.zeros(shape, np.float32, order=order)
    out = cuda.to_device(host) if order == "C" else cuda.to_device(host.T).T
    with _recorded_writes() as writes:
        fi.uniform_(out, seed=SEED)
    same_bits(out.copy_to_host(), expect)
    nthreads = 3 * THREADS
    assert sorted(writes) == list(range(nthreads))
    for block in range(3):
        lanes = [writes[block * THREADS + t] for t in range(THREADS)]
        rounds = min(len(w) for w in lanes)
        assert rounds >= 4 * 5
        for k in range(rounds):
            assert [w[k] - lanes[0][k] for w in lanes] == \
                [lane_step * t for t in range(THREADS)], (block, k)


LAYOUTS = {
    "F": lambda s, dt: cuda.to_device(np.full(s[::-1], 7, dt)).T,
    "reversed_columns": lambda s, dt: cuda.to_device(np.full(s, 7, dt))[:, ::-1],
    "F_column_slice": lambda s, dt: cuda.to_device(np.full((s[1], 2 * s[0]), 7, dt)).T[::2],
    "permuted_3d": lambda s, dt: cuda.to_device(np.full((s[1], s[0], s[2]), 7, dt))
    .transpose((1, 0, 2)),
    "F_3d": lambda s, dt: cuda.to_device(np.full(s[::-1], 7, dt)).T,
}


@pytest.mark.parametrize("dtype", [np.dtype(np.float32), np.dtype(np.float64), BF16,
                                   np.dtype(np.complex64)], ids=["f32", "f64", "bf16", "c64"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_every_layout_gets_the_cpu_bits(layout, dtype, no_cpu):
    """Each layout as the region of a larger tensor: rows and columns that start mid-block."""
    shape = (7, 9, 5) if layout.endswith("3d") else (13, 22)
    gshape = tuple(n + 3 for n in shape)
    region = tuple(slice(1, n + 1) for n in shape)
    for func, kw in ((fi.normal_, dict(std=0.5, seed=SEED, stream=STREAM)),
                     (fi.uniform_, dict(low=-1.0, high=2.0, seed=SEED))):
        expect = on_cpu(func, np.empty(gshape, dtype), **kw)
        out = LAYOUTS[layout](shape, dtype)
        assert getattr(type(out), "__cuda_ndarray__", False)
        func(out, shape=gshape, region=region, **kw)
        same_bits(out.copy_to_host(), expect[region])


@pytest.mark.parametrize("kind", ["bits", "normal_f64", "normal_bf16"])
def test_64_bit_index_variant_gets_the_same_bits(kind, monkeypatch, no_cpu):
    """The kernels divide in 64 bits when a launch's counts pass ``2**32``; forced here."""
    chosen = []

    def wide(*counts):
        chosen.append(counts)
        return np.uint64(0)
    monkeypatch.setattr(cuda_backend, "_index_type", wide)
    shape, region = (6, 7, 45), (slice(1, 5), slice(2, 7), slice(3, 44))
    rshape = tuple(s.stop - s.start for s in region)
    if kind == "bits":
        expect = on_cpu(lambda a, **kw: fi.random_bits(shape, **kw), None, seed=SEED,
                        stream=9, region=region)
        out = cuda.to_device(np.zeros(rshape[::-1], np.uint32)).T
        req = _api.in_place(out, SEED, 9, shape, region, dtypes=(np.dtype(np.uint32),))
        req.fill(_plans.BITS)
    else:
        dt = np.float64 if kind == "normal_f64" else BF16
        expect = on_cpu(lambda a, **kw: fi.normal(shape, **kw), None, seed=SEED, dtype=dt,
                        region=region)
        out = cuda.to_device(np.zeros(rshape, dt))
        fi.normal_(out, seed=SEED, shape=shape, region=region)
    same_bits(out.copy_to_host(), expect)
    assert chosen


def test_32_bit_index_variant_is_the_default():
    assert cuda_backend._index_type(2**32 - 1) == np.uint32(0)
    assert cuda_backend._index_type(5, 2**32) == np.uint64(0)


# --- sparse: a thread block per column ----------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.dtype(np.float32), BF16, np.dtype(np.complex64)],
                         ids=["f32", "bf16", "c64"])
def test_sparse_tall_kernel_equals_cpu(dtype, monkeypatch, no_cpu):
    launched = []
    original = cuda_backend._launch

    def watch(kernel, *args):
        launched.append(kernel.__name__)
        return original(kernel, *args)
    monkeypatch.setattr(cuda_backend, "_launch", watch)
    monkeypatch.setattr(cuda_backend, "SPARSE_TALL_ROWS", 8)
    for shape, region, sparsity in (((300, 3), (slice(0, 300), slice(0, 3)), 0.4),
                                    ((40, 9), (slice(5, 33), slice(2, 8)), 0.9),
                                    ((40, 9), (slice(5, 33), slice(2, 8)), 0.0)):
        expect = on_cpu(fi.sparse_, np.empty(shape, dtype), sparsity=sparsity, seed=SEED,
                        stream=1)
        rshape = tuple(s.stop - s.start for s in region)
        out = cuda.to_device(np.full(rshape, 5, dtype))
        fi.sparse_(out, sparsity, seed=SEED, stream=1, shape=shape, region=region)
        same_bits(out.copy_to_host(), expect[region])
    assert "zero_sparse_tall" in launched and "zero_sparse" not in launched


def test_sparse_short_columns_keep_a_thread_each(monkeypatch, no_cpu):
    launched = []
    original = cuda_backend._launch
    monkeypatch.setattr(cuda_backend, "_launch",
                        lambda kernel, *a: (launched.append(kernel.__name__), original(kernel, *a)))
    expect = on_cpu(fi.sparse_, np.empty((12, 5), np.float32), sparsity=0.5, seed=SEED)
    out = cuda.to_device(np.full((12, 5), 5, np.float32))
    fi.sparse_(out, 0.5, seed=SEED)
    same_bits(out.copy_to_host(), expect)
    assert "zero_sparse" in launched and "zero_sparse_tall" not in launched


# --- devices and streams: two GPUs and the frameworks, mocked -------------------------------------

class _Stream:
    """What the mocked ``numba_stream`` hands the launches: the stream handle it stands for."""

    def __init__(self, handle):
        self.handle = handle


class _Recorder:
    """Patches the backend so that every launch records (kernel, device, stream handle): the
    device of the innermost ``on_device`` block, the handle of the stream it was given."""

    def __init__(self, monkeypatch):
        self.launches, self.finished, self.devices = [], [], []
        self._current = []
        original_launch, original_steps = cuda_backend._launch, cuda_backend.cuda_steps

        @contextlib.contextmanager
        def on_device(device):
            self._current.append(device)
            self.devices.append(device)
            try:
                yield
            finally:
                self._current.pop()

        def launch(kernel, units, stream, *args):
            self.launches.append((kernel.__name__, self._current[-1], stream.handle))
            return original_launch(kernel, units, stream, *args)

        def steps(xp, stream=0):
            self.launches.append(("cuda_steps", self._current[-1], stream.handle))
            return original_steps(xp, stream)

        monkeypatch.setattr(cuda_backend, "on_device", on_device)
        monkeypatch.setattr(cuda_backend, "numba_stream", lambda where: _Stream(where.stream))
        monkeypatch.setattr(cuda_backend, "finish", lambda where, s: self.finished.append(
            (where.device, s.handle, where.sync)))
        monkeypatch.setattr(cuda_backend, "_launch", launch)
        monkeypatch.setattr(cuda_backend, "cuda_steps", steps)

    def where(self):
        return {(device, handle) for _, device, handle in self.launches}


def _host_cai(arr, stream=None):
    desc = {"shape": arr.shape, "typestr": arr.dtype.str, "version": 3,
            "strides": None if arr.flags.c_contiguous else arr.strides,
            "data": (arr.__array_interface__["data"][0], False)}
    if stream is not None:
        desc["stream"] = stream
    return desc


def _from_cai_on_host(desc, owner=None, sync=True):
    """``numba.cuda.from_cuda_array_interface`` for host-backed descriptors (the simulator has
    none): a simulator device array over the described memory, no copy."""
    import ctypes
    assert desc["strides"] is None and len(desc["shape"]) == 1
    dtype = np.dtype(desc["typestr"])
    raw = (ctypes.c_char * (desc["shape"][0] * dtype.itemsize)).from_address(desc["data"][0])
    return type(cuda.device_array(1))(np.frombuffer(raw, dtype))


def _fake_torch():
    """A module standing for torch with two GPUs, each with its own current stream."""
    torch = types.ModuleType("torch")
    torch.bfloat16, torch.int16 = "bfloat16", "int16"
    streams = {0: 0x1000, 1: 0x1001}

    class Tensor:
        def __init__(self, arr, device):
            self.arr, self.is_cuda = arr, True
            self.device = types.SimpleNamespace(type="cuda", index=device)
            self.dtype = "float32"

        def is_neg(self):
            return False

        def is_conj(self):
            return False

        def detach(self):
            return self

        @property
        def __cuda_array_interface__(self):
            desc = _host_cai(self.arr)
            desc["version"] = 2  # torch's: no stream in it
            return desc

    torch.Tensor = Tensor
    torch.cuda = types.SimpleNamespace(
        current_stream=lambda device: types.SimpleNamespace(cuda_stream=streams[device]),
        current_device=lambda: 0)
    return torch


def _fake_cupy():
    """A module standing for CuPy with two GPUs: its arrays host-backed, its current streams
    per device; ``empty`` records the device current when it allocates."""
    cupy = types.ModuleType("cupy")
    state = {"device": 0, "allocated_on": []}

    class ndarray:
        def __init__(self, arr, device):
            self.arr, self.device = arr, types.SimpleNamespace(id=device)

        @property
        def __cuda_array_interface__(self):
            return _host_cai(self.arr, stream=1)

    @contextlib.contextmanager
    def device_block(device):
        before, state["device"] = state["device"], device
        try:
            yield
        finally:
            state["device"] = before

    def empty(shape, dtype):
        state["allocated_on"].append(state["device"])
        return ndarray(np.empty(shape, dtype), state["device"])

    cupy.ndarray, cupy.empty, cupy.state = ndarray, empty, state
    cupy.cuda = types.SimpleNamespace(
        Device=device_block,
        get_current_stream=lambda device: types.SimpleNamespace(ptr=0x2000 + device),
        runtime=types.SimpleNamespace(getDeviceCount=lambda: 2))
    return cupy


@pytest.fixture
def two_gpus(monkeypatch, no_cpu):
    monkeypatch.setattr(cuda, "from_cuda_array_interface", _from_cai_on_host, raising=False)
    monkeypatch.setitem(sys.modules, "torch", _fake_torch())
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy())
    return _Recorder(monkeypatch)


def _every_entry_point(target, host, shape=(12, 10)):
    """fill (normal), set_ones (eye: zeros then ones), zero_sparse (sparse: normal then the
    mask) on ``target``, each against the CPU."""
    for func, kw in ((fi.normal_, dict(std=0.5, seed=SEED, stream=STREAM)), (fi.eye_, {}),
                     (fi.sparse_, dict(sparsity=0.5, seed=SEED))):
        expect = on_cpu(func, np.empty(shape, np.float32), **kw)
        host[...] = 7
        assert func(target, **kw) is target
        same_bits(host, expect)


def test_torch_tensor_on_device_1_runs_there_on_torchs_stream(two_gpus):
    torch = sys.modules["torch"]
    host = np.zeros((12, 10), np.float32)
    _every_entry_point(torch.Tensor(host, 1), host)
    assert two_gpus.where() == {(1, 0x1001)}
    kernels = {k for k, _, _ in two_gpus.launches}
    assert {"fill_normal_f32", "fill_constant_f32", "put_value", "zero_sparse"} <= kernels
    assert all(device == 1 and not sync for device, _, sync in two_gpus.finished)


def test_cupy_array_on_device_1_runs_there_on_cupys_stream(two_gpus):
    cupy = sys.modules["cupy"]
    host = np.zeros((12, 10), np.float32)
    _every_entry_point(cupy.ndarray(host, 1), host)
    assert two_gpus.where() == {(1, 0x2001)}


def test_allocating_on_device_1(two_gpus):
    cupy = sys.modules["cupy"]
    arr, target = cuda_backend.empty((6, 8), np.dtype(np.float32), device=1)
    assert cupy.state["allocated_on"] == [1] and cupy.state["device"] == 0
    assert target.where == Placement(1, 0x2001, "cupy")
    req = _api.Request(cuda_backend, target, arr, (6, 8), ((0, 6), (0, 8)), (5, 0), (0, 0))
    req.fill(_plans.uniform(-1.0, 1.0, np.dtype(np.float32)))
    same_bits(arr.arr, on_cpu(lambda a, **kw: fi.uniform((6, 8), **kw), None, low=-1.0,
                              high=1.0, seed=5))
    assert two_gpus.where() == {(1, 0x2001)}
    # a plain device="cuda" call allocates on CuPy's current device
    out = fi.normal((6, 8), seed=SEED, device="cuda")
    assert cupy.state["allocated_on"] == [1, 0] and out.device.id == 0
    same_bits(out.arr, on_cpu(lambda a, **kw: fi.normal((6, 8), **kw), None, seed=SEED))
    assert (0, 0x2000) in two_gpus.where()


class _Interface:
    """Anything else with the CUDA array interface: version 3 may name a stream."""

    def __init__(self, arr, stream=None):
        self.arr, self.stream_handle = arr, stream

    @property
    def __cuda_array_interface__(self):
        return _host_cai(self.arr, self.stream_handle)


def test_interface_arrays_take_their_device_and_stream(two_gpus, monkeypatch):
    monkeypatch.setattr("fastinit._backend.cuda_runtime.pointer_device", lambda ptr: 1)
    host = np.zeros((12, 10), np.float32)
    _every_entry_point(_Interface(host, stream=0x3000), host)
    assert two_gpus.where() == {(1, 0x3000)}
    assert not any(sync for _, _, sync in two_gpus.finished)
    # no stream named: the default stream, and the call waits for its launches
    two_gpus.launches.clear()
    two_gpus.finished.clear()
    _every_entry_point(_Interface(host), host)
    assert two_gpus.where() == {(1, None)}
    assert two_gpus.finished and all(sync for _, _, sync in two_gpus.finished)


def test_orthogonal_and_complex_fills_follow_the_target(two_gpus, monkeypatch):
    """orthogonal (its Gaussian, its panel kernels), delta_orthogonal and a complex fill run on
    the target's device and stream (a simulator array placed on device 1 by the mock)."""
    place = Placement(1, 0x4001, "torch")
    original = cuda_backend.placement
    placed = []

    def placement(obj):
        return place if any(obj is p for p in placed) else original(obj)
    monkeypatch.setattr(cuda_backend, "placement", placement)
    for shape, dtype, func, kw in (((10, 6), np.float32, fi.orthogonal_, {}),
                                   ((3, 3, 4, 5), np.float64, fi.delta_orthogonal_, {}),
                                   ((6, 5), np.complex64, fi.normal_, dict(std=2.0))):
        plain = cuda.to_device(np.zeros(shape, dtype))
        func(plain, seed=SEED, **kw)  # on the simulator's own device: the reference
        out = cuda.to_device(np.zeros(shape, dtype))
        placed.append(out)
        two_gpus.launches.clear()
        func(out, seed=SEED, **kw)
        same_bits(out.copy_to_host(), plain.copy_to_host())
        assert two_gpus.where() == {(1, 0x4001)}, func
        if func is not fi.normal_:
            assert "cuda_steps" in {k for k, _, _ in two_gpus.launches}
