"""What ``bench_elementwise`` leaves out: the remaining initializers and dtypes, one case over
2**31 elements, and streaming to disk with the ``fastinit generate`` writer.

Same conventions as ``bench_elementwise``: ``track_*`` in ns per element (lower is better),
the median of ``repeats`` perf_counter samples, in-place fills into buffers that ``setup`` has
touched, the JIT warmed in ``setup``.
"""
import os
import tempfile

import numpy as np

import fastinit as fi
from fastinit import _peers
from fastinit._peers import DTYPES, GRID

from .bench_elementwise import ns_per_element, touched

# the families and forms the grid in bench_elementwise does not time (_peers.MORE_FAMILIES),
# with their arguments, in place: fill(buf)
MORE_IN_PLACE = {name: _peers.in_place(name) for name in _peers.MORE_FAMILIES}


class MoreFamiliesInPlace:
    """The remaining initializer families x every dtype at 2**24 elements, in place."""

    params = [list(MORE_IN_PLACE), list(DTYPES)]
    param_names = ["init", "dtype"]
    unit = "ns/element"
    repeats = 7
    rounds = 1
    timeout = 300

    def setup(self, init, dtype):
        self.buf = touched(GRID, DTYPES[dtype])
        fill = MORE_IN_PLACE[init]
        self.fn = lambda: fill(self.buf)
        self.fn()

    def track_in_place(self, init, dtype):
        return ns_per_element(self.fn, self.buf.size, self.repeats)


class RandomBits:
    """The raw uint32 words (``random_bits``) at 2**24 elements: the Philox cost alone,
    allocating (``random_bits`` has no in-place form) and as a region of a larger tensor."""

    params = [["full", "region of 2**34"]]
    param_names = ["form"]
    unit = "ns/element"
    repeats = 7
    rounds = 1
    timeout = 300

    def setup(self, form):
        fi.random_bits((64,), seed=0)
        n = GRID[0] * GRID[1]
        if form == "full":
            self.fn = lambda: fi.random_bits(GRID, seed=0)
        else:  # the last rows of a 2**17 x 2**17 tensor: counters above 2**32
            shape = (2**17, 2**17)
            region = (slice(2**17 - n // 2**17, 2**17),)
            self.fn = lambda: fi.random_bits(shape, seed=0, region=region)
        self.n = n

    def track_random_bits(self, form):
        return ns_per_element(self.fn, self.n, self.repeats)


class OverTwoToThe31:
    """One fill of more than 2**31 elements: flat indices beyond int32, in place.

    bfloat16 keeps it at 4 GiB (2**31 + 2**20 elements); the region form fills the last
    2**24 elements of a 2**34-element tensor, where the counter's high word is in use."""

    params = [["normal bfloat16 2**31+2**20 in place", "normal float32 region at 2**34"]]
    param_names = ["case"]
    unit = "ns/element"
    repeats = 3
    rounds = 1
    timeout = 1200

    def setup(self, case):
        fi.normal_(touched((64,), DTYPES["bfloat16"]), seed=0)  # JIT warm-up, small
        fi.normal((64,), seed=0, region=(slice(0, 8),))
        if case.startswith("normal bfloat16"):
            self.buf = touched((2**31 + 2**20,), DTYPES["bfloat16"])
            self.n = self.buf.size
            self.fn = lambda: fi.normal_(self.buf, std=0.02, seed=0)
        else:
            shape, self.n = (2**17, 2**17), GRID[0] * GRID[1]
            out = touched((self.n // 2**17, 2**17), np.float32)
            region = (slice(2**17 - self.n // 2**17, 2**17),)
            self.fn = lambda: fi.normal_(out, std=0.02, seed=0, shape=shape, region=region)

    def teardown(self, case):
        self.buf = None

    def track_fill(self, case):
        return ns_per_element(self.fn, self.n, self.repeats)


class StreamToDisk:
    """``fastinit generate``'s writer: 2**26 bfloat16 elements (128 MiB) tile by tile to a
    file (page cache; no fsync, which would time the disk), against allocating the whole
    tensor and ``numpy.save``."""

    params = [["fastinit stream (8 MiB tiles)", "fastinit.normal + numpy.save"]]
    param_names = ["writer"]
    unit = "ns/element"
    repeats = 5
    rounds = 1
    timeout = 600
    shape = _peers.STREAM_SHAPE

    def setup(self, writer):
        try:  # imported here: asv runs this file against older commits too
            from fastinit import _io
        except ImportError:
            raise NotImplementedError("no fastinit._io (streaming writer) here") from None
        self.dir = tempfile.mkdtemp()
        self.path = os.path.join(self.dir, "w.npy")
        shape = self.shape
        fi.normal_(touched((64,), DTYPES["bfloat16"]), seed=0, shape=(64,))

        def fill(view, region):
            fi.normal_(view, std=0.02, seed=0, shape=shape, region=region)

        def stream():
            header = _io.npy_header(shape, DTYPES["bfloat16"])
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            try:
                _io._pwrite_all(fd, header, 0)
                _io.stream_tensor(fd, len(header), shape, DTYPES["bfloat16"], fill, 8 * 2**20)
            finally:
                os.close(fd)

        def whole():
            np.save(self.path, fi.normal(shape, std=0.02, dtype="bfloat16", seed=0))

        self.fn = stream if writer.startswith("fastinit stream") else whole
        self.fn()

    def teardown(self, writer):
        if os.path.exists(self.path):
            os.unlink(self.path)
        os.rmdir(self.dir)

    def track_write(self, writer):
        return ns_per_element(self.fn, self.shape[0] * self.shape[1], self.repeats)
