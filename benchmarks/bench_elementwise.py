"""Elementwise initializers on the CPU: time per element, with the peers in the same classes.

What is tracked is nanoseconds per element (``track_*`` with ``unit = "ns/element"``): the
median of several ``time.perf_counter`` repeats divided by the number of elements, so sizes and
dtypes compare directly and asv's "lower is better" holds.

In-place fills go into a buffer that ``setup`` has already touched: this machine hands freed
memory back to its host, and the next first touch runs at about 0.5 GB/s instead of 12 GB/s
(DESIGN.md, "Performance rules"). The allocating forms carry that page-fault cost and are
reported by classes of their own.

Peers, in the same class as the fastinit call they compare with (the names, arguments, sizes
and dtypes are the table ``fastinit/_peers.py``, shared with ``fastinit bench``):

- NumPy's ``Generator``: ``random(dtype=, out=)`` and ``standard_normal(dtype=, out=)``
  (float32 and float64 only; single-threaded);
- ``torch.nn.init.normal_`` / ``uniform_`` on a tensor sharing the buffer, with torch using as
  many threads as Numba (skipped when torch is not installed);
- the memory floor: a parallel loop that writes a constant into the same buffer (Numba
  ``prange``, as many threads as fastinit gets).
"""
import statistics
import time

import numpy as np
from numba import njit, prange

import fastinit as fi
from fastinit import _peers
from fastinit._peers import DTYPES, GRID, GRID_4D, HEADLINE, IN_PLACE_PEERS
from fastinit.kernels import cpu

_UINT = {2: np.uint16, 4: np.uint32, 8: np.uint64}


@njit(parallel=True, cache=True)
def _write_ones(flat):
    for i in prange(flat.size):
        flat[i] = 1


def write_floor(buf):
    """A plain parallel write of every element of ``buf``: the memory-bandwidth floor."""
    _write_ones(buf.reshape(-1).view(_UINT[buf.itemsize]))
    return buf


def ns_per_element(fn, n, repeat):
    """Median over ``repeat`` calls of ``fn()``, in nanoseconds per element of ``n``."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e9 / n


def touched(shape, dtype):
    """An array whose pages are all faulted in (written once, in parallel)."""
    return write_floor(np.empty(shape, dtype))


def require_torch():
    """torch for a peer benchmark (skipping it when torch is not installed); imported only
    here, by the benchmarks that use it, since it is slow to import."""
    torch = _peers.import_torch()
    if torch is None:
        raise NotImplementedError("torch is not installed")
    return torch


# --- in place: what each family does to an existing buffer -------------------------------

# the grid's families (_peers.FAMILIES) with their arguments: in place, fill(buf), and
# allocating, make(shape, dtype)
FAMILIES_ = {name: _peers.in_place(name) for name in _peers.FAMILIES}
FAMILIES = {name: _peers.allocating(name) for name in _peers.FAMILIES}


def _peer_in_place(name, buf):
    """The callable filling ``buf`` for peer ``name`` (IN_PLACE_PEERS); NotImplementedError
    where it cannot."""
    if name == "write floor":
        return lambda: write_floor(buf)
    if name in _peers.NUMPY_PEERS:
        if buf.dtype not in (np.float32, np.float64):
            raise NotImplementedError("numpy's Generator fills float32 and float64 only")
        draw = getattr(np.random.default_rng(0), _peers.NUMPY_PEERS[name])
        return lambda: draw(dtype=buf.dtype, out=buf)
    if name in _peers.TORCH_PEERS:
        return _peers.torch_fill(require_torch(), _peers.TORCH_PEERS[name], buf)
    raise ValueError(name)


class Headline:
    """16384 x 16384 float32 (1 GiB) in place: the issue's targets, peers side by side."""

    params = [["fastinit.normal_", "fastinit.uniform_", "fastinit.trunc_normal_",
               *IN_PLACE_PEERS]]
    param_names = ["fill"]
    unit = "ns/element"
    repeats = 5  # perf_counter samples taken inside track_fill (1 GiB each)
    rounds = 1
    timeout = 600

    def setup(self, fill):
        self.buf = touched(HEADLINE, np.float32)
        if fill.startswith("fastinit."):
            name = fill[len("fastinit."):-1]
            self.fn = lambda: FAMILIES_[name](self.buf)
        else:
            self.fn = _peer_in_place(fill, self.buf)
        self.fn()  # warm-up: JIT (from the cache), thread pool, torch's first call

    def track_fill(self, fill):
        return ns_per_element(self.fn, self.buf.size, self.repeats)


# not cached: a cached caller keeps the machine code of the kernels it calls, so after an edit
# of kernels/ it would go on measuring the old ones
@njit
def _repeat_blocks(kind, params, tile, reps):
    """``reps`` fills of the L1-resident ``tile`` by the kernel's own block function."""
    nb = tile.size // 4
    for r in range(reps):
        if kind < 0:
            cpu._blocks_bits(0, params, tile.view(np.uint32), 0, r * nb, nb, np.uint32(1),
                             np.uint32(2), np.uint32(0), np.uint32(0))
        else:
            cpu._blocks_f32(kind, params, tile, 0, r * nb, nb, np.uint32(1), np.uint32(2),
                            np.uint32(0), np.uint32(0))


@njit
def _repeat_blocks_f64(kind, params, tile, reps):
    """``reps`` fills of the L1-resident float64 ``tile`` (two elements a Philox block)."""
    nb = tile.size // 2
    for r in range(reps):
        cpu._blocks_f64(kind, params, tile, 0, r * nb, nb, np.uint32(1), np.uint32(2),
                        np.uint32(0), np.uint32(0))


class ComputeFloor:
    """The arithmetic floor: one core filling a 16 KiB tile that stays in L1, by the kernels'
    own block functions, in ns per element (per 32-bit word for ``philox``; a float64 element
    takes two words).

    On two cores the arithmetic of an in-place fill costs about half of this; compared with
    the write floor of ``Headline`` it says whether a family is bound by memory or by
    arithmetic (docs/performance.md, "Elementwise kernels against their floors")."""

    params = [["philox", "uniform", "normal", "trunc_normal", "trunc_normal (float64 path)",
               "uniform (float64)", "normal (float64)"]]
    param_names = ["kernel"]
    unit = "ns/element"
    repeats = 7
    REPS = 2000  # tile fills per sample: 8.2M elements

    def setup(self, kernel):
        from fastinit import _plans
        f32, f64 = np.dtype(np.float32), np.dtype(np.float64)
        plans = {"philox": (-1, [0.0]), "uniform": _plans.uniform(-0.1, 0.1, f32),
                 "normal": _plans.normal(0.0, 0.02),
                 "trunc_normal": _plans.trunc_normal(0.0, 1.0, -2.0, 2.0, f32),
                 # the quantile in float64, as far-tail intervals take it: its block function
                 # on a float32 tile
                 "trunc_normal (float64 path)": _plans.trunc_normal(0.0, 1.0, -2.0, 2.0, f64),
                 "uniform (float64)": _plans.uniform(-0.1, 0.1, f64),
                 "normal (float64)": _plans.normal(0.0, 0.02)}
        kind, params = plans[kernel]
        wide = kernel.endswith("(float64)")
        self.repeat = _repeat_blocks_f64 if wide else _repeat_blocks
        tile = np.empty(2048, np.float64) if wide else np.empty(4096, np.float32)
        self.args = (kind, np.asarray(params, np.float64), tile)
        self.repeat(*self.args, 1)  # compile (or load from the cache)

    def track_one_core_in_cache(self, kernel):
        return ns_per_element(lambda: self.repeat(*self.args, self.REPS),
                              self.REPS * self.args[2].size, self.repeats)


class TruncNormal:
    """The truncated normal in place at 16384 x 16384, float32 and bfloat16, cut at two
    standard deviations (``std=0.02, a=-0.04, b=0.04``), side by side with the write floor,
    fastinit's normal, torch's ``trunc_normal_`` and JAX's ``truncated_normal`` (allocating,
    jitted: JAX has no in-place form)."""

    params = [["fastinit.trunc_normal_", "fastinit.normal_", "write floor",
               "torch.trunc_normal_", "jax.random.truncated_normal"], ["float32", "bfloat16"]]
    param_names = ["fill", "dtype"]
    unit = "ns/element"
    repeats = 5
    rounds = 1
    timeout = 900

    def setup(self, fill, dtype):
        dt = DTYPES[dtype]
        self.buf = touched(HEADLINE, dt)
        std, a, b = _peers.STD, _peers.TRUNC_A, _peers.TRUNC_B
        if fill == "fastinit.trunc_normal_":
            self.fn = lambda: fi.trunc_normal_(self.buf, std=std, a=a, b=b, seed=0)
        elif fill == "fastinit.normal_":
            self.fn = lambda: fi.normal_(self.buf, std=std, seed=0)
        elif fill == "write floor":
            self.fn = lambda: write_floor(self.buf)
        elif fill == "torch.trunc_normal_":
            self.fn = _peers.torch_fill(require_torch(), "trunc_normal", self.buf)
        else:
            self.fn = _jax_truncated_normal(dtype, std, a, b)
        self.fn()  # warm-up: JIT, thread pools, the peers' first calls

    def track_fill(self, fill, dtype):
        return ns_per_element(self.fn, self.buf.size, self.repeats)


def _jax_truncated_normal(dtype, std, a, b):
    """JAX's truncated normal of the headline shape, jitted, on the CPU (NotImplementedError
    when JAX is not installed)."""
    try:
        import jax
    except ImportError:
        raise NotImplementedError("jax is not installed") from None
    import jax.numpy as jnp
    draw = jax.jit(lambda key: std * jax.random.truncated_normal(
        key, a / std, b / std, HEADLINE, getattr(jnp, dtype)))
    key = jax.random.key(0)
    return lambda: draw(key).block_until_ready()


class HeadlineAllocating:
    """16384 x 16384 float32, allocating: includes faulting in 1 GiB of fresh pages, which
    on this machine is the dominant (and noisy) part."""

    params = [["fastinit.normal", "fastinit.uniform", "numpy.standard_normal", "numpy.random",
               "numpy.empty + write floor"]]
    param_names = ["fill"]
    unit = "ns/element"
    repeats = 3
    rounds = 1
    timeout = 600

    def setup(self, fill):
        s, n = HEADLINE, np.float32
        rng = np.random.default_rng(0)
        self.fn = {
            "fastinit.normal": lambda: fi.normal(s, std=0.02, seed=0),
            "fastinit.uniform": lambda: fi.uniform(s, -0.1, 0.1, seed=0),
            "numpy.standard_normal": lambda: rng.standard_normal(s, dtype=n),
            "numpy.random": lambda: rng.random(s, dtype=n),
            "numpy.empty + write floor": lambda: write_floor(np.empty(s, n)),
        }[fill]
        touched((64, 64), np.float32)
        fi.normal((64, 64), seed=0)  # warm the JIT on a small size, not on 1 GiB
        fi.uniform((64, 64), seed=0)

    def track_fill(self, fill):
        return ns_per_element(self.fn, HEADLINE[0] * HEADLINE[1], self.repeats)


class PeakMemNormal:
    """Peak memory of the allocating normal at 16384 x 16384 float32 (output: 1 GiB).

    asv reports the process's peak RSS, so the baseline (interpreter, NumPy, Numba) is
    included: compare with the NumPy peer, which allocates only its output."""

    timeout = 600

    def setup(self):
        fi.normal((64, 64), seed=0)  # JIT warm-up; the 1 GiB is allocated only in the call

    def peakmem_fastinit_normal(self):
        fi.normal(HEADLINE, std=0.02, seed=0)

    def peakmem_fastinit_normal_bfloat16(self):
        fi.normal(HEADLINE, std=0.02, dtype="bfloat16", seed=0)

    def peakmem_numpy_standard_normal(self):
        np.random.default_rng(0).standard_normal(HEADLINE, dtype=np.float32)


class FamiliesInPlace:
    """Every initializer family x every dtype at 2**24 elements, in place, with the peers."""

    params = [[*FAMILIES_, *IN_PLACE_PEERS], list(DTYPES)]
    param_names = ["init", "dtype"]
    unit = "ns/element"
    repeats = 7
    rounds = 1
    timeout = 300

    def setup(self, init, dtype):
        self.buf = touched(GRID_4D if init == "dirac" else GRID, DTYPES[dtype])
        if init in FAMILIES_:
            fill = FAMILIES_[init]
            self.fn = lambda: fill(self.buf)
        else:
            self.fn = _peer_in_place(init, self.buf)
        self.fn()

    def track_in_place(self, init, dtype):
        return ns_per_element(self.fn, self.buf.size, self.repeats)


class FamiliesAllocating:
    """Every initializer family x every dtype at 2**24 elements, allocating (fresh pages:
    page faults included)."""

    params = [[*FAMILIES, *_peers.NUMPY_PEERS], list(DTYPES)]
    param_names = ["init", "dtype"]
    unit = "ns/element"
    repeats = 5
    rounds = 1
    timeout = 300

    def setup(self, init, dtype):
        d = DTYPES[dtype]
        shape = GRID_4D if init == "dirac" else GRID
        self.size = int(np.prod(shape))
        if init in FAMILIES:
            fill = FAMILIES[init]
            self.fn = lambda: fill(shape, d)
            fill((8, 8, 4, 4) if init == "dirac" else (64, 64), d)  # JIT warm-up
        else:
            if d not in (np.float32, np.float64):
                raise NotImplementedError("numpy's Generator makes float32 and float64 only")
            rng = np.random.default_rng(0)
            draw = rng.random if init == "numpy.random" else rng.standard_normal
            self.fn = lambda: draw(shape, dtype=d)

    def track_allocating(self, init, dtype):
        return ns_per_element(self.fn, self.size, self.repeats)
