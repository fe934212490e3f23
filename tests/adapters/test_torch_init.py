"""fastinit.torch against torch.nn.init: the distribution, warning and error expectations of
torch's own test/nn/test_init.py, the seed rule, dtypes, meta tensors, zero copy."""
import math
import warnings

import numpy as np
import pytest
import torch
from scipy import stats

import fastinit as fi
import fastinit.torch as ft

P_MIN = 1e-4  # torch's own threshold in test_init.py


def _ks(t, dist, *args):
    return stats.kstest(t.double().reshape(-1).numpy(), dist, args=args).pvalue


def _fans(t):
    fan_in, fan_out = t.size(1), t.size(0)
    if t.dim() > 2:
        fan_in *= t[0, 0].numel()
        fan_out *= t[0, 0].numel()
    return fan_in, fan_out


SHAPES = [(40,), (37, 45), (21, 23, 3, 4)]


# --- same bits as the core, in every dtype, in place, zero copy -----------------------------

CASES = [
    ("uniform_", (-0.3, 0.5), "uniform", (-0.3, 0.5), {}),
    ("normal_", (0.1, 0.02), "normal", (0.1, 0.02), {}),
    ("trunc_normal_", (0.0, 1.0, -1.0, 2.0), "trunc_normal", (0.0, 1.0, -1.0, 2.0), {}),
    ("xavier_uniform_", (1.5,), "xavier_uniform", (1.5,), {}),
    ("xavier_normal_", (0.7,), "xavier_normal", (0.7,), {}),
    ("kaiming_uniform_", (math.sqrt(5),), "kaiming_uniform", (math.sqrt(5),), {}),
    ("kaiming_normal_", (0, "fan_out", "relu"), "kaiming_normal", (0, "fan_out", "relu"), {}),
    ("sparse_", (0.3, 0.05), "sparse", (0.3, 0.05), {}),
]


@pytest.mark.parametrize("tdtype", ["float32", "bfloat16", "float16", "float64"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_same_bits_as_core(case, tdtype):
    name, args, core, core_args, kw = case
    t = torch.empty(48, 33, dtype=getattr(torch, tdtype))
    ptr = t.data_ptr()
    out = getattr(ft, name)(t, *args, seed=11, stream=3)
    assert out is t and t.data_ptr() == ptr and t.dtype == getattr(torch, tdtype)
    want = getattr(fi, core)((48, 33), *core_args, dtype=tdtype, seed=11, stream=3)
    got = t.view(torch.int16).numpy() if tdtype == "bfloat16" else t.numpy()
    want = want.view(np.int16) if tdtype == "bfloat16" else want
    np.testing.assert_array_equal(got, want)


def test_parameter_and_requires_grad():
    p = torch.nn.Parameter(torch.empty(16, 8))
    ft.kaiming_uniform_(p, a=math.sqrt(5), seed=0)
    assert p.requires_grad and p.grad is None
    np.testing.assert_array_equal(p.detach().numpy(),
                                  fi.kaiming_uniform((16, 8), a=math.sqrt(5), seed=0))


def test_autograd_sees_the_in_place_change():
    w = torch.nn.Parameter(torch.ones(4, 3))
    before = w._version
    ft.normal_(w, seed=0)
    ft.zeros_(w)
    assert w._version == before + 2
    x = torch.ones(2, 4, requires_grad=True)
    y = torch.ones(4, 3)
    out = (x @ y).sin().sum()  # sin saves its input; matmul saves y
    ft.uniform_(y, seed=1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.backward()


def test_non_contiguous_target():
    base = torch.zeros(30, 20)
    ft.normal_(base.T, seed=5)
    np.testing.assert_array_equal(base.T.numpy(), fi.normal((20, 30), seed=5))


def test_shard_with_global_shape():
    shard = torch.empty(10, 64)
    ft.xavier_uniform_(shard, seed=2, shape=(40, 64), region=(slice(10, 20),))
    np.testing.assert_array_equal(shard.numpy(), fi.xavier_uniform((40, 64), seed=2)[10:20])


# --- the seed rule ------------------------------------------------------------------------

def test_seed_from_default_generator_is_documented_rule():
    torch.manual_seed(123)
    expected = int(torch.randint(0, 2**63 - 1, (), dtype=torch.int64))
    torch.manual_seed(123)
    t = ft.normal_(torch.empty(50, 7))
    np.testing.assert_array_equal(t.numpy(), fi.normal((50, 7), seed=expected))


def test_manual_seed_reproducible_and_calls_differ():
    torch.manual_seed(0)
    a1, a2 = ft.kaiming_uniform_(torch.empty(20, 10)), ft.kaiming_uniform_(torch.empty(20, 10))
    torch.manual_seed(0)
    b1, b2 = ft.kaiming_uniform_(torch.empty(20, 10)), ft.kaiming_uniform_(torch.empty(20, 10))
    assert torch.equal(a1, b1) and torch.equal(a2, b2) and not torch.equal(a1, a2)


def test_generator_argument_like_torch():
    # torch's test_trunc_normal_generator: a generator seeded 42 equals manual_seed(42)
    gen = torch.Generator().manual_seed(42)
    got = ft.trunc_normal_(torch.empty(5), generator=gen)
    torch.manual_seed(42)
    ref = ft.trunc_normal_(torch.empty(5))
    assert torch.equal(got, ref)
    # positional, as in torch's signature; the default generator is not consumed
    torch.manual_seed(7)
    state = torch.get_rng_state()
    ft.uniform_(torch.empty(9), 0.0, 1.0, torch.Generator().manual_seed(1))
    assert torch.equal(state, torch.get_rng_state())


def test_meta_tensor_left_alone():
    state = torch.get_rng_state()
    for fn, args in ((ft.uniform_, ()), (ft.normal_, ()), (ft.trunc_normal_, ()),
                     (ft.xavier_uniform_, ()), (ft.kaiming_normal_, ()), (ft.sparse_, (0.5,)),
                     (ft.constant_, (1.0,)), (ft.eye_, ()), (ft.orthogonal_, ())):
        t = torch.empty(6, 4, device="meta")
        assert fn(t, *args) is t and t.is_meta
    assert torch.equal(state, torch.get_rng_state())
    with pytest.raises(ValueError):  # checks still run, as in torch
        ft.kaiming_uniform_(torch.empty(6, device="meta"))


# --- distributions (torch's test_init.py expectations, at fixed seeds) ------------------------

@pytest.mark.parametrize("shape", SHAPES)
def test_uniform(shape):
    t = ft.uniform_(torch.zeros(shape), a=-1.3, b=2.1, seed=1)
    assert _ks(t, "uniform", -1.3, 3.4) > P_MIN
    assert t.min() >= -1.3 and t.max() < 2.1


@pytest.mark.parametrize("shape", SHAPES)
def test_normal(shape):
    t = ft.normal_(torch.zeros(shape), mean=1.5, std=2.5, seed=2)
    assert _ks(t, "norm", 1.5, 2.5) > P_MIN


@pytest.mark.parametrize("tdtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES)
def test_trunc_normal_all_dtypes(shape, tdtype):
    mean, std, a, b = 0.7, 0.4, 0.1, 1.3
    t = ft.trunc_normal_(torch.zeros(shape, dtype=getattr(torch, tdtype)), mean, std, a, b,
                         seed=3)
    assert t.min() >= a and t.max() <= b
    assert _ks((t - mean) / std, "truncnorm", (a - mean) / std, (b - mean) / std) > P_MIN


@pytest.mark.parametrize("tdtype,min_unique", [("float32", 5000), ("float64", 5000),
                                               ("float16", 3000), ("bfloat16", 1000)])
def test_trunc_normal_low_precision_and_unique(tdtype, min_unique):
    t = ft.trunc_normal_(torch.empty(10000, dtype=getattr(torch, tdtype)), seed=4)
    assert t.min() >= -2 and t.max() <= 2
    assert t.unique().numel() > min_unique
    assert not t.isinf().any() and not t.isnan().any()
    if tdtype in ("float32", "float16"):  # bf16 is too coarse for a KS test (as in torch)
        assert _ks(t.float(), "truncnorm", -2, 2) > P_MIN
    # the narrow interval [2, 3] and no values clamped to the bounds with a small std
    n = ft.trunc_normal_(torch.empty(10000, dtype=getattr(torch, tdtype)), 0.0, 1.0, 2.0, 3.0,
                         seed=5)
    assert n.min() >= 2 and n.max() <= 3
    s = ft.trunc_normal_(torch.empty(10000, dtype=getattr(torch, tdtype)), 0.0, 0.1, seed=6)
    assert (s == -2).sum() == 0 and (s == 2).sum() == 0


@pytest.mark.parametrize("gain", [1.0, 0.37])
@pytest.mark.parametrize("shape", [(22, 24), (21, 20, 2, 3)])
def test_xavier(shape, gain):
    fan_in, fan_out = _fans(torch.empty(shape))
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    u = ft.xavier_uniform_(torch.zeros(shape), gain=gain, seed=7)
    assert _ks(u, "uniform", -std * math.sqrt(3), 2 * std * math.sqrt(3)) > P_MIN
    n = ft.xavier_normal_(torch.zeros(shape), gain=gain, seed=8)
    assert _ks(n, "norm", 0, std) > P_MIN


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("a", [0, 1.3])
@pytest.mark.parametrize("shape", [(22, 24), (21, 20, 2, 3)])
def test_kaiming(shape, a, mode):
    fan_in, fan_out = _fans(torch.empty(shape))
    n = fan_in if mode == "fan_in" else fan_out
    std = math.sqrt(2.0 / ((1 + a**2) * n))
    u = ft.kaiming_uniform_(torch.zeros(shape), a=a, mode=mode, seed=9)
    assert _ks(u, "uniform", -std * math.sqrt(3), 2 * std * math.sqrt(3)) > P_MIN
    t = ft.kaiming_normal_(torch.zeros(shape), a=a, mode=mode, seed=10)
    assert _ks(t, "norm", 0, std) > P_MIN


@pytest.mark.parametrize("std", [0.01, 0.13])
def test_sparse(std):
    t = ft.sparse_(torch.zeros(33, 31), sparsity=0.15, std=std, seed=11)
    for col in range(t.size(1)):
        assert (t[:, col] == 0).sum() >= math.ceil(0.15 * 33)
    assert _ks(t[t != 0], "norm", 0, std) > P_MIN


def test_constant_ones_zeros_eye_dirac():
    for shape in [(4,), (3, 5), (2, 3, 4, 5)]:
        assert torch.equal(ft.constant_(torch.empty(shape), 3.5), torch.full(shape, 3.5))
        assert torch.equal(ft.ones_(torch.empty(shape)), torch.ones(shape))
        assert torch.equal(ft.zeros_(torch.empty(shape)), torch.zeros(shape))
    assert torch.equal(ft.eye_(torch.empty(4, 6)), torch.eye(4, 6))
    for dims in (3, 4, 5):
        for groups in (1, 2, 3):
            t = torch.randn((2 * groups, 3, 3, 5, 2)[:dims])
            ref = torch.nn.init.dirac_(t.clone(), groups)
            assert torch.equal(ft.dirac_(t, groups), ref)


def test_dirac_identity_conv():
    x = torch.randn(8, 3, 5, 5)
    w = ft.dirac_(torch.empty(9, 3, 3, 3))
    y = torch.nn.functional.conv2d(x, w)
    assert torch.equal(y[:, :3], x[:, :, 1:-1, 1:-1]) and not y[:, 3:].any()


def test_non_float_dtypes():
    t = torch.empty(3, 4, dtype=torch.int64)
    assert torch.equal(ft.constant_(t, 5), torch.full((3, 4), 5))
    assert torch.equal(ft.eye_(torch.empty(3, 3, dtype=torch.int32)), torch.eye(3).int())
    with pytest.raises(NotImplementedError, match="Long") as err:  # torch's error
        ft.normal_(t, seed=0)
    assert isinstance(err.value, TypeError)


# --- warnings and errors: torch's own, compared on the same input ---------------------------

def _outcome(fn, *args, **kw):
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        try:
            fn(*args, **kw)
            err = None
        except Exception as e:  # noqa: BLE001 - the type and text are what is compared
            err = e
    return err, [(x.category, str(x.message)) for x in w]


BAD = [
    ("eye_", ((5,),), {}), ("eye_", ((2, 3, 4),), {}),
    ("dirac_", ((5,),), {}), ("dirac_", ((3, 4),), {}), ("dirac_", ((1, 2, 3, 4, 5, 6),), {}),
    ("dirac_", ((5, 4, 3),), {"groups": 2}),
    ("xavier_uniform_", ((),), {}), ("xavier_uniform_", ((4,),), {}),
    ("xavier_normal_", ((),), {}), ("xavier_normal_", ((4,),), {}),
    ("kaiming_uniform_", ((),), {}), ("kaiming_uniform_", ((4,),), {}),
    ("kaiming_normal_", ((),), {}), ("kaiming_normal_", ((4,),), {}),
    ("kaiming_uniform_", ((4, 4),), {"mode": "fan_avg"}),
    ("kaiming_normal_", ((4, 4),), {"nonlinearity": "swish"}),
    ("kaiming_uniform_", ((0, 3),), {}), ("kaiming_normal_", ((3, 0),), {}),
    ("sparse_", ((5,),), {"sparsity": 0.5}), ("sparse_", ((2, 3, 4),), {"sparsity": 0.5}),
    ("orthogonal_", ((5,),), {}),
    ("trunc_normal_", ((50,),), {"mean": 10.0, "std": 1.0, "a": -2.0, "b": 2.0}),
    ("uniform_", ((5,),), {"a": 1.0, "b": 0.0}),
    ("normal_", ((5,),), {"std": -1.0}),
    ("uniform", ((5,),), {}), ("xavier_normal", ((5, 5),), {}),
]


@pytest.mark.parametrize("name,shape,kw", [(b[0], b[1][0], b[2]) for b in BAD],
                         ids=[f"{b[0]}{b[1][0]}{sorted(b[2])}" for b in BAD])
def test_errors_and_warnings_match_torch(name, shape, kw):
    t_err, t_warn = _outcome(getattr(torch.nn.init, name), torch.zeros(shape), **kw)
    f_err, f_warn = _outcome(getattr(ft, name), torch.zeros(shape), **kw)
    assert (t_err is None) == (f_err is None), (t_err, f_err)
    if t_err is not None:
        assert isinstance(f_err, type(t_err)), (t_err, f_err)
        assert isinstance(f_err, (ValueError, TypeError))  # the house rule holds too
        if isinstance(t_err, ValueError):
            assert str(f_err) == str(t_err)
    t_cats = [(c, m.replace("nn.init.", "")) for c, m in t_warn]
    f_cats = [(c, m.replace("nn.init.", "")) for c, m in f_warn]
    assert f_cats == t_cats


def test_calculate_gain_like_torch():
    for fn in ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
               "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]:
        assert ft.calculate_gain(fn) == torch.nn.init.calculate_gain(fn)
    for param in [None, 0, 0.01, 10]:
        assert ft.calculate_gain("leaky_relu", param) == torch.nn.init.calculate_gain(
            "leaky_relu", param)
    for param in [True, [1], {"a": "b"}]:
        with pytest.raises(ValueError):
            ft.calculate_gain("leaky_relu", param)
    with pytest.raises(ValueError, match="Unsupported nonlinearity abcde"):
        ft.calculate_gain("abcde")


def test_same_names_as_torch():
    assert set(torch.nn.init.__all__) <= set(ft.__all__)


def test_bad_input_leaves_tensor_untouched():
    t = torch.full((6, 4), 7.25)
    for call in (lambda: ft.uniform_(t, 0.0, float("inf"), seed=0),
                 lambda: ft.sparse_(t, float("nan"), seed=0),  # torch: sparsity >= 1 is fine
                 lambda: ft.normal_(t, seed=-1)):
        with pytest.raises((ValueError, TypeError)):
            call()
        assert torch.all(t == 7.25)


# --- orthogonal: a thin call to fastinit.orthogonal_ (built in another branch) --------------

@pytest.mark.parametrize("gain", [1.0, 0.6])
@pytest.mark.parametrize("shape", [(3, 4), (4, 3), (20, 2, 3, 4), (2, 3, 4, 5)])
def test_torch_orthogonal(shape, gain):
    t = ft.orthogonal_(torch.zeros(shape), gain=gain, seed=0)
    rows, cols = shape[0], math.prod(shape[1:])
    flat = t.view(rows, cols).double()
    gram = flat.T @ flat if rows > cols else flat @ flat.T
    torch.testing.assert_close(gram, torch.eye(min(rows, cols), dtype=torch.float64) * gain**2,
                               atol=1e-6, rtol=0)


def test_torch_orthogonal_seed_rule_and_bf16():
    torch.manual_seed(3)
    a = ft.orthogonal_(torch.empty(16, 8))
    torch.manual_seed(3)
    b = ft.orthogonal_(torch.empty(16, 8))
    assert torch.equal(a, b)
    c = ft.orthogonal_(torch.empty(16, 8, dtype=torch.bfloat16), seed=1)
    assert c.dtype == torch.bfloat16
