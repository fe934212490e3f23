"""``intercept_init``: run a model's own initialization code on fastinit's kernels.

Inside ``with intercept_init(model, seed=s):`` every call of a ``torch.nn.init`` function (and
of the wrappers of ``transformers.initialization``, which call ``torch.nn.init`` through a table
they recorded at import) on a parameter or buffer of ``model``, or on a view of one, is served
by :mod:`fastinit.torch.init` with ``seed=s`` and the stream :func:`fastinit.stream_of` of the
tensor's qualified name. So each tensor's values depend on its name, the seed and the law of
the call alone: not on the order of the calls, on the other tensors, on the process, or on how
the tensor is sharded (a ``DTensor`` is filled shard by shard through its placements).

Views
-----
A view of a parameter (``w[padding_idx]``, ``w[:, :k]``, ``w.t()``, ``w.data``) gets the values
the whole parameter's stream has at the view's indices (the ``region=`` contract), with the law
torch gives the view (fans of the fan-based initializers from the view's shape, as in torch):

- a rectangular block of the parameter is generated alone, as a ``region``;
- any other view (a step, a diagonal) is taken from a temporary of the whole parameter, filled
  from its stream, and copied in;
- ``orthogonal_`` and ``sparse_`` are not element by element: a partial view is filled as a
  tensor of its own, from the stream of ``"<name>[<start>:<stop>, ...]"`` (its region);
- the deterministic fills (``constant_``, ``ones_``, ``zeros_``, ``eye_``, ``dirac_``) write the
  view as torch does (``eye_`` of a view is the view's identity).

A ``generator=`` argument is ignored: the seed of the context replaces torch's RNG.
"""
import contextlib
import inspect
import math
import sys
import threading
import warnings

import torch

from ..streams import stream_of
from . import init as _drop_ins

__all__ = ["intercept_init"]

# the functions served, by their torch.nn.init name
RANDOM_ELEMENTWISE = ("uniform_", "normal_", "trunc_normal_", "xavier_uniform_",
                      "xavier_normal_", "kaiming_uniform_", "kaiming_normal_")
RANDOM_WHOLE = ("orthogonal_", "sparse_")
DETERMINISTIC = ("constant_", "ones_", "zeros_", "eye_", "dirac_")
FUNCTIONS = RANDOM_ELEMENTWISE + RANDOM_WHOLE + DETERMINISTIC

# modules that bind torch.nn.init's functions by name at import (transformers patches the same)
TORCH_MODULES = ("torch.nn.init", "torch.nn.modules.activation", "torch.nn.modules.transformer",
                 "torch.nn.modules.linear", "torch.nn.modules.loss", "torch.nn.modules.batchnorm",
                 "torch.nn.modules.conv", "torch.nn.modules.normalization",
                 "torch.nn.modules.rnn", "torch.nn.modules.sparse")
HF_MODULE = "transformers.initialization"

_SIGNATURES = {name: inspect.signature(getattr(torch.nn.init, name)) for name in FUNCTIONS}

_local = threading.local()   # .stack: the active interceptors of this thread; .busy: filling
_install_lock = threading.RLock()
_installed = {"count": 0, "slots": []}   # slots: (namespace, key, previous, ours)


# --- the patches: one dispatcher per slot, active only in threads inside a context ----------

def _active():
    stack = getattr(_local, "stack", None)
    if not stack or getattr(_local, "busy", False):
        return None
    return stack


def _dispatcher(fname, fallback):
    """What replaces ``fallback`` (the slot's previous value) while any context is open: it
    serves the calls of the threads inside a context and passes every other one through."""
    def dispatch(tensor, *args, **kwargs):
        stack = _active()
        if stack is None:
            return fallback(tensor, *args, **kwargs)
        return _serve(stack, fname, fallback, tensor, args, kwargs)
    dispatch.__name__ = fname
    dispatch.__qualname__ = f"intercept_init.{fname}"
    dispatch.__doc__ = f"``{fname}`` served by fastinit inside ``intercept_init``."
    dispatch._fastinit_intercept = True
    return dispatch


def _hf_orthogonal(fallback):
    """``transformers.initialization.orthogonal_`` runs torch's QR on a float32 temporary for
    half-precision tensors, which is no parameter; fastinit fills those dtypes itself."""
    def orthogonal_(tensor, gain=1, generator=None):
        stack = _active()
        if stack is None:
            return fallback(tensor, gain=gain, generator=generator)
        if getattr(tensor, "_is_hf_initialized", False):
            return tensor
        return _serve(stack, "orthogonal_", torch.nn.init.orthogonal_, tensor, (gain,),
                      {"generator": generator})
    orthogonal_._fastinit_intercept = True
    return orthogonal_


def _hf_copy(fallback):
    """``transformers.initialization.copy_``: unchanged, but the tensor counts as initialized."""
    def copy_(tensor, other):
        stack = _active()
        if stack is not None and not getattr(tensor, "_is_hf_initialized", False):
            for interceptor in reversed(stack):
                name = interceptor.members.whole_name(tensor)
                if name is not None:
                    interceptor.initialized.add(name)
                    break
        return fallback(tensor, other)
    copy_._fastinit_intercept = True
    return copy_


def _slots():
    """``(namespace, key, replacement factory)`` of every slot to patch now: torch's modules
    that hold the original functions, and transformers' table and wrappers when imported."""
    slots = []
    for mod_name in TORCH_MODULES:
        mod = sys.modules.get(mod_name)
        if mod is None:
            continue
        for fname in FUNCTIONS:
            if callable(getattr(mod, fname, None)):
                slots.append((vars(mod), fname, lambda prev, f=fname: _dispatcher(f, prev)))
    hf = sys.modules.get(HF_MODULE)
    table = getattr(hf, "TORCH_INIT_FUNCTIONS", None)
    if isinstance(table, dict):
        for fname in FUNCTIONS:
            if fname in table:
                slots.append((table, fname, lambda prev, f=fname: _dispatcher(f, prev)))
        if callable(getattr(hf, "orthogonal_", None)):
            slots.append((vars(hf), "orthogonal_", _hf_orthogonal))
        if callable(getattr(hf, "copy_", None)):
            slots.append((vars(hf), "copy_", _hf_copy))
    return slots


def _install():
    with _install_lock:
        _installed["count"] += 1
        if _installed["count"] > 1:
            return
        for namespace, key, factory in _slots():
            previous = namespace[key]
            if getattr(previous, "_fastinit_intercept", False):
                continue  # left by a context of a module imported meanwhile: already ours
            ours = factory(previous)
            namespace[key] = ours
            _installed["slots"].append((namespace, key, previous, ours))


def _uninstall():
    with _install_lock:
        _installed["count"] -= 1
        if _installed["count"] > 0:
            return
        slots, _installed["slots"] = _installed["slots"], []
        for namespace, key, previous, ours in reversed(slots):
            if namespace.get(key) is ours:  # someone else's patch since: theirs to undo
                namespace[key] = previous
        _unpatch_late_imports()


def _unpatch_late_imports():
    """transformers imported inside a context recorded our dispatchers in its table as
    torch's functions: give it torch's own back."""
    table = getattr(sys.modules.get(HF_MODULE), "TORCH_INIT_FUNCTIONS", None)
    if not isinstance(table, dict):
        return
    for fname, fn in list(table.items()):
        if getattr(fn, "_fastinit_intercept", False):
            table[fname] = getattr(torch.nn.init, fname)


# --- the model's tensors ---------------------------------------------------------------------

def _dtensor_type():
    mod = sys.modules.get("torch.distributed.tensor")
    return getattr(mod, "DTensor", None) if mod is not None else None


def _storage_key(t):
    """The identity of the memory ``t`` lives in (its StorageImpl; a DTensor's local shard's),
    the same for every view, ``.data`` and ``detach()`` of it, on the meta device too."""
    dtensor = _dtensor_type()
    if dtensor is not None and isinstance(t, dtensor):
        t = t._local_tensor
    try:
        return t.untyped_storage()._cdata
    except (RuntimeError, NotImplementedError, AttributeError):
        return None


def _footprint(t):
    """``(first, last)`` storage offsets of the elements of a non-empty strided tensor."""
    lo = hi = t.storage_offset()
    for n, s in zip(t.shape, t.stride()):
        if n > 1:
            if s >= 0:
                hi += (n - 1) * s
            else:
                lo += (n - 1) * s
    return lo, hi


class _Members:
    """The parameters and buffers of a module, by the memory they live in; tied tensors under
    their first name (``named_parameters`` order, the name ``save_pretrained`` keeps)."""

    def __init__(self, module):
        self.by_storage = {}
        self.names = {}
        seen = set()
        for named in (module.named_parameters(remove_duplicate=False),
                      module.named_buffers(remove_duplicate=False)):
            for name, t in named:
                if t is None or id(t) in seen:
                    continue
                seen.add(id(t))
                self.names[id(t)] = (name, t)  # the tensor kept: its id stays its own
                key = _storage_key(t)
                if key is not None:
                    self.by_storage.setdefault(key, []).append((name, t))

    def find(self, tensor):
        """``(name, member)`` whose memory holds ``tensor``'s elements, or ``None``."""
        known = self.names.get(id(tensor))
        if known is not None and known[1] is tensor:
            return known
        candidates = self.by_storage.get(_storage_key(tensor))
        if not candidates:
            return None
        if len(candidates) == 1 or tensor.numel() == 0:
            return candidates[0]
        lo, hi = _footprint(_local_of(tensor))
        for name, member in candidates:
            mlo, mhi = _footprint(_local_of(member))
            if mlo <= lo and hi <= mhi:
                return name, member
        return None

    def whole_name(self, tensor):
        """The name of the member that ``tensor`` is all of, else ``None``."""
        found = self.find(tensor)
        if found is None or not _is_whole(tensor, found[1]):
            return None
        return found[0]


def _local_of(t):
    dtensor = _dtensor_type()
    return t._local_tensor if dtensor is not None and isinstance(t, dtensor) else t


def _is_whole(view, member):
    """Whether ``view`` is the member itself, or ``.data``/``detach()`` of it."""
    if view is member:
        return True
    dtensor = _dtensor_type()
    if dtensor is not None and isinstance(view, dtensor) != isinstance(member, dtensor):
        return False
    a, b = _local_of(view), _local_of(member)
    return (a.shape == b.shape and a.stride() == b.stride()
            and a.storage_offset() == b.storage_offset() and view.shape == member.shape)


# --- serving one call ------------------------------------------------------------------------

def _describe(tensor):
    kind = type(tensor).__name__
    return f"a {kind} of shape {tuple(tensor.shape)} and dtype {tensor.dtype}"


def _serve(stack, fname, fallback, tensor, args, kwargs):
    """Serve one call inside a context: the innermost interceptor whose module owns the tensor
    fills it; a tensor that none owns goes to ``fallback`` or, if the innermost is strict, is
    an error naming it."""
    if isinstance(tensor, torch.Tensor):
        for interceptor in reversed(stack):
            found = interceptor.members.find(tensor)
            if found is not None:
                return interceptor.fill(fname, tensor, found, args, kwargs)
    innermost = stack[-1]
    if innermost.strict:
        raise ValueError(
            f"intercept_init: torch.nn.init.{fname} was called on {_describe(tensor)} that is "
            f"no parameter or buffer of {type(innermost.module).__name__} (nor a view of one); "
            f"intercept_init(..., strict=False) passes such tensors to torch")
    _local.busy = True
    try:
        return fallback(tensor, *args, **kwargs)
    finally:
        _local.busy = False


class _Interceptor:
    """One open context: the module's members, the seed, and what was initialized."""

    def __init__(self, module, seed, strict):
        self.module, self.seed, self.strict = module, seed, strict
        self.members = _Members(module)
        self.initialized = set()  # names filled whole (some call covered every element)

    def fill(self, fname, tensor, found, args, kwargs):
        name, member = found
        bound = _SIGNATURES[fname].bind(tensor, *args, **kwargs)
        bound.apply_defaults()
        params = dict(bound.arguments)
        del params["tensor"]
        params.pop("generator", None)  # the context's seed replaces torch's RNG
        if tensor.is_meta:
            return tensor  # nothing to write; a meta model is initialized once materialized
        whole = _is_whole(tensor, member)
        _local.busy = True
        try:
            with torch.no_grad():
                if whole:
                    self._fill_whole(fname, tensor, name, params)
                else:
                    self._fill_view(fname, tensor, name, member, params)
        finally:
            _local.busy = False
        if whole:
            self.initialized.add(name)
        return tensor

    def _random_kwargs(self, stream):
        return {"seed": self.seed, "stream": stream}

    def _fill_whole(self, fname, tensor, name, params):
        fn = getattr(_drop_ins, fname)
        if fname in DETERMINISTIC:
            fn(tensor, **params)
        else:
            fn(tensor, **params, **self._random_kwargs(stream_of(name)))

    def _fill_view(self, fname, view, name, member, params):
        if _dtensor_type() is not None and isinstance(view, _dtensor_type()):
            raise ValueError(f"intercept_init: torch.nn.init.{fname} on a view of the DTensor "
                             f"{name!r} is not supported: give the whole parameter")
        if fname in DETERMINISTIC:
            getattr(_drop_ins, fname)(view, **params)
            return
        region = _region_of(view, member)
        if fname in RANDOM_WHOLE:
            label = _region_text(region) if region is not None else _strides_text(view, member)
            getattr(_drop_ins, fname)(view, **params,
                                      **self._random_kwargs(stream_of(f"{name}{label}")))
            return
        law = _law(fname, view, params)
        if law is None:
            return  # a zero-element view: torch warns (done) and writes nothing
        stream = stream_of(name)
        if region is not None:
            target, reg = region
            _fill_law(law, target, self.seed, stream, tuple(member.shape), reg)
        else:
            _fill_through_whole(law, view, member, self.seed, stream)


def _law(fname, tensor, p):
    """The call's law as ``(kind, args)``: torch's own fans and gains for the fan-based
    initializers, from the tensor as passed (a view's own shape, as in torch)."""
    if fname == "uniform_":
        return "uniform_", (p["a"], p["b"])
    if fname == "normal_":
        return "normal_", (p["mean"], p["std"])
    if fname == "trunc_normal_":
        return "trunc_normal_", (p["mean"], p["std"], p["a"], p["b"])
    if fname.startswith("xavier_"):
        fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(tensor)
        std = p["gain"] * math.sqrt(2.0 / float(fan_in + fan_out))
        if fname == "xavier_normal_":
            return "normal_", (0.0, std)
        return "uniform_", (-math.sqrt(3.0) * std, math.sqrt(3.0) * std)
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=6)
        return None
    fan = torch.nn.init._calculate_correct_fan(tensor, p["mode"])
    std = torch.nn.init.calculate_gain(p["nonlinearity"], p["a"]) / math.sqrt(fan)
    if fname == "kaiming_normal_":
        return "normal_", (0.0, std)
    return "uniform_", (-math.sqrt(3.0) * std, math.sqrt(3.0) * std)


def _fill_law(law, target, seed, stream, shape, region):
    kind, args = law
    getattr(_drop_ins, kind)(target, *args, seed=seed, stream=stream, shape=shape,
                             region=region)


def _fill_through_whole(law, view, member, seed, stream):
    """A view that is no block of the member: fill a temporary laid out as the member from its
    stream and copy the view's elements over."""
    if not _dense(member):
        raise ValueError(f"intercept_init: cannot locate the view of shape {tuple(view.shape)} "
                         f"and strides {view.stride()} in a parameter whose elements are not "
                         f"contiguous in memory (strides {member.stride()})")
    tmp = torch.empty_strided(member.shape, member.stride(), dtype=member.dtype,
                              device=member.device)
    _fill_law(law, tmp, seed, stream, None, None)
    offset = view.storage_offset() - member.storage_offset()
    view.copy_(tmp.as_strided(view.shape, view.stride(), tmp.storage_offset() + offset))


def _dense(t):
    """Whether the elements of ``t`` fill a block of memory without gaps or overlaps."""
    dims = sorted((s, n) for n, s in zip(t.shape, t.stride()) if n > 1)
    expected = 1
    for s, n in dims:
        if s != expected:
            return False
        expected *= n
    return True


def _region_of(view, member):
    """``(target, region)`` when ``view`` is a rectangular block of ``member``: ``region`` the
    block as slices of the member's shape and ``target`` the same memory seen in the member's
    dimension order (so the block's element ``i`` lands where the region contract puts it);
    ``None`` for any other view."""
    if not _dense(member) or view.numel() == 0:
        return None
    shape, strides = tuple(member.shape), member.stride()
    rel = view.storage_offset() - member.storage_offset()
    start = [0] * len(shape)
    for d in sorted(range(len(shape)), key=lambda d: -strides[d]):
        if shape[d] > 1:
            start[d], rel = divmod(rel, strides[d])
    if rel != 0 or any(s >= n for s, n in zip(start, shape) if n > 0):
        return None
    extent = [1] * len(shape)
    for n, s in zip(view.shape, view.stride()):
        if n == 1:
            continue
        dims = [d for d in range(len(shape))
                if shape[d] > 1 and strides[d] == s and extent[d] == 1]
        if len(dims) != 1 or start[dims[0]] + n > shape[dims[0]]:
            return None
        extent[dims[0]] = n
    region = tuple(slice(a, a + e) for a, e in zip(start, extent))
    target = view.detach().as_strided(extent, strides, view.storage_offset())
    return target, region


def _region_text(region):
    return "[" + ", ".join(f"{s.start}:{s.stop}" for s in region[1]) + "]"


def _strides_text(view, member):
    offset = view.storage_offset() - member.storage_offset()
    return f"@{offset}{tuple(view.shape)}{tuple(view.stride())}"


# --- the context manager ---------------------------------------------------------------------

def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
        raise ValueError(f"seed must be an int in [0, 2**64), got {seed!r}")
    return seed


@contextlib.contextmanager
def intercept_init(module, *, seed=0, strict=True):
    """Run ``module``'s own initialization code on fastinit's kernels.

    Inside the ``with`` block, every call of a ``torch.nn.init`` function (``normal_``,
    ``trunc_normal_``, ``xavier_uniform_``, ``kaiming_uniform_``, ``zeros_``, ``orthogonal_``,
    ...; also through the wrappers of ``transformers.initialization``) on a parameter or buffer
    of ``module`` is served by :mod:`fastinit.torch` with ``seed`` and the stream
    :func:`fastinit.stream_of` of the tensor's qualified name. The result does not depend on the
    order of the calls, on which other tensors were initialized, or on the process: a
    ``DTensor`` parameter is filled shard by shard with the values of the whole tensor, so
    FSDP, tensor or pipeline parallel layouts all get the single-process initialization.

    A view of a parameter (``w[padding_idx]``, ``w[:, :k]``, ``w.data``) gets exactly the
    values the whole parameter's stream has at those indices (see the module docstring for
    the rules of views). Tied tensors use their first name in ``named_parameters()``.

    Parameters
    ----------
    module : torch.nn.Module
        The model whose parameters and buffers are served (by the memory they live in, so
        ``.data``, ``detach()`` and views count).
    seed : int
        In [0, 2**64): the Philox key of every tensor.
    strict : bool
        With ``True`` a call on a tensor that belongs to no parameter or buffer of ``module``
        raises ``ValueError`` naming it (the block's effects so far stay); with ``False`` it
        goes to the original function (torch's RNG).

    Yields
    ------
    set of str
        The names of the tensors that some call filled whole (grows as the block runs).

    Notes
    -----
    The functions are patched where torch's modules and ``transformers.initialization`` hold
    them, for the time of the block; a name bound elsewhere by ``from torch.nn.init import
    normal_`` before the block is not reached, nor are tensor methods (``w.normal_()``).
    Calls from other threads go to the original functions. Everything is restored on exit,
    also after an exception. Contexts nest; the innermost whose module owns the tensor serves.

    Examples
    --------
    >>> with torch.device("meta"):
    ...     model = Transformer(args)
    >>> model.to_empty(device="cpu")
    >>> with fastinit.torch.intercept_init(model, seed=0):
    ...     model.init_weights()
    """
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    interceptor = _Interceptor(module, _check_seed(seed), bool(strict))
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    _install()
    stack.append(interceptor)
    try:
        yield interceptor.initialized
    finally:
        stack.remove(interceptor)
        _uninstall()
