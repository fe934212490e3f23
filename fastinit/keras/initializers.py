"""Keras 3 initializers on fastinit's counter-based kernels.

A drop-in for ``keras.initializers``: every class Keras exports, each a subclass of Keras's own
class of that name (so of ``keras.initializers.Initializer``) with Keras's signature, defaults,
attributes, checks, error messages and ``get_config()``, plus the keyword-only ``stream=``
on the random ones. ``__call__(shape, dtype=None)`` generates on the host, by all cores, and
returns a tensor of the active backend. Formulas are Keras's (fans from ``compute_fans``,
``input_axes``/``output_axes`` included; ``*Normal`` truncated at two standard deviations with
the std divided by 0.87962566103423978); the values differ from Keras's (another generator),
the distributions are the same.

Seeds
-----
Keras's seeds are two uint32 words ``[seed, counter]``; they become fastinit's Philox key, so
the seed is ``k0 + 2**32 * k1``:

- an int ``seed`` in ``[0, 2**32)``: the key ``(seed, 0)``, the same values at every call and
  on every backend: ``HeNormal(seed=s)(shape)`` equals ``fastinit.variance_scaling(shape, 2.0,
  "fan_in", "truncated_normal", convention="jax", seed=s)`` where the fans agree;
- a ``keras.random.SeedGenerator``: its next state, drawn through Keras's own ``draw_seed``
  (so the generator advances as under Keras's random ops): fresh values per call, following
  the generator's state (``SeedGenerator(s)``'s first call equals ``seed=s``);
- ``seed=None``: as in Keras, an int drawn from Python's ``random`` when the initializer is
  made (``keras.utils.set_random_seed`` makes it reproducible): the same values at every call,
  fresh ones after ``clone()`` or ``from_config``.

``stream`` (an int in ``[0, 2**64)``, keyword-only, default 0, in the config only when set)
selects independent streams under one seed.

Keras's own code where fastinit adds nothing
--------------------------------------------
fastinit generates when the call lies in its domain: a shape given as a tuple or list of
non-negative ints, a float dtype (float16, bfloat16, float32, float64; ``None`` is
``keras.config.floatx()``; on JAX without x64, float64 is float32 as in JAX), finite real
parameters in the ranges the formulas need (``minval < maxval``, ``stddev >= 0``), an int seed
in ``[0, 2**32)`` or a ``SeedGenerator``, and a host-reachable device (not torch's ``meta``).
Any other call runs Keras's own ``__call__``: its result (integer and complex dtypes for the
constants, an array ``Constant``, a negative ``stddev`` on JAX) or its error, with Keras's
exception type and message, raised before anything is generated. ``STFT`` and
``Initializer`` are Keras's own classes.

Results
-------
The tensor is generated into a 64-byte aligned NumPy buffer and handed over without a copy:
``jax.dlpack`` on JAX (bfloat16 crosses as uint16 and is bit-cast, one copy inside XLA),
``torch.from_numpy`` on torch (then moved to Keras's device if it is not the CPU). Inside a
JAX trace (``jax.jit``, Keras's sharded variable init) the same host code runs through
``jax.pure_callback``. ``Orthogonal`` fills float16 and bfloat16, for which Keras's backends
have no QR.

References
----------
X. Glorot and Y. Bengio, "Understanding the difficulty of training deep feedforward neural
networks", AISTATS 2010. K. He, X. Zhang, S. Ren and J. Sun, "Delving deep into rectifiers",
ICCV 2015. Y. LeCun, L. Bottou, G. B. Orr and K.-R. Mueller, "Efficient BackProp", 1998.
A. M. Saxe, J. L. McClelland and S. Ganguli, "Exact solutions to the nonlinear dynamics of
learning in deep linear neural networks", 2013.
"""
import math
import numbers

import keras
import numpy as np
from keras.src import initializers as _ki
from keras.src.random.seed_generator import SeedGenerator, draw_seed

import fastinit as _fi
from fastinit._checks import check_stream
from fastinit._host import aligned_empty

__all__ = [
    "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform", "Identity",
    "IdentityInitializer", "Initializer", "LecunNormal", "LecunUniform", "Ones", "Orthogonal",
    "OrthogonalInitializer", "RandomNormal", "RandomUniform", "STFT", "STFTInitializer",
    "TruncatedNormal", "VarianceScaling", "Zeros", "compute_fans", "constant", "deserialize",
    "get", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "identity",
    "lecun_normal", "lecun_uniform", "ones", "orthogonal", "random_normal", "random_uniform",
    "serialize", "stft", "truncated_normal", "variance_scaling", "zeros",
]

Initializer = keras.initializers.Initializer
STFT = STFTInitializer = stft = keras.initializers.STFT
serialize = keras.initializers.serialize

_FLOATS = ("float16", "bfloat16", "float32", "float64")
_TRUNCATED_STD = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]
_register = keras.saving.register_keras_serializable(package="fastinit")


# --- the domain fastinit generates: shapes, dtypes, numbers, devices, seeds -----------------

def _host_shape(shape):
    """``shape`` as a tuple of ints, or None where Keras's own code decides (it may refuse)."""
    if not isinstance(shape, (tuple, list)):
        return None
    dims = []
    for d in shape:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, numbers.Integral) or d < 0:
            return None
        dims.append(int(d))
    return tuple(dims)


def _host_dtype(dtype):
    """The NumPy dtype fastinit fills for a Keras ``dtype``, or None for Keras's own code."""
    try:
        name = keras.backend.standardize_dtype(dtype)
    except Exception:  # Keras's own call raises it again, as Keras raises it
        return None
    if name not in _FLOATS:
        return None
    dt = _fi._checks.check_dtype(name)
    if keras.backend.backend() == "jax":
        import jax
        dt = np.dtype(jax.dtypes.canonicalize_dtype(dt))  # float64 is float32 without x64
    return dt


def _real(x, finite=True):
    """``x`` as a float if it is one real number (finite unless told otherwise), else None."""
    if x is None or isinstance(x, (bool, np.bool_, str, bytes)) or tuple(
            getattr(x, "shape", ())) != ():
        return None
    try:
        v = float(x)
    except (TypeError, ValueError, OverflowError):  # complex, traced or not a number
        return None
    return v if math.isfinite(v) or not finite else None


def _host_device():
    """Whether the backend's tensors can come from host memory (torch's meta device cannot)."""
    if keras.backend.backend() != "torch":
        return True
    from keras.src.backend.torch.core import get_device
    return get_device() != "meta"


def _in_domain(seed):
    """Keras's int seeds are one uint32 word; others (Keras refuses them on JAX) stay Keras's."""
    if isinstance(seed, SeedGenerator):
        return True
    return isinstance(seed, int) and 0 <= seed < 2**32


def _key_words(seed):
    """Keras's two seed words, as uint32: ``[seed, 0]`` for an int, the generator's next state
    for a ``SeedGenerator`` (a tracer inside a JAX trace)."""
    if isinstance(seed, int):
        return np.array([seed, 0], np.uint32)
    words = draw_seed(seed)
    if _is_tracer(words):
        return words
    # torch keeps the words as int32: the same bits, read as uint32
    return (np.asarray(keras.ops.convert_to_numpy(words)).astype(np.int64)
            & 0xFFFFFFFF).astype(np.uint32)


def _seed_of(words):
    w = np.asarray(words).astype(np.uint64)
    return int(w[0]) | (int(w[1]) << 32)


def _check_stream(stream):
    check_stream(stream)
    return int(stream)


# --- generation and hand-over -------------------------------------------------------------

def _is_tracer(x):
    if keras.backend.backend() != "jax":
        return False
    import jax
    return isinstance(x, jax.core.Tracer)


def _in_trace():
    if keras.backend.backend() != "jax":
        return False
    from keras.src.utils.jax_utils import is_in_jax_tracing_scope
    return is_in_jax_tracing_scope()


def _host(fill, shape, dtype, words, stream):
    out = aligned_empty(shape, dtype)
    if out.size:  # a zero-element tensor has nothing to generate (and nothing to warn about)
        fill(out, _seed_of(words), stream)
    return out


def _to_torch(arr):
    import torch
    from keras.src.backend.torch.core import get_device
    if arr.dtype == _fi._checks.BFLOAT16:  # NumPy has no bfloat16 torch knows: the bits cross
        t = torch.from_numpy(arr.view(np.int16)).view(torch.bfloat16)
    else:
        t = torch.from_numpy(arr)
    device = get_device()
    return t if device == "cpu" else t.to(device)


def _to_jax(arr):
    import jax
    if arr.dtype == _fi._checks.BFLOAT16:  # NumPy's DLPack has no bfloat16: the bits cross
        bits = jax.dlpack.from_dlpack(arr.view(np.uint16))
        return jax.lax.bitcast_convert_type(bits, jax.numpy.bfloat16)
    return jax.dlpack.from_dlpack(arr)


def _to_backend(arr):
    name = keras.backend.backend()
    if name == "jax":
        import jax
        out = _to_jax(arr)
        return out if jax.default_backend() == "cpu" else jax.device_put(out, jax.devices()[0])
    if name == "torch":
        return _to_torch(arr)
    return keras.ops.convert_to_tensor(arr)


def _generate(fill, shape, dtype, words, stream):
    """``fill(out, seed, stream)`` on a new host buffer, as a tensor of the backend."""
    if _is_tracer(words) or _in_trace():
        import jax

        def host(w):
            return _host(fill, shape, dtype, w, stream)
        return jax.pure_callback(host, jax.ShapeDtypeStruct(shape, dtype), words)
    return _to_backend(_host(fill, shape, dtype, words, stream))


class _Fast:
    """Generation by fastinit inside its domain, Keras's own ``__call__`` outside it.

    Subclasses give ``_filler(shape)``: ``fill(out, seed, stream)``, or None where Keras's
    code decides (a call Keras refuses raises there, with Keras's type and message).
    """

    def _filler(self, shape):
        raise NotImplementedError

    def _seeded(self):
        return True

    def _words(self):
        return np.zeros(2, np.uint32)

    def __call__(self, shape, dtype=None):
        host_shape, host_dtype = _host_shape(shape), _host_dtype(dtype)
        fill = None
        if host_shape is not None and host_dtype is not None and _host_device() and \
                self._seeded():
            fill = self._filler(host_shape)
        if fill is None:
            return super().__call__(shape, dtype=dtype)
        return _generate(fill, host_shape, host_dtype, self._words(),
                         getattr(self, "stream", 0))


class _FastRandom(_Fast):
    """A random initializer: Keras's seed becomes the Philox key, ``stream`` its stream."""

    def _seeded(self):
        return _in_domain(self.seed)

    def _words(self):  # draws from a SeedGenerator: called once the call is known to generate
        return _key_words(self.seed)

    def get_config(self):
        config = super().get_config()
        if self.stream:  # Keras's config when unset, so stock Keras can read it
            config["stream"] = self.stream
        return config


# --- constants ----------------------------------------------------------------------------

@_register
class Constant(_Fast, keras.initializers.Constant):
    """Every element ``value`` (a Python scalar), rounded once into the dtype.

    .. math:: W_{ij} = \\text{value}

    Parameters
    ----------
    value : float
        A real scalar (``nan`` and ``inf`` allowed). Arrays and tensors, and integer, bool
        or complex dtypes, take Keras's own code (broadcast and cast).
    """

    def _filler(self, shape):
        value = _real(self.value, finite=False)
        if value is None:
            return None
        return lambda out, seed, stream: _fi.constant_(out, value)


@_register
class Zeros(_Fast, keras.initializers.Zeros):
    """All zeros, filled in parallel (integer, bool and complex dtypes: Keras's own code)."""

    def _filler(self, shape):
        return lambda out, seed, stream: _fi.zeros_(out)


@_register
class Ones(_Fast, keras.initializers.Ones):
    """All ones, filled in parallel (integer, bool and complex dtypes: Keras's own code)."""

    def _filler(self, shape):
        return lambda out, seed, stream: _fi.ones_(out)


@_register
class Identity(_Fast, keras.initializers.Identity):
    """``gain`` times the identity matrix of a 2-D shape (ones on the main diagonal).

    .. math:: W = \\text{gain}\\cdot I_{m \\times n}

    Parameters
    ----------
    gain : float
        Multiplicative factor (finite; others take Keras's own code).
    """

    def _filler(self, shape):
        gain = _real(self.gain)
        if len(shape) != 2 or gain is None:  # Keras raises for other ranks
            return None

        def fill(out, seed, stream):
            _fi.zeros_(out)
            np.fill_diagonal(out, gain)  # min(shape) elements, rounded once into the dtype
        return fill


IdentityInitializer = identity = Identity


# --- normal and uniform -------------------------------------------------------------------

@_register
class RandomNormal(_FastRandom, keras.initializers.RandomNormal):
    """Normal with mean ``mean`` and standard deviation ``stddev``.

    .. math:: W_{ij} \\sim \\mathcal{N}(\\text{mean}, \\text{stddev}^2)

    Parameters
    ----------
    mean : float
        Mean.
    stddev : float
        Standard deviation, >= 0 (a negative one takes Keras's own code).
    seed : int, keras.random.SeedGenerator or None
        See the module docstring.
    stream : int, keyword-only
        fastinit's stream under the seed, in ``[0, 2**64)``.
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None, *, stream=0):
        self.stream = _check_stream(stream)
        super().__init__(mean=mean, stddev=stddev, seed=seed)

    def _filler(self, shape):
        mean, std = _real(self.mean), _real(self.stddev)
        if mean is None or std is None or std < 0:
            return None
        return lambda out, seed, stream: _fi.normal_(out, mean, std, seed=seed, stream=stream)


@_register
class TruncatedNormal(_FastRandom, keras.initializers.TruncatedNormal):
    """Normal truncated to two standard deviations around the mean.

    .. math:: W_{ij} \\sim \\mathcal{N}(\\text{mean}, \\text{stddev}^2)\\ \\text{on}\\
              [\\text{mean} - 2\\,\\text{stddev}, \\text{mean} + 2\\,\\text{stddev}]

    Sampled by inverse CDF, one draw per element (Keras redraws, the law is the same).

    Parameters
    ----------
    mean : float
        Mean.
    stddev : float
        Standard deviation of the normal before truncation, >= 0.
    seed : int, keras.random.SeedGenerator or None
        See the module docstring.
    stream : int, keyword-only
        fastinit's stream under the seed, in ``[0, 2**64)``.
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None, *, stream=0):
        self.stream = _check_stream(stream)
        super().__init__(mean=mean, stddev=stddev, seed=seed)

    def _filler(self, shape):
        mean, std = _real(self.mean), _real(self.stddev)
        if mean is None or std is None or std < 0:
            return None
        low, high = mean - 2.0 * std, mean + 2.0 * std
        if not low < high:  # std = 0, or too small to move the mean: the mean itself
            return lambda out, seed, stream: _fi.constant_(out, mean)
        return lambda out, seed, stream: _fi.trunc_normal_(out, mean, std, low, high, seed=seed,
                                                           stream=stream)


@_register
class RandomUniform(_FastRandom, keras.initializers.RandomUniform):
    """Uniform on ``[minval, maxval)``.

    .. math:: W_{ij} \\sim U[\\text{minval}, \\text{maxval})

    The bounds hold in the output dtype (a value whose rounding reaches ``maxval`` becomes
    ``minval``).

    Parameters
    ----------
    minval, maxval : float
        Bounds, ``minval < maxval`` (others take Keras's own code).
    seed : int, keras.random.SeedGenerator or None
        See the module docstring.
    stream : int, keyword-only
        fastinit's stream under the seed, in ``[0, 2**64)``.
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None, *, stream=0):
        self.stream = _check_stream(stream)
        super().__init__(minval=minval, maxval=maxval, seed=seed)

    def _filler(self, shape):
        low, high = _real(self.minval), _real(self.maxval)
        if low is None or high is None or not low < high:
            return None
        return lambda out, seed, stream: _fi.uniform_(out, low, high, seed=seed, stream=stream)


# --- variance scaling ---------------------------------------------------------------------

def compute_fans(shape, input_axes=None, output_axes=None):
    """``(fan_in, fan_out)`` by Keras's rule.

    With both ``input_axes`` and ``output_axes``: the products of the dimensions on them.
    Otherwise from the shape: ``()`` gives ``(1, 1)``; ``(n,)`` gives ``(n, n)``; ``(a, b)``
    gives ``(a, b)``; a kernel ``(*k, in, out)`` gives ``(in * r, out * r)`` with ``r`` the
    product of ``k`` (the receptive field).
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def _variance_filler(scale, mode, distribution, fans):
    """``fill`` of Keras's variance scaling for the fans, or None if a bound is not finite."""
    fan_in, fan_out = fans
    n = {"fan_in": fan_in, "fan_out": fan_out}.get(mode, (fan_in + fan_out) / 2.0)
    variance = scale / max(1.0, n)
    if distribution == "truncated_normal":
        std = math.sqrt(variance) / _TRUNCATED_STD

        def fill(out, seed, stream):
            _fi.truncated_normal_(out, std, -2.0, 2.0, seed=seed, stream=stream)
    elif distribution == "untruncated_normal":
        std = math.sqrt(variance)

        def fill(out, seed, stream):
            _fi.normal_(out, 0.0, std, seed=seed, stream=stream)
    else:
        std = limit = math.sqrt(3.0 * variance)

        def fill(out, seed, stream):
            _fi.uniform_(out, -limit, limit, seed=seed, stream=stream)
    return fill if math.isfinite(std) else None


@_register
class VarianceScaling(_FastRandom, keras.initializers.VarianceScaling):
    """Variance ``scale / n``, ``n`` the fans of the shape by ``mode``.

    .. math:: n = \\max\\big(1, \\{\\text{fan\\_in}, \\text{fan\\_out},
              (\\text{fan\\_in} + \\text{fan\\_out}) / 2\\}\\big)

    ``"truncated_normal"`` (or ``"normal"``): a normal truncated at two standard deviations
    with std :math:`\\sqrt{s / n} / 0.87962566103423978` (so that the truncated one has std
    :math:`\\sqrt{s / n}`); ``"untruncated_normal"``: :math:`\\mathcal{N}(0, s / n)`;
    ``"uniform"``: :math:`U(-\\sqrt{3 s / n}, \\sqrt{3 s / n})`. Fans by :func:`compute_fans`.

    Parameters
    ----------
    scale : float
        Scaling factor, > 0.
    mode : {"fan_in", "fan_out", "fan_avg"}
    distribution : {"truncated_normal", "normal", "untruncated_normal", "uniform"}
    seed : int, keras.random.SeedGenerator or None
        See the module docstring.
    input_axes, output_axes : list of int, optional
        The axes whose dimensions multiply into ``fan_in`` and ``fan_out`` (both, or neither).
    stream : int, keyword-only
        fastinit's stream under the seed, in ``[0, 2**64)``.
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None, *, stream=0):
        self.stream = _check_stream(stream)
        keras.initializers.VarianceScaling.__init__(
            self, scale=scale, mode=mode, distribution=distribution, seed=seed,
            input_axes=input_axes, output_axes=output_axes)

    def _filler(self, shape):
        scale = _real(self.scale)
        if scale is None:
            return None
        fans = compute_fans(shape, self.input_axes, self.output_axes)  # raises as Keras's does
        return _variance_filler(scale, self.mode, self.distribution, fans)


# Keras's own subclass comes second, for its get_config (seed and axes only) and isinstance;
# the constructor is ours, the variance scaling each names.

@_register
class GlorotNormal(VarianceScaling, keras.initializers.GlorotNormal):
    """Glorot/Xavier normal (Glorot and Bengio 2010): ``VarianceScaling(1.0, "fan_avg",
    "truncated_normal")``, a truncated normal with std
    :math:`\\sqrt{2 / (\\text{fan\\_in} + \\text{fan\\_out})}` after truncation."""

    def __init__(self, seed=None, input_axes=None, output_axes=None, *, stream=0):
        VarianceScaling.__init__(self, 1.0, "fan_avg", "truncated_normal", seed, input_axes,
                                 output_axes, stream=stream)


@_register
class GlorotUniform(VarianceScaling, keras.initializers.GlorotUniform):
    """Glorot/Xavier uniform (Glorot and Bengio 2010): ``VarianceScaling(1.0, "fan_avg",
    "uniform")``, :math:`U(-l, l)` with :math:`l = \\sqrt{6 / (\\text{fan\\_in} +
    \\text{fan\\_out})}`."""

    def __init__(self, seed=None, input_axes=None, output_axes=None, *, stream=0):
        VarianceScaling.__init__(self, 1.0, "fan_avg", "uniform", seed, input_axes,
                                 output_axes, stream=stream)


@_register
class HeNormal(VarianceScaling, keras.initializers.HeNormal):
    """He/Kaiming normal (He et al. 2015): ``VarianceScaling(2.0, "fan_in",
    "truncated_normal")``, a truncated normal with std :math:`\\sqrt{2 / \\text{fan\\_in}}`
    after truncation."""

    def __init__(self, seed=None, input_axes=None, output_axes=None, *, stream=0):
        VarianceScaling.__init__(self, 2.0, "fan_in", "truncated_normal", seed, input_axes,
                                 output_axes, stream=stream)


@_register
class HeUniform(VarianceScaling, keras.initializers.HeUniform):
    """He/Kaiming uniform (He et al. 2015): ``VarianceScaling(2.0, "fan_in", "uniform")``,
    :math:`U(-l, l)` with :math:`l = \\sqrt{6 / \\text{fan\\_in}}`."""

    def __init__(self, seed=None, input_axes=None, output_axes=None, *, stream=0):
        VarianceScaling.__init__(self, 2.0, "fan_in", "uniform", seed, input_axes,
                                 output_axes, stream=stream)


@_register
class LecunNormal(VarianceScaling, keras.initializers.LecunNormal):
    """LeCun normal (LeCun et al. 1998): ``VarianceScaling(1.0, "fan_in",
    "truncated_normal")``, a truncated normal with std :math:`\\sqrt{1 / \\text{fan\\_in}}`
    after truncation."""

    def __init__(self, seed=None, input_axes=None, output_axes=None, *, stream=0):
        VarianceScaling.__init__(self, 1.0, "fan_in", "truncated_normal", seed, input_axes,
                                 output_axes, stream=stream)


@_register
class LecunUniform(VarianceScaling, keras.initializers.LecunUniform):
    """LeCun uniform (LeCun et al. 1998): ``VarianceScaling(1.0, "fan_in", "uniform")``,
    :math:`U(-l, l)` with :math:`l = \\sqrt{3 / \\text{fan\\_in}}`."""

    def __init__(self, seed=None, input_axes=None, output_axes=None, *, stream=0):
        VarianceScaling.__init__(self, 1.0, "fan_in", "uniform", seed, input_axes,
                                 output_axes, stream=stream)


# --- orthogonal ---------------------------------------------------------------------------

@_register
class Orthogonal(_FastRandom, keras.initializers.Orthogonal):
    """A (semi-)orthogonal matrix, Haar-distributed, times ``gain`` (Saxe et al. 2013).

    .. math:: W = \\text{gain}\\cdot Q,\\quad Q^T Q = I \\text{ (rows >= cols)},\\
              Q Q^T = I \\text{ (rows < cols)}

    on the matrix ``(prod(shape[:-1]), shape[-1])``, reshaped to ``shape`` (Keras's
    flattening): ``fastinit.orthogonal_(out, gain, convention="jax", column_axis=-1)``, by
    blocked Householder reflections. Also float16 and bfloat16 (computed in float32).

    Parameters
    ----------
    gain : float
        Multiplicative factor (finite).
    seed : int, keras.random.SeedGenerator or None
        See the module docstring.
    stream : int, keyword-only
        fastinit's stream under the seed, in ``[0, 2**64)``.
    """

    def __init__(self, gain=1.0, seed=None, *, stream=0):
        self.stream = _check_stream(stream)
        super().__init__(gain=gain, seed=seed)

    def _filler(self, shape):
        gain = _real(self.gain)
        if len(shape) < 2 or gain is None:  # Keras raises for fewer than 2 dimensions
            return None

        def fill(out, seed, stream):
            _fi.orthogonal_(out, gain, convention="jax", column_axis=-1, seed=seed,
                            stream=stream)
        return fill


OrthogonalInitializer = orthogonal = Orthogonal

constant, zeros, ones = Constant, Zeros, Ones
random_normal, random_uniform, truncated_normal = RandomNormal, RandomUniform, TruncatedNormal
variance_scaling = VarianceScaling
glorot_normal, glorot_uniform = GlorotNormal, GlorotUniform
he_normal, he_uniform = HeNormal, HeUniform
lecun_normal, lecun_uniform = LecunNormal, LecunUniform


# --- lookup -------------------------------------------------------------------------------

_OURS = {
    keras.initializers.Constant: Constant, keras.initializers.Zeros: Zeros,
    keras.initializers.Ones: Ones, keras.initializers.Identity: Identity,
    keras.initializers.RandomNormal: RandomNormal,
    keras.initializers.RandomUniform: RandomUniform,
    keras.initializers.TruncatedNormal: TruncatedNormal,
    keras.initializers.VarianceScaling: VarianceScaling,
    keras.initializers.GlorotNormal: GlorotNormal,
    keras.initializers.GlorotUniform: GlorotUniform, keras.initializers.HeNormal: HeNormal,
    keras.initializers.HeUniform: HeUniform, keras.initializers.LecunNormal: LecunNormal,
    keras.initializers.LecunUniform: LecunUniform, keras.initializers.Orthogonal: Orthogonal,
}
# Keras's names and aliases, each to our class where there is one (Keras's own otherwise)
ALL_OBJECTS_DICT = {name: _OURS.get(cls, cls) for name, cls in _ki.ALL_OBJECTS_DICT.items()}


def deserialize(config, custom_objects=None):
    """An initializer from its config (Keras's ``deserialize``, with these classes for
    Keras's names)."""
    return keras.saving.deserialize_keras_object(
        config, module_objects=ALL_OBJECTS_DICT, custom_objects=custom_objects)


def get(identifier):
    """An initializer from ``identifier``, by Keras's rules.

    A name (Keras's class names, their snake_case forms and aliases, case-sensitive) or a
    config dict gives this module's class; ``None`` gives None; a class is instantiated; a
    callable is returned as is; a tensor or NumPy array gives Keras's function returning it
    (cast to the dtype; another shape raises ``ValueError``). Anything else raises
    ``ValueError`` as Keras does.
    """
    if isinstance(identifier, dict):
        identifier = deserialize(identifier)
    elif isinstance(identifier, str):
        # a name not found stays a string, which Keras's get refuses with its own message
        identifier = deserialize({"class_name": str(identifier), "config": {}})
    return keras.initializers.get(identifier)
