"""fastinit.torch.materialize: every supported layer initialized as its reset_parameters does
(checked against torch's own eager init, two-sample KS, and against the formulas), the same bits
however the model is split, rules, ties, and pre-trained loading from safetensors."""
import functools
import math
import re

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

import fastinit as fi
import fastinit.torch as ft
from fastinit.torch.materialize import stream_of

P_MIN = 1e-4


class Zoo(nn.Module):
    """Every supported layer type, big enough for distribution tests."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(96, 80)
        self.bilinear = nn.Bilinear(20, 24, 30)
        self.conv1 = nn.Conv1d(12, 16, 5)
        self.conv2 = nn.Conv2d(8, 24, 3, groups=2)
        self.conv3 = nn.Conv3d(4, 8, 3)
        self.convt1 = nn.ConvTranspose1d(16, 12, 5)
        self.convt2 = nn.ConvTranspose2d(24, 8, 3)
        self.convt3 = nn.ConvTranspose3d(8, 6, 3)
        self.emb = nn.Embedding(200, 32, padding_idx=3)
        self.bag = nn.EmbeddingBag(150, 40)
        self.ln = nn.LayerNorm(64)
        self.rms = nn.RMSNorm(64)
        self.gn = nn.GroupNorm(4, 64)
        self.bn = nn.BatchNorm2d(48)
        self.inorm = nn.InstanceNorm1d(20, affine=True, track_running_stats=True)
        self.mha = nn.MultiheadAttention(64, 4, add_bias_kv=True)
        self.mha_kv = nn.MultiheadAttention(48, 4, kdim=32, vdim=40)
        self.rnn = nn.RNN(24, 40, num_layers=2)
        self.lstm = nn.LSTM(24, 32, proj_size=16, bidirectional=True)
        self.gru = nn.GRU(16, 48)
        self.cell = nn.LSTMCell(24, 32)
        self.prelu = nn.PReLU(8, init=0.3)
        self.blocks = nn.Sequential(nn.Linear(64, 64, bias=False), nn.ReLU(), nn.Dropout())


def _meta(cls, *args, **kw):
    with torch.device("meta"):
        return cls(*args, **kw)


@pytest.fixture(scope="module")
def zoo_pair():
    torch.manual_seed(0)
    eager = Zoo()
    model = _meta(Zoo)
    report = ft.materialize(model, seed=5)
    return eager, model, report


def test_every_tensor_initialized_on_cpu(zoo_pair):
    eager, model, report = zoo_pair
    names = [n for n, _ in model.named_parameters()] + [n for n, _ in model.named_buffers()]
    assert sorted(report.initialized) == sorted(names)
    assert report.loaded == [] and report.unexpected == [] and report.skipped == {}
    for _, t in list(model.named_parameters()) + list(model.named_buffers()):
        assert t.device.type == "cpu" and torch.isfinite(t.float()).all()
    assert isinstance(model.linear.weight, nn.Parameter) and model.linear.weight.requires_grad


def test_same_distributions_as_torch_reset(zoo_pair):
    """Each tensor against torch's own eager initialization of the same layer."""
    eager, model, _ = zoo_pair
    ref = dict(eager.named_parameters()) | dict(eager.named_buffers())
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        r = ref[name]
        assert t.shape == r.shape and t.dtype == r.dtype, name
        if r.unique().numel() <= 2:  # constants, and the padding row: exactly torch's
            assert torch.equal(t, r), name
        else:
            p = stats.ks_2samp(t.detach().reshape(-1).numpy(),
                               r.detach().reshape(-1).numpy()).pvalue
            assert p > P_MIN, (name, p)


def _bound_linear(w):
    receptive = math.prod(w.shape[2:])
    return 1 / math.sqrt(w.shape[1] * receptive)


def _assert_uniform(t, bound, name):
    x = t.detach().double().reshape(-1).numpy()
    assert x.min() >= -bound and x.max() < bound, name
    assert stats.kstest(x, "uniform", args=(-bound, 2 * bound)).pvalue > P_MIN, name


def test_formulas_written_out(zoo_pair):
    _, m, _ = zoo_pair
    for name in ("linear", "conv1", "conv2", "conv3", "convt1", "convt2", "convt3"):
        layer = getattr(m, name)
        b = _bound_linear(layer.weight)  # kaiming_uniform(a=sqrt(5)) == U(+-1/sqrt(fan_in))
        _assert_uniform(layer.weight, b, name)
        _assert_uniform(layer.bias, b, name + ".bias")
    _assert_uniform(m.bilinear.weight, 1 / math.sqrt(20), "bilinear")
    _assert_uniform(m.bilinear.bias, 1 / math.sqrt(20), "bilinear.bias")
    w = m.emb.weight.detach()
    assert not w[3].any() and w[2].any()
    keep = torch.cat([w[:3], w[4:]]).reshape(-1).double().numpy()
    assert stats.kstest(keep, "norm").pvalue > P_MIN
    for norm in (m.ln, m.rms, m.gn, m.bn, m.inorm):
        assert torch.equal(norm.weight, torch.ones_like(norm.weight))
        if getattr(norm, "bias", None) is not None:
            assert not norm.bias.any()
    for bn in (m.bn, m.inorm):
        assert not bn.running_mean.any() and torch.equal(bn.running_var,
                                                         torch.ones_like(bn.running_var))
        assert bn.num_batches_tracked.dtype == torch.int64 and bn.num_batches_tracked == 0
    e = 64
    _assert_uniform(m.mha.in_proj_weight, math.sqrt(6 / (e + 3 * e)), "in_proj")
    assert not m.mha.in_proj_bias.any() and not m.mha.out_proj.bias.any()
    _assert_uniform(m.mha.out_proj.weight, 1 / math.sqrt(e), "out_proj")
    bk = torch.cat([m.mha.bias_k, m.mha.bias_v]).detach().reshape(-1).double().numpy()
    assert stats.kstest(bk, "norm", args=(0, math.sqrt(2 / (2 * e)))).pvalue > P_MIN
    for n, k in (("q", 48), ("k", 32), ("v", 40)):
        _assert_uniform(getattr(m.mha_kv, f"{n}_proj_weight"), math.sqrt(6 / (48 + k)), n)
    for rnn, hidden in ((m.rnn, 40), (m.lstm, 32), (m.gru, 48), (m.cell, 32)):
        for pname, p in rnn.named_parameters():
            _assert_uniform(p, 1 / math.sqrt(hidden), pname)
    assert torch.equal(m.prelu.weight, torch.full((8,), 0.3))


def test_transformer_overrides_children():
    model = _meta(nn.Transformer, d_model=32, nhead=4, num_encoder_layers=1,
                  num_decoder_layers=1, dim_feedforward=64)
    ft.materialize(model, seed=0)
    w = model.encoder.layers[0].linear1.weight  # (64, 32): xavier, not the Linear default
    _assert_uniform(w, math.sqrt(6 / (64 + 32)), "linear1")
    assert torch.equal(model.encoder.norm.weight, torch.ones(32))


def test_values_are_the_core_with_name_streams():
    with torch.device("meta"):
        model = nn.Sequential(nn.Linear(32, 16), nn.Embedding(10, 8))
    ft.materialize(model, seed=9)
    np.testing.assert_array_equal(
        model[0].weight.detach().numpy(),
        fi.kaiming_uniform((16, 32), a=math.sqrt(5), seed=9, stream=stream_of("0.weight")))
    np.testing.assert_array_equal(model[1].weight.detach().numpy(),
                                  fi.normal((10, 8), seed=9, stream=stream_of("1.weight")))
    # the package's one rule (tests/bits/test_streams.py pins it): SHA-256, as the CLI's specs
    assert stream_of is fi.stream_of and ft.stream_of is fi.stream_of
    import hashlib
    assert stream_of("0.weight") == int.from_bytes(
        hashlib.sha256(b"0.weight").digest()[:8], "little")


class Decoder(nn.Module):
    def __init__(self, vocab=100, dim=32, layers=3, tie=True):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.layers = nn.ModuleList(
            nn.ModuleDict({"attn": nn.Linear(dim, 3 * dim, bias=False), "norm": nn.RMSNorm(dim),
                           "mlp": nn.Linear(dim, 4 * dim)})
            for _ in range(layers))
        self.head = nn.Linear(dim, vocab, bias=False)
        if tie:
            self.head.weight = self.embed.weight


def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_same_bits_however_split_and_ordered():
    whole = _meta(Decoder)
    ft.materialize(whole, seed=3)
    parts = _meta(Decoder)
    # materialize the layers one by one, last first, then the rest: the same bits
    for i in reversed(range(3)):
        ft.materialize(parts.layers[i], seed=3, prefix=f"layers.{i}.")
    ft.materialize(parts.embed, seed=3, prefix="embed.")
    a, b = _state(whole), _state(parts)
    for k in a:
        if k.startswith(("layers.", "embed.")):
            assert torch.equal(a[k], b[k]), k
    again = _meta(Decoder)
    ft.materialize(again, seed=3)
    assert all(torch.equal(v, _state(again)[k]) for k, v in a.items())
    other = _meta(Decoder)
    ft.materialize(other, seed=4)
    assert not torch.equal(_state(other)["layers.0.mlp.weight"], a["layers.0.mlp.weight"])


def test_ties_kept():
    model = _meta(Decoder)
    report = ft.materialize(model, seed=0)
    assert model.head.weight is model.embed.weight
    assert "head.weight" not in report.initialized


def test_dtype_bfloat16():
    model = _meta(Decoder, tie=False)
    ft.materialize(model, seed=1, dtype=torch.bfloat16)
    assert all(p.dtype == torch.bfloat16 for p in model.parameters())
    ref = _meta(Decoder, tie=False)
    ft.materialize(ref, seed=1)
    # generated in float32 and rounded once: torch's own cast agrees
    assert torch.equal(model.layers[1].mlp.weight, ref.layers[1].mlp.weight.to(torch.bfloat16))


def test_rules():
    model = _meta(Decoder, tie=False)
    report = ft.materialize(model, seed=2, rules=[
        ("*.norm.weight", "default"),
        (re.compile(r"layers\.\d+\.mlp\.bias"), "zeros_"),
        (nn.Embedding, functools.partial(ft.normal_, std=0.02)),
        ("*.weight", ("normal_", {"std": 0.05})),
    ])
    assert len(report.initialized) == len(list(model.parameters()))
    assert torch.equal(model.layers[0].norm.weight, torch.ones(32))
    assert not model.layers[2].mlp.bias.any()
    np.testing.assert_array_equal(model.embed.weight.detach().numpy(),
                                  fi.normal((100, 32), std=0.02, seed=2,
                                            stream=stream_of("embed.weight")))
    np.testing.assert_array_equal(model.head.weight.detach().numpy(),
                                  fi.normal((100, 32), std=0.05, seed=2,
                                            stream=stream_of("head.weight")))


class Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.empty(8))
        self.register_buffer("inv_freq", torch.empty(4))
        self.proj = nn.Linear(8, 8)


class MyLinear(nn.Linear):
    def reset_parameters(self):  # a different formula: not taken for nn.Linear's
        nn.init.zeros_(self.weight)


def test_unknown_modules_error_names_them_before_allocating():
    with torch.device("meta"):
        model = nn.Sequential(Custom(), MyLinear(4, 4))
    with pytest.raises(ValueError) as e:
        ft.materialize(model)
    msg = str(e.value)
    assert "0.scale (Custom)" in msg and "0.inv_freq (Custom)" in msg and "1.weight (MyLinear)" in msg
    assert "0.proj" not in msg
    assert all(p.is_meta for p in model.parameters())
    report = ft.materialize(model, rules={"0.scale": "ones_", "*.inv_freq": ("constant_", {"val": 2.0}),
                                         MyLinear: "zeros_"})
    assert torch.equal(model[0].scale, torch.ones(8)) and torch.equal(model[0].inv_freq,
                                                                      torch.full((4,), 2.0))
    assert not model[1].weight.any() and len(report.initialized) == 6


def test_bad_arguments():
    model = _meta(Decoder)
    with pytest.raises(ValueError, match="seed"):
        ft.materialize(model, seed=-1)
    with pytest.raises(TypeError, match="dtype"):
        ft.materialize(model, dtype=torch.int32)
    with pytest.raises(ValueError, match="unknown initializer 'gaussian'"):
        ft.materialize(model, rules={"*": "gaussian"})
    with pytest.raises(TypeError, match="pattern"):
        ft.materialize(model, rules={3: "zeros_"})


# --- pre-trained ---------------------------------------------------------------------------

@pytest.fixture
def checkpoint(tmp_path):
    from safetensors.torch import save_file
    torch.manual_seed(1)
    donor = Decoder(tie=False)
    sd = {k: v.detach().clone().contiguous() for k, v in donor.state_dict().items()
          if k.startswith(("embed.", "layers.0.", "layers.1."))}
    sd["old_head.weight"] = torch.randn(5, 5)
    path = tmp_path / "ckpt.safetensors"
    save_file(sd, str(path))
    return path, sd


def test_pretrained_loads_needed_initializes_rest(checkpoint, monkeypatch):
    path, sd = checkpoint
    from fastinit.torch import pretrained
    read = []
    load = pretrained.Checkpoint.load
    monkeypatch.setattr(pretrained.Checkpoint, "load",
                        lambda self, name: read.append(name) or load(self, name))
    model = _meta(Decoder, tie=False)
    report = ft.materialize(model, seed=0, pretrained=path)
    loaded = sorted(k for k in sd if k != "old_head.weight")
    assert sorted(report.loaded) == loaded and sorted(read) == loaded
    assert report.unexpected == ["old_head.weight"] and report.skipped == {}
    assert sorted(report.initialized) == sorted(
        k for k in _state(model) if k not in sd)
    state = _state(model)
    for k in loaded:
        assert torch.equal(state[k], sd[k]), k
    np.testing.assert_array_equal(state["layers.2.mlp.weight"].numpy(),
                                  fi.kaiming_uniform((128, 32), a=math.sqrt(5), seed=0,
                                                     stream=stream_of("layers.2.mlp.weight")))


def test_pretrained_dict_and_tied_alias(checkpoint):
    _, sd = checkpoint
    model = _meta(Decoder)  # head tied to embed
    report = ft.materialize(model, pretrained={"head.weight": sd["embed.weight"]})
    assert report.loaded == ["embed.weight"] and model.head.weight is model.embed.weight
    assert torch.equal(model.embed.weight, sd["embed.weight"])


def test_pretrained_mismatch_strict_and_not(checkpoint):
    path, sd = checkpoint
    bigger = _meta(Decoder, vocab=120, tie=False)
    with pytest.raises(ValueError, match=r"'embed\.weight'.*\(100, 32\)"):
        ft.materialize(bigger, pretrained=path)
    assert bigger.embed.weight.is_meta  # nothing allocated
    report = ft.materialize(bigger, pretrained=path, strict=False, seed=0)
    assert list(report.skipped) == ["embed.weight"] and "embed.weight" in report.initialized
    assert "layers.0.mlp.weight" in report.loaded
    half = _meta(Decoder, tie=False)
    with pytest.raises(ValueError, match=r"'embed\.weight'.*bfloat16"):
        ft.materialize(half, pretrained=path, dtype=torch.bfloat16)
    with pytest.raises(TypeError, match="pretrained"):
        ft.materialize(_meta(Decoder), pretrained=[3])


def test_device_none_reinitializes_in_place():
    ref = _meta(Decoder)
    ft.materialize(ref, seed=6)
    torch.manual_seed(0)
    real = Decoder()  # eager, torch's own values
    ptr = real.layers[0].mlp.weight.data_ptr()
    ft.materialize(real, seed=6, device=None)
    assert real.layers[0].mlp.weight.data_ptr() == ptr
    for k, v in _state(ref).items():
        assert torch.equal(v, _state(real)[k]), k
    with pytest.raises(ValueError, match="meta"):
        ft.materialize(_meta(Decoder), device=None)


def test_pretrained_sharded_files(tmp_path, checkpoint):
    from safetensors.torch import save_file
    _, sd = checkpoint
    a = {k: v for k, v in sd.items() if k.startswith("embed.")}
    b = {k: v for k, v in sd.items() if k.startswith("layers.0.")}
    save_file(a, str(tmp_path / "a.safetensors"))
    save_file(b, str(tmp_path / "b.safetensors"))
    model = _meta(Decoder, tie=False)
    report = ft.materialize(model, pretrained=[tmp_path / "a.safetensors",
                                              str(tmp_path / "b.safetensors")])
    assert sorted(report.loaded) == sorted(a) + sorted(b)
    save_file({"embed.weight": sd["embed.weight"]}, str(tmp_path / "c.safetensors"))
    with pytest.raises(ValueError, match="more than one file"):
        ft.materialize(_meta(Decoder), pretrained=[tmp_path / "a.safetensors",
                                                   tmp_path / "c.safetensors"])
