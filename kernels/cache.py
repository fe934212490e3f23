"""Where the compiled kernels are filed on disk, so that a cached kernel is never stale.

Numba's disk cache (``cache=True``) files a kernel under the source file that defines it and
trusts it while that one file is unchanged. But the CPU drivers of ``cpu.py`` inline the
scalars of ``philox.py``, and an edit there alone (a ``git pull``, a branch switch) would leave
the old machine code in the cache. So every kernel of this package is filed under a stamp that
hashes *all* the sources of ``kernels/`` together with the Numba, llvmlite and NumPy versions:

- the kernels go to the directory ``fastinit-<stamp>`` inside the one Numba would have used
  (``kernels/__pycache__`` when it is writable, else Numba's user-wide cache directory, or
  ``NUMBA_CACHE_DIR`` when set), and Numba's index check compares the same stamp;
- of the ``fastinit-*`` directories there, the current one and the ``KEEP - 1`` most recently
  used others are kept (switching between two branches keeps both warm); older ones, and the
  loose cache files of versions that filed kernels beside their sources, are removed.

The CUDA kernels (``cuda.jit(cache=True)``) are filed in the same stamp directory: numba-cuda
adds its own version, the CUDA runtime's and the compute capability to each entry.
"""
import hashlib
import os
import shutil

import llvmlite
import numba
import numpy
from numba.core import caching

PREFIX = "fastinit-"
KEEP = 3
_HERE = os.path.dirname(os.path.abspath(__file__))


def source_stamp(folder=_HERE):
    """A hex digest of every ``*.py`` file of ``folder`` (names and bytes) and of the Numba,
    llvmlite and NumPy versions: what a compiled kernel depends on."""
    h = hashlib.sha256()
    for name in sorted(os.listdir(folder)):
        if name.endswith(".py"):
            with open(os.path.join(folder, name), "rb") as f:
                h.update(name.encode() + b"\0" + f.read() + b"\0")
    for mod in (numba, llvmlite, numpy):
        h.update(f"{mod.__name__} {mod.__version__}\n".encode())
    return h.hexdigest()[:24]


STAMP = source_stamp()
_tidied = set()    # cache locations this process has tidied
_locations = set()  # the directories this process files kernels in


def locations():
    """The directories the kernels of this process are cached in (sorted)."""
    return sorted(_locations)


def compiled():
    """Whether kernels of this source stamp are already on disk: False on a machine's first
    run (and after an edit of this folder), when the first calls compile them."""
    return any(entry.name.endswith(".nbi") for d in _locations if os.path.isdir(d)
               for entry in os.scandir(d))


def _tidy(root, current):
    """Mark ``current`` used now; remove all but the newest ``KEEP`` stamp directories of
    ``root`` and the loose cache files of the layout before them (once per process)."""
    if root in _tidied:
        return
    _tidied.add(root)
    os.utime(current)
    stale = []
    for entry in os.scandir(root):
        if entry.is_dir() and entry.name.startswith(PREFIX) and entry.path != current:
            stale.append((entry.stat().st_mtime, entry.path))
        elif entry.is_file() and entry.name.endswith((".nbi", ".nbc")):
            os.remove(entry.path)
    for _, path in sorted(stale, reverse=True)[KEEP - 1:]:
        shutil.rmtree(path, ignore_errors=True)


class SourcesLocator(caching._CacheLocator):
    """Numba's cache locator for the kernels of this folder: the location Numba's own locators
    would choose, in a subdirectory named by :data:`STAMP`, with :data:`STAMP` as the source
    stamp."""

    def __init__(self, base):
        self._base = base
        self._root = base.get_cache_path()
        self._path = os.path.join(self._root, PREFIX + STAMP)

    def get_cache_path(self):
        return self._path

    def get_source_stamp(self):
        return STAMP

    def get_disambiguator(self):
        return self._base.get_disambiguator()

    def ensure_cache_path(self):
        super().ensure_cache_path()
        _tidy(self._root, self._path)
        _locations.add(self._path)

    @classmethod
    def from_function(cls, py_func, py_file):
        if os.path.dirname(os.path.abspath(py_file)) != _HERE:
            return None
        for base_cls in _NUMBA_LOCATORS:
            base = base_cls.from_function(py_func, py_file)
            if base is None:
                continue
            self = cls(base)
            try:
                self.ensure_cache_path()
            except OSError:
                continue
            return self
        return None


_LOCATORS = caching.CacheImpl._locator_classes
_NUMBA_LOCATORS = [c for c in _LOCATORS if c is not SourcesLocator]


def install():
    """Put :class:`SourcesLocator` first among Numba's locators (before any kernel of this
    package is defined: Numba picks a kernel's locator when it is decorated)."""
    if SourcesLocator not in _LOCATORS:
        _LOCATORS.insert(0, SourcesLocator)
