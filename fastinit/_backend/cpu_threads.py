"""Numba's threading layer, as the CPU drivers meet it: launches from several Python threads.

Numba runs the parallel drivers on one of three layers, chosen at the first parallel launch
(``NUMBA_THREADING_LAYER``, or the first available of tbb, omp, workqueue). ``tbb`` and
``omp`` take launches from several Python threads at once; ``workqueue`` does not (two
concurrent launches abort the process). So launches are serialized by a lock until a launch
has shown the layer to be one that needs none, and for good when it is ``workqueue``.
"""
import threading

import numba

THREAD_SAFE = ("tbb", "omp")

_lock = threading.Lock()
_unguarded = False  # a launch has shown a thread-safe layer: no lock from then on


def layer():
    """The threading layer in use, or None before the first parallel launch."""
    try:
        return numba.threading_layer()
    except ValueError:
        return None


def launch(driver, *args):
    """``driver(*args)``, serialized with every other launch unless the layer is thread-safe."""
    global _unguarded
    if _unguarded:
        return driver(*args)
    with _lock:
        result = driver(*args)
        _unguarded = layer() in THREAD_SAFE
    return result
