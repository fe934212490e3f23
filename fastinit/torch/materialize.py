"""``materialize``: give a model built on the meta device real storage and initialize it with
fastinit's kernels, exactly as each layer's own ``reset_parameters`` does (or by rules), or
from a pre-trained checkpoint."""
import dataclasses
import fnmatch
import numbers
import re

import torch
from torch import nn

from ..streams import stream_of  # the package's one name-to-stream rule (SHA-256)
from . import init
from .layers import SUPPORTED, layer_specs
from .pretrained import Checkpoint


@dataclasses.dataclass
class MaterializeReport:
    """What :func:`materialize` did, by qualified name.

    Attributes
    ----------
    loaded : list of str
        Copied from ``pretrained``.
    initialized : list of str
        Filled by a rule or by the layer's default initialization.
    unexpected : list of str
        Names in ``pretrained`` that the model does not have (not read).
    skipped : dict of str to str
        Names in ``pretrained`` whose shape or dtype did not match (``strict=False``), with the
        reason; these were initialized instead.
    """
    loaded: list = dataclasses.field(default_factory=list)
    initialized: list = dataclasses.field(default_factory=list)
    unexpected: list = dataclasses.field(default_factory=list)
    skipped: dict = dataclasses.field(default_factory=dict)


# --- rules ---------------------------------------------------------------------------------

_DEFAULT = "default"


def _resolve_spec(spec, pattern):
    """A rule's initializer as ``spec(tensor, seed, stream)``, or the marker for the default."""
    if spec == _DEFAULT:
        return _DEFAULT
    kwargs = {}
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str):
        spec, kwargs = spec
        kwargs = dict(kwargs)
    if isinstance(spec, str):
        fname = spec if spec.endswith("_") else spec + "_"
        if fname not in init.__all__ or fname in ("calculate_gain", "draw_seed"):
            raise ValueError(f"rules: unknown initializer {spec!r} for pattern {pattern!r}; use "
                             f"a name of fastinit.torch (e.g. 'normal_') or a callable")
        fn = getattr(init, fname)
        takes_seed = fname not in ("constant_", "ones_", "zeros_", "eye_", "dirac_")

        def named(t, seed, stream):
            if takes_seed:
                fn(t, **kwargs, seed=seed, stream=stream)
            else:
                fn(t, **kwargs)
        return named
    if callable(spec):
        if kwargs:
            raise TypeError(f"rules: a callable takes no kwargs tuple (pattern {pattern!r})")
        return lambda t, seed, stream: spec(t, seed=seed, stream=stream)
    raise TypeError(f"rules: the initializer for pattern {pattern!r} must be a callable, a name "
                    f"of fastinit.torch, a (name, kwargs) pair or 'default', got {spec!r}")


def _compile_rules(rules):
    """A list of ``(matches(name, owner_module), spec)`` in the user's order."""
    if rules is None:
        return []
    items = list(rules.items()) if isinstance(rules, dict) else list(rules)
    compiled = []
    for item in items:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise TypeError(f"rules must be a dict or a list of (pattern, initializer) pairs, "
                            f"got {item!r}")
        pattern, spec = item
        if isinstance(pattern, str):
            def match(name, owner, p=pattern):
                return fnmatch.fnmatchcase(name, p)
        elif isinstance(pattern, re.Pattern):
            def match(name, owner, p=pattern):
                return p.fullmatch(name) is not None
        elif isinstance(pattern, type) and issubclass(pattern, nn.Module):
            def match(name, owner, p=pattern):
                return isinstance(owner, p)
        else:
            raise TypeError(f"rules: a pattern must be a glob string, a compiled regex or an "
                            f"nn.Module subclass, got {pattern!r}")
        compiled.append((match, _resolve_spec(spec, pattern)))
    return compiled


# --- the model's tensors -------------------------------------------------------------------

def _tensors(module):
    """``{name: (owner module, leaf name, is_param)}`` with tied tensors under their first
    name, and ``{first name: [alias names]}``."""
    entries, aliases, first_of = {}, {}, {}
    for mod_name, mod in module.named_modules(remove_duplicate=False):
        for is_param, table in ((True, mod._parameters), (False, mod._buffers)):
            for leaf, t in table.items():
                if t is None:
                    continue
                name = f"{mod_name}.{leaf}" if mod_name else leaf
                if id(t) in first_of:
                    if name != first_of[id(t)]:
                        aliases.setdefault(first_of[id(t)], []).append(name)
                    continue
                first_of[id(t)] = name
                entries[name] = (mod, leaf, is_param)
    for k in aliases:
        aliases[k] = sorted(set(aliases[k]))
    return entries, aliases


def _default_specs(module):
    """``{name: spec}`` from the layers' reset code; an ancestor's (MultiheadAttention's
    out_proj bias, Transformer's xavier) wins over a child's."""
    specs = {}
    for mod_name, mod in module.named_modules():
        own = layer_specs(mod)
        if own is None:
            continue
        for rel, spec in own.items():
            name = f"{mod_name}.{rel}" if mod_name else rel
            specs.setdefault(name, spec)
    return specs


def _check_seed(seed):
    """``seed`` as an int, or a ValueError naming it unless it is an int in [0, 2**64)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**64:
        raise ValueError(f"seed must be an int in [0, 2**64), got {seed!r}")
    return int(seed)


def materialize(module, seed=0, device="cpu", dtype=None, rules=None, pretrained=None,
                strict=True, *, prefix=""):
    """Give every parameter and buffer of ``module`` real storage and initialize it.

    The model is usually built on the meta device (``with torch.device("meta"): model =
    Model()``), which costs no memory and no time. ``materialize`` then allocates each tensor
    once (``module.to_empty(device=device)``, ties kept) and fills it with fastinit's kernels:

    1. from ``pretrained`` when it holds the tensor (shape and dtype checked);
    2. else by the first of ``rules`` whose pattern matches;
    3. else as the layer's own ``reset_parameters`` does (``nn.Linear``, ``nn.Bilinear``,
       ``Conv{1,2,3}d`` and ``ConvTranspose{1,2,3}d``, ``nn.Embedding``, ``nn.EmbeddingBag``,
       ``nn.LayerNorm``, ``nn.RMSNorm``, ``nn.GroupNorm``, batch and instance norms (running
       stats included), ``nn.MultiheadAttention``, ``nn.RNN``/``LSTM``/``GRU`` and their cells,
       ``nn.PReLU``, ``nn.Transformer``), formulas and fans as in torch: for example
       ``nn.Linear``: ``kaiming_uniform_(w, a=sqrt(5))``, i.e. :math:`U(-1/\\sqrt{\\text{fan\\_in}},
       1/\\sqrt{\\text{fan\\_in}})` for the weight and the bias.

    A tensor that none of these covers (a module type not listed, or a subclass that overrides
    its reset method) is an error that names it, raised before anything is allocated.

    Every random tensor uses ``seed`` and the stream :func:`stream_of` of its qualified name
    (``prefix + name``): its values depend on nothing else, so materializing a model whole or
    in parts (``materialize(model.layers[3], prefix="layers.3.")``), in any order, on any
    rank, gives the same bits.

    Parameters
    ----------
    module : torch.nn.Module
    seed : int
        In [0, 2**64): the Philox key of every tensor.
    device : str, torch.device or None
        Where the storage goes (``"cpu"``; CUDA when fastinit's CUDA backend is installed).
        ``None`` keeps the storage the tensors already have and re-initializes them in place
        (none may be on the meta device).
    dtype : torch.dtype, optional
        Cast the floating-point tensors to this dtype (on the meta device, before allocating).
    rules : dict or list of (pattern, initializer), optional
        ``pattern``: a glob on the qualified name (``"*.weight"``, ``fnmatch``), a compiled
        regex (``fullmatch``) or an ``nn.Module`` subclass (tensors owned directly by modules
        of that type). ``initializer``: a callable ``f(tensor, *, seed, stream)`` (e.g.
        ``functools.partial(fastinit.torch.normal_, std=0.02)``), a name of
        ``fastinit.torch`` (``"zeros_"``), a ``(name, kwargs)`` pair (``("normal_", {"std":
        0.02})``) or ``"default"`` (the layer's own). The first matching rule wins.
    pretrained : str, os.PathLike, list of those, or dict of str to tensor, optional
        safetensors file(s) (memory-mapped; only the tensors the model needs are read) or a
        state-dict-like mapping.
    strict : bool
        With ``strict=True`` a checkpoint tensor whose shape or dtype differs from the model's
        is an error naming it; with ``strict=False`` it is skipped, reported and initialized.
    prefix : str
        Prepended to every name for streams, rules and checkpoint look-ups (to materialize a
        part of a bigger model).

    Returns
    -------
    MaterializeReport
        ``loaded``, ``initialized``, ``unexpected`` and ``skipped`` names.

    Examples
    --------
    >>> with torch.device("meta"):
    ...     model = torch.nn.Sequential(torch.nn.Linear(4096, 4096), torch.nn.LayerNorm(4096))
    >>> report = fastinit.torch.materialize(model, seed=0)
    """
    seed = _check_args(module, seed, dtype, prefix)
    compiled = _compile_rules(rules)
    entries, aliases = _tensors(module)
    defaults = _default_specs(module)
    report = MaterializeReport()
    ckpt = Checkpoint(pretrained) if pretrained is not None else None
    try:
        # every check (checkpoint shapes, uncovered tensors, device) runs before allocating
        load_from = {} if ckpt is None else _checkpoint_plan(
            ckpt, entries, aliases, dtype, strict, prefix, report)
        plan = _init_plan(entries, aliases, load_from, compiled, defaults, prefix)
        _allocate(module, entries, aliases, device, dtype)
        _load(ckpt, entries, load_from, prefix, report)
        _initialize(entries, plan, seed, prefix, report)
    finally:
        if ckpt is not None:
            ckpt.close()
    return report


# --- the steps of materialize --------------------------------------------------------------

def _check_args(module, seed, dtype, prefix):
    """Check ``module``, ``dtype`` and ``prefix``, and return ``seed`` checked."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    seed = _check_seed(seed)
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str, got {prefix!r}")
    return seed


def _final_dtype(t, dtype):
    """The dtype tensor ``t`` has once materialized: ``dtype`` if given and ``t`` is float."""
    return dtype if dtype is not None and t.is_floating_point() else t.dtype


def _checkpoint_plan(ckpt, entries, aliases, dtype, strict, prefix, report):
    """``{name: checkpoint key}`` of the tensors to load, shapes and dtypes checked; unexpected
    and (``strict=False``) mismatched keys go to ``report``."""
    wanted = {}
    for name in entries:
        for alias in [name] + aliases.get(name, []):
            wanted[prefix + alias] = name
    load_from = {}
    for key in ckpt.names():
        name = wanted.get(key)
        if name is None:
            report.unexpected.append(key)
            continue
        if name in load_from:
            continue
        owner, leaf, _ = entries[name]
        t = getattr(owner, leaf)
        shape, dt = ckpt.shape_dtype(key)
        want = (tuple(t.shape), _final_dtype(t, dtype))
        if (shape, dt) != want:
            reason = (f"checkpoint has shape {shape} dtype {dt}, the model "
                      f"{want[0]} dtype {want[1]}")
            if strict:
                raise ValueError(f"pretrained tensor {key!r}: {reason} (strict=False "
                                 f"skips it and initializes it instead)")
            report.skipped[key] = reason
            continue
        load_from[name] = key
    return load_from


def _init_plan(entries, aliases, load_from, compiled, defaults, prefix):
    """``{name: initializer}`` for every tensor not loaded: the first matching rule, else the
    layer's default; an error naming every tensor that neither covers."""
    plan, uncovered = {}, []
    for name, (owner, leaf, _) in entries.items():
        if name in load_from:
            continue
        spec = None
        for match, rule_spec in compiled:
            if any(match(prefix + n, owner) for n in [name] + aliases.get(name, [])):
                spec = rule_spec
                break
        if spec is None or spec == _DEFAULT:
            spec = defaults.get(name)
        if spec is None:
            uncovered.append(f"{prefix + name} ({type(owner).__name__})")
            continue
        plan[name] = spec
    if uncovered:
        raise ValueError(
            "materialize does not know how to initialize " + ", ".join(uncovered) +
            ": these module types have no written-out default (supported: " +
            ", ".join(SUPPORTED) + "); give rules= for them, e.g. {'" +
            uncovered[0].split(" ")[0] + "': ('normal_', {'std': 0.02})}")
    return plan


def _allocate(module, entries, aliases, device, dtype):
    """Give the tensors storage once, in the final dtype (``device=None``: keep theirs); tied
    tensors stay tied."""
    if device is None:
        meta = [name for name, (owner, leaf, _) in entries.items()
                if getattr(owner, leaf).is_meta]
        if meta:
            raise ValueError(f"device=None re-initializes existing storage, but "
                             f"{', '.join(meta[:5])} are on the meta device")
    if dtype is not None:
        module.to(dtype=dtype)
    if device is not None:
        module.to_empty(device=device)
    _retie(module, entries, aliases)


def _load(ckpt, entries, load_from, prefix, report):
    """Copy the planned tensors from the checkpoint into the model."""
    with torch.no_grad():
        for name, key in load_from.items():
            owner, leaf, _ = entries[name]
            getattr(owner, leaf).copy_(ckpt.load(key))
            report.loaded.append(prefix + name)


def _initialize(entries, plan, seed, prefix, report):
    """Fill every planned tensor with ``seed`` and the stream of its qualified name."""
    for name, spec in plan.items():
        owner, leaf, _ = entries[name]
        spec(getattr(owner, leaf), seed, stream_of(prefix + name))
        report.initialized.append(prefix + name)


def _retie(module, entries, aliases):
    """Point every alias of a tied tensor at the first name's (new) tensor again:
    ``to_empty`` gives each module its own copy."""
    owners = dict(module.named_modules(remove_duplicate=False))
    for name, alias_names in aliases.items():
        owner, leaf, is_param = entries[name]
        t = getattr(owner, leaf)
        for alias in alias_names:
            mod_name, _, alias_leaf = alias.rpartition(".")
            table = owners[mod_name]._parameters if is_param else owners[mod_name]._buffers
            table[alias_leaf] = t
