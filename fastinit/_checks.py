"""Argument checking shared by every initializer: shapes, dtypes, numbers, regions, seeds.

Every check raises before anything is written, with a message that names the parameter and
the value it got.
"""
import functools
import math
import numbers
import operator

import ml_dtypes
import numpy as np

BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
FLOAT_DTYPES = (np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.float16), BFLOAT16)
_DTYPE_NAMES = {"float64": FLOAT_DTYPES[0], "float32": FLOAT_DTYPES[1],
                "float16": FLOAT_DTYPES[2], "bfloat16": BFLOAT16}
COMPLEX_DTYPES = (np.dtype(np.complex128), np.dtype(np.complex64))
# the dtypes of the initializers that take complex targets: float ones and complex ones
INEXACT_DTYPES = FLOAT_DTYPES + COMPLEX_DTYPES
REAL_OF = {COMPLEX_DTYPES[0]: FLOAT_DTYPES[0], COMPLEX_DTYPES[1]: FLOAT_DTYPES[1]}
MAX_U64 = 2**64
_MAX_ELEMENTS = 2**63  # flat indices the kernels address


def check_shape(shape, name="shape"):
    """A tuple of non-negative Python ints from an int or a sequence of ints."""
    if type(shape) is int and 0 <= shape < _MAX_ELEMENTS:  # the common cases, decided
        return (shape,)                                       # without ABC checks
    if type(shape) is tuple:
        size = 1
        for d in shape:
            if type(d) is not int or d < 0:
                break
            size *= d
        else:  # (with a zero dimension, the others may still be out of range)
            if size < _MAX_ELEMENTS and (size or max(shape, default=0) < _MAX_ELEMENTS):
                return shape
    if isinstance(shape, (numbers.Integral, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"{name} must be an int or a sequence of ints, got {shape!r}") from None
    out = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, (numbers.Integral, np.integer)):
            raise TypeError(f"{name} must contain only integers, got {shape!r}")
        if d < 0:
            raise ValueError(f"{name} must not contain negative dimensions, got {shape!r}")
        if d >= 2**63:
            raise ValueError(f"{name} {shape!r} has a dimension of 2**63 or more, beyond the "
                             f"flat indices the kernels address")
        out.append(int(d))
    if math.prod(out) >= 2**63:
        raise ValueError(f"{name} {tuple(out)} has 2**63 or more elements, beyond the "
                         f"flat indices the kernels address")
    return tuple(out)


def check_dtype(dtype, dtypes=FLOAT_DTYPES):
    """One of ``dtypes`` (default: float64, float32, float16, bfloat16) as a NumPy dtype."""
    if dtypes is FLOAT_DTYPES and type(dtype) is str and dtype in _DTYPE_NAMES:
        return _DTYPE_NAMES[dtype]
    if isinstance(dtype, str) and dtype in _DTYPE_NAMES:
        dt = _DTYPE_NAMES[dtype]
    else:
        try:
            dt = np.dtype(dtype)
        except TypeError:
            dt = None
    if dt is None or dt not in dtypes:  # (a dtype compares equal to None as float64)
        names = ", ".join(str(d) for d in dtypes)
        raise TypeError(f"dtype must be one of {names}, got {dtype!r}")
    return dt


def check_number(value, name, *, finite=True, allow_nan=False, minimum=None):
    """A Python float from a real number: finite unless told otherwise, never NaN unless
    ``allow_nan``."""
    t = type(value)
    if t is not float and t is not int and (  # the common types first: ABC checks are slow
            t is bool or not isinstance(value, (numbers.Real, np.floating, np.integer))):
        raise TypeError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    if math.isnan(v) and allow_nan:
        return v
    if math.isnan(v) or (finite and math.isinf(v)):
        raise ValueError(f"{name} must be {'finite' if finite else 'a number'}, got {value!r}")
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return v


def check_value(value, name, dtype):
    """A constant for a ``dtype`` target: a Python complex for a complex dtype (any real or
    complex number), else a float as :func:`check_number` (``nan`` and ``inf`` allowed)."""
    if dtype in REAL_OF and not isinstance(value, bool) and isinstance(
            value, (numbers.Complex, np.complexfloating)):
        return complex(value)
    return check_number(value, name, finite=False, allow_nan=True)


def check_choice(value, name, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_region(region, shape):
    """``(start, stop)`` per dimension for a tuple of slices of ``shape``.

    Fewer slices than dimensions leave the remaining dimensions whole; ``None`` bounds mean
    the whole extent. The region must lie inside the shape: no clipping, no negative
    indices, no steps.
    """
    if region is None:
        return tuple((0, n) for n in shape)
    if isinstance(region, slice):
        region = (region,)
    if not isinstance(region, tuple) or not all(isinstance(s, slice) for s in region):
        raise TypeError(f"region must be a tuple of slices, got {region!r}")
    if len(region) > len(shape):
        raise ValueError(f"region {region!r} has more dimensions than shape {shape}")
    bounds = []
    for d, n in enumerate(shape):
        s = region[d] if d < len(region) else slice(None)
        if s.step not in (None, 1):
            raise ValueError(f"region slices must have step 1, got {s!r} in dimension {d}")
        start = 0 if s.start is None else s.start
        stop = n if s.stop is None else s.stop
        for v in (start, stop):
            if isinstance(v, bool) or not isinstance(v, (numbers.Integral, np.integer)):
                raise TypeError(f"region bounds must be integers, got {s!r} in dimension {d}")
        if not 0 <= start <= stop <= n:
            raise ValueError(
                f"region {region!r} lies outside shape {shape}: dimension {d} has {n} "
                f"elements, the slice asks for [{start}, {stop})")
        bounds.append((int(start), int(stop)))
    return tuple(bounds)


@functools.lru_cache(maxsize=4096)
def _words(value):
    """``(value mod 2**32, value >> 32)`` as the uint32 array the kernels take, one per value
    (the kernels only read it)."""
    return np.array([value & 0xFFFFFFFF, value >> 32], np.uint32)


def check_seed(seed):
    """The Philox key ``(k0, k1)`` for ``seed``: an int in [0, 2**64), a SeedSequence or None."""
    if type(seed) is int and 0 <= seed < MAX_U64:
        return _words(seed)
    if seed is None:
        seed = np.random.SeedSequence()
    if isinstance(seed, np.random.SeedSequence):
        k = seed.generate_state(2, np.uint32)
        return np.array([k[0], k[1]], np.uint32)
    if isinstance(seed, bool) or not isinstance(seed, (numbers.Integral, np.integer)):
        raise TypeError(f"seed must be an int in [0, 2**64), a numpy.random.SeedSequence "
                        f"or None, got {seed!r}")
    s = operator.index(seed)
    if not 0 <= s < MAX_U64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed!r}")
    return _words(s)


def check_stream(stream):
    """Counter words 2-3 ``(s0, s1)`` for ``stream``: an int in [0, 2**64)."""
    if type(stream) is int and 0 <= stream < MAX_U64:
        return _words(stream)
    if isinstance(stream, bool) or not isinstance(stream, (numbers.Integral, np.integer)):
        raise TypeError(f"stream must be an int in [0, 2**64), got {stream!r}")
    s = operator.index(stream)
    if not 0 <= s < MAX_U64:
        raise ValueError(f"stream must be in [0, 2**64), got {stream!r}")
    return _words(s)


def check_device(device):
    """'cpu' (also for None), 'cuda' (the current GPU) or 'cuda:N' (GPU number N); whether the
    GPU is usable is the CUDA backend's to say (``fastinit._backend.for_device``)."""
    if device in (None, "cpu"):
        return "cpu"
    if device == "cuda" or (isinstance(device, str) and device.startswith("cuda:")
                            and device[5:].isdigit() and device[5:].isascii()):
        return device
    raise ValueError(f"device must be 'cpu', 'cuda' or 'cuda:N', got {device!r}")
