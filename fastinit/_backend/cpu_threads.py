"""Numba's threading layer, as the CPU drivers meet it: Python threads and forked processes.

Numba runs the parallel drivers on one of three layers, chosen at the first parallel launch
(``NUMBA_THREADING_LAYER``, else the first that loads of tbb, omp, workqueue):

========== ============ ==========================================================
layer      thread-safe  fork-safe (a child forked after the parent launched)
========== ============ ==========================================================
tbb        yes          yes
omp        yes          only with Intel's OpenMP; GNU OpenMP kills the child
workqueue  no           yes
========== ============ ==========================================================

So that both hold wherever a wheel of TBB exists, the ``tbb`` package is a dependency there
and its library is loaded here, before the first launch: pip installs it in the environment's
``lib/``, where Numba's loader does not look, and a library already loaded satisfies the
loader. Where TBB is missing anyway: launches are serialized by a lock until a launch has
shown a thread-safe layer (for good under ``workqueue``), and a forked child of a process that
launched on GNU OpenMP gets a RuntimeError saying what to do, instead of being killed (and
leaving a ``multiprocessing.Pool`` waiting for ever).
"""
import ctypes
import os
import sys
import threading

import numba

THREAD_SAFE = ("tbb", "omp")

_lock = threading.Lock()
_fast = False          # a launch showed a thread-safe layer, usable in this process: no lock
_fork_refusal = None   # why this forked child must not launch, if so


def layer():
    """The threading layer in use, or None before the first parallel launch."""
    try:
        return numba.threading_layer()
    except ValueError:
        return None


def openmp_vendor():
    """The OpenMP runtime behind the ``omp`` layer (``"GNU"``, ``"Intel"``, ...), or None."""
    try:
        from numba.np.ufunc import omppool
    except ImportError:
        return None
    return getattr(omppool, "openmp_vendor", None)


def fork_safe(name):
    """Whether a child forked after a launch on layer ``name`` can launch too."""
    return name in ("tbb", "workqueue") or (name == "omp" and openmp_vendor() != "GNU")


def launch(driver, *args):
    """``driver(*args)``: serialized with every other launch unless the layer is thread-safe;
    refused with a RuntimeError in a forked child whose parent's layer is not fork-safe."""
    global _fast
    if _fast:
        return driver(*args)
    if _fork_refusal is not None:
        raise RuntimeError(_fork_refusal)
    with _lock:
        result = driver(*args)
        _fast = layer() in THREAD_SAFE
    return result


def _after_fork_in_child():
    global _lock, _fast, _fork_refusal
    _lock = threading.Lock()  # another thread of the parent may have held it at the fork
    name = layer()
    if name is not None and not fork_safe(name):
        _fast = False
        _fork_refusal = (
            f"fastinit cannot run in this process: it was forked from one that had run "
            f"fastinit on Numba's '{name}' threading layer ({openmp_vendor()} OpenMP), which "
            f"does not survive fork(). Start workers with the 'spawn' or 'forkserver' method "
            f"(multiprocessing.get_context('spawn')), or install TBB (pip install tbb) so that "
            f"fastinit uses the 'tbb' layer.")


def _load_tbb():
    """Load the TBB library of the ``tbb`` package (Linux), so that Numba's tbb layer finds
    it; nothing when it is absent or a layer is running already."""
    if not sys.platform.startswith("linux") or layer() is not None:
        return None
    for path in _tbb_candidates():
        if os.path.exists(path):
            try:
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            except OSError:
                continue
            return path
    return None


def _tbb_candidates():
    yield os.path.join(sys.prefix, "lib", "libtbb.so.12")  # where pip puts it in a venv
    try:  # elsewhere (a --user or --target install): the files the distribution recorded
        import importlib.metadata as md
        files = md.files("tbb") or ()
    except Exception:  # no tbb distribution, or no record of its files
        return
    for f in files:
        if f.name == "libtbb.so.12":
            yield str(f.locate())


TBB_LIBRARY = _load_tbb()
os.register_at_fork(after_in_child=_after_fork_in_child)
