"""Initializers with JAX's signature, on fastinit's counter-based kernels.

A drop-in for ``jax.nn.initializers`` (and so for the initializer arguments of Flax modules):
the same names, factories with the same parameters and defaults, each returning
``init(key, shape, dtype=None)`` that gives a ``jax.Array``. Formulas are JAX's: fans from
``in_axis=-2``, ``out_axis=-1``, ``batch_axis=()``; ``*_normal`` is a normal truncated at two
standard deviations with the std divided by 0.87962566103423978 (``fastinit`` with
``convention="jax"``). The values differ from JAX's (another generator); the distributions
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
to JAX through DLPack (``jax.dlpack.from_dlpack``): zero copy for float64, float32 and float16
on the CPU backend. NumPy's DLPack has no bfloat16, so a bfloat16 result crosses as uint16
(zero copy) and ``jax.lax.bitcast_convert_type`` makes it bfloat16 (one copy inside XLA).
Under ``jax.jit`` (a traced key) the same host code runs through ``jax.pure_callback``.
"""
import math

import numpy as np

import fastinit as _fi

__all__ = [
    "constant", "delta_orthogonal", "glorot_normal", "glorot_uniform", "he_normal",
    "he_uniform", "kaiming_normal", "kaiming_uniform", "lecun_normal", "lecun_uniform",
    "normal", "ones", "orthogonal", "truncated_normal", "uniform", "variance_scaling",
    "xavier_normal", "xavier_uniform", "zeros", "key_to_seed_stream",
]

_ALIGN = 64  # XLA's CPU client takes a DLPack buffer without copying only when it is aligned


def key_to_seed_stream(key):
    """``(seed, stream)`` of a JAX PRNG key (see the module docstring)."""
    import jax
    import jax.numpy as jnp
    data = key
    if hasattr(key, "dtype") and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        data = jax.random.key_data(key)
    words = np.asarray(data).reshape(-1)
    if words.dtype != np.uint32 or words.size not in (2, 4):
        raise ValueError(f"key must be a single JAX PRNG key (2 or 4 uint32 words), got "
                         f"{getattr(key, 'dtype', type(key))} of shape "
                         f"{getattr(key, 'shape', '?')}")
    w = [int(x) for x in words]
    seed = (w[0] << 32) | w[1]
    stream = (w[2] << 32) | w[3] if len(w) == 4 else 0
    return seed, stream


def _aligned_empty(shape, dtype):
    """An uninitialized C-order array whose data is ``_ALIGN``-byte aligned."""
    nbytes = math.prod(shape) * dtype.itemsize
    raw = np.empty(nbytes + _ALIGN, np.uint8)
    off = (-raw.ctypes.data) % _ALIGN
    return raw[off:off + nbytes].view(dtype).reshape(shape)


def _resolve_dtype(dtype, default):
    import jax
    dt = default if dtype is None else dtype
    if dt is None:
        dt = jax.dtypes.canonicalize_dtype(np.float64)  # jnp.float_: float32 unless x64
    try:
        return _fi._checks.check_dtype(np.dtype(dt))
    except TypeError:
        raise TypeError(f"dtype must be one of float64, float32, float16, bfloat16, got "
                        f"{dtype if dtype is not None else default!r}") from None


def _host(fill, shape, dtype, seed, stream):
    out = _aligned_empty(shape, dtype)
    fill(out, seed, stream)
    return out


def _to_jax(arr):
    import jax
    import ml_dtypes
    if arr.dtype == np.dtype(ml_dtypes.bfloat16):
        bits = jax.dlpack.from_dlpack(arr.view(np.uint16))
        return jax.lax.bitcast_convert_type(bits, ml_dtypes.bfloat16)
    return jax.dlpack.from_dlpack(arr)


def _make_init(fill, default_dtype, check=None):
    """``init(key, shape, dtype=None)``: ``fill(out, seed, stream)`` on the host."""
    def init(key, shape, dtype=None, out_sharding=None):
        import jax
        if out_sharding is not None:
            raise NotImplementedError("fastinit.jax initializers do not take out_sharding; "
                                      "use jax.device_put on the result")
        shape = _fi._checks.check_shape(shape)
        dt = _resolve_dtype(dtype, default_dtype)
        if check is not None:
            check(shape)
        if isinstance(key, jax.core.Tracer):
            import jax.numpy as jnp
            data = jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key

            def host(words):
                seed, stream = key_to_seed_stream(np.asarray(words))
                return _host(fill, shape, dt, seed, stream)
            return jax.pure_callback(host, jax.ShapeDtypeStruct(shape, dt), data)
        seed, stream = key_to_seed_stream(key)
        return _to_jax(_host(fill, shape, dt, seed, stream))
    return init


# --- factories ------------------------------------------------------------------------------

def constant(value, dtype=None):
    """``init`` filling ``value`` (JAX's ``constant``)."""
    value = _fi._checks.check_number(value, "value", finite=False, allow_nan=True)
    return _make_init(lambda out, seed, stream: _fi.constant_(out, value), dtype)


def zeros(key, shape, dtype=None, out_sharding=None):
    """An array of zeros (JAX's ``zeros``: an initializer itself, not a factory)."""
    return _make_init(lambda out, s, t: _fi.zeros_(out), None)(key, shape, dtype, out_sharding)


def ones(key, shape, dtype=None, out_sharding=None):
    """An array of ones (JAX's ``ones``)."""
    return _make_init(lambda out, s, t: _fi.ones_(out), None)(key, shape, dtype, out_sharding)


def uniform(scale=1e-2, dtype=None):
    """``init`` sampling :math:`U[0, \\text{scale})` (JAX's ``uniform``)."""
    scale = _fi._checks.check_number(scale, "scale")
    return _make_init(lambda out, seed, stream: _fi.uniform_(out, 0.0, scale, seed=seed,
                                                             stream=stream), dtype)


def normal(stddev=1e-2, dtype=None):
    """``init`` sampling :math:`N(0, \\text{stddev}^2)` (JAX's ``normal``)."""
    stddev = _fi._checks.check_number(stddev, "stddev", minimum=0.0)
    return _make_init(lambda out, seed, stream: _fi.normal_(out, 0.0, stddev, seed=seed,
                                                            stream=stream), dtype)


def truncated_normal(stddev=1e-2, dtype=None, lower=-2.0, upper=2.0):
    """``init`` sampling ``stddev`` times a standard normal truncated to ``[lower, upper]``
    (JAX's ``truncated_normal``)."""
    _fi.truncated_normal(0, stddev, lower, upper, seed=0)  # checks the arguments now

    def fill(out, seed, stream):
        _fi.truncated_normal_(out, stddev, lower, upper, seed=seed, stream=stream)
    return _make_init(fill, dtype)


def variance_scaling(scale, mode, distribution, in_axis=-2, out_axis=-1, batch_axis=(),
                     dtype=None):
    """``init`` of JAX's ``variance_scaling``: variance ``scale / n``, ``n`` from ``mode``.

    .. math:: n \\in \\{\\text{fan\\_in}, \\text{fan\\_out}, (\\text{fan\\_in} +
              \\text{fan\\_out}) / 2, \\sqrt{\\text{fan\\_in}\\,\\text{fan\\_out}}\\}

    ``"uniform"``: :math:`U(-\\sqrt{3 s / n}, \\sqrt{3 s / n})`; ``"normal"``:
    :math:`N(0, s / n)`; ``"truncated_normal"``: a normal truncated at two standard
    deviations, std ``sqrt(s / n) / 0.87962566103423978``. Fans as JAX computes them from
    ``in_axis``, ``out_axis`` and ``batch_axis``.
    """
    _fi.fans.check_choice(mode, "mode", _fi.fans.MODES)
    _fi.fans.check_choice(distribution, "distribution", _fi.fans.DISTRIBUTIONS)
    scale = _fi._checks.check_number(scale, "scale", minimum=0.0)

    def fill(out, seed, stream):
        _fi.variance_scaling_(out, scale, mode, distribution, convention="jax",
                              in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis,
                              seed=seed, stream=stream)

    def check(shape):  # fans need the shape: checked when init is called, before allocating
        _fi.compute_fans(shape, "jax", in_axis, out_axis, batch_axis)
    return _make_init(fill, dtype, check)


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


def orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """``init`` of a (semi-)orthogonal matrix (Saxe et al. 2013), JAX's ``orthogonal``: a thin
    call to ``fastinit.orthogonal_(out, scale, convention="jax", column_axis=...)``, looked up
    when ``init`` runs."""
    def fill(out, seed, stream):
        fn = getattr(_fi, "orthogonal_", None)
        if fn is None:
            raise NotImplementedError("fastinit.orthogonal_ is not available in this version")
        fn(out, scale, convention="jax", column_axis=column_axis, seed=seed, stream=stream)
    return _make_init(fill, dtype)


def delta_orthogonal(scale=1.0, column_axis=-1, dtype=None):
    """``init`` of JAX's ``delta_orthogonal`` (Xiao et al. 2018): a thin call to
    ``fastinit.delta_orthogonal_`` (looked up when ``init`` runs)."""
    def fill(out, seed, stream):
        fn = getattr(_fi, "delta_orthogonal_", None)
        if fn is None:
            raise NotImplementedError("fastinit.delta_orthogonal_ is not available in this "
                                      "version")
        fn(out, scale, column_axis=column_axis, seed=seed, stream=stream)
    return _make_init(fill, dtype)
