"""Elementwise initializers on the GPU (CuPy arrays): time per element, peers in the same class.

Every class skips itself (``NotImplementedError`` in ``setup``) where CuPy, numba-cuda or a GPU
is missing, so the suite runs unchanged on the CPU-only development machines.

Timing: CUDA events around the call on the current stream, median of ``repeats`` calls, in
nanoseconds per element (asv: lower is better). Fills go into a buffer allocated and written in
``setup``. Peers, measured in the same class and run (the names, arguments, sizes and dtypes
are the table ``fastinit/_peers.py``):

- ``cupy.random.Generator`` (``random`` / ``standard_normal`` with ``out=``, float32 and
  float64; cuRAND's XORWOW bit generator) and the legacy ``cupy.random.uniform`` / ``normal``
  (allocating; cuRAND);
- ``copy``: a device-to-device copy of a buffer of the same size (``dst[...] = src``), which
  reads and writes every byte while a fill only writes. The target (docs/cuda.md), "elementwise fills
  at 80% or more of the card's copy bandwidth", reads: fill bytes per second >= 0.8 x copy
  bytes (read + written) per second, i.e. ``fill ns/element <= 0.625 x copy ns/element``;
- ``write floor``: ``buf.fill(0)`` (a write-only kernel), the fastest a fill can go.
"""
import statistics

import numpy as np

import fastinit as fi
from fastinit import _peers
from fastinit._peers import DTYPES

SHAPE = _peers.CUDA_GRID  # 2**26 elements: 256 MiB of float32
BIG = _peers.HEADLINE     # 2**28 elements: 1 GiB of float32
PEERS = _peers.CUDA_PEERS

# the GPU grid's families (_peers.CUDA_FAMILIES) with their arguments, in place: fill(buf)
FAMILIES_ = {name: _peers.in_place(name) for name in _peers.CUDA_FAMILIES}


def require_gpu():
    """CuPy with a usable GPU and numba-cuda, or NotImplementedError (asv skips)."""
    try:
        import cupy
        from numba import cuda
    except ImportError as e:
        raise NotImplementedError(f"no CUDA stack: {e}") from None
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1 or not cuda.is_available():
            raise NotImplementedError("no GPU")
    except NotImplementedError:
        raise
    except Exception as e:  # CuPy's own error types when there is no driver
        raise NotImplementedError(f"no GPU or driver: {e}") from None
    return cupy


def ns_per_element(cupy, fn, n, repeats):
    """Median over ``repeats`` calls of ``fn()`` timed by CUDA events, in ns per element."""
    times = []
    for _ in range(repeats):
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop) * 1e6)  # ms -> ns
    return statistics.median(times) / n


def _peer(cupy, name, buf):
    if name == "copy":
        src = cupy.ones_like(buf)
        return lambda: buf.__setitem__(Ellipsis, src)
    if name == "write floor":
        return lambda: buf.fill(0)
    if buf.dtype not in (np.float32, np.float64):
        raise NotImplementedError("cupy.random makes float32 and float64 only")
    if name.startswith("cupy.Generator."):
        rng = cupy.random.default_rng(0)
        if name.endswith("random"):
            return lambda: rng.random(buf.shape, dtype=buf.dtype, out=buf)
        return lambda: rng.standard_normal(buf.shape, dtype=buf.dtype, out=buf)
    if name == "cupy.random.uniform":
        return lambda: cupy.random.uniform(_peers.LOW, _peers.HIGH, buf.shape, dtype=buf.dtype)
    return lambda: cupy.random.normal(0.0, _peers.STD, buf.shape, dtype=buf.dtype)


def _buffer(cupy, shape, dtype):
    if dtype == DTYPES["bfloat16"]:
        # CuPy has no bfloat16: fill a torch bfloat16 CUDA tensor (zero copy) when torch is there
        try:
            import torch
        except ImportError:
            raise NotImplementedError("bfloat16 on the GPU needs a torch CUDA tensor") from None
        return torch.zeros(shape, dtype=torch.bfloat16, device="cuda")
    buf = cupy.empty(shape, dtype)
    buf.fill(1)  # allocated and touched before timing
    return buf


class CudaFamiliesInPlace:
    """Every initializer family x every dtype at 8192 x 8192, in place, with the peers."""

    params = [[*FAMILIES_, *PEERS], list(DTYPES)]
    param_names = ["init", "dtype"]
    unit = "ns/element"
    repeats = 7
    rounds = 1
    timeout = 300

    def setup(self, init, dtype):
        self.cupy = require_gpu()
        d = DTYPES[dtype]
        if init in PEERS and d == DTYPES["bfloat16"]:
            raise NotImplementedError("CuPy has no bfloat16")
        self.buf = _buffer(self.cupy, SHAPE, d)
        if init in FAMILIES_:
            fill = FAMILIES_[init]
            self.fn = lambda: fill(self.buf)
        else:
            self.fn = _peer(self.cupy, init, self.buf)
        self.fn()  # JIT compile, cuRAND state set-up
        self.cupy.cuda.get_current_stream().synchronize()

    def track_in_place(self, init, dtype):
        return ns_per_element(self.cupy, self.fn, int(np.prod(SHAPE)), self.repeats)


class CudaHeadline:
    """16384 x 16384 float32 (1 GiB) in place: normal and uniform against cuRAND and a copy."""

    params = [["fastinit.normal_", "fastinit.uniform_", "cupy.Generator.standard_normal",
               "cupy.Generator.random", "copy", "write floor"]]
    param_names = ["fill"]
    unit = "ns/element"
    repeats = 5
    rounds = 1
    timeout = 300

    def setup(self, fill):
        self.cupy = require_gpu()
        self.buf = _buffer(self.cupy, BIG, np.dtype(np.float32))
        if fill.startswith("fastinit."):
            name = fill[len("fastinit."):-1]
            self.fn = lambda: FAMILIES_[name](self.buf)
        else:
            self.fn = _peer(self.cupy, fill, self.buf)
        self.fn()
        self.cupy.cuda.get_current_stream().synchronize()

    def track_fill(self, fill):
        return ns_per_element(self.cupy, self.fn, int(np.prod(BIG)), self.repeats)


class CudaAllocating:
    """``device="cuda"`` allocating forms at 8192 x 8192 float32 against cupy.random's."""

    params = [["fastinit.normal", "fastinit.uniform", "cupy.random.normal",
               "cupy.random.uniform"]]
    param_names = ["fill"]
    unit = "ns/element"
    repeats = 7
    rounds = 1
    timeout = 300

    def setup(self, fill):
        cupy = self.cupy = require_gpu()
        s = SHAPE
        self.fn = {
            "fastinit.normal": lambda: fi.normal(s, std=0.02, seed=0, device="cuda"),
            "fastinit.uniform": lambda: fi.uniform(s, -0.1, 0.1, seed=0, device="cuda"),
            "cupy.random.normal": lambda: cupy.random.normal(0.0, 0.02, s, dtype=np.float32),
            "cupy.random.uniform": lambda: cupy.random.uniform(-0.1, 0.1, s, dtype=np.float32),
        }[fill]
        self.fn()
        cupy.cuda.get_current_stream().synchronize()

    def track_allocating(self, fill):
        return ns_per_element(self.cupy, self.fn, int(np.prod(SHAPE)), self.repeats)


# target layouts: (make the buffer from a C-ordered one, its logical shape)
LAYOUTS = {
    "C": lambda cupy, a: a,
    "F": lambda cupy, a: a.T,                     # the kernels walk its columns' memory
    "column slice": lambda cupy, a: a[:, ::2],    # half the bytes of each line
    "region": lambda cupy, a: a[1:-1, 3:-1],      # rows starting mid-block
}


class CudaLayouts:
    """normal_ and uniform_ at 8192 x 8192 float32 into each layout of one buffer, in ns per
    element written, with the copy of the whole buffer as the yardstick: every layout but the
    column slice should stay near the C-ordered fill (the F-ordered one is walked in its
    storage order)."""

    params = [["fastinit.normal_", "fastinit.uniform_", "copy"], list(LAYOUTS)]
    param_names = ["fill", "layout"]
    unit = "ns/element"
    repeats = 7
    rounds = 1
    timeout = 300

    def setup(self, fill, layout):
        self.cupy = require_gpu()
        base = _buffer(self.cupy, SHAPE, np.dtype(np.float32))
        self.buf = LAYOUTS[layout](self.cupy, base)
        if fill == "copy":
            if layout != "C":
                raise NotImplementedError("the copy is measured once, on the whole buffer")
            self.fn = _peer(self.cupy, "copy", self.buf)
        else:
            name = fill[len("fastinit."):-1]
            self.fn = lambda: FAMILIES_[name](self.buf)
        self.fn()
        self.cupy.cuda.get_current_stream().synchronize()

    def track_layout(self, fill, layout):
        return ns_per_element(self.cupy, self.fn, int(np.prod(self.buf.shape)), self.repeats)


class CudaSparse:
    """sparse_ (sparsity 0.9) in place, float32: tall columns (a thread block each) and many
    short ones (a thread each), in ns per element, against the normal_ it starts with."""

    params = [["fastinit.sparse_", "fastinit.normal_"], ["1048576x16", "8192x8192", "16x1048576"]]
    param_names = ["fill", "shape"]
    unit = "ns/element"
    repeats = 5
    rounds = 1
    timeout = 600

    def setup(self, fill, shape):
        self.cupy = require_gpu()
        dims = tuple(int(n) for n in shape.split("x"))
        self.buf = _buffer(self.cupy, dims, np.dtype(np.float32))
        if fill == "fastinit.sparse_":
            self.fn = lambda: fi.sparse_(self.buf, 0.9, seed=0)
        else:
            self.fn = lambda: fi.normal_(self.buf, std=0.01, seed=0)
        self.fn()
        self.cupy.cuda.get_current_stream().synchronize()

    def track_sparse(self, fill, shape):
        return ns_per_element(self.cupy, self.fn, int(np.prod(self.buf.shape)), self.repeats)


class CudaFirstCall:
    """A new process's first fill on the GPU, import included: with the kernels in the disk
    cache (the second process on a machine) it loads them instead of compiling (asv runs
    ``timeraw_`` code in a fresh interpreter; the warm-up run fills the cache)."""

    repeats = 3
    rounds = 1
    timeout = 600

    def setup(self):
        require_gpu()

    def timeraw_first_normal(self):
        return """
import cupy
import fastinit as fi
out = cupy.empty((1024, 1024), cupy.float32)
fi.normal_(out, seed=0)
fi.uniform_(out, seed=0)
cupy.cuda.get_current_stream().synchronize()
"""
