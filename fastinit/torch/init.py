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

Differences from torch
----------------------
The values differ from torch's (a different generator); the distributions are the same.
``trunc_normal_`` samples by inverse CDF instead of rejection. ``sparse_`` draws the zero rows
of each column from the counter stream instead of ``torch.randperm``. Values are written
through the tensor's memory (zero copy); the tensor's autograd version counter is bumped as by
an in-place torch op, so a tensor saved for backward is still caught if modified. Tensors on the meta device are left alone, as torch
does. A ``DTensor`` (``torch.distributed.tensor``, sharded or replicated) is filled shard by
shard: each rank writes its local shard with the values and fans of the global tensor, so the
result does not depend on the mesh or the placements (give ``seed=``, or seed torch's RNG the
same on every rank: ranks draw ``seed=None`` independently). Non-float dtypes: ``constant_``, ``ones_``, ``zeros_``, ``eye_`` and ``dirac_`` hand them
to ``torch.nn.init``; the random initializers raise ``TypeError``.
"""
import functools
import numbers
import sys
import warnings

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
_SEED_HIGH = 2**63 - 1


class InitValueError(ValueError, RuntimeError):
    """A bad argument where ``torch.nn.init`` raises ``RuntimeError``: it is both, so code
    that catches torch's error keeps working and the house rule (``ValueError``) holds."""


def calculate_gain(nonlinearity, param=None):
    """The recommended gain for a nonlinearity: ``torch.nn.init.calculate_gain``'s table and
    values (see :func:`fastinit.calculate_gain`)."""
    try:
        return _fi.calculate_gain(nonlinearity, param)
    except ValueError as e:
        if "negative_slope" in str(e):
            raise
        raise ValueError(f"Unsupported nonlinearity {nonlinearity}") from None


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


def _random_fill(fill, tensor, generator, seed, stream, shape, region, *args, **kwargs):
    """Run fastinit's in-place ``fill`` on ``tensor`` after torch's own rules: meta tensors
    are left alone, the seed comes from torch's RNG when not given."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"tensor must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.is_meta:
        return tensor
    if tensor.dtype not in _FAST_DTYPES:
        raise TypeError(f"tensor must have dtype float64, float32, float16 or bfloat16, got "
                        f"{tensor.dtype}")
    if seed is None:
        seed = draw_seed(generator) if tensor.numel() else 0
    local, shape, region = _dtensor_shard(tensor, shape, region)
    fill(local, *args, seed=seed, stream=stream, shape=shape, region=region, **kwargs)
    _bump_version(local)
    return tensor


def _bump_version(tensor):
    """Tell autograd the tensor changed in place (writing through its memory does not)."""
    bump = getattr(torch.autograd.graph, "increment_version", None)
    if bump is not None:
        with torch.no_grad():
            bump(tensor)


def _check_fans(shape):
    if len(shape) < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than "
                         "2 dimensions")


def _check_mode(mode):
    mode = mode.lower() if isinstance(mode, str) else mode
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    return mode


def uniform_(tensor, a=0.0, b=1.0, generator=None, *, seed=None, stream=0, shape=None,
             region=None):
    r"""Fill ``tensor`` with values from :math:`\mathcal{U}(a, b)` (``torch.nn.init.uniform_``).

    .. math:: x = u\,(b - a) + a

    ``a == b`` fills ``a``, as torch does; ``a > b`` raises (``ValueError``, also a
    ``RuntimeError`` like torch's). ``seed``/``stream``: see the module docstring;
    ``shape``/``region``: fill the ``region`` of a global ``shape`` (a shard).

    Examples
    --------
    >>> w = torch.empty(3, 5)
    >>> fastinit.torch.uniform_(w, -0.1, 0.1, seed=0)
    """
    if isinstance(a, numbers.Real) and isinstance(b, numbers.Real) and a > b:
        raise InitValueError(f"uniform_ expects to return a [from, to) range, but found "
                             f"from={a} > to={b}")
    if isinstance(a, numbers.Real) and a == b:
        return constant_(tensor, a) if not tensor.is_meta else tensor
    return _random_fill(_fi.uniform_, tensor, generator, seed, stream, shape, region, a, b)


def normal_(tensor, mean=0.0, std=1.0, generator=None, *, seed=None, stream=0, shape=None,
            region=None):
    r"""Fill ``tensor`` with values from :math:`\mathcal{N}(\text{mean}, \text{std}^2)`
    (``torch.nn.init.normal_``), by Box-Muller.

    A negative ``std`` raises (``ValueError``, also a ``RuntimeError`` like torch's).

    Examples
    --------
    >>> w = torch.empty(4096, 4096, dtype=torch.bfloat16)
    >>> fastinit.torch.normal_(w, std=0.02, seed=0)
    """
    if isinstance(std, numbers.Real) and std < 0:
        raise InitValueError(f"normal expects std >= 0.0, but found std {std}")
    return _random_fill(_fi.normal_, tensor, generator, seed, stream, shape, region, mean, std)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None, *, seed=None,
                  stream=0, shape=None, region=None):
    r"""Fill ``tensor`` with a normal :math:`\mathcal{N}(\text{mean}, \text{std}^2)`
    truncated to ``[a, b]`` (``torch.nn.init.trunc_normal_``).

    Sampled by inverse CDF (one draw per element, no rejection loop), exact for any interval,
    also far in a tail. Warns, as torch does, when the mean is more than 2 std from
    ``[a, b]``.

    Examples
    --------
    >>> w = torch.empty(768, 768)
    >>> fastinit.torch.trunc_normal_(w, std=0.02, a=-0.04, b=0.04, seed=0)
    """
    if tensor.is_meta:
        return tensor
    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    return _random_fill(_fi.trunc_normal_, tensor, generator, seed, stream, shape, region,
                        mean, std, a, b)


def _deterministic(fast, slow, tensor, *args, **kwargs):
    """Constant-like fills: fastinit for float dtypes, torch's own for the rest (ints,
    bools, complex), where the result is the same."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"tensor must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.is_meta:
        return tensor
    if tensor.dtype not in _FAST_DTYPES:
        with torch.no_grad():
            slow(tensor, *args)
        return tensor
    local, kwargs["shape"], kwargs["region"] = _dtensor_shard(tensor, kwargs.get("shape"),
                                                              kwargs.get("region"))
    fast(local, *args, **kwargs)
    _bump_version(local)
    return tensor


def constant_(tensor, val, *, shape=None, region=None):
    r"""Fill ``tensor`` with ``val`` (``torch.nn.init.constant_``), rounded once into its dtype.

    Examples
    --------
    >>> b = torch.empty(4096)
    >>> fastinit.torch.constant_(b, 0.1)
    """
    return _deterministic(_fi.constant_, torch.nn.init.constant_, tensor, val, shape=shape,
                          region=region)


def ones_(tensor, *, shape=None, region=None):
    """Fill ``tensor`` with ones (``torch.nn.init.ones_``)."""
    return _deterministic(_fi.ones_, torch.nn.init.ones_, tensor, shape=shape, region=region)


def zeros_(tensor, *, shape=None, region=None):
    """Fill ``tensor`` with zeros (``torch.nn.init.zeros_``)."""
    return _deterministic(_fi.zeros_, torch.nn.init.zeros_, tensor, shape=shape, region=region)


def eye_(tensor, *, shape=None, region=None):
    """Fill the 2-D ``tensor`` with the identity matrix (``torch.nn.init.eye_``).

    Examples
    --------
    >>> w = torch.empty(3, 5)
    >>> fastinit.torch.eye_(w)
    """
    if len(_shape_of(tensor, shape)) != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _deterministic(_fi.eye_, torch.nn.init.eye_, tensor, shape=shape, region=region)


def dirac_(tensor, groups=1, *, shape=None, region=None):
    """Fill the {3, 4, 5}-D ``tensor`` with the Dirac delta (``torch.nn.init.dirac_``):
    ``w[g * out_per_group + d, d, k1 // 2, ...] = 1`` for ``d < min(out_per_group, in)``.

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
    return _deterministic(_fi.dirac_, torch.nn.init.dirac_, tensor, groups, shape=shape,
                          region=region)


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
    _check_fans(_shape_of(tensor, shape))
    return _random_fill(_fi.xavier_uniform_, tensor, generator, seed, stream, shape, region,
                        gain)


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
    _check_fans(_shape_of(tensor, shape))
    return _random_fill(_fi.xavier_normal_, tensor, generator, seed, stream, shape, region,
                        gain)


def _kaiming(fill, tensor, a, mode, nonlinearity, generator, seed, stream, shape, region):
    gshape = _shape_of(tensor, shape)
    if 0 in gshape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return tensor
    mode = _check_mode(mode)
    _check_fans(gshape)
    calculate_gain(nonlinearity, a)
    return _random_fill(fill, tensor, generator, seed, stream, shape, region, a, mode,
                        nonlinearity)


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
    return _kaiming(_fi.kaiming_uniform_, tensor, a, mode, nonlinearity, generator, seed,
                    stream, shape, region)


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
    return _kaiming(_fi.kaiming_normal_, tensor, a, mode, nonlinearity, generator, seed,
                    stream, shape, region)


def orthogonal_(tensor, gain=1, generator=None, *, seed=None, stream=0):
    r"""A (semi-)orthogonal matrix (Saxe et al. 2013), ``torch.nn.init.orthogonal_``.

    The tensor is seen as ``(shape[0], prod(shape[1:]))``; the result :math:`Q` satisfies
    :math:`Q Q^T = \text{gain}^2 I` (or :math:`Q^T Q`, along the smaller side). A thin call to
    :func:`fastinit.orthogonal_` with ``convention="torch"``, looked up when called.

    Examples
    --------
    >>> w = torch.empty(3, 5)
    >>> fastinit.torch.orthogonal_(w, seed=0)
    """
    if tensor.ndimension() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0 or tensor.is_meta:
        return tensor
    if _dtensor_shard(tensor, None, None)[0] is not tensor:
        raise ValueError("orthogonal_ of a DTensor needs the whole matrix on each rank: fill a "
                         "full tensor and distribute it (distribute_tensor)")
    fill = getattr(_fi, "orthogonal_", None)
    if fill is None:
        raise NotImplementedError("fastinit.orthogonal_ is not available in this version of "
                                  "fastinit")
    if tensor.dtype not in _FAST_DTYPES:
        raise TypeError(f"tensor must have dtype float64, float32, float16 or bfloat16, got "
                        f"{tensor.dtype}")
    if seed is None:
        seed = draw_seed(generator)
    fill(tensor, gain, convention="torch", seed=seed, stream=stream)
    _bump_version(tensor)
    return tensor


def sparse_(tensor, sparsity, std=0.01, generator=None, *, seed=None, stream=0, shape=None,
            region=None):
    r"""Sparse normal matrix (Martens 2010), ``torch.nn.init.sparse_``: :math:`\mathcal{N}(0,
    \text{std}^2)` with ``ceil(sparsity * rows)`` zeros in every column.

    Examples
    --------
    >>> w = torch.empty(3, 5)
    >>> fastinit.torch.sparse_(w, sparsity=0.1)
    """
    if len(_shape_of(tensor, shape)) != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    return _random_fill(_fi.sparse_, tensor, generator, seed, stream, shape, region, sparsity,
                        std)


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
