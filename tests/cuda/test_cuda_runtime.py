"""Where the CUDA backend's work goes, without a GPU: each kind of target's device and stream
(torch, CuPy, Numba, the bare array interface, with their modules mocked), the streams Numba
is handed, the device contexts entered; and the CUDA kernels' disk cache across processes,
compiled for sm_90 with the compilers from pip, and named by ``fastinit info``.

The launches themselves, on those devices and streams, run under the simulator
(``simulator/test_sim_placement.py``).
"""
import json
import os
import subprocess
import sys
import textwrap
import types

import pytest

from fastinit._backend import cuda_runtime as rt
from fastinit._backend.cuda_runtime import Placement


class _Tensor:
    def __init__(self, index):
        self.device = types.SimpleNamespace(type="cuda", index=index)


def _torch(streams):
    return types.SimpleNamespace(
        Tensor=_Tensor,
        cuda=types.SimpleNamespace(
            current_stream=lambda device: types.SimpleNamespace(cuda_stream=streams[device]),
            current_device=lambda: 1))


class _CupyArray:
    def __init__(self, device):
        self.device = types.SimpleNamespace(id=device)


def _cupy(entered=None):
    class Device:
        def __init__(self, device):
            self.device = device

        def __enter__(self):
            entered.append(("cupy", self.device))

        def __exit__(self, *exc):
            entered.append(("cupy exit", self.device))

    return types.SimpleNamespace(
        ndarray=_CupyArray,
        cuda=types.SimpleNamespace(
            Device=Device,
            get_current_stream=lambda device: types.SimpleNamespace(ptr=0x500 + device)))


class _NumbaArray:
    """A Numba device array as the backend sees one: the marker, a bound stream, the
    interface."""
    __cuda_ndarray__ = True

    def __init__(self, ptr, stream):
        self.stream, self.ptr = stream, ptr

    @property
    def __cuda_array_interface__(self):
        return {"shape": (4,), "typestr": "<f4", "data": (self.ptr, False), "version": 3,
                "stream": int(self.stream) if self.stream else None}


class _Interface:
    def __init__(self, ptr, **extra):
        self.desc = dict({"shape": (4,), "typestr": "<f4", "data": (ptr, False), "version": 3},
                         **extra)

    @property
    def __cuda_array_interface__(self):
        return self.desc


@pytest.fixture
def gpus(monkeypatch):
    """Two GPUs: memory at 0x1xxx is device 0's, at 0x2xxx device 1's; device 0 current."""
    monkeypatch.setattr(rt, "pointer_device", lambda ptr: (ptr >> 12) - 1 if ptr else None)
    monkeypatch.setattr(rt, "current_device", lambda: 0)
    monkeypatch.setattr(rt, "simulating", lambda: False)
    monkeypatch.setitem(sys.modules, "torch", _torch({0: 0x70, 1: 0x71}))
    monkeypatch.setitem(sys.modules, "cupy", _cupy())


def test_torch_tensors_go_to_their_device_on_torchs_current_stream(gpus):
    assert rt.placement(_Tensor(1)) == Placement(1, 0x71, "torch")
    assert rt.placement(_Tensor(0)) == Placement(0, 0x70, "torch")
    assert rt.placement(_Tensor(None)) == Placement(1, 0x71, "torch")  # torch's current one


def test_cupy_arrays_go_to_their_device_on_cupys_current_stream(gpus):
    assert rt.placement(_CupyArray(1)) == Placement(1, 0x501, "cupy")


def test_numba_arrays_go_to_their_memorys_device_on_their_stream(gpus):
    assert rt.placement(_NumbaArray(0x2100, 0)) == Placement(1, 0, "numba")
    assert rt.placement(_NumbaArray(0x1100, 0x99)) == Placement(0, 0x99, "numba")


def test_interface_arrays_go_on_the_stream_they_name_else_wait(gpus):
    assert rt.placement(_Interface(0x2100, stream=0x42)) == Placement(1, 0x42, "interface")
    assert rt.placement(_Interface(0x2100, stream=1)) == Placement(1, 1, "interface")
    # nobody named a stream: the default one, and the call waits for its launches
    assert rt.placement(_Interface(0x2100)) == Placement(1, None, "interface", sync=True)
    # the driver cannot say (an empty array): the current device
    assert rt.placement(_Interface(0)).device == 0


def test_without_torch_or_cupy_imported_every_target_is_an_interface(gpus, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.setitem(sys.modules, "cupy", None)
    assert rt.placement(_Interface(0x2000, stream=5)) == Placement(1, 5, "interface")


class _FakeNumbaCuda:
    """What ``numba_stream`` and ``on_device`` call of numba.cuda, recorded."""

    def __init__(self, log):
        self.log = log
        outer = self

        class _Gpu:
            def __init__(self, device):
                self.device = device

            def __enter__(self):
                outer.log.append(("numba", self.device))

            def __exit__(self, *exc):
                outer.log.append(("numba exit", self.device))

        self.gpus = {0: _Gpu(0), 1: _Gpu(1)}

    def legacy_default_stream(self):
        return "legacy"

    def per_thread_default_stream(self):
        return "per-thread"

    def external_stream(self, ptr):
        return ("external", ptr)

    def synchronize(self):
        self.log.append("synchronize")


def test_streams_as_numba_takes_them(monkeypatch):
    log = []
    monkeypatch.setattr(rt, "numba_cuda", lambda: _FakeNumbaCuda(log))
    monkeypatch.setattr(rt, "simulating", lambda: False)
    assert rt.numba_stream(Placement(0, None, "interface", True)) == 0
    assert rt.numba_stream(Placement(0, 0, "torch")) == 0
    assert rt.numba_stream(Placement(0, 1, "interface")) == "legacy"
    assert rt.numba_stream(Placement(0, 2, "interface")) == "per-thread"
    assert rt.numba_stream(Placement(1, 0x71, "torch")) == ("external", 0x71)


def test_launches_enter_the_targets_device_for_numba_and_cupy(monkeypatch):
    log = []
    monkeypatch.setattr(rt, "numba_cuda", lambda: _FakeNumbaCuda(log))
    monkeypatch.setattr(rt, "simulating", lambda: False)
    monkeypatch.setitem(sys.modules, "cupy", _cupy(log))
    with rt.on_device(1):
        log.append("launch")
    assert log == [("numba", 1), ("cupy", 1), "launch", ("cupy exit", 1), ("numba exit", 1)]
    log.clear()
    monkeypatch.setitem(sys.modules, "cupy", None)  # CuPy not imported: Numba's context only
    with rt.on_device(0):
        log.append("launch")
    assert log == [("numba", 0), "launch", ("numba exit", 0)]


def test_finish_waits_only_when_nobody_named_a_stream(monkeypatch):
    log = []
    monkeypatch.setattr(rt, "numba_cuda", lambda: _FakeNumbaCuda(log))
    monkeypatch.setattr(rt, "simulating", lambda: False)

    class Stream:
        def synchronize(self):
            log.append("stream")
    rt.finish(Placement(0, 0x42, "interface"), Stream())
    rt.finish(Placement(0, 0x71, "torch"), Stream())
    assert log == []
    rt.finish(Placement(0, None, "interface", sync=True), 0)
    assert log == ["synchronize"]


# --- the kernels' disk cache ----------------------------------------------------------------------

_PROBE = textwrap.dedent('''
    import json, sys, time, types
    import numba
    import numpy as np
    import numba.cuda.dispatcher as dispatcher
    from numba.cuda.cudadrv import devices

    class SM90:  # the current device while compiling and keying: there is no GPU here
        compute_capability = (9, 0)
        id = 0

    dispatcher.get_current_device = lambda: SM90()
    devices.get_context = lambda devnum=None: types.SimpleNamespace(device=SM90())
    # no GPU to load a kernel into: link it for sm_90 (nvJitLink), as binding it would
    dispatcher._Kernel.bind = lambda self: self._codelibrary.get_cubin(cc=(9, 0, "a"))
    if sys.argv[1] == "load":
        def refuse(*args, **kwargs):
            raise AssertionError("compiled a kernel that the disk cache holds")
        dispatcher._Kernel.__init__ = refuse
    from fastinit._backend.cuda_runtime import kernel_cache_dir
    from fastinit.kernels import codes, cuda as K
    geo = (0, (45, 1), (18, 38), (3, 5), (45, 1), (1, 0, 0))
    tail = (*(np.uint32(1),) * 4, (0.0,) * 10, codes.OUT_F32, np.uint32(0))
    report = {"dir": kernel_cache_dir()}
    for name, flat in (("fill_bits", np.empty(4, np.uint32)),
                       ("fill_uniform_f32", np.empty(4, np.float32)),
                       ("fill_normal_f64", np.empty(4, np.float64))):
        kernel = getattr(K, name)
        t = time.perf_counter()
        kernel.compile(tuple(numba.typeof(a) for a in (flat, *geo, *tail)))
        report[name] = [sum(kernel._cache_hits.values()), sum(kernel._cache_misses.values()),
                        round(time.perf_counter() - t, 3)]
    print(json.dumps(report))
''')


@pytest.mark.slow
@pytest.mark.cuda_compile
def test_a_second_process_loads_the_kernels_from_disk(tmp_path):
    """The first process compiles (NVVM, then nvJitLink for sm_90) and files the kernels
    under the cache directory; the second finds them there and compiles none."""
    pytest.importorskip("numba.cuda.dispatcher")
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    runs = []
    for mode in ("compile", "load"):
        r = subprocess.run([sys.executable, "-c", _PROBE, mode], env=env, capture_output=True,
                           text=True, timeout=900)
        assert r.returncode == 0, r.stderr[-4000:]
        runs.append(json.loads(r.stdout.strip().splitlines()[-1]))
    first, second = runs
    print(f"compiled then loaded (hits, misses, seconds): {first} / {second}")
    for name in ("fill_bits", "fill_uniform_f32", "fill_normal_f64"):
        assert first[name][:2] == [0, 1] and second[name][:2] == [1, 0], (first, second)
    assert first["dir"] == second["dir"] and first["dir"].startswith(str(tmp_path))
    filed = sorted(os.listdir(first["dir"]))
    assert any(f.startswith("cuda.fill_bits-") and f.endswith(".nbi") for f in filed), filed
    assert any(f.startswith("cuda.fill_normal_f64-") for f in filed), filed


def test_fastinit_info_names_the_cuda_cache(tmp_path):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    r = subprocess.run([sys.executable, "-m", "fastinit", "info"], env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    line = [x for x in r.stdout.splitlines() if x.startswith("CUDA kernels cached in: ")]
    assert line and str(tmp_path) in line[0] and "fastinit-" in line[0], r.stdout
