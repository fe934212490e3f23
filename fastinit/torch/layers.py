"""The default initialization of each supported ``torch.nn`` layer, written out from torch's
own ``reset_parameters`` (torch 2.x), with the fans torch computes.

A *spec* is a callable ``spec(tensor, seed, stream)`` that fills a tensor that has storage.
``layer_specs(module)`` returns ``{name relative to module: spec}`` for the tensors the module's
reset code writes (its own, and for a few containers those of its children), or ``None`` when
the module's type is not one whose reset code is written out here. A subclass that overrides
the reset method is *not* recognised: its formula may differ.
"""
import math

import torch
from torch import nn

from . import init


def _fan_in(shape):
    """``torch.nn.init._calculate_fan_in_and_fan_out(w)[0]`` for a weight of ``shape``."""
    receptive = 1
    for s in shape[2:]:
        receptive *= s
    return shape[1] * receptive


def uniform_spec(low, high):
    def spec(t, seed, stream):
        init.uniform_(t, low, high, seed=seed, stream=stream)
    return spec


def normal_spec(mean, std):
    def spec(t, seed, stream):
        init.normal_(t, mean, std, seed=seed, stream=stream)
    return spec


def constant_spec(value):
    def spec(t, seed, stream):
        init.constant_(t, value)
    return spec


def _kaiming_sqrt5(t, seed, stream):
    init.kaiming_uniform_(t, a=math.sqrt(5), seed=seed, stream=stream)


def _xavier_uniform(t, seed, stream):
    init.xavier_uniform_(t, seed=seed, stream=stream)


def _xavier_normal(t, seed, stream):
    init.xavier_normal_(t, seed=seed, stream=stream)


def _linear_like(m):
    """``nn.Linear`` and ``_ConvNd``: kaiming_uniform_(w, a=sqrt(5)); bias U(-1/sqrt(fan_in),
    1/sqrt(fan_in)) with torch's fan_in of the weight (0 when fan_in is 0)."""
    specs = {"weight": _kaiming_sqrt5}
    if m.bias is not None:
        fan_in = _fan_in(tuple(m.weight.shape))
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
        specs["bias"] = uniform_spec(-bound, bound)
    return specs


def _bilinear(m):
    if m.in1_features <= 0:
        raise ValueError(f"in1_features must be > 0, but got (in1_features={m.in1_features})")
    bound = 1 / math.sqrt(m.weight.size(1))
    specs = {"weight": uniform_spec(-bound, bound)}
    if m.bias is not None:
        specs["bias"] = uniform_spec(-bound, bound)
    return specs


def _embedding(m):
    """N(0, 1), then the ``padding_idx`` row zeroed."""
    padding_idx = m.padding_idx

    def spec(t, seed, stream):
        init.normal_(t, seed=seed, stream=stream)
        if padding_idx is not None:
            with torch.no_grad():
                t[padding_idx].fill_(0)
    return {"weight": spec}


def _affine_norm(m, flag):
    """LayerNorm / GroupNorm / RMSNorm / batch and instance norms: weight 1, bias 0."""
    specs = {}
    if getattr(m, flag):
        if m.weight is not None:
            specs["weight"] = constant_spec(1.0)
        if getattr(m, "bias", None) is not None:
            specs["bias"] = constant_spec(0.0)
    return specs


def _norm_base(m):
    specs = _affine_norm(m, "affine")
    if m.track_running_stats:  # reset_running_stats
        for name, value in (("running_mean", 0.0), ("running_var", 1.0),
                            ("num_batches_tracked", 0)):
            if getattr(m, name, None) is not None:
                specs[name] = constant_spec(value)
    return specs


def _mha(m):
    """MultiheadAttention._reset_parameters (its out_proj was reset as an ``nn.Linear``
    first, then its bias zeroed)."""
    if m._qkv_same_embed_dim:
        specs = {"in_proj_weight": _xavier_uniform}
    else:
        specs = {n: _xavier_uniform for n in ("q_proj_weight", "k_proj_weight", "v_proj_weight")}
    specs["out_proj.weight"] = _kaiming_sqrt5
    if m.in_proj_bias is not None:
        specs["in_proj_bias"] = constant_spec(0.0)
        if m.out_proj.bias is not None:
            specs["out_proj.bias"] = constant_spec(0.0)
    elif m.out_proj.bias is not None:
        specs.update({f"out_proj.{k}": v for k, v in _linear_like(m.out_proj).items()
                      if k == "bias"})
    if m.bias_k is not None:
        specs["bias_k"] = _xavier_normal
    if m.bias_v is not None:
        specs["bias_v"] = _xavier_normal
    return specs


def _rnn(m):
    """RNNBase and RNNCellBase: every parameter U(-1/sqrt(hidden), 1/sqrt(hidden))."""
    stdv = 1.0 / math.sqrt(m.hidden_size) if m.hidden_size > 0 else 0
    return {name: uniform_spec(-stdv, stdv) for name, _ in m.named_parameters(recurse=False)}


def _transformer(m):
    """nn.Transformer._reset_parameters: xavier_uniform_ on every parameter with dim > 1,
    over the children's own defaults."""
    return {name: _xavier_uniform for name, p in m.named_parameters() if p.dim() > 1}


def _prelu(m):
    return {"weight": constant_spec(m.init)}


# (base class, name of its reset method, spec builder): a module is recognised when it is an
# instance of the base and its reset method is the base's own
_LAYERS = [
    (nn.Linear, "reset_parameters", _linear_like),
    (nn.modules.conv._ConvNd, "reset_parameters", _linear_like),
    (nn.Bilinear, "reset_parameters", _bilinear),
    (nn.Embedding, "reset_parameters", _embedding),
    (nn.EmbeddingBag, "reset_parameters", _embedding),
    (nn.LayerNorm, "reset_parameters", lambda m: _affine_norm(m, "elementwise_affine")),
    (nn.GroupNorm, "reset_parameters", lambda m: _affine_norm(m, "affine")),
    (nn.modules.batchnorm._NormBase, "reset_parameters", _norm_base),
    (nn.MultiheadAttention, "_reset_parameters", _mha),
    (nn.RNNBase, "reset_parameters", _rnn),
    (nn.RNNCellBase, "reset_parameters", _rnn),
    (nn.Transformer, "_reset_parameters", _transformer),
    (nn.PReLU, "reset_parameters", _prelu),
]
if hasattr(nn, "RMSNorm"):  # torch >= 2.4
    _LAYERS.append((nn.RMSNorm, "reset_parameters", lambda m: _affine_norm(m, "elementwise_affine")))

SUPPORTED = tuple(base.__name__ for base, _, _ in _LAYERS)


def layer_specs(module):
    """``{relative name: spec}`` of ``module``'s default initialization, or None."""
    if isinstance(module, nn.modules.lazy.LazyModuleMixin):
        return None  # uninitialized parameters: nothing to materialize yet
    for base, method, build in _LAYERS:
        if isinstance(module, base) and getattr(type(module), method, None) is getattr(base, method):
            return build(module)
    return None
