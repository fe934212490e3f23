"""The CUDA backend without a GPU: the simulator run, the PTX compile check, dispatch errors.

- ``test_cuda_kernels_under_the_simulator`` runs ``tests/cuda/simulator`` in its own pytest
  process with ``NUMBA_ENABLE_CUDASIM=1`` (it must be set before numba is imported) and prints
  its output.
- ``test_kernels_assemble_for_sm90`` (marker ``cuda_compile``) compiles every CUDA kernel to PTX
  for sm_90 with numba-cuda (NVRTC/NVVM from pip) and assembles it with ``ptxas -v`` from the
  ``nvidia-cuda-nvcc`` wheel (the elementwise kernels and the Householder panel kernels of
  orthogonal); it fails on any spill and prints the registers of each kernel. It
  also reads the PTX: fill kernels store aligned blocks with vector stores, the kernels
  whose outputs are promised bit-identical to the CPU's contain no fused multiply-add, the
  products of the Philox rounds are 32x32->64 multiplies (``mul.wide.u32``), not 64-bit
  ones, and the fills with 32-bit index arithmetic contain no 64-bit division.
  The packages come with the ``cuda-test`` extra; without them the test fails with the reason.
"""
import glob
import os
import pathlib
import re
import subprocess
import sys
import types

import ml_dtypes
import numpy as np
import pytest

import fastinit as fi
from fastinit._backend.foreign import is_device_array

ROOT = pathlib.Path(__file__).resolve().parents[2]
NO_PACKAGES = ("the CUDA tests need numba-cuda[cu13] and nvidia-cuda-nvcc: "
               "pip install -e '.[test,cuda-test]'")


def _numba_cuda():
    try:
        from numba import cuda
        cuda.compile_ptx  # noqa: B018
    except (ImportError, AttributeError) as e:
        pytest.fail(f"{NO_PACKAGES} ({e!r})")
    return cuda


# --- the simulator, in its own process ----------------------------------------------------------

@pytest.mark.slow
def test_cuda_kernels_under_the_simulator():
    _numba_cuda()
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/cuda/simulator"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    print(r.stdout[-6000:])
    print(r.stderr[-3000:])
    assert r.returncode == 0, "the simulator tests failed (output above)"
    summary = r.stdout.strip().splitlines()[-1]
    m = re.search(r"(\d+) passed", summary)
    assert m and int(m.group(1)) >= 150, summary  # every initializer x dtype x layout ran
    assert "skipped" not in summary and "failed" not in summary, summary


# --- PTX for sm_90, assembled by ptxas ----------------------------------------------------------

def _ptxas():
    try:
        import nvidia
    except ImportError as e:
        pytest.fail(f"{NO_PACKAGES}: no ptxas ({e!r})")
    hits = [p for d in nvidia.__path__ for p in glob.glob(os.path.join(d, "*", "bin", "ptxas"))]
    if not hits:
        pytest.fail(f"{NO_PACKAGES}: the nvidia-cuda-nvcc wheel's ptxas was not found under "
                    f"{list(nvidia.__path__)}")
    return sorted(hits)[-1]


class _SM90:
    """Stands in for the current device while compiling: there is no GPU here."""
    compute_capability = (9, 0)


# The Philox multipliers 0xD2511F53 and 0xCD9E8D57 as the operands of a 32-bit multiply
# (PTX writes them signed) and of a 64-bit one.
_PHILOX_MUL32 = re.compile(r"\bmul\.(?:wide|hi|lo)\.u32\s+%\w+, %\w+, (?:-766435501|-845247145|"
                           r"3528531795|3449720151);")
_PHILOX_MUL64 = re.compile(r"\bmul\.lo\.[su]64\s+%\w+, %\w+, (?:3528531795|3449720151);")
_DIV64 = re.compile(r"\b(?:div|rem)\.[su]64\b")


def _read_ptx(name, ptx):
    """The PTX checks that are the point of the kernels' arithmetic; returns the counts."""
    mul32, mul64 = len(_PHILOX_MUL32.findall(ptx)), len(_PHILOX_MUL64.findall(ptx))
    div64 = len(_DIV64.findall(ptx))
    div32 = len(re.findall(r"\b(?:div|rem)\.[su]32\b", ptx))
    if name.startswith(("fill_", "zero_sparse")) and not name.startswith("fill_constant"):
        # ten rounds, two products each (NVVM may hoist the stream word's first one, and
        # copy the loop): one per copy is 64-bit at most, the first round's product of the
        # block number's low word, which NVVM reads from a 64-bit value
        assert mul32 >= 18 * max(mul64, 1), \
            f"{name}: Philox products as 64-bit multiplies ({mul32} 32-bit, {mul64} 64-bit)"
    if name.startswith("fill_") and "index64" not in name:
        assert div64 == 0, f"{name}: {div64} 64-bit divisions with 32-bit index arithmetic"
    return f"philox mul32 {mul32:2d} mul64 {mul64}  div/rem 32-bit {div32} 64-bit {div64}"


def _signatures():
    """(name, kernel, argument types, fma allowed) for every kernel and output type, the
    argument types being those ``fastinit._backend.cuda`` launches with: a 2-D region walked by
    rows (``fast = (1, 0, 0)``) and 32-bit index arithmetic, and ``fill_bits`` also with 64-bit
    indices and as the walk of a 3-D region."""
    import numba
    from fastinit.kernels import codes, cuda as K
    geo = (0, (45, 1), (18, 38), (3, 5), (45, 1), (1, 0, 0))
    geo3 = (0, (90, 45, 1), (2, 18, 38), (0, 3, 5), (1080, 45, 1), (1, 0, 0))
    words = (np.uint32(1), np.uint32(2), np.uint32(3), np.uint32(4))
    params = (0.0,) * 10  # as the backend pads them
    idx32, idx64 = np.uint32(0), np.uint64(0)
    flat = {t: np.empty(4, t) for t in (np.float32, np.uint16, np.float64, np.uint32)}

    def sig(*args):
        return tuple(numba.typeof(a) for a in args)

    out = []
    names = ("constant", "uniform", "normal", "trunc_normal", "polar", "trunc_normal_f32")
    for kind, kernel in enumerate(K.KERNELS_F32):
        exact = kind < 2  # constant and uniform must match the CPU bit for bit: no FMA
        for target, code in ((np.float32, codes.OUT_F32), (np.uint16, codes.OUT_BF16)):
            if names[kind] == "polar" and target is np.uint16:
                continue  # complex parts only: never a 16-bit output
            out.append((f"fill_{names[kind]}_f32[{np.dtype(target).name}]", kernel,
                        sig(flat[target], *geo, *words, params, code, idx32), not exact))
    for kind, kernel in enumerate(K.KERNELS_F64):
        if kernel is None:  # no float32 truncated normal for float64 output
            continue
        out.append((f"fill_{names[kind]}_f64", kernel,
                    sig(flat[np.float64], *geo, *words, params, codes.OUT_F32, idx32), kind >= 2))
    for name, g, idx in (("fill_bits", geo, idx32), ("fill_bits[3d]", geo3, idx32),
                         ("fill_bits[index64]", geo, idx64)):
        out.append((name, K.fill_bits, sig(flat[np.uint32], *g, *words, params, codes.OUT_F32,
                                           idx), False))
    sparse = (0, (38, 1), (0, 18, 0, 38), 18, 38, *words, 5, 684)
    for target in (np.float32, np.uint16, np.float64):
        out.append((f"zero_sparse[{np.dtype(target).name}]", K.zero_sparse,
                    sig(flat[target], *sparse), True))
        out.append((f"zero_sparse_tall[{np.dtype(target).name}]", K.zero_sparse_tall,
                    sig(flat[target], *sparse, 1), True))
    for target in (np.float32, np.uint16, np.float64):
        out.append((f"put_value[{np.dtype(target).name}]", K.put_value,
                    sig(flat[target], np.zeros(3, np.int64), target(1)), False))
    return out + _householder_signatures()


def _householder_signatures():
    """The Householder panel kernels of orthogonal on the GPU, for float32 and float64 data,
    every matrix argument of layout 'A' (panels are strided views of the matrix, the most
    general code)."""
    import numba
    from fastinit.kernels import householder_cuda as H
    out = []
    vec = numba.types.Array(numba.float64, 1, "A")
    for dt in (numba.float32, numba.float64):
        mat = numba.types.Array(dt, 2, "A")
        for name, kernel, argtypes in (
                ("panel_qr", H.panel_qr, (mat, mat, vec, vec)),
                ("reflectors_from_columns", H.reflectors_from_columns, (mat, mat, vec, vec)),
                ("unit_lower", H.unit_lower, (mat, mat)),
                ("larft_from_gram", H.larft_from_gram, (mat, vec, mat))):
            out.append((f"householder.{name}[{dt}]", kernel, argtypes, True))
    return out


@pytest.mark.cuda_compile
def test_kernels_assemble_for_sm90(monkeypatch, tmp_path):
    cuda = _numba_cuda()
    import numba.cuda.dispatcher as dispatcher
    ptxas = _ptxas()
    # device functions read the compute capability of the current device while compiling
    monkeypatch.setattr(dispatcher, "get_current_device", lambda: _SM90())
    report, spills = [], []
    sigs = _signatures()
    assert len(sigs) == 28 + 8  # the elementwise kernels, the Householder panel kernels
    for name, kernel, argtypes, fma_allowed in sigs:
        ptx, _ = cuda.compile_ptx(kernel.py_func, argtypes, cc=(9, 0))
        path = tmp_path / (re.sub(r"\W", "_", name) + ".ptx")
        path.write_text(ptx)
        r = subprocess.run([ptxas, "-arch=sm_90", "-v", str(path), "-o", os.devnull],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"ptxas failed on {name}:\n{r.stderr}"
        regs = re.findall(r"Used (\d+) registers", r.stderr)
        stores = [int(v) for v in re.findall(r"(\d+) bytes spill stores", r.stderr)]
        loads = [int(v) for v in re.findall(r"(\d+) bytes spill loads", r.stderr)]
        assert regs and stores and loads, r.stderr
        report.append(f"{name:46s} registers {max(map(int, regs)):3d}  spill stores "
                      f"{sum(stores)}  spill loads {sum(loads)}  {_read_ptx(name, ptx)}")
        if sum(stores) or sum(loads):
            spills.append(name)
        if name.startswith("fill_"):
            # contiguous, aligned blocks go out as one vector store (16 bytes; 8 for 16-bit)
            assert re.search(r"\bst(\.global)?\.v[24]\.(f32|f64|u16|b16|u32|b32)\b", ptx), \
                f"{name} has no vector store"
        if not fma_allowed:
            # NVVM fuses a * b + c by default; outputs promised bit-identical to the CPU
            # (constant, uniform, raw bits) must not contain a fused multiply-add
            assert not re.search(r"\b(fma|mad)\.rn\.f(32|64)\b", ptx), \
                f"{name} contains a fused multiply-add: its bits would differ from the CPU's"
    print("\n".join(report))
    assert not spills, f"register spills in {spills}:\n" + "\n".join(report)


# --- dispatch without a GPU -------------------------------------------------------------------

def test_device_cuda_without_cupy_names_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy -> ImportError
    with pytest.raises(RuntimeError, match="CuPy, which is not installed"):
        fi.normal((4, 4), seed=0, device="cuda")
    with pytest.raises(RuntimeError, match="CuPy"):
        fi.zeros((4, 4), device="cuda")


@pytest.mark.parametrize("make", [
    lambda: fi.normal((4, 4), device="cuda", seed=0),
    lambda: fi.kaiming_uniform((4, 4), device="cuda", seed=0),
    lambda: fi.zeros((4, 4), device="cuda"),
    lambda: fi.sparse((4, 4), 0.5, device="cuda", seed=0),
], ids=["normal", "kaiming_uniform", "zeros", "sparse"])
def test_cuda_without_cupy(make, monkeypatch):
    """Each kind of initializer (distribution, fan-based, constant, sparse) names CuPy, whether
    or not CuPy is installed here."""
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy -> ImportError
    with pytest.raises(RuntimeError, match="CuPy"):
        make()


def test_device_cuda_without_driver_names_the_driver(monkeypatch):
    def no_driver():
        raise RuntimeError("cudaErrorInsufficientDriver")
    fake = types.SimpleNamespace(cuda=types.SimpleNamespace(
        runtime=types.SimpleNamespace(getDeviceCount=no_driver)))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    _numba_cuda()
    with pytest.raises(RuntimeError, match="no CUDA driver or GPU"):
        fi.kaiming_uniform((8, 8), seed=0, device="cuda")


def test_device_cuda_without_numba_cuda_names_numba_cuda(monkeypatch):
    fake = types.SimpleNamespace(cuda=types.SimpleNamespace(
        runtime=types.SimpleNamespace(getDeviceCount=lambda: 1)))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    import numba
    monkeypatch.setitem(sys.modules, "numba.cuda", None)
    monkeypatch.delattr(numba, "cuda", raising=False)  # `from numba import cuda` looks here first
    with pytest.raises(RuntimeError, match="numba-cuda"):
        fi.normal((4, 4), seed=0, device="cuda")


def test_bad_device_names_the_value():
    for bad in ("gpu", "cuda:", "cuda:x", "cuda:-1", "cuda:１", 0):
        with pytest.raises(ValueError, match=r"device must be 'cpu', 'cuda' or 'cuda:N', got"):
            fi.normal((4, 4), seed=0, device=bad)


def test_device_cuda_n_is_checked_against_the_gpus(monkeypatch):
    """``device="cuda:N"`` names GPU N: beyond the machine's GPUs it is refused before anything
    is allocated; within them the allocation goes to that GPU (CuPy's ``Device(N)``)."""
    from fastinit._backend import cuda as cuda_backend, cuda_runtime
    entered = []

    class Device:
        def __init__(self, n):
            self.n = n

        def __enter__(self):
            entered.append(self.n)

        def __exit__(self, *exc):
            return False
    fake = types.SimpleNamespace(cuda=types.SimpleNamespace(
        Device=Device, runtime=types.SimpleNamespace(getDeviceCount=lambda: 2)),
        empty=lambda shape, dtype: np.empty(shape, dtype))
    monkeypatch.setattr(cuda_runtime, "check_available", lambda: fake)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    with pytest.raises(ValueError, match="'cuda:2' does not exist: this machine has 2 GPUs"):
        fi.normal((4, 4), seed=0, device="cuda:2")
    assert entered == []
    filled = []
    monkeypatch.setattr(cuda_backend, "as_target", lambda arr, dtypes: arr)
    monkeypatch.setattr(cuda_backend, "fill", lambda *args: filled.append(args[0].shape))
    out = fi.normal((4, 4), seed=0, device="cuda:1")
    assert entered == [1] and filled == [(4, 4)] and out.shape == (4, 4)


class _FakeCudaArray:
    """Looks like a GPU array (CUDA array interface) but is never launched on: the checks
    before any launch must reject it."""

    def __init__(self, shape, typestr, readonly=False):
        self._desc = {"shape": shape, "typestr": typestr, "strides": None,
                      "data": (0, readonly), "version": 3}

    @property
    def __cuda_array_interface__(self):
        return self._desc


def test_gpu_targets_are_recognised_and_checked_before_any_launch():
    assert is_device_array(_FakeCudaArray((4,), "<f4"))
    assert not is_device_array(np.zeros(3))
    with pytest.raises(TypeError, match="out must have dtype"):
        fi.normal_(_FakeCudaArray((4, 4), "<i4"), seed=0)
    with pytest.raises(ValueError, match="read-only"):
        fi.normal_(_FakeCudaArray((4, 4), "<f4", readonly=True), seed=0)
    with pytest.raises(ValueError, match="region"):
        fi.normal_(_FakeCudaArray((4, 4), "<f4"), seed=0, shape=(4, 4), region=(slice(0, 5),))
    with pytest.raises(ValueError, match="std"):
        fi.normal_(_FakeCudaArray((4, 4), "<f4"), std=-1.0, seed=0)


def test_cpu_torch_tensor_stays_on_the_cpu():
    import torch
    t = torch.zeros(4, 5)
    assert not is_device_array(t)
    fi.normal_(t, seed=3)
    np.testing.assert_array_equal(t.numpy(), fi.normal((4, 5), seed=3))
    b = torch.zeros(4, 5, dtype=torch.bfloat16)
    fi.uniform_(b, seed=3)
    assert (b.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
            == fi.uniform((4, 5), seed=3, dtype="bfloat16")).all()


# --- orthogonal on the GPU without a GPU -----------------------------------------------------

def test_orthogonal_device_cuda_without_cupy_names_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy -> ImportError
    with pytest.raises(RuntimeError, match="CuPy, which is not installed"):
        fi.orthogonal((8, 4), seed=0, device="cuda")
    with pytest.raises(RuntimeError, match="CuPy, which is not installed"):
        fi.delta_orthogonal((3, 3, 4, 6), seed=0, device="cuda")
    # a GPU target passes its checks, then the computation needs CuPy (its array module)
    with pytest.raises(RuntimeError, match="CuPy, which is not installed"):
        fi.orthogonal_(_FakeCudaArray((8, 4), "<f4"), seed=0)
    with pytest.raises(RuntimeError, match="CuPy, which is not installed"):
        fi.delta_orthogonal_(_FakeCudaArray((3, 3, 4, 6), "<f4"), seed=0)


def test_orthogonal_device_cuda_without_driver_names_the_driver(monkeypatch):
    def no_driver():
        raise RuntimeError("cudaErrorInsufficientDriver")
    fake = types.SimpleNamespace(cuda=types.SimpleNamespace(
        runtime=types.SimpleNamespace(getDeviceCount=no_driver)))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    _numba_cuda()
    with pytest.raises(RuntimeError, match="no CUDA driver or GPU"):
        fi.orthogonal((8, 8), seed=0, device="cuda")
    with pytest.raises(RuntimeError, match="no CUDA driver or GPU"):
        fi.orthogonal_(_FakeCudaArray((8, 4), "<f4"), seed=0)


def test_orthogonal_gpu_target_bad_input_before_any_import(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(ValueError, match="gain"):
        fi.orthogonal_(_FakeCudaArray((8, 4), "<f4"), gain=float("nan"), seed=0)
    with pytest.raises(ValueError, match="method"):
        fi.orthogonal_(_FakeCudaArray((8, 4), "<f4"), method="svd", seed=0)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        fi.orthogonal_(_FakeCudaArray((8,), "<f4"), seed=0)
    with pytest.raises(TypeError, match="out must have dtype"):
        fi.orthogonal_(_FakeCudaArray((8, 4), "<i4"), seed=0)
    with pytest.raises(ValueError, match="read-only"):
        fi.orthogonal_(_FakeCudaArray((8, 4), "<f4", readonly=True), seed=0)
