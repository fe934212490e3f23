"""Orthogonal initialization on the GPU against ``cupy.linalg.qr``, in the same class and run.

Skips itself (``NotImplementedError`` in ``setup``) where CuPy, numba-cuda or a GPU is missing,
so the suite runs unchanged on the CPU-only development machines.

Implementations, float32, square ``n x n``, Haar-distributed, all on the GPU:

- ``fastinit`` (the default method, ``reflectors``) and ``fastinit.qr``: ``fi.orthogonal_``
  into a CuPy buffer allocated and written in ``setup``;
- ``cupy.linalg.qr``: ``cupy.random.Generator.standard_normal`` into a buffer, then
  ``cupy.linalg.qr`` (cuSOLVER ``geqrf`` + ``orgqr``) and the sign fix
  ``q *= sign(diag(r))`` (what ``torch.nn.init.orthogonal_`` does on a GPU).

Timing: CUDA events around the call on the current stream, median of ``repeats`` calls, in
seconds (asv: lower is better). Target (docs/cuda.md; not a result: no GPU has run it yet): the
default at least 2x faster than ``cupy.linalg.qr`` plus the sign fix at 8192 and 16384.
"""
import statistics

import numpy as np

import fastinit as fi
from fastinit import _peers

SIZES = _peers.CUDA_ORTHOGONAL_SIZES
IMPLS = _peers.CUDA_ORTHOGONAL_IMPLS


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


def seconds(cupy, fn, repeats):
    """Median over ``repeats`` calls of ``fn()`` timed by CUDA events, in seconds."""
    times = []
    for _ in range(repeats):
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop) / 1e3)
    return statistics.median(times)


def make_runner(cupy, impl, n):
    """A zero-argument callable producing one ``n x n`` float32 orthogonal matrix on the GPU by
    ``impl``; the buffers are allocated and touched here, and the call warmed up (JIT, cuBLAS
    and cuSOLVER handles)."""
    if impl.startswith("fastinit"):
        method = "qr" if impl == "fastinit.qr" else None
        fi.orthogonal_(cupy.empty((256, 256), np.float32), method=method, seed=0)
        out = cupy.ones((n, n), np.float32)
        return lambda: fi.orthogonal_(out, method=method, seed=1)
    rng = cupy.random.default_rng(1)
    g = cupy.ones((n, n), np.float32)

    def run():
        rng.standard_normal((n, n), dtype=np.float32, out=g)
        q, r = cupy.linalg.qr(g)
        q *= cupy.sign(cupy.diag(r))[None, :]
        return q
    return run


class CudaOrthogonal:
    """Time of one ``n x n`` float32 orthogonal matrix on the GPU, fastinit and cuSOLVER."""

    params = [IMPLS, SIZES]
    param_names = ["impl", "n"]
    unit = "seconds"
    repeats = 5
    rounds = 1
    timeout = 900

    def setup(self, impl, n):
        self.cupy = require_gpu()
        self.fn = make_runner(self.cupy, impl, n)
        self.fn()
        self.cupy.cuda.get_current_stream().synchronize()

    def track_time(self, impl, n):
        return seconds(self.cupy, self.fn, self.repeats)
