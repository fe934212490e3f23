"""float64: fastinit against its memory floor and against the float64 generators its users
compare with, Intel MKL's (VSL, through ``mkl_random``) first among them.

Same conventions as ``bench_elementwise``: ``track_*`` in ns per element (lower is better), the
median of ``repeats`` perf_counter samples, the JIT and the peers' first calls warmed in
``setup``.

- ``Float64InPlace``: 2**27 float64 elements (1 GiB) filled in place, in a buffer that ``setup``
  has touched, against the write floor of the same buffer, NumPy, torch and JAX;
- ``Float64VsMKL``: 2**26 float64 normals and uniforms (512 MiB), allocating, against every
  basic generator of ``mkl_random`` and, for the normal, every method it offers.

The optional peers skip themselves (asv reports them as n/a, with the reason) when they are not
installed: torch, jax, and mkl-random (``pip install mkl-random``; asv's own environments get
all three from the matrix of ``asv.conf.json``). None of them is imported at module level.
"""
import numpy as np

import fastinit as fi
from fastinit import _peers

from .bench_elementwise import _peer_in_place, ns_per_element, require_torch, touched

F64 = np.dtype(np.float64)
IN_PLACE_SIZE = 2**27  # 1 GiB of float64
MKL_SIZE = 2**26       # 512 MiB of float64, allocated by every call

# mkl_random's basic generators (its ``brng=``) and methods of the normal (``method=``)
MKL_BRNGS = ["PHILOX4X32X10", "MT2203", "MT19937", "SFMT19937"]
MKL_NORMAL_METHODS = ["ICDF", "BoxMuller", "BoxMuller2"]


def require_jax_x64():
    """jax with 64-bit types enabled (NotImplementedError when JAX is not installed); returns
    ``(jax, restore)``, ``restore()`` putting the previous setting back."""
    try:
        import jax
    except ImportError:
        raise NotImplementedError("jax is not installed") from None
    before = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    return jax, lambda: jax.config.update("jax_enable_x64", before)


def require_mkl_random():
    """``mkl_random`` (NotImplementedError when it is not installed)."""
    try:
        import mkl_random
    except ImportError:
        raise NotImplementedError("mkl-random is not installed (pip install mkl-random)") from None
    return mkl_random


class Float64InPlace:
    """2**27 float64 elements (1 GiB) in place, every fill with the same arguments (normal:
    ``std=0.02``; uniform: ``[-0.1, 0.1)``; ``_peers.STD``, ``LOW``, ``HIGH``), side by side with
    the float64 write floor: a parallel write of a constant into the same buffer, as many
    threads as fastinit gets. How close fastinit's float64 normal and uniform come to that floor
    is the question; the peers show where the usual float64 routes stand.

    - ``numpy.standard_normal``, ``numpy.random``: the Generator's raw draws into the buffer
      (``dtype=float64, out=``), standard normal and ``[0, 1)``: NumPy has no in-place draw
      that takes a scale or bounds, and scaling afterwards would add a pass over the buffer,
      so these rows are NumPy's cheapest route (single-threaded);
    - ``torch.normal_``, ``torch.uniform_``: ``torch.nn.init`` on a float64 tensor sharing the
      buffer, torch on as many threads as Numba (n/a without torch);
    - ``jax.normal (x64)``, ``jax.uniform (x64)``: ``jax.random.normal`` times the std and
      ``jax.random.uniform`` with the bounds, float64 (``jax_enable_x64``), jitted, on XLA's
      CPU thread pool, waited for with ``block_until_ready``. JAX has no in-place form: these
      calls allocate their result and carry the first-touch cost of fresh memory that the
      other rows do not (n/a without JAX).
    """

    params = [["fastinit.normal_", "fastinit.uniform_", "write floor", "numpy.standard_normal",
               "numpy.random", "torch.normal_", "torch.uniform_", "jax.normal (x64)",
               "jax.uniform (x64)"]]
    param_names = ["fill"]
    unit = "ns/element"
    repeats = 5  # perf_counter samples taken inside track_fill (1 GiB each)
    rounds = 1
    timeout = 900

    def setup(self, fill):
        self.restore = None
        if fill.startswith("jax."):
            self.fn, self.restore = _jax_x64(fill)
            self.fn()  # XLA compilation and JAX's first call, paid here
            return
        if fill.startswith("torch."):
            require_torch()  # before touching 1 GiB for nothing
        self.buf = touched((IN_PLACE_SIZE,), F64)
        if fill == "fastinit.normal_":
            self.fn = lambda: fi.normal_(self.buf, std=_peers.STD, seed=0)
        elif fill == "fastinit.uniform_":
            self.fn = lambda: fi.uniform_(self.buf, _peers.LOW, _peers.HIGH, seed=0)
        else:  # write floor, NumPy's and torch's fills (bench_elementwise)
            self.fn = _peer_in_place(fill, self.buf)
        self.fn()  # warm-up: JIT (from the cache), thread pool, the peers' first calls

    def teardown(self, fill):
        if self.restore is not None:
            self.restore()

    def track_fill(self, fill):
        return ns_per_element(self.fn, IN_PLACE_SIZE, self.repeats)


def _jax_x64(fill):
    """``(fill(), restore)``: JAX's float64 normal or uniform of ``IN_PLACE_SIZE`` elements with
    the arguments of the other rows, jitted, on the CPU."""
    jax, restore = require_jax_x64()
    import jax.numpy as jnp
    shape, std, low, high = (IN_PLACE_SIZE,), _peers.STD, _peers.LOW, _peers.HIGH
    if fill == "jax.normal (x64)":
        draw = jax.jit(lambda key: std * jax.random.normal(key, shape, jnp.float64))
    else:
        draw = jax.jit(lambda key: jax.random.uniform(key, shape, jnp.float64, low, high))
    key = jax.random.key(0)
    return (lambda: draw(key).block_until_ready()), restore


class Float64VsMKL:
    """2**26 float64 normals and uniforms (512 MiB), allocating: fastinit against Intel MKL's
    vector statistics (VSL) through ``mkl_random``, the fast float64 generator that float64
    users measure a new one against.

    Rows: ``fastinit`` (``fastinit.normal(n, dtype="float64")``, ``fastinit.uniform(n, 0, 1,
    dtype="float64")``, on as many threads as Numba) and ``mkl_random.RandomState(0,
    brng=B)`` for each basic generator ``B`` of ``MKL_BRNGS``. Columns: the standard normal
    (``standard_normal(n, method=M)`` for each method ``M`` of MKL: inverse CDF, Box-Muller with
    one value per pair of uniforms, Box-Muller with both) and the uniform on ``[0, 1)``
    (``uniform(0, 1, n)``). fastinit's normal has one method (Box-Muller, both values of a pair:
    ``kernels/__init__.py``), in the ``normal`` column, and MKL's are timed per method in the
    others: the cells that do not apply are n/a.

    ``mkl_random.RandomState`` is single-threaded (one VSL stream, filled by one core), while
    fastinit uses every core Numba has: the table compares what each library does for one
    call, not per core. mkl_random has no ``out=``, so both sides allocate: every call carries
    the first-touch cost of 512 MiB of fresh memory. Without mkl-random its rows are skipped
    (n/a, with how to install it); fastinit's still run.
    """

    params = [["fastinit", *(f"mkl_random {brng}" for brng in MKL_BRNGS)],
              ["normal", *(f"normal {method}" for method in MKL_NORMAL_METHODS), "uniform"]]
    param_names = ["generator", "draw"]
    unit = "ns/element"
    repeats = 5
    rounds = 1
    timeout = 600

    def setup(self, generator, draw):
        n = MKL_SIZE
        if generator == "fastinit":
            if draw == "uniform":
                self.fn = lambda: fi.uniform(n, 0.0, 1.0, dtype=F64, seed=0)
            elif draw == "normal":
                self.fn = lambda: fi.normal(n, dtype=F64, seed=0)
            else:
                raise NotImplementedError("fastinit's normal has one method: see the column "
                                          "'normal'")
            self.fn()  # the JIT (from the cache) and the thread pool, paid here
            return
        if draw == "normal":
            raise NotImplementedError("mkl_random's normal is timed per method: see the columns "
                                      "'normal ICDF', 'normal BoxMuller', 'normal BoxMuller2'")
        rs = require_mkl_random().RandomState(0, brng=generator.split()[1])
        if draw == "uniform":
            self.fn = lambda: rs.uniform(0.0, 1.0, n)
        else:
            method = draw.split()[1]
            self.fn = lambda: rs.standard_normal(n, method=method)
        self.fn()  # MKL's first call (dispatch, the library's own set-up), paid here

    def track_draw(self, generator, draw):
        return ns_per_element(self.fn, MKL_SIZE, self.repeats)
