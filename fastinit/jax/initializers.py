"""Initializers with JAX's signature, on fastinit's counter-based kernels.

A drop-in for ``jax.nn.initializers`` (and so for the initializer arguments of Flax modules):
the same names, factories with the same parameters and defaults, each returning
``init(key, shape, dtype=<the factory's dtype>, out_sharding=None)`` that gives a
``jax.Array``; the same accepted inputs (typed and raw ``uint32`` keys, traced keys under
``jit`` and ``vmap``, 0-d and 1-d shapes with explicit axes, zero-size shapes, array scalars,
float16, bfloat16, float32, float64 under x64, complex64 and complex128) and the same errors
(exception type and message) for what JAX refuses, raised before anything is allocated.
Formulas are JAX's: fans from ``in_axis=-2``, ``out_axis=-1``, ``batch_axis=()`` computed as
JAX computes them; ``*_normal`` is a normal truncated at two standard deviations with the std
divided by 0.87962566103423978 (``fastinit`` with ``convention="jax"``); complex dtypes follow
JAX's complex laws (a complex normal with ``E|z|**2`` the variance; a normal truncated in
modulus; a uniform disk). The values differ from JAX's (another generator); the distributions
are the same.

Keys
----
A key maps to fastinit's ``(seed, stream)``: with ``d = jax.random.key_data(key)`` (or the raw
``uint32`` array of a legacy key),

- two words (threefry, the default): ``seed = d[0] * 2**32 + d[1]``, ``stream = 0``. This is
  the int the key was made from: ``init(jax.random.key(s), shape)`` equals
  ``fastinit.<init>(shape, seed=s, convention="jax")`` for ``0 <= s < 2**32`` (and any 64-bit
  ``s`` with ``jax_enable_x64``);
- four words (``rbg``, ``unsafe_rbg``): the seed from ``d[0], d[1]`` as above and the stream
  ``d[2] * 2**32 + d[3]``.

Split keys (``jax.random.split``) give different seeds, hence independent tensors.

Results
-------
The tensor is generated on the host (all cores) into a 64-byte aligned NumPy buffer and handed
to JAX through DLPack (``jax.dlpack.from_dlpack``): zero copy for float64, float32, float16,
complex128 and complex64 on the CPU backend. NumPy's DLPack has no bfloat16, so a bfloat16
result crosses as uint16 (zero copy) and ``jax.lax.bitcast_convert_type`` makes it bfloat16
(one copy inside XLA). Under a transformation (a traced key: ``jax.jit``, ``jax.vmap``,
``jax.eval_shape``) the same host code runs through ``jax.pure_callback``, one key at a time
under ``vmap``.

``zeros``, ``ones`` and ``constant`` are JAX's own functions: there is nothing random to
generate, XLA's fill is faster than a host fill handed over (no first touch of fresh host
memory), and it keeps every dtype, ``out_sharding`` and tracing behaviour of JAX.

Differences from jax.nn.initializers
------------------------------------
- The values: another generator (Philox4x32-10 on fastinit's counter contract), the same law.
- Rounding: fastinit computes a std or bound in float64 and rounds each value once into the
  output dtype; JAX first rounds ``stddev``, ``scale`` and the variance to the output dtype
  and multiplies in it (in bfloat16 JAX's effective std is off by up to a few parts in a
  thousand; fastinit's is not).
- Where fastinit's kernels do not apply, the call goes to ``jax.nn.initializers`` itself and
  the values are JAX's: an ``out_sharding``, a ``stddev``/``scale`` that is not a concrete
  finite real scalar (a traced or non-scalar array, NaN, infinity) or is negative (a
  non-positive ``scale`` of ``uniform``), ``truncated_normal`` bounds that are not real scalars
  with ``lower < upper``, and inexact dtypes other than the six above (the float8 formats).
- A shape with a negative dimension: ``ValueError`` here; JAX fails inside XLA (an
  ``MLIRError``).
- JAX's ``jax_explicit_x64_dtypes="error"`` mode is not mirrored: float64 and complex128
  without x64 are truncated to float32 and complex64 with JAX's warning.
"""
import inspect
import math
import numbers
import operator
import warnings
from functools import lru_cache

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
from jax.nn import initializers as _jax_init
from jax.nn.initializers import Initializer

import fastinit as _fi
from fastinit._host import aligned_empty

__all__ = [
    "Initializer", "constant", "delta_orthogonal", "glorot_normal", "glorot_uniform",
    "he_normal", "he_uniform", "kaiming_normal", "kaiming_uniform", "lecun_normal",
    "lecun_uniform", "normal", "ones", "orthogonal", "truncated_normal", "uniform",
    "variance_scaling", "xavier_normal", "xavier_uniform", "zeros", "key_to_seed_stream",
]

_BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
_COMPLEX = (np.dtype(np.complex64), np.dtype(np.complex128))
_KERNEL_DTYPES = _fi._checks.FLOAT_DTYPES + _COMPLEX  # what fastinit's kernels generate
_PY_TYPES = (bool, int, float, complex)  # JAX maps these to its default dtypes
_BAD_KINDS = "OMmSU"  # object, datetimes, strings: not JAX array types
_DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")


# --- keys ------------------------------------------------------------------------------------

def key_to_seed_stream(key):
    """``(seed, stream)`` of a JAX PRNG key (see the module docstring).

    Parameters
    ----------
    key : jax.Array
        One typed key (``jax.random.key``) or the raw ``uint32`` words of one key
        (``jax.random.PRNGKey``), concrete.

    Raises
    ------
    ValueError
        For anything but the 2 or 4 ``uint32`` words of a single key.
    """
    data = key
    if hasattr(key, "dtype") and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        data = jax.random.key_data(key)
    words = np.asarray(data).reshape(-1)
    if words.dtype != np.uint32 or words.size not in (2, 4):
        raise ValueError(f"key must be a single JAX PRNG key (2 or 4 uint32 words), got "
                         f"{getattr(key, 'dtype', type(key))} of shape "
                         f"{getattr(key, 'shape', '?')}")
    return _seed_stream(words)


def _seed_stream(words):
    w = [int(x) for x in words]
    seed = (w[0] << 32) | w[1]
    stream = (w[2] << 32) | w[3] if len(w) == 4 else 0
    return seed, stream


@lru_cache(maxsize=None)
def _raw_key_shape(impl):
    """The shape of one raw key of the PRNG implementation named ``impl``."""
    return jax.random.key_data(jax.random.key(0, impl=impl)).shape


def _batched(name, shape):
    return ValueError(f"{name} accepts a single key, but was given a key array of shape "
                      f"{shape} != (). Use jax.vmap for batching.")


def _key_data(key, name):
    """The ``uint32`` words of one key (a tracer stays a tracer), checked as ``jax.random``'s
    function ``name`` checks its key: the same exception types and messages."""
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.ndim:
            raise _batched(name, np.shape(key))
        return jax.random.key_data(key)
    if not (isinstance(key, (np.ndarray, np.generic, jax.Array)) or np.isscalar(key)
            or getattr(key, "__jax_array__", None) is not None):
        raise TypeError(f"unexpected PRNG key type {type(key)}")
    _check_raw_key(key)
    legacy = jax.config.jax_legacy_prng_key
    if legacy in ("error", "warn"):
        message = ("Legacy uint32 key array passed as key to jax.random function. Please "
                   "create keys using jax.random.key(). If use of a raw key array was "
                   "intended, set jax_legacy_prng_key=\"allow\".")
        if legacy == "error":
            raise ValueError(message)
        warnings.warn(message, stacklevel=4)
    if key.ndim > 1:
        raise _batched(name, np.shape(key))
    return key


def _check_raw_key(key):
    """JAX's checks of raw key data, against the default implementation's key shape."""
    prefix = "JAX encountered invalid PRNG key data: expected "
    if not all(hasattr(key, a) for a in ("ndim", "shape", "dtype")):
        raise TypeError(f"{prefix}key_data to have ndim, shape, and dtype attributes. "
                        f"Got {key}")
    if key.ndim < 1:
        raise TypeError(f"{prefix}key_data.ndim >= 1; got ndim={key.ndim}")
    impl = jax.config.jax_default_prng_impl
    key_shape = _raw_key_shape(impl)
    if tuple(key.shape[-len(key_shape):]) != key_shape:
        raise TypeError(f"{prefix}key_data.shape to end with {key_shape}; got "
                        f"shape={key.shape} for impl={impl}")
    if key.dtype != np.uint32:
        raise TypeError(f"{prefix}key_data.dtype = uint32; got dtype={key.dtype}")


# --- shapes, dtypes, scalars -----------------------------------------------------------------

def _shape(shape):
    """JAX's canonical shape (an int or a sequence of integers, as a tuple of ints)."""
    if isinstance(shape, int):
        shape = (shape,)
    try:
        dims = tuple(int(operator.index(d)) for d in shape)
    except TypeError:
        raise TypeError(f"Shapes must be 1D sequences of concrete values of integer type, "
                        f"got {shape}.") from None
    return _fi._checks.check_shape(dims)


def _dtype(dtype, name):
    """The NumPy dtype JAX's ``name`` would produce for ``dtype`` (``None``: the default
    float), canonicalized as JAX does: float64 and complex128 become float32 and complex64
    without x64, with JAX's warning."""
    if dtype is None:
        return np.dtype(jax.dtypes.canonicalize_dtype(float))
    if isinstance(dtype, jax.Array):
        raise ValueError("Passing an array as a dtype argument is no longer supported; "
                         "instead of dtype=arr use dtype=arr.dtype.")
    if isinstance(dtype, type) and dtype in _PY_TYPES:
        return np.dtype(jax.dtypes.canonicalize_dtype(dtype))
    requested = np.dtype(dtype)
    if requested.kind in _BAD_KINDS or requested.fields is not None:
        raise TypeError(f"JAX only supports number, bool, and string dtypes, got dtype "
                        f"{dtype}")
    dt = np.dtype(jax.dtypes.canonicalize_dtype(requested))
    if dt != requested:
        warnings.warn(f"Explicitly requested dtype {requested} requested in {name} is not "
                      f"available, and will be truncated to dtype {dt.name}. To enable more "
                      f"dtypes, set the jax_enable_x64 configuration option or the "
                      f"JAX_ENABLE_X64 shell environment variable. See "
                      f"https://github.com/jax-ml/jax#current-gotchas for more.",
                      stacklevel=4)
    return dt


def _inexact(dt, complex_ok=True):
    return jnp.issubdtype(dt, jnp.floating) or (
        complex_ok and jnp.issubdtype(dt, jnp.complexfloating))


def _require(dt, name, complex_ok):
    """Refuse a dtype as ``jax.random``'s ``name`` refuses it (ValueError, JAX's message)."""
    if not _inexact(dt, complex_ok):
        what = "a float or complex dtype" if complex_ok else "a float dtype"
        raise ValueError(f"dtype argument to `{name}` must be {what}, got {dt}")


def _real(value):
    """``value`` as a float when it is a concrete real scalar (a Python or NumPy number, a 0-d
    array); None for anything else (a tracer, a non-scalar or complex array)."""
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, jax.core.Tracer):
        return None
    if isinstance(value, (np.ndarray, np.generic, jax.Array)):
        if np.ndim(value) or not (jnp.issubdtype(value.dtype, jnp.floating)
                                  or jnp.issubdtype(value.dtype, jnp.integer)):
            return None
        return float(value)
    return float(value) if isinstance(value, numbers.Real) else None


def _finite(value, minimum=-math.inf):
    """``value`` as a float when :func:`_real` takes it, it is finite and >= ``minimum``."""
    v = _real(value)
    return v if v is not None and math.isfinite(v) and v >= minimum else None


# --- generation ------------------------------------------------------------------------------

def _host(fill, shape, dtype, seed, stream):
    out = aligned_empty(shape, dtype)
    fill(out, seed, stream)
    return out


def _to_jax(arr):
    if arr.dtype == _BFLOAT16:
        bits = jax.dlpack.from_dlpack(arr.view(np.uint16))
        return jax.lax.bitcast_convert_type(bits, ml_dtypes.bfloat16)
    return jax.dlpack.from_dlpack(arr)


# one key at a time under vmap: JAX 0.4.34 and later name it; before, it is the default
_SEQUENTIAL = ({"vmap_method": "sequential"}
               if "vmap_method" in inspect.signature(jax.pure_callback).parameters else {})


def _run(words, shape, dt, fill):
    """``fill(out, seed, stream)`` on the host for the key ``words``, as a ``jax.Array``;
    through ``jax.pure_callback`` when the key is traced. A zero-size shape gives an empty
    array without a fill."""
    if math.prod(shape) == 0:
        return jnp.zeros(shape, dt)
    if isinstance(words, jax.core.Tracer):
        def host(w):
            return _host(fill, shape, dt, *_seed_stream(np.asarray(w).reshape(-1)))
        return jax.pure_callback(host, jax.ShapeDtypeStruct(shape, dt), words,
                                 **_SEQUENTIAL)
    return _to_jax(_host(fill, shape, dt, *_seed_stream(np.asarray(words).reshape(-1))))


# --- constants: JAX's own ----------------------------------------------------------------------

zeros = _jax_init.zeros
ones = _jax_init.ones
constant = _jax_init.constant


# --- plain distributions ---------------------------------------------------------------------

def _sample(key, shape, dtype, name, complex_ok, fill):
    """JAX's checks of ``jax.random``'s ``name`` (key, shape, dtype, in that order), then
    ``fill`` on the host; None when the dtype is one JAX takes and fastinit's kernels do not
    (the caller then defers to JAX)."""
    words = _key_data(key, name)
    shape = _shape(shape)
    dt = _dtype(dtype, name)
    _require(dt, name, complex_ok)
    if dt not in _KERNEL_DTYPES:
        return None
    return _run(words, shape, dt, fill)


def uniform(scale=1e-2, dtype=None):
    """``init`` sampling :math:`U[0, \\text{scale})` (JAX's ``uniform``; real dtypes only,
    as JAX: a complex dtype is a ``ValueError``)."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        s = _finite(scale)
        if out_sharding is None and s is not None and s > 0:
            out = _sample(key, shape, dtype, "uniform", False,
                          lambda o, seed, stream: _fi.uniform_(o, 0.0, s, seed=seed,
                                                               stream=stream))
            if out is not None:
                return out
        return _jax_init.uniform(scale, dtype)(key, shape, dtype, out_sharding)
    return init


def normal(stddev=1e-2, dtype=None):
    """``init`` sampling :math:`N(0, \\text{stddev}^2)` (JAX's ``normal``); complex dtypes:
    real and imaginary parts independent, each of variance ``stddev**2 / 2``."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        s = _finite(stddev, 0.0)
        if out_sharding is None and s is not None:
            out = _sample(key, shape, dtype, "normal", True,
                          lambda o, seed, stream: _fi.normal_(o, 0.0, s, seed=seed,
                                                              stream=stream))
            if out is not None:
                return out
        return _jax_init.normal(stddev, dtype)(key, shape, dtype, out_sharding)
    return init


def truncated_normal(stddev=1e-2, dtype=None, lower=-2.0, upper=2.0):
    """``init`` sampling ``stddev`` times a standard normal truncated to ``[lower, upper]``
    (JAX's ``truncated_normal``; real dtypes only, as JAX)."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        s, lo, hi = _finite(stddev, 0.0), _real(lower), _real(upper)
        if (out_sharding is None and s is not None and lo is not None and hi is not None
                and lo < hi):
            out = _sample(key, shape, dtype, "truncated_normal", False,
                          lambda o, seed, stream: _fi.truncated_normal_(
                              o, s, lo, hi, seed=seed, stream=stream))
            if out is not None:
                return out
        return _jax_init.truncated_normal(stddev, dtype, lower, upper)(key, shape, dtype,
                                                                      out_sharding)
    return init


# --- variance scaling ------------------------------------------------------------------------

def _size(shape, axis):
    return shape[axis] if isinstance(axis, int) else math.prod([shape[i] for i in axis])


def _compute_fans(shape, in_axis, out_axis, batch_axis):
    """``(fan_in, fan_out)`` exactly as JAX computes them, with JAX's errors: ``ValueError``
    for a 0-d or 1-d shape with the default ``in_axis``, ``IndexError`` for an axis outside
    the shape, ``ZeroDivisionError`` for a zero-size in, out or batch axis."""
    if isinstance(in_axis, int) and in_axis == -2 and len(shape) <= 1:
        raise ValueError(f"Can't compute input and output sizes of a {len(shape)}-dimensional "
                         f"weights tensor with default in_axis. Must be at least 2D or specify "
                         f"in_axis explicitly.")
    in_size, out_size = _size(shape, in_axis), _size(shape, out_axis)
    receptive = math.prod(shape) / in_size / out_size / _size(shape, batch_axis)
    return in_size * receptive, out_size * receptive


def _denominator(fans, mode):
    fan_in, fan_out = fans
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    if mode == "fan_avg":
        return (fan_in + fan_out) / 2
    if mode == "fan_geo_avg":
        return (fan_in * fan_out) ** 0.5
    raise ValueError(f"invalid mode for variance scaling initializer: {mode}")


def _variance(scale, s, denominator):
    """``scale / denominator`` as JAX divides: a Python number by zero is a
    ``ZeroDivisionError``, an array scalar gives infinity (only for a zero-size shape)."""
    try:
        return s / denominator
    except ZeroDivisionError:
        if isinstance(scale, (int, float)) and not isinstance(scale, np.generic):
            raise
        return math.inf


def _scaled_fill(variance, distribution):
    """Fill with the law of ``distribution`` and ``variance``: fastinit's
    ``variance_scaling_`` with ``convention="jax"`` on the target seen as one row, whose
    ``fan_in`` is 1, so its ``scale`` is the variance itself (JAX's real and complex laws)."""
    def fill(out, seed, stream):
        _fi.variance_scaling_(out.reshape(1, -1), variance, "fan_in", distribution,
                              convention="jax", seed=seed, stream=stream)
    return fill


def _key_user(distribution, dt):
    """The ``jax.random`` function that first takes JAX's key (its name is in key errors):
    the distribution's own for real dtypes and ``normal``, else ``split`` (JAX's complex
    laws, and the non-float dtypes that take their path before being refused)."""
    if distribution == "normal" or jnp.issubdtype(dt, jnp.floating):
        return distribution
    return "split"


def variance_scaling(scale, mode, distribution, in_axis=-2, out_axis=-1, batch_axis=(),
                     dtype=None):
    """``init`` of JAX's ``variance_scaling``: variance ``scale / n``, ``n`` from ``mode``.

    .. math:: n \\in \\{\\text{fan\\_in}, \\text{fan\\_out}, (\\text{fan\\_in} +
              \\text{fan\\_out}) / 2, \\sqrt{\\text{fan\\_in}\\,\\text{fan\\_out}}\\}

    Real dtypes: ``"uniform"`` :math:`U(-\\sqrt{3 s / n}, \\sqrt{3 s / n})`; ``"normal"``
    :math:`N(0, s / n)`; ``"truncated_normal"`` a normal truncated at two standard
    deviations, std ``sqrt(s / n) / 0.87962566103423978``. Complex dtypes, as JAX: a uniform
    disk, a complex normal, a complex normal truncated in modulus, each with
    ``E|z|**2 = s / n``. Fans as JAX computes them from ``in_axis``, ``out_axis`` and
    ``batch_axis``; like JAX, ``mode`` and ``distribution`` are checked when ``init`` is
    called.
    """
    def init(key, shape, dtype=dtype, out_sharding=None):
        s = _finite(scale, 0.0)
        if out_sharding is None and s is not None:
            out = _variance_scaled(key, shape, dtype, scale, s)
            if out is not None:
                return out
        return _jax_init.variance_scaling(scale, mode, distribution, in_axis, out_axis,
                                          batch_axis, dtype)(key, shape, dtype, out_sharding)

    def _variance_scaled(key, shape, dtype, scale, s):
        shape = _shape(shape)
        dt = _dtype(dtype, "variance_scaling")
        fans = _compute_fans(shape, in_axis, out_axis, batch_axis)
        variance = _variance(scale, s, _denominator(fans, mode))
        if distribution not in _DISTRIBUTIONS:
            raise ValueError(f"invalid distribution for variance scaling initializer: "
                             f"{distribution}")
        words = _key_data(key, _key_user(distribution, dt))
        if not _inexact(dt):  # complex takes every distribution; JAX names the sampler
            normal_ = distribution == "normal"
            _require(dt, "normal" if normal_ else "uniform", normal_)
        if dt not in _KERNEL_DTYPES:
            return None
        return _run(words, shape, dt, _scaled_fill(variance, distribution))
    return init


def glorot_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """Glorot/Xavier uniform (Glorot and Bengio 2010): ``variance_scaling(1.0, "fan_avg",
    "uniform")``."""
    return variance_scaling(1.0, "fan_avg", "uniform", in_axis, out_axis, batch_axis, dtype)


def glorot_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """Glorot/Xavier normal (Glorot and Bengio 2010): ``variance_scaling(1.0, "fan_avg",
    "truncated_normal")``."""
    return variance_scaling(1.0, "fan_avg", "truncated_normal", in_axis, out_axis, batch_axis,
                            dtype)


def lecun_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """LeCun uniform (LeCun et al. 1998): ``variance_scaling(1.0, "fan_in", "uniform")``."""
    return variance_scaling(1.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


def lecun_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """LeCun normal (LeCun et al. 1998): ``variance_scaling(1.0, "fan_in",
    "truncated_normal")``."""
    return variance_scaling(1.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis,
                            dtype)


def he_uniform(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """He/Kaiming uniform (He et al. 2015): ``variance_scaling(2.0, "fan_in", "uniform")``."""
    return variance_scaling(2.0, "fan_in", "uniform", in_axis, out_axis, batch_axis, dtype)


def he_normal(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None):
    """He/Kaiming normal (He et al. 2015): ``variance_scaling(2.0, "fan_in",
    "truncated_normal")``."""
    return variance_scaling(2.0, "fan_in", "truncated_normal", in_axis, out_axis, batch_axis,
                            dtype)


xavier_uniform, xavier_normal = glorot_uniform, glorot_normal
kaiming_uniform, kaiming_normal = he_uniform, he_normal


# --- orthogonal ------------------------------------------------------------------------------

def _orthogonal_fill(scale, column_axis):
    def fill(out, seed, stream):
        _fi.orthogonal_(out, scale, convention="jax", column_axis=column_axis, seed=seed,
                        stream=stream)
    return fill


def orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """``init`` of a (semi-)orthogonal matrix (Saxe et al. 2013), JAX's ``orthogonal``:
    ``fastinit.orthogonal_(out, scale, convention="jax", column_axis=...)``, Haar-distributed
    (unitary for complex dtypes). A shape with a zero-size dimension gives an empty array, as
    JAX (its key and dtype unchecked, as JAX)."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        if out_sharding is not None:
            raise NotImplementedError
        s = _finite(scale)
        if s is None:
            return _jax_init.orthogonal(scale, column_axis, dtype)(key, shape, dtype)
        if len(shape) < 2:
            raise ValueError("orthogonal initializer requires at least a 2D shape")
        if any(d == 0 for d in shape):
            return _empty(shape, dtype)
        shape = _shape(shape)
        dt = _dtype(dtype, "orthogonal")
        shape[column_axis]  # noqa: B018 (JAX's IndexError or TypeError for a bad axis)
        words = _orthogonal_checked(key, shape, dt)
        if words is None:
            return _jax_init.orthogonal(scale, column_axis, dtype)(key, shape, dtype)
        return _run(words, shape, dt, _orthogonal_fill(s, column_axis % len(shape)))
    return init


def _empty(shape, dtype):
    """JAX's empty result: ``jnp.zeros`` with the dtype as given (JAX's own checks)."""
    return jnp.zeros(shape, jax.dtypes.canonicalize_dtype(float) if dtype is None else dtype)


def _orthogonal_checked(key, shape, dt):
    """The key's words after JAX's checks of ``jax.random.orthogonal``; None for a dtype the
    kernels do not generate."""
    words = _key_data(key, "orthogonal")
    _require(dt, "normal", True)
    return words if dt in _KERNEL_DTYPES else None


def _check_spatial(shape):
    """JAX's ``IndexError`` for a zero spatial dimension: it writes the matrix at index
    ``(k - 1) // 2 = -1`` of an empty axis."""
    for axis, k in enumerate(shape[:-2]):
        if k == 0:
            raise IndexError(f"index is out of bounds for axis {axis} with size 0")


def delta_orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """``init`` of JAX's ``delta_orthogonal`` (Xiao et al. 2018): an orthogonal
    ``shape[-2:]`` matrix at the kernel's centre, zeros elsewhere
    (``fastinit.delta_orthogonal_``); the shape 3-, 4- or 5-d with ``shape[-2] <=
    shape[-1]``. Zero-size shapes as JAX: an empty array when the matrix is empty, JAX's
    ``IndexError`` when a spatial dimension is zero."""
    def init(key, shape, dtype=dtype, out_sharding=None):
        if out_sharding is not None:
            raise NotImplementedError
        s = _finite(scale)
        if s is None:
            return _jax_init.delta_orthogonal(scale, column_axis, dtype)(key, shape, dtype)
        if len(shape) not in (3, 4, 5):
            raise ValueError("Delta orthogonal initializer requires a 3D, 4D or 5D shape.")
        if shape[-1] < shape[-2]:
            raise ValueError("`fan_in` must be less or equal than `fan_out`. ")
        shape = _shape(shape)
        words = None
        if 0 not in shape[-2:]:
            dt = _dtype(dtype, "delta_orthogonal")
            shape[-2:][column_axis]  # noqa: B018 (JAX's IndexError or TypeError)
            words = _orthogonal_checked(key, shape, dt)
            if words is None:
                return _jax_init.delta_orthogonal(scale, column_axis, dtype)(key, shape, dtype)
        _check_spatial(shape)
        if words is None:
            return _empty(shape, dtype)
        return _run(words, shape, dt, lambda o, seed, stream: _fi.delta_orthogonal_(
            o, s, column_axis % 2, seed=seed, stream=stream))
    return init
