"""The exact formulas of torch.nn.init and jax.nn.initializers, written out here (never imported
from fastinit), against fastinit's gains, fans, bounds and standard deviations.

Three levels of check:

- gains and fans: equal to the written-out formula (and to torch's own functions);
- bounds and stds to the bit: a fan-based initializer equals the plain distribution
  (``uniform(-bound, bound)``, ``normal(0, std)``, ``trunc_normal(0, s, -2 s, 2 s)``) with the
  bound/std computed here, at the same seed;
- samples: max |x| <= bound and close to it, sample std close to the intended one.
"""
import math

import ml_dtypes
import numpy as np
import pytest

import fastinit as fi

JAX_TRUNCATED_STD = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2], as JAX writes it

TORCH_SHAPES = [(64, 32), (16, 8, 3, 3), (8, 4, 5), (4, 2, 2, 3, 3), (7, 1)]
JAX_SHAPES = [(32, 64), (3, 3, 8, 16), (5, 4, 8), (2, 3, 3, 4, 6), (1, 7)]
DTYPES = ["float32", "float64", "float16", "bfloat16"]


# --- torch's formulas, written out -------------------------------------------------------------

def torch_gain(nonlinearity, param=None):
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        negative_slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise AssertionError(nonlinearity)


def torch_fans(shape):
    num_input_fmaps = shape[1]
    num_output_fmaps = shape[0]
    receptive_field_size = 1
    for s in shape[2:]:
        receptive_field_size *= s
    return num_input_fmaps * receptive_field_size, num_output_fmaps * receptive_field_size


def torch_fan(shape, mode):
    fan_in, fan_out = torch_fans(shape)
    return fan_in if mode == "fan_in" else fan_out


def torch_xavier_std(shape, gain=1.0):
    fan_in, fan_out = torch_fans(shape)
    return gain * math.sqrt(2.0 / float(fan_in + fan_out))


def torch_xavier_bound(shape, gain=1.0):
    return math.sqrt(3.0) * torch_xavier_std(shape, gain)


def torch_kaiming_std(shape, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    return torch_gain(nonlinearity, a) / math.sqrt(torch_fan(shape, mode))


def torch_kaiming_bound(shape, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    return math.sqrt(3.0) * torch_kaiming_std(shape, a, mode, nonlinearity)


# --- JAX's formulas, written out ---------------------------------------------------------------

def jax_fans(shape, in_axis=-2, out_axis=-1, batch_axis=()):
    if len(shape) <= 1:
        raise ValueError
    if isinstance(in_axis, int):
        in_size = shape[in_axis]
    else:
        in_size = math.prod([shape[i] for i in in_axis])
    if isinstance(out_axis, int):
        out_size = shape[out_axis]
    else:
        out_size = math.prod([shape[i] for i in out_axis])
    if isinstance(batch_axis, int):
        batch_size = shape[batch_axis]
    else:
        batch_size = math.prod([shape[i] for i in batch_axis])
    receptive_field_size = math.prod(shape) / in_size / out_size / batch_size
    fan_in = in_size * receptive_field_size
    fan_out = out_size * receptive_field_size
    return fan_in, fan_out


def jax_variance(shape, scale, mode, in_axis=-2, out_axis=-1, batch_axis=()):
    fan_in, fan_out = jax_fans(shape, in_axis, out_axis, batch_axis)
    if mode == "fan_in":
        denominator = fan_in
    elif mode == "fan_out":
        denominator = fan_out
    elif mode == "fan_avg":
        denominator = (fan_in + fan_out) / 2
    elif mode == "fan_geo_avg":
        denominator = (fan_in * fan_out) ** 0.5
    else:
        raise AssertionError(mode)
    return scale / denominator


def jax_uniform_bound(variance):
    return math.sqrt(3 * variance)


def jax_truncated_s(variance):
    """The std parameter of JAX's truncated normal: truncated at +-2 s."""
    return math.sqrt(variance) / JAX_TRUNCATED_STD


# --- gains -------------------------------------------------------------------------------------

GAIN_CASES = [
    ("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None),
    ("conv_transpose1d", None), ("conv_transpose2d", None), ("conv_transpose3d", None),
    ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
    ("leaky_relu", 0.2), ("leaky_relu", 5 ** 0.5), ("leaky_relu", 0), ("leaky_relu", 1),
    ("leaky_relu", 3), ("selu", None),
]


@pytest.mark.parametrize("nonlinearity,param", GAIN_CASES)
def test_calculate_gain_table(nonlinearity, param):
    torch = pytest.importorskip("torch")

    got = fi.calculate_gain(nonlinearity, param)
    assert got == torch_gain(nonlinearity, param)
    assert got == torch.nn.init.calculate_gain(nonlinearity, param)


def test_calculate_gain_known_values():
    assert fi.calculate_gain("tanh") == 5.0 / 3
    assert fi.calculate_gain("relu") == math.sqrt(2.0)
    assert fi.calculate_gain("selu") == 0.75
    assert fi.calculate_gain("leaky_relu") == math.sqrt(2.0 / (1 + 0.01 ** 2))
    assert fi.calculate_gain("leaky_relu", 0.2) == 1.3867504905630728
    assert fi.calculate_gain("linear") == 1


def test_calculate_gain_bad_input():
    torch = pytest.importorskip("torch")

    with pytest.raises(ValueError, match="nonlinearity"):
        fi.calculate_gain("swish")
    with pytest.raises(ValueError):
        torch.nn.init.calculate_gain("swish")
    for bad in ("0.1", True, object()):
        with pytest.raises(ValueError):
            fi.calculate_gain("leaky_relu", bad)


# --- fans --------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", TORCH_SHAPES)
def test_torch_fans(shape):
    torch = pytest.importorskip("torch")

    got = fi.compute_fans(shape)
    assert got == torch_fans(shape)
    assert fi.compute_fans(shape, convention="torch") == torch_fans(shape)
    assert got == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert all(isinstance(f, int) for f in got)


@pytest.mark.parametrize("shape", JAX_SHAPES)
def test_jax_fans_default_axes(shape):
    got = fi.compute_fans(shape, convention="jax")
    assert got == jax_fans(shape)
    assert all(isinstance(f, float) for f in got)


@pytest.mark.parametrize("shape,in_axis,out_axis,batch_axis", [
    ((3, 3, 8, 16), -2, -1, ()),
    ((3, 3, 8, 16), 0, 1, ()),
    ((3, 3, 8, 16), -2, -1, 0),
    ((3, 3, 8, 16), -2, -1, (0,)),
    ((3, 3, 8, 16), (0, 1), -1, ()),
    ((3, 3, 8, 16), -2, 3, (0, 1)),
    ((6, 5, 4, 3, 2), (1, 2), (-1,), (0,)),
    ((4, 9), 1, 0, ()),
    ((2, 4, 6), 1, 2, 0),
])
def test_jax_fans_axes(shape, in_axis, out_axis, batch_axis):
    got = fi.compute_fans(shape, convention="jax", in_axis=in_axis, out_axis=out_axis,
                          batch_axis=batch_axis)
    assert got == jax_fans(shape, in_axis, out_axis, batch_axis)


@pytest.mark.parametrize("shape", [(), (5,)])
@pytest.mark.parametrize("convention", ["torch", "jax"])
def test_fans_need_two_dims(shape, convention):
    with pytest.raises(ValueError):
        fi.compute_fans(shape, convention=convention)


def test_fans_unknown_convention():
    with pytest.raises(ValueError, match="convention"):
        fi.compute_fans((3, 4), convention="keras")


# --- aliases -----------------------------------------------------------------------------------

@pytest.mark.parametrize("alias,name", [
    ("glorot_uniform", "xavier_uniform"), ("glorot_normal", "xavier_normal"),
    ("he_uniform", "kaiming_uniform"), ("he_normal", "kaiming_normal"),
])
def test_aliases_are_the_same_objects(alias, name):
    assert getattr(fi, alias) is getattr(fi, name)
    assert getattr(fi, alias + "_") is getattr(fi, name + "_")


def test_every_public_name_has_an_in_place_form():
    for name in ["uniform", "normal", "trunc_normal", "truncated_normal", "xavier_uniform",
                 "xavier_normal", "glorot_uniform", "glorot_normal", "kaiming_uniform",
                 "kaiming_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
                 "variance_scaling", "constant", "zeros", "ones", "eye", "dirac", "sparse"]:
        assert callable(getattr(fi, name)) and callable(getattr(fi, name + "_")), name


# --- bounds and stds to the bit: torch convention ----------------------------------------------

@pytest.mark.parametrize("shape", TORCH_SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_torch_xavier_exact(shape, dtype):
    for gain in (1.0, 5.0 / 3, 0.5):
        b = torch_xavier_bound(shape, gain)
        np.testing.assert_array_equal(
            fi.xavier_uniform(shape, gain, dtype=dtype, seed=3, stream=1),
            fi.uniform(shape, -b, b, dtype=dtype, seed=3, stream=1))
        s = torch_xavier_std(shape, gain)
        np.testing.assert_array_equal(
            fi.xavier_normal(shape, gain, dtype=dtype, seed=4),
            fi.normal(shape, 0.0, s, dtype=dtype, seed=4))


KAIMING_ARGS = [
    dict(), dict(a=5 ** 0.5), dict(a=0.2, mode="fan_out"), dict(nonlinearity="relu"),
    dict(nonlinearity="relu", mode="fan_out"), dict(nonlinearity="tanh"),
    dict(nonlinearity="selu"), dict(nonlinearity="linear"), dict(nonlinearity="sigmoid"),
    dict(nonlinearity="conv2d", mode="fan_out"),
]


@pytest.mark.parametrize("shape", TORCH_SHAPES)
@pytest.mark.parametrize("kw", KAIMING_ARGS)
def test_torch_kaiming_exact(shape, kw):
    for dtype in ("float32", "float64"):
        b = torch_kaiming_bound(shape, **kw)
        np.testing.assert_array_equal(fi.kaiming_uniform(shape, dtype=dtype, seed=5, **kw),
                                      fi.uniform(shape, -b, b, dtype=dtype, seed=5))
        s = torch_kaiming_std(shape, **kw)
        np.testing.assert_array_equal(fi.kaiming_normal(shape, dtype=dtype, seed=6, **kw),
                                      fi.normal(shape, 0.0, s, dtype=dtype, seed=6))


@pytest.mark.parametrize("shape", TORCH_SHAPES)
def test_torch_lecun_exact(shape):
    # torch has no lecun_*: it is kaiming with the linear gain on fan_in
    fan_in, _ = torch_fans(shape)
    std = 1 / math.sqrt(fan_in)
    for dtype in ("float32", "float64", "bfloat16"):
        b = math.sqrt(3.0) * std
        np.testing.assert_array_equal(fi.lecun_uniform(shape, dtype=dtype, seed=7),
                                      fi.uniform(shape, -b, b, dtype=dtype, seed=7))
        np.testing.assert_array_equal(fi.lecun_normal(shape, dtype=dtype, seed=7),
                                      fi.normal(shape, 0.0, std, dtype=dtype, seed=7))
        np.testing.assert_array_equal(
            fi.lecun_uniform(shape, dtype=dtype, seed=7),
            fi.kaiming_uniform(shape, nonlinearity="linear", dtype=dtype, seed=7))


def test_torch_kaiming_fan_avg_and_geo_avg():
    shape = (24, 10, 3)
    fan_in, fan_out = torch_fans(shape)
    for mode, fan in (("fan_avg", (fan_in + fan_out) / 2),
                      ("fan_geo_avg", math.sqrt(fan_in * fan_out))):
        std = math.sqrt(2.0) / math.sqrt(fan)
        np.testing.assert_array_equal(
            fi.kaiming_normal(shape, mode=mode, nonlinearity="relu", dtype="float64", seed=1),
            fi.normal(shape, 0.0, std, dtype="float64", seed=1))


# --- bounds and stds to the bit: JAX convention ------------------------------------------------

def _jax_expected(shape, variance, distribution, dtype, seed):
    if distribution == "uniform":
        b = jax_uniform_bound(variance)
        return fi.uniform(shape, -b, b, dtype=dtype, seed=seed)
    if distribution == "normal":
        return fi.normal(shape, 0.0, math.sqrt(variance), dtype=dtype, seed=seed)
    s = jax_truncated_s(variance)
    return fi.trunc_normal(shape, 0.0, s, -2.0 * s, 2.0 * s, dtype=dtype, seed=seed)


@pytest.mark.parametrize("shape", JAX_SHAPES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_jax_named_initializers_exact(shape, dtype):
    kw = dict(convention="jax", dtype=dtype, seed=11)
    cases = [
        (fi.glorot_uniform(shape, **kw), jax_variance(shape, 1.0, "fan_avg"), "uniform"),
        (fi.glorot_normal(shape, **kw), jax_variance(shape, 1.0, "fan_avg"), "truncated_normal"),
        (fi.he_uniform(shape, **kw), jax_variance(shape, 2.0, "fan_in"), "uniform"),
        (fi.he_normal(shape, **kw), jax_variance(shape, 2.0, "fan_in"), "truncated_normal"),
        (fi.lecun_uniform(shape, **kw), jax_variance(shape, 1.0, "fan_in"), "uniform"),
        (fi.lecun_normal(shape, **kw), jax_variance(shape, 1.0, "fan_in"), "truncated_normal"),
        # a gain on xavier is JAX's scale = gain ** 2
        (fi.glorot_uniform(shape, 2.0, **kw), jax_variance(shape, 4.0, "fan_avg"), "uniform"),
    ]
    for got, variance, distribution in cases:
        np.testing.assert_array_equal(got, _jax_expected(shape, variance, distribution, dtype, 11))


@pytest.mark.parametrize("shape", JAX_SHAPES)
@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg", "fan_geo_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "normal", "uniform"])
def test_jax_variance_scaling_exact(shape, mode, distribution):
    for scale in (1.0, 2.0, 0.1):
        got = fi.variance_scaling(shape, scale, mode, distribution, convention="jax",
                                  dtype="float64", seed=12)
        variance = jax_variance(shape, scale, mode)
        np.testing.assert_array_equal(got, _jax_expected(shape, variance, distribution,
                                                         "float64", 12))


@pytest.mark.parametrize("axes", [
    dict(in_axis=0, out_axis=1), dict(batch_axis=0), dict(in_axis=(0, 1), out_axis=-1),
    dict(in_axis=-2, out_axis=-1, batch_axis=(0, 1)),
])
def test_jax_variance_scaling_axes_exact(axes):
    shape = (3, 5, 8, 16)
    ref_axes = dict(in_axis=-2, out_axis=-1, batch_axis=())
    ref_axes.update(axes)
    for distribution in ("uniform", "truncated_normal", "normal"):
        got = fi.variance_scaling(shape, 2.0, "fan_avg", distribution, convention="jax",
                                  dtype="float64", seed=13, **axes)
        variance = jax_variance(shape, 2.0, "fan_avg", **ref_axes)
        np.testing.assert_array_equal(got, _jax_expected(shape, variance, distribution,
                                                         "float64", 13))
    got = fi.he_normal(shape, convention="jax", dtype="float64", seed=13, **axes)
    variance = jax_variance(shape, 2.0, "fan_in", **ref_axes)
    np.testing.assert_array_equal(got, _jax_expected(shape, variance, "truncated_normal",
                                                     "float64", 13))


def test_torch_convention_variance_scaling_uses_torch_fans():
    shape = (16, 8, 3, 3)
    fan_in, fan_out = torch_fans(shape)
    for mode, n in (("fan_in", fan_in), ("fan_out", fan_out), ("fan_avg", (fan_in + fan_out) / 2)):
        got = fi.variance_scaling(shape, 2.0, mode, "normal", dtype="float64", seed=2)
        np.testing.assert_array_equal(got, fi.normal(shape, 0.0, math.sqrt(2.0 / n),
                                                     dtype="float64", seed=2))


def test_jax_kaiming_gain_squared_is_exact():
    # JAX's he_* use scale 2.0 exactly; relu's gain ** 2 would be 2.0000000000000004
    shape = (64, 128)
    variance = jax_variance(shape, 2.0, "fan_in")
    for kw in (dict(), dict(nonlinearity="relu")):
        np.testing.assert_array_equal(
            fi.kaiming_uniform(shape, convention="jax", dtype="float64", seed=1, **kw),
            _jax_expected(shape, variance, "uniform", "float64", 1))
    variance = jax_variance(shape, 25.0 / 9, "fan_out")
    np.testing.assert_array_equal(
        fi.kaiming_normal(shape, mode="fan_out", nonlinearity="tanh", convention="jax",
                          dtype="float64", seed=1),
        _jax_expected(shape, variance, "truncated_normal", "float64", 1))


def test_zero_scale_gives_zeros():
    got = fi.variance_scaling((8, 8), 0.0, "fan_in", "truncated_normal", convention="jax",
                              seed=0)
    assert not np.any(got)
    assert not np.any(fi.xavier_uniform((8, 8), gain=0.0, seed=0))


# --- samples: bounds reached, stds matched -----------------------------------------------------

BIG_TORCH = (256, 512, 1)   # 131072 elements; fan_in 512, fan_out 256
BIG_JAX = (2, 512, 128)     # 131072 elements; fan_in 1024, fan_out 256


def _check_uniform_sample(x, bound):
    x = np.asarray(x, np.float64)
    b32 = float(np.float32(bound))  # float32 rounding of the bound (the generation precision)
    assert np.abs(x).max() <= b32
    assert np.abs(x).max() >= 0.999 * bound
    assert x.min() < -0.999 * bound and x.max() > 0.999 * bound
    assert abs(x.std() / (bound / math.sqrt(3.0)) - 1) < 0.01
    assert abs(x.mean()) < 0.01 * bound


def _check_normal_sample(x, std):
    x = np.asarray(x, np.float64)
    assert abs(x.std() / std - 1) < 0.01
    assert abs(x.mean()) < 0.01 * std
    assert np.abs(x).max() > 3.5 * std  # untruncated


def _check_jax_truncated_sample(x, variance):
    x = np.asarray(x, np.float64)
    s = jax_truncated_s(variance)
    assert np.abs(x).max() <= float(np.float32(2 * s))
    assert np.abs(x).max() > 0.995 * 2 * s
    assert abs(x.std() / math.sqrt(variance) - 1) < 0.01
    assert abs(x.mean()) < 0.01 * math.sqrt(variance)


def test_torch_convention_samples_match_torch():
    torch = pytest.importorskip("torch")

    shape = BIG_TORCH
    t = torch.empty(shape)
    torch.manual_seed(0)

    # xavier_uniform
    b = torch_xavier_bound(shape)
    x = fi.xavier_uniform(shape, seed=0)
    _check_uniform_sample(x, b)
    torch.nn.init.xavier_uniform_(t)
    _check_uniform_sample(t.numpy(), b)

    # xavier_normal
    s = torch_xavier_std(shape, 2.0)
    _check_normal_sample(fi.xavier_normal(shape, 2.0, seed=1), s)
    torch.nn.init.xavier_normal_(t, 2.0)
    _check_normal_sample(t.numpy(), s)

    # kaiming_uniform with nn.Linear's a = sqrt(5), and relu/fan_out
    for kw in (dict(a=5 ** 0.5), dict(mode="fan_out", nonlinearity="relu")):
        b = torch_kaiming_bound(shape, **kw)
        # torch's own fan/gain functions give the same bound
        fan = torch.nn.init._calculate_correct_fan(t, kw.get("mode", "fan_in"))
        gain = torch.nn.init.calculate_gain(kw.get("nonlinearity", "leaky_relu"), kw.get("a", 0))
        assert b == math.sqrt(3.0) * (gain / math.sqrt(fan))
        _check_uniform_sample(fi.kaiming_uniform(shape, seed=2, **kw), b)
        torch.nn.init.kaiming_uniform_(t, **kw)
        _check_uniform_sample(t.numpy(), b)

        s = torch_kaiming_std(shape, **kw)
        _check_normal_sample(fi.kaiming_normal(shape, seed=3, **kw), s)
        torch.nn.init.kaiming_normal_(t, **kw)
        _check_normal_sample(t.numpy(), s)

    # lecun (torch: kaiming with the linear gain)
    s = torch_kaiming_std(shape, nonlinearity="linear")
    _check_uniform_sample(fi.lecun_uniform(shape, seed=4), math.sqrt(3.0) * s)
    _check_normal_sample(fi.lecun_normal(shape, seed=4), s)


def test_jax_convention_samples():
    shape = BIG_JAX
    kw = dict(convention="jax", seed=21)
    v = jax_variance(shape, 1.0, "fan_avg")
    _check_uniform_sample(fi.glorot_uniform(shape, **kw), jax_uniform_bound(v))
    _check_jax_truncated_sample(fi.glorot_normal(shape, **kw), v)
    v = jax_variance(shape, 2.0, "fan_in")
    _check_uniform_sample(fi.he_uniform(shape, **kw), jax_uniform_bound(v))
    _check_jax_truncated_sample(fi.he_normal(shape, **kw), v)
    v = jax_variance(shape, 1.0, "fan_in")
    _check_uniform_sample(fi.lecun_uniform(shape, **kw), jax_uniform_bound(v))
    _check_jax_truncated_sample(fi.lecun_normal(shape, **kw), v)
    for mode in ("fan_in", "fan_out", "fan_avg", "fan_geo_avg"):
        v = jax_variance(shape, 0.5, mode)
        _check_uniform_sample(
            fi.variance_scaling(shape, 0.5, mode, "uniform", **kw), jax_uniform_bound(v))
        _check_jax_truncated_sample(
            fi.variance_scaling(shape, 0.5, mode, "truncated_normal", **kw), v)
        _check_normal_sample(
            fi.variance_scaling(shape, 0.5, mode, "normal", **kw), math.sqrt(v))


@pytest.mark.parametrize("dtype", ["float64", "bfloat16", "float16"])
def test_samples_other_dtypes(dtype):
    shape = BIG_JAX
    v = jax_variance(shape, 1.0, "fan_avg")
    x = fi.glorot_normal(shape, convention="jax", dtype=dtype, seed=5)
    s = jax_truncated_s(v)
    # rounding into the output dtype may move a value by half an ulp of that dtype at most
    eps = float(ml_dtypes.finfo(ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype).eps)
    xa = np.abs(np.asarray(x, np.float64))
    assert xa.max() <= 2 * s * (1 + eps)
    assert abs(np.asarray(x, np.float64).std() / math.sqrt(v) - 1) < 0.01
    b = torch_xavier_bound((256, 512))
    x = np.asarray(fi.xavier_uniform((256, 512), dtype=dtype, seed=6), np.float64)
    assert np.abs(x).max() <= b * (1 + eps) and x.max() < b * (1 + eps) and x.min() >= -b * (1 + eps)
    assert np.abs(x).max() >= b * (1 - 2 * eps) - 1e-3 * b
