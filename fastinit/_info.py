"""``fastinit info``: versions, Numba's threading layer and threads, where the compiled kernels
are cached, and whether CUDA is usable.

Optional packages are looked up by their installed metadata, not imported (torch alone takes
seconds to import). numba.cuda is imported here, in the command, never by ``import fastinit``.
"""
import importlib.metadata
import importlib.util
import platform
import sys

import fastinit as fi
from fastinit._backend import cpu_threads

CORE = ("numpy", "numba", "llvmlite", "ml_dtypes")
OPTIONAL = ("scipy", "torch", "jax", "dask", "safetensors", "tqdm", "asv", "cupy-cuda12x",
            "cupy-cuda13x", "numba-cuda")


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def threading():
    """Numba's threading layer and thread count (the layer is chosen at the first parallel
    launch, so one tiny fill runs first)."""
    import numba
    fi.uniform((64,), seed=0)
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel launch happened
        layer = "unknown"
    return layer, numba.get_num_threads(), numba.config.NUMBA_NUM_THREADS


def cuda_status():
    """``(usable, reason)``: whether a CUDA GPU can be used from here, and why not."""
    notes = []
    try:
        from numba import cuda
    except ImportError as e:  # numba without its CUDA target (or numba-cuda missing)
        return False, f"numba.cuda cannot be imported ({e})"
    try:
        if cuda.is_available():
            dev = cuda.get_current_device()
            name = dev.name.decode() if isinstance(dev.name, bytes) else dev.name
            return True, f"{len(cuda.gpus)} GPU(s), device 0: {name}, compute capability " \
                         f"{dev.compute_capability}"
    except Exception as e:  # the driver's own error types
        notes.append(" ".join(str(e).split()).rstrip(" :"))
    try:
        cuda.gpus.lst  # initializing the driver raises the reason CUDA is not available
    except Exception as e:
        notes.append(" ".join(str(e).split()).rstrip(" :"))
    if not notes:
        notes.append("no CUDA driver or GPU found")
    return False, "; ".join(dict.fromkeys(notes))


def report(file=None):
    file = sys.stdout if file is None else file
    out = lambda *a: print(*a, file=file)  # noqa: E731
    out(f"fastinit {fi.__version__} (distribution fastinit-kernels)")
    out(f"python {platform.python_version()} ({sys.executable}) on {platform.platform()}")
    for dist in CORE:
        out(f"  {dist:<14} {_version(dist) or 'not installed'}")
    out("optional:")
    for dist in OPTIONAL:
        out(f"  {dist:<14} {_version(dist) or '-'}")
    layer, threads, max_threads = threading()
    out(f"numba threading layer: {layer}; threads: {threads} (NUMBA_NUM_THREADS {max_threads})")
    out(f"  safe for Python threads: {'yes' if layer in cpu_threads.THREAD_SAFE else 'serialized'}"
        f"; safe in forked children: {'yes' if cpu_threads.fork_safe(layer) else 'no'}"
        + ("" if cpu_threads.fork_safe(layer) else
           " (start workers with 'spawn' or 'forkserver', or pip install tbb)"))
    from .kernels import cache
    out(f"compiled kernels cached in: {', '.join(cache.locations()) or 'nowhere (not writable)'}"
        f" (delete it to clear the cache)")
    usable, why = cuda_status()
    out(f"CUDA usable: {'yes' if usable else 'no'}: {why}")
    backend = importlib.util.find_spec("fastinit.kernels.cuda") is not None
    out(f"fastinit CUDA backend: {'present' if backend else 'not in this version'}")
    if backend:
        from ._backend.cuda_runtime import kernel_cache_dir
        out(f"CUDA kernels cached in: {kernel_cache_dir() or 'nowhere (numba-cuda missing)'}")
