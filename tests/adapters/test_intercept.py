"""fastinit.torch.intercept_init: a model's own init code on fastinit's kernels, one stream per
tensor name: whole tensors, views (the region contract), order independence, strictness,
restoring, threads, nesting."""
import math
import sys
import threading

import numpy as np
import pytest
import torch
from torch import nn

import fastinit as fi
import fastinit.torch as ft
from fastinit.torch import intercept_init

SEED = 11


def expected(kind, shape, name, *args, seed=SEED, dtype="float32"):
    """The whole tensor ``name``'s values under ``kind`` (a fastinit allocating function)."""
    arr = getattr(fi, kind)(shape, *args, seed=seed, stream=fi.stream_of(name), dtype=dtype)
    if dtype == "bfloat16":  # torch reads no ml_dtypes array: its bits as int16
        return torch.from_numpy(arr.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(arr)


class Block(nn.Module):
    """A torchtitan-style block: ``init_weights(std)`` with a depth-scaled std."""

    def __init__(self, dim, hidden):
        super().__init__()
        self.wq = nn.Linear(dim, dim, bias=False)
        self.w1 = nn.Linear(dim, hidden, bias=False)
        self.w2 = nn.Linear(hidden, dim, bias=False)
        self.norm = nn.RMSNorm(dim)

    def init_weights(self, std):
        nn.init.trunc_normal_(self.wq.weight, mean=0.0, std=0.02)
        nn.init.trunc_normal_(self.w1.weight, mean=0.0, std=0.02)
        nn.init.trunc_normal_(self.w2.weight, mean=0.0, std=std)
        self.norm.reset_parameters()


class Titan(nn.Module):
    def __init__(self, dim=32, hidden=48, vocab=64, layers=3):
        super().__init__()
        self.tok = nn.Embedding(vocab, dim)
        self.layers = nn.ModuleDict({str(i): Block(dim, hidden) for i in range(layers)})
        self.out = nn.Linear(dim, vocab, bias=False)

    def init_weights(self, order=None):
        nn.init.normal_(self.tok.weight)
        keys = list(self.layers) if order is None else order
        for k in keys:
            self.layers[k].init_weights(0.02 / (2 * (int(k) + 1)) ** 0.5)
        final_std = len(self.layers) ** -0.5
        nn.init.trunc_normal_(self.out.weight, std=final_std, a=-3 * final_std,
                              b=3 * final_std)


def snapshot(model):
    return {n: t.detach().clone() for n, t in model.state_dict().items()}


def assert_same(a, b):
    assert a.keys() == b.keys()
    for n in a:
        assert torch.equal(a[n].view(torch.uint8) if a[n].dtype == torch.bfloat16 else a[n],
                           b[n].view(torch.uint8) if b[n].dtype == torch.bfloat16 else b[n]), n


# --- whole tensors ----------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_whole_tensors_get_their_names_stream(dtype):
    model = nn.Sequential(nn.Linear(24, 16), nn.Linear(16, 8)).to(dtype)
    with intercept_init(model, seed=SEED) as filled:
        nn.init.normal_(model[0].weight, std=0.5)
        nn.init.uniform_(model[0].bias, -0.25, 0.25)
        nn.init.trunc_normal_(model[1].weight, std=0.1)
        nn.init.zeros_(model[1].bias)
    npdt = "bfloat16" if dtype == torch.bfloat16 else "float32"
    want = {"0.weight": expected("normal", (16, 24), "0.weight", 0.0, 0.5, dtype=npdt),
            "0.bias": expected("uniform", (16,), "0.bias", -0.25, 0.25, dtype=npdt),
            "1.weight": expected("trunc_normal", (8, 16), "1.weight", 0.0, 0.1, dtype=npdt)}
    for name, w in want.items():
        got = model.get_parameter(name).detach()
        assert torch.equal(got.view(torch.int16) if dtype == torch.bfloat16 else got,
                           w.view(torch.int16) if dtype == torch.bfloat16 else w), name
    assert torch.count_nonzero(model[1].bias) == 0
    assert filled == {"0.weight", "0.bias", "1.weight", "1.bias"}


@pytest.mark.parametrize("name,args,kwargs", [
    ("xavier_uniform_", (), {"gain": 2.0}),
    ("xavier_normal_", (), {}),
    ("kaiming_uniform_", (), {"a": math.sqrt(5)}),
    ("kaiming_normal_", (), {"mode": "fan_out", "nonlinearity": "relu"}),
    ("orthogonal_", (), {"gain": 0.5}),
    ("sparse_", (0.25,), {"std": 0.3}),
])
def test_every_random_function_equals_the_drop_in_with_the_stream(name, args, kwargs):
    model = nn.Linear(20, 12)
    with intercept_init(model, seed=SEED):
        getattr(nn.init, name)(model.weight, *args, **kwargs)
    twin = torch.empty(12, 20)
    getattr(ft, name)(twin, *args, **kwargs, seed=SEED, stream=fi.stream_of("weight"))
    assert torch.equal(model.weight.detach(), twin)


def test_the_seed_is_the_key_and_repeats():
    def run(seed):
        model = Titan()
        with intercept_init(model, seed=seed):
            model.init_weights()
        return snapshot(model)
    a, b, c = run(3), run(3), run(4)
    assert_same(a, b)
    assert not torch.equal(a["tok.weight"], c["tok.weight"])


def test_generator_is_ignored():
    model = nn.Linear(8, 8)
    with intercept_init(model, seed=SEED):
        nn.init.normal_(model.weight, generator=torch.Generator().manual_seed(123))
    assert torch.equal(model.weight.detach(), expected("normal", (8, 8), "weight"))


# --- views: the region contract ------------------------------------------------------------------

def test_views_get_the_whole_parameters_values_at_their_indices():
    model = nn.Embedding(30, 16, padding_idx=3)
    w = model.weight
    with intercept_init(model, seed=SEED):
        nn.init.normal_(w)
        nn.init.zeros_(w[3])                            # transformers' padding row
        nn.init.uniform_(w.data[5:9, 2:12], -1.0, 1.0)  # a block of .data
        nn.init.uniform_(w.t()[4:6, 20:25], -1.0, 1.0)  # a transposed block
        nn.init.normal_(w[::3, 1], std=5.0)             # no block: through a whole temporary
        nn.init.trunc_normal_(w[10], std=2.0)
    want = expected("normal", (30, 16), "weight")
    uni = expected("uniform", (30, 16), "weight", -1.0, 1.0)
    want[3] = 0
    want[5:9, 2:12] = uni[5:9, 2:12]
    want[20:25, 4:6] = uni[20:25, 4:6]
    want[::3, 1] = expected("normal", (30, 16), "weight", 0.0, 5.0)[::3, 1]
    want[10] = expected("trunc_normal", (30, 16), "weight", 0.0, 2.0)[10]
    assert torch.equal(w.detach(), want)


def test_fan_based_views_take_torchs_fans_of_the_view():
    model = nn.Linear(40, 10, bias=False)
    with intercept_init(model, seed=SEED):
        nn.init.kaiming_uniform_(model.weight[:, :8], a=math.sqrt(5))
        nn.init.xavier_normal_(model.weight[:, 8:])
    bound = 1 / math.sqrt(8)  # gain sqrt(2 / (1 + 5)) * sqrt(3 / fan_in=8)
    std = math.sqrt(2.0 / (32 + 10))
    uni = expected("uniform", (10, 40), "weight", -bound, bound)
    nor = expected("normal", (10, 40), "weight", 0.0, std)
    assert torch.allclose(model.weight[:, :8].detach(), uni[:, :8], rtol=0, atol=1e-7)
    assert torch.equal(model.weight[:, 8:].detach(), nor[:, 8:])


def test_orthogonal_of_a_view_uses_the_stream_of_its_region():
    model = nn.Linear(12, 12, bias=False)
    with intercept_init(model, seed=SEED):
        nn.init.orthogonal_(model.weight[:6])
    twin = torch.empty(6, 12)
    ft.orthogonal_(twin, seed=SEED, stream=fi.stream_of("weight[0:6, 0:12]"))
    assert torch.equal(model.weight[:6].detach(), twin)


def test_tied_tensors_use_their_first_name():
    model = nn.Sequential(nn.Embedding(20, 8), nn.Linear(8, 20, bias=False))
    model[1].weight = model[0].weight
    with intercept_init(model, seed=SEED) as filled:
        nn.init.normal_(model[1].weight)
    assert torch.equal(model[0].weight.detach(), expected("normal", (20, 8), "0.weight"))
    assert filled == {"0.weight"}


def test_buffers_are_served():
    model = nn.BatchNorm1d(6)
    with intercept_init(model, seed=SEED):
        nn.init.uniform_(model.running_mean)
        nn.init.ones_(model.running_var)
    assert torch.equal(model.running_mean, expected("uniform", (6,), "running_mean", 0.0, 1.0))
    assert torch.equal(model.running_var, torch.ones(6))


def test_meta_tensors_are_left_alone():
    with torch.device("meta"):
        model = nn.Linear(4, 4)
    with intercept_init(model, seed=SEED) as filled:
        nn.init.normal_(model.weight)
    assert model.weight.is_meta and not filled


# --- order independence: a torchtitan-style init_weights --------------------------------------

def test_torchtitan_init_weights_in_any_order_gives_the_same_bits():
    def run(order, split=False):
        torch.manual_seed(len(order))  # torch's RNG must not matter
        model = Titan()
        if split:  # each block in a context of its own, names from the whole model
            for k in order:
                with intercept_init(model, seed=SEED):
                    model.layers[k].init_weights(0.02 / (2 * (int(k) + 1)) ** 0.5)
            with intercept_init(model, seed=SEED):
                model.init_weights(order=[])
        else:
            with intercept_init(model, seed=SEED):
                model.init_weights(order=order)
        return snapshot(model)
    base = run(["0", "1", "2"])
    assert_same(base, run(["2", "0", "1"]))
    assert_same(base, run(["1", "2", "0"], split=True))
    std2 = 0.02 / 6 ** 0.5
    want = expected("trunc_normal", (32, 48), "layers.2.w2.weight", 0.0, std2, -2.0, 2.0)
    assert torch.equal(base["layers.2.w2.weight"], want)


def test_a_meta_built_model_materialized_then_initialized():
    with torch.device("meta"):
        model = Titan()
    model.to_empty(device="cpu")
    with intercept_init(model, seed=SEED):
        model.init_weights()
    eager = Titan()
    with intercept_init(eager, seed=SEED):
        eager.init_weights()
    assert_same(snapshot(model), snapshot(eager))


# --- strictness, restoring, threads, nesting ---------------------------------------------------

def test_strict_names_a_foreign_tensor():
    model = nn.Linear(4, 4)
    with pytest.raises(ValueError, match=r"shape \(3, 5\).*no parameter or buffer of Linear"):
        with intercept_init(model, seed=SEED):
            nn.init.normal_(torch.empty(3, 5))


def test_not_strict_sends_a_foreign_tensor_to_torch():
    model = nn.Linear(4, 4)
    other = torch.empty(3, 5)
    torch.manual_seed(7)
    with intercept_init(model, seed=SEED, strict=False):
        nn.init.normal_(other)
        nn.init.normal_(model.weight)
    torch.manual_seed(7)
    assert torch.equal(other, torch.empty(3, 5).normal_())
    assert torch.equal(model.weight.detach(), expected("normal", (4, 4), "weight"))


def test_everything_is_restored_also_after_an_exception():
    originals = {k: getattr(nn.init, k) for k in ("normal_", "trunc_normal_", "zeros_")}
    linear_init = sys.modules["torch.nn.modules.linear"].init
    model = nn.Linear(4, 4)
    with pytest.raises(RuntimeError, match="boom"):
        with intercept_init(model, seed=SEED):
            assert nn.init.normal_ is not originals["normal_"]
            raise RuntimeError("boom")
    for k, fn in originals.items():
        assert getattr(nn.init, k) is fn
    assert sys.modules["torch.nn.modules.linear"].init is linear_init
    torch.manual_seed(1)
    nn.init.normal_(model.weight)
    torch.manual_seed(1)
    assert torch.equal(model.weight.detach(), torch.empty(4, 4).normal_())


def test_other_threads_are_not_affected():
    model = nn.Linear(64, 64)
    inside, outside = threading.Event(), threading.Event()
    seen = {}

    def other():
        inside.wait()
        gen = torch.Generator().manual_seed(5)
        seen["w"] = nn.init.normal_(model.weight.detach().clone(), generator=gen)
        outside.set()

    t = threading.Thread(target=other)
    t.start()
    with intercept_init(model, seed=SEED):
        inside.set()
        outside.wait(30)
        nn.init.normal_(model.weight)
    t.join()
    gen = torch.Generator().manual_seed(5)
    assert torch.equal(seen["w"], torch.empty(64, 64).normal_(generator=gen))
    assert torch.equal(model.weight.detach(), expected("normal", (64, 64), "weight"))


def test_contexts_nest_and_the_owner_serves():
    outer, inner = nn.Linear(4, 4), nn.Linear(3, 3)
    with intercept_init(outer, seed=1):
        with intercept_init(inner, seed=2):
            nn.init.normal_(outer.weight)
            nn.init.normal_(inner.weight)
        nn.init.uniform_(outer.bias)
    assert torch.equal(outer.weight.detach(), expected("normal", (4, 4), "weight", seed=1))
    assert torch.equal(inner.weight.detach(), expected("normal", (3, 3), "weight", seed=2))
    assert torch.equal(outer.bias.detach(), expected("uniform", (4,), "bias", seed=1))


def test_layers_reset_parameters_are_served():
    model = nn.Sequential(nn.Linear(10, 6), nn.LayerNorm(6))
    with intercept_init(model, seed=SEED) as filled:
        for m in model:
            m.reset_parameters()
    bound = 1 / math.sqrt(10)
    want = expected("uniform", (6, 10), "0.weight", -bound, bound)
    assert torch.allclose(model[0].weight.detach(), want, rtol=0, atol=1e-7)
    assert filled == {"0.weight", "0.bias", "1.weight", "1.bias"}


@pytest.mark.parametrize("bad", [-1, 2**64, 1.5, True])
def test_bad_seed(bad):
    with pytest.raises(ValueError, match="seed"):
        with intercept_init(nn.Linear(2, 2), seed=bad):
            pass


def test_not_a_module():
    with pytest.raises(TypeError, match="module"):
        with intercept_init(torch.empty(3)):
            pass


def test_numpy_reference_of_a_block_region():
    """The block path is the core's region contract: the same bits as slicing the whole."""
    model = nn.Linear(50, 40, bias=False)
    with intercept_init(model, seed=SEED):
        nn.init.normal_(model.weight[7:31, 3:44], std=0.3)
    whole = fi.normal((40, 50), std=0.3, seed=SEED, stream=fi.stream_of("weight"))
    np.testing.assert_array_equal(model.weight[7:31, 3:44].detach().numpy(),
                                  whole[7:31, 3:44])
