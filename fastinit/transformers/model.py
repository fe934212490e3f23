"""``from_config`` and ``init_weights``: a transformers model initialized by its own code on
fastinit's kernels."""
import copy
import warnings

import torch

from ..torch.intercept import intercept_init
from ..torch.materialize import _allocate, _check_seed, _tensors


def import_transformers():
    """transformers, or an ImportError that says how to install it."""
    try:
        import transformers
        import transformers.initialization  # noqa: F401 - its table must exist to be patched
    except ImportError as e:
        raise ImportError(f"fastinit.transformers needs transformers 5 (pip install "
                          f"'fastinit[transformers]'): {e}") from e
    return transformers


def build_meta(config, dtype=None, model_class=None):
    """The model of ``config`` on the meta device (no storage, no init): ``model_class``'s
    ``from_config`` (an auto class; default ``AutoModelForCausalLM``) or ``_from_config`` (a
    model class), as transformers builds it, with ``config`` left unchanged."""
    transformers = import_transformers()
    cls = transformers.AutoModelForCausalLM if model_class is None else model_class
    kwargs = {} if dtype is None else {"dtype": _torch_dtype(dtype)}
    config = copy.deepcopy(config)
    with torch.device("meta"):
        if hasattr(cls, "_from_config"):
            model = cls._from_config(config, **kwargs)
        else:
            model = cls.from_config(config, **kwargs)
        model.tie_weights()  # transformers 5.0 leaves a model built on meta untied
    return model


def _torch_dtype(dtype):
    if isinstance(dtype, str):
        value = getattr(torch, dtype, None)
        if not isinstance(value, torch.dtype):
            raise ValueError(f"dtype must be a torch dtype or its name, got {dtype!r}")
        return value
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch dtype or its name, got {dtype!r}")
    return dtype


def clear_init_flags(model):
    """Forget transformers' ``_is_hf_initialized`` marks (modules and tensors), so that its
    ``initialize_weights`` visits everything again."""
    for module in model.modules():
        module.__dict__.pop("_is_hf_initialized", None)
    for t in list(model.parameters()) + list(model.buffers()):
        if "_is_hf_initialized" in getattr(t, "__dict__", {}):
            del t._is_hf_initialized


def run_own_init(model, seed):
    """The model's ``init_weights`` (``_init_weights`` on every module, then the ties) under
    :func:`intercept_init`; returns the names filled whole."""
    with intercept_init(model, seed=seed, strict=True) as filled:
        model.initialize_weights()
        model.tie_weights()
    return set(filled)


def _warn_unfilled(model, filled):
    """Name the parameters and persistent buffers no init call covered whole: their values are
    whatever the memory held."""
    entries, aliases = _tensors(model)
    persistent = set(model.state_dict(keep_vars=True))
    missing = [name for name in entries
               if name in persistent and name not in filled
               and not any(a in filled for a in aliases.get(name, []))]
    if missing:
        shown = ", ".join(missing[:8]) + (" ..." if len(missing) > 8 else "")
        warnings.warn(f"{type(model).__name__}'s init code did not initialize {shown} through "
                      f"torch.nn.init or transformers.initialization: their values are "
                      f"undefined", RuntimeWarning, stacklevel=3)


def init_weights(model, *, seed=0):
    """Re-initialize an existing transformers model by its own code on fastinit's kernels.

    Runs what ``model.init_weights()`` runs (the model's ``_init_weights`` on every module,
    non-persistent buffers such as rotary ``inv_freq``, then ``tie_weights``) under
    :func:`fastinit.torch.intercept_init`, after clearing the ``_is_hf_initialized`` marks so
    that every tensor is visited (loaded weights included). Each tensor gets ``seed`` and the
    stream :func:`fastinit.stream_of` of its name, so the bits equal those of
    :func:`from_config` for the same config, seed and dtype.

    Parameters
    ----------
    model : transformers.PreTrainedModel
        With storage (no tensor on the meta device).
    seed : int
        In [0, 2**64).

    Returns
    -------
    transformers.PreTrainedModel
        ``model``, initialized in place.
    """
    import_transformers()
    seed = _check_seed(seed)
    if not hasattr(model, "initialize_weights"):
        raise TypeError(f"model must be a transformers PreTrainedModel, got "
                        f"{type(model).__name__}")
    meta = [n for n, t in list(model.named_parameters()) + list(model.named_buffers())
            if t.is_meta]
    if meta:
        raise ValueError(f"init_weights needs storage, but {', '.join(meta[:5])} are on the "
                         f"meta device: use from_config, or model.to_empty(device=...) first")
    clear_init_flags(model)
    _warn_unfilled(model, run_own_init(model, seed))
    return model


def from_config(config, *, seed=0, dtype=None, device="cpu", model_class=None):
    """``AutoModelForCausalLM.from_config(config)`` initialized on fastinit's kernels.

    The model is built on the meta device (no memory, no init), given storage on ``device``
    once (``to_empty``, ties kept), then initialized by its own code, as transformers'
    ``from_pretrained`` initializes missing weights: ``_init_weights`` on every module, the
    non-persistent buffers (rotary ``inv_freq``, ``position_ids``), the tied weights and the
    ``_is_hf_initialized`` marks, all under :func:`fastinit.torch.intercept_init`. Any
    architecture transformers builds works, without rules.

    The result has the class, parameter and buffer names, shapes, dtypes, ties and training
    mode of ``AutoModelForCausalLM.from_config(config, dtype=dtype)``; constant tensors are
    equal and random ones have the same law, with fastinit's values: each tensor from ``seed``
    and the stream :func:`fastinit.stream_of` of its name (tied tensors: the first name,
    the one ``save_pretrained`` keeps).

    Parameters
    ----------
    config : transformers.PretrainedConfig
        Left unchanged (the model gets a copy).
    seed : int
        In [0, 2**64).
    dtype : torch.dtype or str, optional
        As transformers' ``dtype=`` (default: the config's, else float32).
    device : str or torch.device
        Where the storage goes.
    model_class : class, optional
        An auto class (``AutoModel``, ``AutoModelForSeq2SeqLM``, ...) or a model class
        (``LlamaForCausalLM``); default ``AutoModelForCausalLM``.

    Returns
    -------
    transformers.PreTrainedModel

    Examples
    --------
    >>> from transformers import LlamaConfig
    >>> config = LlamaConfig(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22,
    ...                      num_attention_heads=32, num_key_value_heads=4)
    >>> model = fastinit.transformers.from_config(config, seed=0, dtype="bfloat16")
    """
    seed = _check_seed(seed)
    model = build_meta(config, dtype, model_class)
    entries, aliases = _tensors(model)
    _allocate(model, entries, aliases, device, None)
    model.tie_weights()  # transformers' own ties, after to_empty gave every alias a copy
    _warn_unfilled(model, run_own_init(model, seed))
    return model
