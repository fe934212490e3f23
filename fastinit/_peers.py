"""What the benchmarks compare: each initializer's arguments, the peers it is timed against,
and the sizes and dtypes.

The one table for both harnesses: ``fastinit bench`` (``fastinit/_bench.py``) and the asv suite
in ``benchmarks/``. It lives in the package because ``fastinit bench`` runs from an installed
fastinit, where ``benchmarks/`` does not exist.

The asv suite loads this file from its own checkout (``benchmarks/__init__.py``), not from the
installed fastinit: asv runs the checkout's benchmarks against every commit it measures, older
ones included, so the table must be the checkout's. Hence this module imports nothing of
fastinit but its public API (``import fastinit as fi``, no relative imports), and looks the
functions up when a fill runs, not when the table is built.

The names are asv parameters, and asv keys its history by benchmark name and parameters:
renaming one starts a new history.
"""
import math

import ml_dtypes
import numpy as np

import fastinit as fi

# --- dtypes and sizes ----------------------------------------------------------------------

DTYPES = {"float32": np.dtype(np.float32), "float64": np.dtype(np.float64),
          "float16": np.dtype(np.float16), "bfloat16": np.dtype(ml_dtypes.bfloat16)}

HEADLINE = (16384, 16384)     # 2**28 elements: 1 GiB of float32 (CPU and GPU headline cases)
GRID = (4096, 4096)           # 2**24 elements: the CPU family x dtype grid
GRID_4D = (1024, 1024, 4, 4)  # the same element count as a conv weight, for dirac
CUDA_GRID = (8192, 8192)      # 2**26 elements: the GPU family x dtype grid, GPU allocating forms
JAX_SHAPE = (8192, 8192)      # fastinit.jax.initializers against jax.nn.initializers
STREAM_SHAPE = (8192, 8192)   # fastinit generate's writer: 2**26 bfloat16 elements, 128 MiB
ORTHOGONAL_SIZES = [4096, 8192]         # n of the n x n float32 orthogonal matrix, CPU
CUDA_ORTHOGONAL_SIZES = [8192, 16384]   # the same on the GPU

# --- the arguments: fastinit and every peer of an initializer get the same ones -----------

LOW, HIGH = -0.1, 0.1           # uniform
STD = 0.02                      # normal and the truncated normals
TRUNC_A, TRUNC_B = -0.04, 0.04  # trunc_normal's cut, at 2 std
CONSTANT = 0.1
KAIMING_A = math.sqrt(5.0)      # torch.nn.Linear's kaiming_uniform_(a=sqrt(5))
SPARSITY = 0.9

# name -> (fastinit function, positional arguments after the tensor or shape, keywords):
# fastinit.<function>_(buf, ...) fills in place, fastinit.<function>(shape, ..., dtype=) allocates
INITS = {
    "uniform": ("uniform", (LOW, HIGH), dict(seed=0)),
    "normal": ("normal", (), dict(std=STD, seed=0)),
    "trunc_normal": ("trunc_normal", (), dict(std=STD, a=TRUNC_A, b=TRUNC_B, seed=0)),
    "truncated_normal": ("truncated_normal", (), dict(stddev=STD, seed=0)),
    "xavier_uniform": ("xavier_uniform", (), dict(seed=0)),
    "xavier_normal": ("xavier_normal", (), dict(seed=0)),
    "kaiming_uniform": ("kaiming_uniform", (), dict(a=KAIMING_A, seed=0)),
    "kaiming_normal": ("kaiming_normal", (), dict(nonlinearity="relu", seed=0)),
    "lecun_uniform": ("lecun_uniform", (), dict(seed=0)),
    "lecun_normal": ("lecun_normal", (), dict(seed=0)),
    "glorot_normal_jax": ("glorot_normal", (), dict(convention="jax", seed=0)),
    "variance_scaling": ("variance_scaling", (2.0, "fan_in", "truncated_normal"),
                         dict(convention="jax", seed=0)),
    "variance_scaling_normal": ("variance_scaling", (1.0, "fan_avg", "normal"), dict(seed=0)),
    "variance_scaling_uniform": ("variance_scaling", (1.0, "fan_out", "uniform"), dict(seed=0)),
    "constant": ("constant", (CONSTANT,), {}),
    "zeros": ("zeros", (), {}),
    "ones": ("ones", (), {}),
    "eye": ("eye", (), {}),
    "dirac": ("dirac", (), {}),
    "sparse": ("sparse", (SPARSITY,), dict(seed=0)),
}


def in_place(name):
    """``fill(buf)``: initializer ``name`` of INITS into ``buf``, in place."""
    function, args, kwargs = INITS[name]
    return lambda buf: getattr(fi, function + "_")(buf, *args, **kwargs)


def allocating(name):
    """``make(shape, dtype)``: initializer ``name`` of INITS as a new array."""
    function, args, kwargs = INITS[name]
    return lambda shape, dtype: getattr(fi, function)(shape, *args, dtype=dtype, **kwargs)


# --- which initializers each harness times -------------------------------------------------

# the asv family x dtype grid on the CPU (bench_elementwise), in place and allocating
FAMILIES = ["uniform", "normal", "trunc_normal", "truncated_normal", "xavier_uniform",
            "kaiming_normal", "lecun_normal", "variance_scaling", "constant", "zeros", "eye",
            "dirac", "sparse"]
# the same on the GPU (bench_cuda) but dirac, which wants a conv weight: that grid is 2-D only
CUDA_FAMILIES = [name for name in FAMILIES if name != "dirac"]
# what the grid leaves out, in place on the CPU (bench_coverage)
MORE_FAMILIES = ["xavier_normal", "kaiming_uniform", "lecun_uniform", "glorot_normal_jax",
                 "variance_scaling_normal", "variance_scaling_uniform", "ones"]
# the rows of ``fastinit bench``, in order: name -> fan-based (needs 2 or more dims)
BENCH_ROWS = {"uniform": False, "normal": False, "trunc_normal": False, "xavier_uniform": True,
              "kaiming_uniform": True, "kaiming_normal": True, "constant": False}

# --- the peers -----------------------------------------------------------------------------

# torch.nn.init: the function and arguments that match each initializer
TORCH = {
    "uniform": ("uniform_", dict(a=LOW, b=HIGH)),
    "normal": ("normal_", dict(std=STD)),
    "trunc_normal": ("trunc_normal_", dict(std=STD, a=TRUNC_A, b=TRUNC_B)),
    "xavier_uniform": ("xavier_uniform_", {}),
    "kaiming_uniform": ("kaiming_uniform_", dict(a=KAIMING_A)),
    "kaiming_normal": ("kaiming_normal_", dict(nonlinearity="relu")),
    "constant": ("constant_", dict(val=CONSTANT)),
}


def _kaiming_bound(shape):
    fan_in, _ = fi.compute_fans(shape)
    return fi.calculate_gain("leaky_relu", KAIMING_A) * math.sqrt(3.0 / fan_in)


def _xavier_bound(shape):
    fan_in, fan_out = fi.compute_fans(shape)
    return math.sqrt(6.0 / (fan_in + fan_out))


def _kaiming_std(shape):
    fan_in, _ = fi.compute_fans(shape)
    return math.sqrt(2.0) / math.sqrt(fan_in)


def _np_uniform(rng, dst, low, high):
    rng.random(dtype=dst.dtype, out=dst)
    dst *= high - low
    dst += low


def _np_normal(rng, dst, std):
    rng.standard_normal(dtype=dst.dtype, out=dst)
    dst *= std


# NumPy's Generator: what a NumPy user writes for each initializer, as fill(rng, dst, shape)
# into a float32 or float64 ``dst``; None where NumPy has no such distribution
NUMPY = {
    "uniform": lambda rng, d, s: _np_uniform(rng, d, LOW, HIGH),
    "normal": lambda rng, d, s: _np_normal(rng, d, STD),
    "trunc_normal": None,
    "xavier_uniform": lambda rng, d, s: _np_uniform(rng, d, -_xavier_bound(s), _xavier_bound(s)),
    "kaiming_uniform": lambda rng, d, s: _np_uniform(rng, d, -_kaiming_bound(s),
                                                     _kaiming_bound(s)),
    "kaiming_normal": lambda rng, d, s: _np_normal(rng, d, _kaiming_std(s)),
    "constant": lambda rng, d, s: d.fill(CONSTANT),
}

# asv's peers of the CPU in-place fills (bench_elementwise), by parameter name: the raw
# Generator draws (-> the Generator method), torch.nn.init (-> the initializer of TORCH), and a
# plain parallel write of the buffer (the memory floor)
NUMPY_PEERS = {"numpy.random": "random", "numpy.standard_normal": "standard_normal"}
TORCH_PEERS = {"torch.uniform_": "uniform", "torch.normal_": "normal"}
IN_PLACE_PEERS = [*NUMPY_PEERS, *TORCH_PEERS, "write floor"]

# asv's peers of the GPU in-place fills (bench_cuda): CuPy's Generator and legacy cupy.random
# (cuRAND), a device-to-device copy and a write-only fill
CUDA_PEERS = ["cupy.Generator.random", "cupy.Generator.standard_normal", "cupy.random.uniform",
              "cupy.random.normal", "copy", "write floor"]

# orthogonal_ on the CPU (bench_orthogonal): fastinit's default method and method="reflectors"
# and "qr", then the peers: SciPy's LAPACK QR, numpy.linalg.qr, torch.nn.init.orthogonal_
ORTHOGONAL_OURS = ["fastinit", "reflectors", "qr"]
ORTHOGONAL_PEERS = ["scipy_lapack", "numpy_qr", "torch"]
# orthogonal_ on the GPU (bench_cuda_orthogonal): against cupy.linalg.qr (cuSOLVER)
CUDA_ORTHOGONAL_IMPLS = ["fastinit", "fastinit.qr", "cupy.linalg.qr"]

# fastinit.jax.initializers against jax.nn.initializers of the same name (bench_frameworks)
JAX_INITS = ["glorot_normal", "normal", "he_uniform"]


def import_torch():
    """torch, using as many threads as Numba (the cores fastinit's kernels get), or None when
    torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    import numba
    torch.set_num_threads(numba.get_num_threads())
    return torch


def torch_tensor(torch, buf):
    """A torch CPU tensor sharing ``buf``'s memory (bfloat16 through an int16 view)."""
    if buf.dtype == DTYPES["bfloat16"]:
        return torch.from_numpy(buf.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(buf)


def torch_fill(torch, name, buf):
    """``fill()``: torch.nn.init's match of initializer ``name`` (TORCH) into ``buf``."""
    t = torch_tensor(torch, buf)
    function, kwargs = TORCH[name]
    init = getattr(torch.nn.init, function)
    if function == "constant_":
        return lambda: init(t, **kwargs)
    gen = torch.Generator().manual_seed(0)
    return lambda: init(t, generator=gen, **kwargs)
