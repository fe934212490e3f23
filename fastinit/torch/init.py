"""Drop-ins for every function of ``torch.nn.init``, on fastinit's counter-based kernels.

Same names, same arguments (``generator`` included), same warnings and errors as
``torch.nn.init``, plus keyword-only ``seed=``, ``stream=``, ``shape=`` and ``region=``. The
tensor is filled in place, zero copy, in its own dtype (float64, float32, float16, bfloat16),
by all cores, with values that do not depend on the thread count.

Seeds
-----
``seed`` (an int in [0, 2**64)) is the Philox key, as everywhere in fastinit:
``fastinit.torch.normal_(t, seed=s, stream=k)`` equals ``fastinit.normal(t.shape, seed=s,
stream=k)``. With ``seed=None`` (the default) the seed is drawn from torch's RNG, so
``torch.manual_seed`` keeps scripts reproducible: exactly

    ``seed = int(torch.randint(0, 2**63 - 1, (), dtype=torch.int64, generator=generator))``

through ``generator`` when one is given, else through torch's default CPU generator (one draw
per call that fills a non-empty tensor; a meta or zero-element tensor draws nothing).

Bad input: fails the way torch fails
------------------------------------
Each function is torch's own Python code (fans, gains, bounds, warnings, in torch's order)
with torch's two random tensor ops, ``Tensor.uniform_`` and ``Tensor.normal_``, replaced by
fastinit's kernels. The checks of those ops (argument parsing, ``generator``'s type, the dtype
dispatch, the bounds, ``std >= 0``, overlapping and inference tensors) are torch's own, run on
an empty tensor of the same dtype before anything is written. So a call raises where torch
raises, with an instance of torch's exception type and, for torch's ``ValueError`` and
``TypeError``, its message; and it accepts what torch accepts (``std=0``, ``a == b``,
``mean=nan``, ``std=inf``, ``sparsity >= 1``, ``groups=-1``, 0-d tensors as numbers, ...)
with torch's result, exact where it is deterministic. Where torch's type is neither
``ValueError`` nor ``TypeError`` the error is a subclass of both (fastinit's rule):
:class:`InitValueError` for torch's ``RuntimeError`` (bad bounds, ``std < 0`` or NaN,
overlapping targets), ``InitZeroDivisionError``, ``InitOverflowError``,
``InitNotImplementedError`` (a dtype without a kernel, such as an integer tensor for the random
initializers) and ``InitAttributeError`` (not a tensor). A failing call leaves the tensor
untouched. Meta tensors go to ``torch.nn.init`` itself: its checks, no values, no draw.

Differences from torch
----------------------
The values differ from torch's (a different generator); the distributions are the same.
``trunc_normal_`` samples by inverse CDF instead of rejection (an interval so far in a tail
that its probability is below 1e-290 raises ``ValueError``, where torch's rejection loop runs).
``sparse_`` draws the zero rows of each column from the counter stream instead of
``torch.randperm``. ``orthogonal_`` fills float16 and bfloat16 tensors, for which torch has no
QR kernel. Values are written through the tensor's memory (zero copy); the tensor's autograd
version counter is bumped as by an in-place torch op, so a tensor saved for backward is still
caught if modified. A view with the negative or conjugate bit (``c.conj()``, ``c.conj().imag``)
is filled through a temporary and ``copy_``, so it reads back the values of a plain tensor.
Complex tensors (``uniform_``, ``normal_``, ``xavier_*``, ``kaiming_*``, ``sparse_``) get
torch's law: real and imaginary parts each ``U(a, b)``, or each ``N(mean, std / sqrt(2))``;
the values are those of the real view, ``ft.normal_(c, seed=s)`` reads back
``fastinit.normal(c.shape + (2,), std=2 ** -0.5, seed=s)`` as complex (``sparse_``: see it).
A ``DTensor`` (``torch.distributed.tensor``, sharded or replicated) is filled shard by
shard: each rank writes its local shard with the values and fans of the global tensor, so the
result does not depend on the mesh or the placements (give ``seed=``, or seed torch's RNG the
same on every rank: ranks draw ``seed=None`` independently). Other dtypes (integers, bool,
complex for the deterministic fills): ``constant_``, ``ones_``, ``zeros_``, ``eye_`` and
``dirac_`` leave the writing to torch, as they do for tensors whose elements share memory
(``expand``).
"""
import functools
import math
import sys
import warnings

import numpy as np
import torch

import fastinit as _fi

__all__ = [
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
    "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
    "kaiming_normal_", "orthogonal_", "sparse_", "draw_seed",
    # deprecated aliases, as in torch.nn.init
    "uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
    "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse",
]

_FAST_DTYPES = (torch.float64, torch.float32, torch.float16, torch.bfloat16)
# complex tensors are filled through their real view (torch's own rule for uniform_ and normal_)
_REAL_OF = {torch.complex128: torch.float64, torch.complex64: torch.float32,
            torch.complex32: torch.float16}
_RANDOM_DTYPES = _FAST_DTYPES + tuple(_REAL_OF)
_SEED_HIGH = 2**63 - 1


# --- errors: torch's types, also ValueError or TypeError ---------------------------------------

class InitValueError(ValueError, RuntimeError):
    """A bad argument where ``torch.nn.init`` raises ``RuntimeError``: it is both, so code
    that catches torch's error keeps working and the house rule (``ValueError``) holds."""


class InitZeroDivisionError(ValueError, ZeroDivisionError):
    """Where ``torch.nn.init`` divides by zero (``trunc_normal_(std=0)``, ``dirac_(groups=0)``,
    fans of a ``(0, 0)`` tensor): both ``ZeroDivisionError`` and ``ValueError``."""


class InitOverflowError(ValueError, OverflowError):
    """Where ``torch.nn.init``'s arithmetic overflows (a slope of ``1e200``): both."""


class InitNotImplementedError(TypeError, NotImplementedError):
    """A tensor dtype torch has no kernel for (``NotImplementedError``), also a ``TypeError``."""


class InitAttributeError(TypeError, AttributeError):
    """Not a tensor: torch fails on the missing tensor method (``AttributeError``); also a
    ``TypeError``."""


_AS_HOUSE = {RuntimeError: InitValueError, ZeroDivisionError: InitZeroDivisionError,
             OverflowError: InitOverflowError, NotImplementedError: InitNotImplementedError,
             AttributeError: InitAttributeError}


def _house(error):
    """``error`` as it leaves a drop-in: torch's exception types (exactly those, not their
    subclasses) become the subclass that is also a ``ValueError`` or ``TypeError``."""
    cls = _AS_HOUSE.get(type(error))
    if cls is None:
        return error
    return cls(*error.args).with_traceback(error.__traceback__)


def _translated(fn):
    """Torch's exception types leave ``fn`` as their ValueError/TypeError subclasses."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - re-raised, as a subclass of its own type
            new = _house(e)
            if new is e:
                raise
            raise new from None
    return wrapper


_FASTINIT_ONLY = ("seed", "stream", "shape", "region")


def _like_torch(fn):
    """A drop-in's entry (one frame, so ``fn``'s warnings use ``stacklevel=3``): not a tensor
    fails as in torch (on a tensor method: an ``AttributeError``), a meta tensor goes to
    ``torch.nn.init`` itself (its checks, no values), and torch's exception types leave as
    their ValueError/TypeError subclasses."""
    torch_fn = getattr(torch.nn.init, fn.__name__)

    @functools.wraps(fn)
    def wrapper(tensor, *args, **kwargs):
        try:
            if not isinstance(tensor, torch.Tensor):
                raise AttributeError(f"{fn.__name__} needs a torch.Tensor, got "
                                     f"{type(tensor).__name__} (which has no tensor methods)")
            if tensor.is_meta:
                for k in _FASTINIT_ONLY:
                    kwargs.pop(k, None)
                return torch_fn(tensor, *args, **kwargs)
            return fn(tensor, *args, **kwargs)
        except Exception as e:  # noqa: BLE001 - re-raised, as a subclass of its own type
            new = _house(e)
            if new is e:
                raise
            raise new from None
    return wrapper


# --- torch's two random ops, checked as torch checks them --------------------------------------

_OVERLAP = ("unsupported operation: more than one element of the written-to tensor refers to a "
            "single memory location. Please clone() the tensor before performing the "
            "operation.")
_INFERENCE = ("Inplace update to inference tensor outside InferenceMode is not allowed.You can "
              "make a clone to get a normal tensor before doing inplace update.See "
              "https://github.com/pytorch/rfcs/pull/17 for more details.")


# tensors that are never a DTensor (nor another subclass): no lookup needed
_PLAIN_TYPES = (torch.Tensor, torch.nn.Parameter)


def _local(tensor):
    if type(tensor) in _PLAIN_TYPES:
        return tensor
    return _dtensor_shard(tensor, None, None)[0]


def _overlaps(tensor):
    """torch's ``has_internal_overlap(...) == YES``: a dimension of size > 1 with stride 0."""
    return any(n > 1 and s == 0 for n, s in zip(tensor.shape, tensor.stride()))


def _check_inplace(tensor):
    """What torch refuses about any in-place write into ``tensor``."""
    if tensor.is_inference() and not torch.is_inference_mode_enabled():
        raise RuntimeError(_INFERENCE)


def _check_written(tensor, numel):
    """What torch's random ops refuse about the written-to tensor: also overlapping
    elements (``expand``), which the deterministic fills accept. (A contiguous tensor with
    elements has no dimension of size > 1 and stride 0.)"""
    local = _local(tensor)
    _check_inplace(local)
    if not (numel and local.is_contiguous()) and _overlaps(local):
        raise RuntimeError(_OVERLAP)


def _twin(dtype, numel=0):
    return torch.empty(numel, dtype=dtype, device="cpu")


# Arguments torch's checks have accepted, by dtype: a model's layers repeat a few, and the
# check itself (an op on an empty twin tensor) costs more than the fill of a small tensor.
_ACCEPTED = {}


_PLAIN_NUMBERS = (int, float)


def _accepted_before(op, dtype, x, y, generator):
    """Whether ``op`` with these plain-number arguments passed torch's checks before."""
    return (generator is None and type(x) in _PLAIN_NUMBERS and type(y) in _PLAIN_NUMBERS
            and (op, dtype, type(x), x, type(y), y) in _ACCEPTED)


def _accept(op, dtype, x, y, generator):
    if generator is None and type(x) in (int, float) and type(y) in (int, float):
        if len(_ACCEPTED) > 4096:
            _ACCEPTED.clear()
        _ACCEPTED[(op, dtype, type(x), x, type(y), y)] = True


def _uniform_op(tensor, a, b, generator):
    """``tensor.uniform_(a, b, generator=generator)``'s checks, in its order, and its
    arguments as floats. torch's argument parser, dtype dispatch and bounds checks run before
    its emptiness test, so an empty tensor of the same dtype runs them all, drawing nothing
    (a complex tensor is checked as its real view, when it is not empty)."""
    dtype = tensor.dtype
    numel = tensor.numel()
    if numel and dtype in _REAL_OF:
        dtype = _REAL_OF[dtype]
    if not _accepted_before("uniform_", dtype, a, b, generator):
        _twin(dtype).uniform_(a, b, generator=generator)
        _accept("uniform_", dtype, a, b, generator)
    _check_written(tensor, numel)
    return float(a), float(b)


def _normal_op(tensor, mean, std, generator):
    """``tensor.normal_(mean, std, generator=generator)``'s checks and arguments as floats.
    torch tests emptiness before its dtype dispatch: a dtype without a normal kernel is
    refused (before any draw) by a one-element twin, and only for a non-empty tensor."""
    dtype = tensor.dtype
    size = tensor.numel()
    numel = 1 if size and dtype not in _RANDOM_DTYPES else 0
    if numel or not _accepted_before("normal_", dtype, mean, std, generator):
        _twin(dtype, numel).normal_(mean, std, generator=generator)
        if not numel:
            _accept("normal_", dtype, mean, std, generator)
    _check_written(tensor, size)
    return float(mean), float(std)


def _refuse_complex(tensor, op):
    """torch compares samples (``lt``, ``gt``) or takes ``sign``, which have no complex
    kernel: raise its ``NotImplementedError``."""
    if tensor.is_complex():
        z = _twin(tensor.dtype)
        getattr(z, op)(*(() if op == "sign" else (z,)))
        raise NotImplementedError(f"{op} is not implemented for {tensor.dtype}")


# --- writing: one helper for every drop-in -----------------------------------------------------

def draw_seed(generator=None):
    """The seed a call without ``seed=`` uses: 63 random bits from ``generator`` (or torch's
    default generator), ``torch.randint(0, 2**63 - 1, (), dtype=torch.int64,
    generator=generator)``."""
    device = generator.device if generator is not None else "cpu"
    return int(torch.randint(0, _SEED_HIGH, (), dtype=torch.int64, generator=generator,
                             device=device))


def _shape_of(tensor, shape):
    return tuple(tensor.shape) if shape is None else tuple(shape)


def _dtensor_shard(tensor, shape, region):
    """For a ``DTensor`` (torch.distributed.tensor): its local shard, the global shape and the
    shard's region of it, so each rank fills its own shard with the global tensor's values and
    fans. Other tensors pass through."""
    dt_mod = sys.modules.get("torch.distributed.tensor")  # not imported: no DTensor exists
    dtensor = getattr(dt_mod, "DTensor", None) if dt_mod is not None else None
    if dtensor is None or not isinstance(tensor, dtensor):
        return tensor, shape, region
    if shape is not None or region is not None:
        raise ValueError("shape and region must not be given for a DTensor: its placements "
                         "define its shard")
    if any(p.is_partial() for p in tensor.placements):
        raise ValueError(f"a DTensor with Partial placements {tensor.placements} cannot be "
                         f"initialized shard by shard")
    from torch.distributed.tensor._utils import compute_local_shape_and_global_offset
    gshape = tuple(tensor.shape)
    lshape, offset = compute_local_shape_and_global_offset(gshape, tensor.device_mesh,
                                                           tensor.placements)
    region = tuple(slice(o, o + n) for o, n in zip(offset, lshape))
    return tensor._local_tensor, gshape, region


_INCREMENT_VERSION = getattr(torch.autograd.graph, "increment_version", None)


def _c_increment_version():
    """What ``increment_version(tensor)`` calls, ``torch._C._increment_version((tensor,))``,
    without its isinstance test: None where this torch's takes no tuple (tried once)."""
    bump = getattr(torch._C, "_increment_version", None)
    if _INCREMENT_VERSION is None or bump is None:
        return None
    probe = torch.empty(0)
    try:
        bump((probe,))
    except Exception:  # noqa: BLE001 - an older signature: use increment_version
        return None
    return bump if probe._version == 1 else None


_C_INCREMENT_VERSION = _c_increment_version()


def _bump_version(tensor):
    """Tell autograd the tensor changed in place (writing through its memory does not)."""
    if _C_INCREMENT_VERSION is not None:
        _C_INCREMENT_VERSION((tensor,))  # records nothing in the graph: no need for no_grad
    elif _INCREMENT_VERSION is not None:
        _INCREMENT_VERSION(tensor)


_BFLOAT16_NP = _fi._checks.BFLOAT16


def _array_view(tensor):
    """A NumPy view (zero copy) of a plain CPU real float tensor, which fastinit's core fills
    by its ndarray fast path; None for any other tensor (a DTensor or another subclass,
    meta, sparse, neg or conj bit, inference, complex, ...), which goes by :func:`_write`."""
    if (type(tensor) not in _PLAIN_TYPES or not tensor.is_cpu
            or tensor.layout is not torch.strided):
        return None
    dtype = tensor.dtype
    if dtype not in _FAST_DTYPES or tensor.is_neg() or tensor.is_conj() or tensor.is_inference():
        return None
    if tensor.requires_grad:
        tensor = tensor.detach()
    if dtype is torch.bfloat16:
        return tensor.view(torch.int16).numpy().view(_BFLOAT16_NP)
    return tensor.numpy()


def _random_core(tensor, generator, seed, stream, shape, region, core, x, y):
    """:func:`_random` for a plain tensor whose fill is ``core(target, x, y, ...)`` (a
    fastinit in-place function, or ``constant_`` of ``x`` where ``y`` is None): the tensor's
    NumPy view goes to the core. The same draw, the same values, the same errors."""
    if not tensor.numel():  # nothing to write (torch skips some checks there too)
        return tensor
    arr = _array_view(tensor)
    if arr is None:
        return None
    if seed is None:
        seed = draw_seed(generator)
    if y is None:
        core(arr, x, shape=shape, region=region)
    else:
        core(arr, x, y, seed=seed, stream=stream, shape=shape, region=region)
    _bump_version(tensor)
    return tensor


def _write(tensor, shape, region, fill):
    """The one way a drop-in writes: ``fill(target, shape, region)`` into the tensor's memory
    (a DTensor's local shard, with its global shape and region). A view with the negative or
    conjugate bit (``c.conj()``, ``c.conj().imag``) holds its values negated or conjugated in
    memory: it gets a plain temporary, copied in by ``copy_``, which honours the bit."""
    local, shape, region = _dtensor_shard(tensor, shape, region)
    if local.is_neg() or local.is_conj():
        tmp = torch.empty(local.shape, dtype=local.dtype, device=local.device)
        fill(tmp, shape, region)
        with torch.no_grad():
            local.copy_(tmp)  # bumps the version counter itself
    else:
        fill(local, shape, region)
        _bump_version(local)
    return tensor


def _random(tensor, generator, seed, stream, shape, region, fill):
    """Every random drop-in ends here, after torch's checks passed: a zero-element tensor is
    left alone; else one seed draw (whatever the arguments), then ``fill(target, seed,
    stream, shape, region)`` through :func:`_write`."""
    if tensor.dtype not in _RANDOM_DTYPES and tensor.numel():
        raise NotImplementedError(f"fastinit.torch has no kernel for dtype {tensor.dtype}")
    if not tensor.numel():  # nothing to write (torch skips some checks there too)
        return tensor
    if seed is None:
        seed = draw_seed(generator)
    return _write(tensor, shape, region,
                  lambda t, shp, reg: fill(t, seed, stream, shp, reg))


def _real_view(t, shape, region):
    """A complex target as its real view ``(..., 2)``, with the global shape and region."""
    ndim = t.dim() if shape is None else len(shape)
    if shape is not None:
        shape = tuple(shape) + (2,)
    if region is not None:
        region = (region,) if isinstance(region, slice) else tuple(region)
        region = region + (slice(None),) * (ndim - len(region)) + (slice(None),)
    return torch.view_as_real(t), shape, region


def _uniform_fill(a, b):
    """torch's ``uniform_(a, b)`` law (checked floats): ``a == b`` gives ``a`` itself."""
    def fill(t, seed, stream, shape, region):
        if t.is_complex():  # torch: real and imaginary parts each U(a, b)
            t, shape, region = _real_view(t, shape, region)
        if a == b:
            _fi.constant_(t, a, shape=shape, region=region)
        else:
            _fi.uniform_(t, a, b, seed=seed, stream=stream, shape=shape, region=region)
    return fill


def _uniform_random(tensor, generator, seed, stream, shape, region, a, b):
    """:func:`_random` with :func:`_uniform_fill`'s law (checked floats ``a``, ``b``)."""
    if a == b:
        out = _random_core(tensor, generator, seed, stream, shape, region, _fi.constant_, a,
                           None)
    else:
        out = _random_core(tensor, generator, seed, stream, shape, region, _fi.uniform_, a, b)
    if out is None:
        out = _random(tensor, generator, seed, stream, shape, region, _uniform_fill(a, b))
    return out


def _normal_random(tensor, generator, seed, stream, shape, region, mean, std):
    """:func:`_random` with :func:`_normal_fill`'s law (checked floats ``mean``, ``std``)."""
    out = None
    if math.isfinite(mean) and math.isfinite(std):
        out = _random_core(tensor, generator, seed, stream, shape, region, _fi.normal_, mean,
                           std)
    if out is None:
        out = _random(tensor, generator, seed, stream, shape, region, _normal_fill(mean, std))
    return out


def _normal_fill(mean, std):
    """torch's ``normal_(mean, std)`` law (checked floats: ``std >= 0``, maybe infinite;
    ``mean`` maybe infinite or NaN): ``mean + std * z``."""
    def fill(t, seed, stream, shape, region):
        s = std
        if t.is_complex():  # torch: real and imaginary parts each N(mean, std / sqrt(2))
            t, shape, region = _real_view(t, shape, region)
            s = std / math.sqrt(2.0)
        if math.isfinite(mean) and math.isfinite(s):
            _fi.normal_(t, mean, s, seed=seed, stream=stream, shape=shape, region=region)
            return
        _fi.normal_(t, 0.0, 1.0, seed=seed, stream=stream, shape=shape, region=region)
        with torch.no_grad():
            t.mul_(s).add_(mean)
    return fill


# --- the drop-ins -----------------------------------------------------------------------------

@_translated
def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity: ``torch.nn.init.calculate_gain``'s table,
    values and errors (see :func:`fastinit.calculate_gain`). As in torch, the slope of
    ``"leaky_relu"`` must be a Python int or float (not a bool)."""
    if nonlinearity == "leaky_relu" and param is not None and (
            isinstance(param, bool) or not isinstance(param, (int, float))):
        raise ValueError(f"negative_slope {param} not a valid number")
    if not isinstance(nonlinearity, str) or nonlinearity not in _NONLINEARITIES:
        raise ValueError(f"Unsupported nonlinearity {nonlinearity}")
    return _fi.calculate_gain(str(nonlinearity), param)


_NONLINEARITIES = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                   "conv_transpose2d", "conv_transpose3d", "sigmoid", "tanh", "relu",
                   "leaky_relu", "selu")


@_like_torch
def uniform_(tensor, a=0.0, b=1.0, generator=None, *, seed=None, stream=0, shape=None,
             region=None):
    r"""Fill ``tensor`` with values from :math:`\mathcal{U}(a, b)` (``torch.nn.init.uniform_``).

    .. math:: x = u\,(b - a) + a

    ``a == b`` fills ``a``, as torch does; ``a > b`` or a bound that is NaN, infinite or out
    of the dtype's range raises ``InitValueError`` (torch's ``RuntimeError``, also a
    ``ValueError``). ``seed``/``stream``: see the module docstring; ``shape``/``region``: fill
    the ``region`` of a global ``shape`` (a shard).

    Examples
    --------
    >>> w = torch.empty(3, 5)
    >>> fastinit.torch.uniform_(w, -0.1, 0.1, seed=0)
    """
    a, b = _uniform_op(tensor, a, b, generator)
    return _uniform_random(tensor, generator, seed, stream, shape, region, a, b)


@_like_torch
def normal_(tensor, mean=0.0, std=1.0, generator=None, *, seed=None, stream=0, shape=None,
            region=None):
    r"""Fill ``tensor`` with values from :math:`\mathcal{N}(\text{mean}, \text{std}^2)`
    (``torch.nn.init.normal_``), by Box-Muller.

    A negative or NaN ``std`` raises ``InitValueError`` (torch's ``RuntimeError``, also a
    ``ValueError``); ``std=0`` fills ``mean``, an infinite ``std`` or a non-finite ``mean``
    gives ``mean + std * z`` as in torch.

    Examples
    --------
    >>> w = torch.empty(4096, 4096, dtype=torch.bfloat16)
    >>> fastinit.torch.normal_(w, std=0.02, seed=0)
    """
    mean, std = _normal_op(tensor, mean, std, generator)
    return _normal_random(tensor, generator, seed, stream, shape, region, mean, std)


def _norm_cdf(x):
    return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0


def _trunc_by_rejection(mean, std, log_peak, a, b):
    """The law torch's rejection branch of ``trunc_normal_`` samples (uniform candidates on
    ``[a, b]``, accepted with the normal density over its peak): a truncated normal of std
    ``|std|``; ``a`` where ``a == b``; ``U(a, b)`` where the density is NaN (a NaN or
    infinite ``mean``) or constant in float64 over ``[a, b]`` (an infinite or huge ``std``),
    since torch then accepts every candidate."""
    def fill(t, seed, stream, shape, region):
        kw = dict(shape=shape, region=region)
        if a == b:
            _fi.constant_(t, a, **kw)
        elif (not all(math.isfinite(v) for v in (mean, std, log_peak))
              or max(abs(a - mean), abs(b - mean)) <= 2.0**-27 * abs(std)):
            _fi.uniform_(t, a, b, seed=seed, stream=stream, **kw)
        else:
            _fi.trunc_normal_(t, mean, abs(std), a, b, seed=seed, stream=stream, **kw)
    return fill


@_like_torch
def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None, *, seed=None,
                  stream=0, shape=None, region=None):
    r"""Fill ``tensor`` with a normal :math:`\mathcal{N}(\text{mean}, \text{std}^2)`
    truncated to ``[a, b]`` (``torch.nn.init.trunc_normal_``).

    Sampled by inverse CDF (one draw per element, no rejection loop), exact for any interval,
    also far in a tail. Warns, as torch does, when the mean is more than 2 std from
    ``[a, b]``. torch's checks and degenerate cases hold: ``std=0`` raises
    ``ZeroDivisionError`` (``InitZeroDivisionError``), ``a > b`` torch's ``RuntimeError``
    (``InitValueError``); ``a == b`` fills ``a``; a NaN or infinite ``std`` or ``mean`` gives
    ``U(a, b)`` and a negative ``std`` its absolute value, as torch's rejection sampler does.

    Examples
    --------
    >>> w = torch.empty(768, 768)
    >>> fastinit.torch.trunc_normal_(w, std=0.02, a=-0.04, b=0.04, seed=0)
    """
    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=3)
    p = _norm_cdf((b - mean) / std) - _norm_cdf((a - mean) / std)
    if p > 0.3:  # torch: normal draws, redrawn outside [a, b] rounded into the dtype
        for bound in (a, b):  # torch's conversions (and their errors and warnings)
            if type(bound) not in (float, int):
                _twin(tensor.dtype).new_tensor(bound, device="cpu").item()
        mean, std = _normal_op(tensor, mean, std, generator)
        _refuse_complex(tensor, "lt")
        lo, hi = float(a), float(b)  # values in [a, b] round into [a, b] rounded: torch's range

        def fill(t, seed, stream, shape, region):
            _fi.trunc_normal_(t, mean, std, lo, hi, seed=seed, stream=stream, shape=shape,
                              region=region)
    else:  # torch: uniform candidates on [a, b], accepted with the density over its peak
        mode = max(a, min(mean, b))
        log_peak = -0.5 * ((mode - mean) / std) ** 2
        lo, hi = _uniform_op(tensor, a, b, generator)
        _refuse_complex(tensor, "gt")
        fill = _trunc_by_rejection(float(mean), float(std), float(log_peak), lo, hi)
    return _random(tensor, generator, seed, stream, shape, region, fill)


def _deterministic(tensor, shape, region, fill, slow, region_free=False):
    """Constant-like fills: fastinit for float dtypes; torch's own ``slow(local)`` for the
    rest (ints, bools, complex) and for targets whose elements share memory (``expand``),
    where the result is the same. A shard (``shape``/``region`` or a DTensor) of such a
    tensor gets fastinit's values through a float64 temporary, unless the fill does not
    depend on the region."""
    local = _local(tensor)
    _check_inplace(local)
    if tensor.dtype in _FAST_DTYPES and not _overlaps(local):
        return _write(tensor, shape, region, fill)
    if region_free or (local is tensor and shape is None and region is None):
        with torch.no_grad():
            slow(local)
        return tensor

    def through_float64(t, shp, reg):
        tmp = torch.empty(t.shape, dtype=torch.float64, device=t.device)
        fill(tmp, shp, reg)
        with torch.no_grad():
            t.copy_(tmp)
    _write(tensor, shape, region, through_float64)
    return tensor


@_like_torch
def constant_(tensor, val, *, shape=None, region=None):
    r"""Fill ``tensor`` with ``val`` (``torch.nn.init.constant_``): the value torch's
    ``fill_`` stores (its checks too: a value beyond the dtype's range raises torch's
    ``RuntimeError``, as ``InitValueError``).

    Examples
    --------
    >>> b = torch.empty(4096)
    >>> fastinit.torch.constant_(b, 0.1)
    """
    if tensor.dtype in _FAST_DTYPES:
        # torch's parser and range check, and the value it stores; torch skips the range check
        # for a one-element tensor (its scalar fast path), so the twin has one element then
        twin = _twin(tensor.dtype, 1 if tensor.numel() == 1 else 2)
        twin.fill_(val)
        val = twin[0].item()
    return _deterministic(tensor, shape, region,
                          lambda t, shp, reg: _fi.constant_(t, val, shape=shp, region=reg),
                          lambda t: t.fill_(val), region_free=True)


@_like_torch
def ones_(tensor, *, shape=None, region=None):
    """Fill ``tensor`` with ones (``torch.nn.init.ones_``)."""
    return _deterministic(tensor, shape, region,
                          lambda t, shp, reg: _fi.ones_(t, shape=shp, region=reg),
                          lambda t: t.fill_(1.0), region_free=True)


@_like_torch
def zeros_(tensor, *, shape=None, region=None):
    """Fill ``tensor`` with zeros (``torch.nn.init.zeros_``)."""
    return _deterministic(tensor, shape, region,
                          lambda t, shp, reg: _fi.zeros_(t, shape=shp, region=reg),
                          lambda t: t.zero_(), region_free=True)


@_like_torch
def eye_(tensor, *, shape=None, region=None):
    """Fill the 2-D ``tensor`` with the identity matrix (``torch.nn.init.eye_``).

    Examples
    --------
    >>> w = torch.empty(3, 5)
    >>> fastinit.torch.eye_(w)
    """
    if len(_shape_of(tensor, shape)) != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _deterministic(tensor, shape, region,
                          lambda t, shp, reg: _fi.eye_(t, shape=shp, region=reg),
                          torch.nn.init.eye_)


@_like_torch
def dirac_(tensor, groups=1, *, shape=None, region=None):
    """Fill the {3, 4, 5}-D ``tensor`` with the Dirac delta (``torch.nn.init.dirac_``):
    ``w[g * out_per_group + d, d, k1 // 2, ...] = 1`` for ``d < min(out_per_group, in)``.

    ``groups`` as torch takes it: an int (a bool or NumPy int too); a negative one that
    divides ``shape[0]`` gives all zeros, 0 raises ``ZeroDivisionError``.

    Examples
    --------
    >>> w = torch.empty(3, 24, 5, 5)
    >>> fastinit.torch.dirac_(w, 3)
    """
    gshape = _shape_of(tensor, shape)
    if len(gshape) not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    if gshape[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    n_groups = len(range(groups))  # torch loops over range(groups): ints only, none if < 0

    def fill(t, shp, reg):
        if n_groups:
            _fi.dirac_(t, n_groups, shape=shp, region=reg)
        else:
            _fi.zeros_(t, shape=shp, region=reg)
    return _deterministic(tensor, shape, region, fill,
                          lambda t: torch.nn.init.dirac_(t, groups))


def _fans(shape):
    """``torch.nn.init._calculate_fan_in_and_fan_out`` of a tensor of ``shape``."""
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than "
                         "2 dimensions")
    receptive_field_size = 1
    for s in shape[2:]:
        receptive_field_size *= s
    return shape[1] * receptive_field_size, shape[0] * receptive_field_size


def _fan(shape, mode):
    """``torch.nn.init._calculate_correct_fan``: ``mode.lower()`` (an ``AttributeError`` for
    a non-string, as in torch), then the fans."""
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _fans(shape)
    return fan_in if mode == "fan_in" else fan_out


@_like_torch
def xavier_uniform_(tensor, gain=1.0, generator=None, *, seed=None, stream=0, shape=None,
                    region=None):
    r"""Xavier/Glorot uniform (Glorot and Bengio 2010), ``torch.nn.init.xavier_uniform_``.

    .. math:: \mathcal{U}(-b, b),\quad b = \text{gain}\sqrt{\frac{6}{\text{fan\_in} +
              \text{fan\_out}}}

    Fans from ``(out, in, *kernel)`` of the tensor (or of the global ``shape``).

    Examples
    --------
    >>> w = torch.empty(3, 5)
    >>> fastinit.torch.xavier_uniform_(w, gain=fastinit.torch.calculate_gain("relu"))
    """
    fan_in, fan_out = _fans(_shape_of(tensor, shape))
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    low, high = _uniform_op(tensor, -a, a, generator)
    return _uniform_random(tensor, generator, seed, stream, shape, region, low, high)


@_like_torch
def xavier_normal_(tensor, gain=1.0, generator=None, *, seed=None, stream=0, shape=None,
                   region=None):
    r"""Xavier/Glorot normal (Glorot and Bengio 2010), ``torch.nn.init.xavier_normal_``.

    .. math:: \mathcal{N}(0, \text{std}^2),\quad \text{std} = \text{gain}\sqrt{\frac{2}{
              \text{fan\_in} + \text{fan\_out}}}

    Examples
    --------
    >>> w = torch.empty(3, 5)
    >>> fastinit.torch.xavier_normal_(w)
    """
    fan_in, fan_out = _fans(_shape_of(tensor, shape))
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    mean, std = _normal_op(tensor, 0.0, std, generator)
    return _normal_random(tensor, generator, seed, stream, shape, region, mean, std)


# kaiming stds computed before, by (shape, mode, nonlinearity, type(a), a) for str mode and
# nonlinearity and an int or float a: a pure function of those (no warning on that path)
_KAIMING_STD = {}


def _kaiming_std(tensor, a, mode, nonlinearity, shape):
    """torch's kaiming std, or None for a zero-element tensor (torch warns, does nothing)."""
    gshape = _shape_of(tensor, shape)
    key = None
    if type(mode) is str and type(nonlinearity) is str and type(a) in _PLAIN_NUMBERS:
        key = (gshape, mode, nonlinearity, type(a), a)
        try:
            std = _KAIMING_STD.get(key)
        except TypeError:  # an unhashable entry in shape=: no cache
            key = std = None
        if std is not None:
            return std
    if 0 in gshape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=4)
        return None
    fan = _fan(gshape, mode)
    gain = calculate_gain(nonlinearity, a)
    std = gain / math.sqrt(fan)
    if key is not None:
        if len(_KAIMING_STD) > 4096:
            _KAIMING_STD.clear()
        _KAIMING_STD[key] = std
    return std


@_like_torch
def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None, *,
                     seed=None, stream=0, shape=None, region=None):
    r"""Kaiming/He uniform (He et al. 2015), ``torch.nn.init.kaiming_uniform_``.

    .. math:: \mathcal{U}(-b, b),\quad b = \text{gain}\sqrt{\frac{3}{\text{fan\_mode}}}

    ``gain = calculate_gain(nonlinearity, a)``; ``mode`` is ``"fan_in"`` or ``"fan_out"``. A
    zero-element tensor warns and is left alone, as in torch.

    Examples
    --------
    >>> w = torch.empty(256, 128)
    >>> fastinit.torch.kaiming_uniform_(w, a=5 ** 0.5, seed=0)   # nn.Linear's default
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity, shape)
    if std is None:
        return tensor
    bound = math.sqrt(3.0) * std
    low, high = _uniform_op(tensor, -bound, bound, generator)
    return _uniform_random(tensor, generator, seed, stream, shape, region, low, high)


@_like_torch
def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None, *,
                    seed=None, stream=0, shape=None, region=None):
    r"""Kaiming/He normal (He et al. 2015), ``torch.nn.init.kaiming_normal_``.

    .. math:: \mathcal{N}(0, \text{std}^2),\quad \text{std} =
              \frac{\text{gain}}{\sqrt{\text{fan\_mode}}}

    Examples
    --------
    >>> w = torch.empty(64, 3, 7, 7)
    >>> fastinit.torch.kaiming_normal_(w, mode="fan_out", nonlinearity="relu")
    """
    std = _kaiming_std(tensor, a, mode, nonlinearity, shape)
    if std is None:
        return tensor
    mean, std = _normal_op(tensor, 0, std, generator)
    return _normal_random(tensor, generator, seed, stream, shape, region, mean, std)


def _plain_gain(gain):
    """Whether torch's ``mul_(gain)`` is the scaling by a finite float that fastinit applies
    itself; anything else (a tensor, NaN, inf, a bool, ...) is left to ``mul_``."""
    if isinstance(gain, (bool, np.bool_)):
        return False
    if isinstance(gain, (int, np.integer)):
        return -2**63 <= gain < 2**63
    return isinstance(gain, (float, np.floating)) and math.isfinite(gain)


@_like_torch
def orthogonal_(tensor, gain=1, generator=None, *, seed=None, stream=0):
    r"""A (semi-)orthogonal matrix (Saxe et al. 2013), ``torch.nn.init.orthogonal_``.

    The tensor is seen as ``(shape[0], prod(shape[1:]))``; the result :math:`Q` satisfies
    :math:`Q Q^T = \text{gain}^2 I` (or :math:`Q^T Q`, along the smaller side). A thin call to
    :func:`fastinit.orthogonal_` with ``convention="torch"``, looked up when called. As in
    torch, the tensor must be viewable as that matrix, and ``gain`` is anything ``mul_``
    takes (a NaN or infinite gain, a tensor); unlike torch, float16 and bfloat16 work.

    Examples
    --------
    >>> w = torch.empty(3, 5)
    >>> fastinit.torch.orthogonal_(w, seed=0)
    """
    if tensor.ndimension() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    if _local(tensor) is not tensor:
        raise ValueError("orthogonal_ of a DTensor needs the whole matrix on each rank: fill a "
                         "full tensor and distribute it (distribute_tensor)")
    rows = tensor.size(0)
    cols = tensor.numel() // rows
    _normal_op(tensor, 0, 1, generator)  # torch: new_empty((rows, cols)).normal_(0, 1, ...)
    _refuse_complex(tensor, "sign")  # torch: the sign of diag(R)
    tensor.view(rows, cols)  # torch: tensor.view_as(q).copy_(q)
    fill_ = getattr(_fi, "orthogonal_", None)
    if fill_ is None:
        raise NotImplementedError("fastinit.orthogonal_ is not available in this version of "
                                  "fastinit")
    if seed is None:
        seed = draw_seed(generator)

    def fill(t, shp, reg):
        if _plain_gain(gain):
            fill_(t, float(gain), convention="torch", seed=seed, stream=stream)
            return
        tmp = torch.empty((rows, cols), dtype=t.dtype, device=t.device)
        fill_(tmp, 1.0, convention="torch", seed=seed, stream=stream)
        with torch.no_grad():
            tmp.mul_(gain)  # torch's own checks, before the tensor is written
            t.view(rows, cols).copy_(tmp)
    return _write(tensor, None, None, fill)


def _sparse_real(t, sparsity, std, seed, stream, shape, region):
    """fastinit's sparse fill of a real target; an infinite ``std`` (torch accepts it) makes
    the non-zero values +-inf and leaves the zeros."""
    finite = math.isfinite(std)
    _fi.sparse_(t, sparsity, std if finite else 1.0, seed=seed, stream=stream, shape=shape,
                region=region)
    if not finite:
        with torch.no_grad():
            t.copy_(torch.where(t == 0, t, t * std))


def _sparse_fill(num_zeros, rows, std):
    """torch's ``sparse_`` law: ``num_zeros`` zeros per column (torch's count, in [0, rows]),
    normal values of ``std`` elsewhere. Complex: each part of the non-zero values N(0, std /
    sqrt(2)); the imaginary parts are drawn at indices past those of the real parts and of the
    zero pattern (block 2 of the global shape ``(3, rows, cols)``), so no word is shared."""
    sparsity = max(num_zeros - 0.5, 0.0) / rows if rows else 0.0  # ceil(s * rows) = num_zeros

    def fill(t, seed, stream, shape, region):
        if not t.is_complex():
            _sparse_real(t, sparsity, std, seed, stream, shape, region)
            return
        gshape = tuple(t.shape) if shape is None else tuple(shape)
        reg = (region,) if isinstance(region, slice) else tuple(region or ())
        parts = torch.view_as_real(t)
        real, imag = parts[..., 0], parts[..., 1]
        s = std / math.sqrt(2.0)
        _sparse_real(real, sparsity, s, seed, stream, shape, region)
        _normal_fill(0.0, s)(imag.unsqueeze(0), seed, stream, (3,) + gshape,
                             (slice(2, 3),) + reg)
        with torch.no_grad():
            imag.masked_fill_(real == 0, 0)
    return fill


@_like_torch
def sparse_(tensor, sparsity, std=0.01, generator=None, *, seed=None, stream=0, shape=None,
            region=None):
    r"""Sparse normal matrix (Martens 2010), ``torch.nn.init.sparse_``: :math:`\mathcal{N}(0,
    \text{std}^2)` with ``ceil(sparsity * rows)`` zeros in every column.

    As in torch, a ``sparsity`` of 1 or more zeroes every row, and a negative one zeroes
    ``rows - ceil(-sparsity * rows)`` rows (Python's slice ``perm[:num_zeros]``); a NaN or
    infinite one raises as ``math.ceil`` does. A complex tensor: the real parts are
    ``fastinit.sparse``'s with ``std / sqrt(2)``, the imaginary parts (zero where the real
    ones are) normals from block 2 of the global shape ``(3, rows, cols)``, past the words of
    the real parts and of the zero pattern.

    Examples
    --------
    >>> w = torch.empty(3, 5)
    >>> fastinit.torch.sparse_(w, sparsity=0.1)
    """
    gshape = _shape_of(tensor, shape)
    if len(gshape) != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows = gshape[0]
    num_zeros = math.ceil(sparsity * rows)
    _, std = _normal_op(tensor, 0, std, generator)
    zeros = len(range(rows)[:num_zeros])  # torch: randperm(rows)[:num_zeros] in each column
    return _random(tensor, generator, seed, stream, shape, region,
                   _sparse_fill(zeros, rows, std))


def _make_deprecate(meth):
    new_name = meth.__name__
    old_name = new_name[:-1]

    @functools.wraps(meth)
    def deprecated_init(*args, **kwargs):
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of "
                      f"`nn.init.{new_name}`.", FutureWarning, stacklevel=2)
        return meth(*args, **kwargs)

    deprecated_init.__name__ = old_name
    deprecated_init.__doc__ = f"Deprecated alias of :func:`{new_name}` (as in torch.nn.init)."
    return deprecated_init


uniform = _make_deprecate(uniform_)
normal = _make_deprecate(normal_)
constant = _make_deprecate(constant_)
eye = _make_deprecate(eye_)
dirac = _make_deprecate(dirac_)
xavier_uniform = _make_deprecate(xavier_uniform_)
xavier_normal = _make_deprecate(xavier_normal_)
kaiming_uniform = _make_deprecate(kaiming_uniform_)
kaiming_normal = _make_deprecate(kaiming_normal_)
orthogonal = _make_deprecate(orthogonal_)
sparse = _make_deprecate(sparse_)
