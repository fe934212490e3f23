"""Bad input: a clear error naming the parameter, and the target untouched (NumPy and torch),
for every argument of every initializer, in both forms; targets that cannot be written (integer,
read-only, broadcast, scalar, not an array). And the edge values that are accepted quietly.
"""
import math
import warnings

import numpy as np
import pytest

import fastinit as fi

from ..helpers import BF16, SENTINEL, assert_same_bits


def _out(shape=(6, 4, 3, 3), dtype=np.float32):
    return np.full(shape, SENTINEL, dtype)


BAD_IN_PLACE = [
    # (id, call(out), exception, words the message must contain)
    ("std_negative", lambda o: fi.normal_(o, std=-1.0, seed=0), ValueError, ["std", "-1"]),
    ("std_nan", lambda o: fi.normal_(o, std=math.nan, seed=0), ValueError, ["std", "nan"]),
    ("std_inf", lambda o: fi.normal_(o, std=math.inf, seed=0), ValueError, ["std", "inf"]),
    ("std_string", lambda o: fi.normal_(o, std="1", seed=0), TypeError, ["std"]),
    ("mean_nan", lambda o: fi.normal_(o, mean=math.nan, seed=0), ValueError, ["mean"]),
    ("mean_inf", lambda o: fi.normal_(o, mean=-math.inf, seed=0), ValueError, ["mean"]),
    ("low_eq_high", lambda o: fi.uniform_(o, 1.0, 1.0, seed=0), ValueError, ["low", "high"]),
    ("low_gt_high", lambda o: fi.uniform_(o, 2.0, -1.0, seed=0), ValueError, ["low", "high"]),
    ("low_inf", lambda o: fi.uniform_(o, -math.inf, 1.0, seed=0), ValueError, ["low"]),
    ("high_nan", lambda o: fi.uniform_(o, 0.0, math.nan, seed=0), ValueError, ["high"]),
    ("trunc_std_negative", lambda o: fi.trunc_normal_(o, std=-0.1, seed=0), ValueError, ["std"]),
    ("trunc_std_nan", lambda o: fi.trunc_normal_(o, std=math.nan, seed=0), ValueError, ["std"]),
    ("trunc_a_ge_b", lambda o: fi.trunc_normal_(o, a=1.0, b=1.0, seed=0), ValueError, ["a", "b"]),
    ("trunc_a_nan", lambda o: fi.trunc_normal_(o, a=math.nan, seed=0), ValueError, ["a"]),
    ("trunc_empty_mass", lambda o: fi.trunc_normal_(o, 0.0, 1.0, 50.0, 51.0, seed=0), ValueError,
     ["[a, b]"]),
    ("stddev_negative", lambda o: fi.truncated_normal_(o, -0.01, seed=0), ValueError, ["stddev"]),
    ("stddev_inf", lambda o: fi.truncated_normal_(o, math.inf, seed=0), ValueError, ["stddev"]),
    ("lower_ge_upper", lambda o: fi.truncated_normal_(o, 0.1, 2.0, -2.0, seed=0), ValueError,
     ["lower", "upper"]),
    ("sparsity_one", lambda o: fi.sparse_(o[:, :, 0, 0], 1.0, seed=0), ValueError,
     ["sparsity", "1"]),
    ("sparsity_negative", lambda o: fi.sparse_(o[:, :, 0, 0], -0.1, seed=0), ValueError,
     ["sparsity"]),
    ("sparsity_nan", lambda o: fi.sparse_(o[:, :, 0, 0], math.nan, seed=0), ValueError,
     ["sparsity"]),
    ("sparse_std_negative", lambda o: fi.sparse_(o[:, :, 0, 0], 0.5, std=-1.0, seed=0),
     ValueError, ["std"]),
    ("sparse_3d", lambda o: fi.sparse_(o[:, :, 0], 0.5, seed=0), ValueError, ["shape"]),
    ("shape_negative", lambda o: fi.normal_(o, shape=(6, -4, 3, 3), seed=0), ValueError,
     ["shape", "-4"]),
    ("shape_float", lambda o: fi.normal_(o, shape=(6, 4.0, 3, 3), seed=0), TypeError,
     ["shape"]),
    ("shape_string", lambda o: fi.normal_(o, shape="6x4", seed=0), TypeError, ["shape"]),
    ("fan_1d", lambda o: fi.xavier_uniform_(o[:, 0, 0, 0], seed=0), ValueError, ["shape"]),
    ("fan_0d", lambda o: fi.kaiming_normal_(o[0, 0, 0, 0:1], shape=(1,), seed=0), ValueError,
     ["shape"]),
    ("fan_1d_jax", lambda o: fi.lecun_normal_(o[0, 0, 0], convention="jax", seed=0),
     ValueError, ["shape"]),
    ("fan_1d_vs", lambda o: fi.variance_scaling_(o[0, 0, 0], 1.0, "fan_in", "normal", seed=0),
     ValueError, ["shape"]),
    ("mode", lambda o: fi.kaiming_uniform_(o, mode="fan_inn", seed=0), ValueError,
     ["mode", "fan_inn"]),
    ("mode_vs", lambda o: fi.variance_scaling_(o, 1.0, "avg", "normal", seed=0), ValueError,
     ["mode", "avg"]),
    ("nonlinearity", lambda o: fi.kaiming_normal_(o, nonlinearity="swish", seed=0), ValueError,
     ["nonlinearity", "swish"]),
    ("leaky_slope", lambda o: fi.kaiming_normal_(o, a="0.1", seed=0), ValueError,
     ["0.1"]),
    ("distribution", lambda o: fi.variance_scaling_(o, 1.0, "fan_in", "gaussian", seed=0),
     ValueError, ["distribution", "gaussian"]),
    ("scale_negative", lambda o: fi.variance_scaling_(o, -1.0, "fan_in", "normal", seed=0),
     ValueError, ["scale"]),
    ("scale_nan", lambda o: fi.variance_scaling_(o, math.nan, "fan_in", "normal", seed=0),
     ValueError, ["scale"]),
    ("convention", lambda o: fi.xavier_normal_(o, convention="keras", seed=0), ValueError,
     ["convention", "keras"]),
    ("convention_vs", lambda o: fi.variance_scaling_(o, 1.0, "fan_in", "normal",
                                                     convention="flax", seed=0), ValueError,
     ["convention", "flax"]),
    ("gain_nan", lambda o: fi.xavier_uniform_(o, gain=math.nan, seed=0), ValueError, ["gain"]),
    ("in_axis", lambda o: fi.variance_scaling_(o, 1.0, "fan_in", "normal", convention="jax",
                                               in_axis=7, seed=0), ValueError, ["in_axis"]),
    ("region_outside", lambda o: fi.normal_(o, shape=(6, 4, 3, 3),
                                            region=(slice(3, 9),), seed=0), ValueError,
     ["region"]),
    ("region_negative", lambda o: fi.normal_(o, shape=(12, 4, 3, 3),
                                             region=(slice(-6, None),), seed=0), ValueError,
     ["region"]),
    ("region_step", lambda o: fi.normal_(o, shape=(12, 4, 3, 3),
                                         region=(slice(0, 12, 2),), seed=0), ValueError,
     ["region"]),
    ("region_too_many_dims", lambda o: fi.normal_(o, shape=(6, 4, 3, 3),
                                                  region=(slice(None),) * 5, seed=0),
     ValueError, ["region"]),
    ("region_not_slices", lambda o: fi.normal_(o, shape=(6, 4, 3, 3), region=[0, 1], seed=0),
     TypeError, ["region"]),
    ("out_shape_vs_region", lambda o: fi.normal_(o, shape=(12, 4, 3, 3),
                                                 region=(slice(0, 5),), seed=0), ValueError,
     ["out", "shape"]),
    ("out_shape_vs_shape", lambda o: fi.normal_(o, shape=(12, 4, 3, 3), seed=0), ValueError,
     ["out", "shape"]),
    ("seed_negative", lambda o: fi.normal_(o, seed=-1), ValueError, ["seed", "-1"]),
    ("seed_too_big", lambda o: fi.normal_(o, seed=2**64), ValueError, ["seed"]),
    ("seed_float", lambda o: fi.normal_(o, seed=1.0), TypeError, ["seed"]),
    ("seed_string", lambda o: fi.normal_(o, seed="0"), TypeError, ["seed"]),
    ("seed_bool", lambda o: fi.normal_(o, seed=True), TypeError, ["seed"]),
    ("seed_generator", lambda o: fi.normal_(o, seed=np.random.default_rng(0)), TypeError,
     ["seed"]),
    ("stream_negative", lambda o: fi.normal_(o, seed=0, stream=-1), ValueError, ["stream"]),
    ("stream_too_big", lambda o: fi.normal_(o, seed=0, stream=2**64), ValueError, ["stream"]),
    ("stream_float", lambda o: fi.normal_(o, seed=0, stream=0.5), TypeError, ["stream"]),
    ("dirac_groups", lambda o: fi.dirac_(o, 4), ValueError, ["groups", "4"]),
    ("dirac_groups_zero", lambda o: fi.dirac_(o, 0), ValueError, ["groups"]),
    ("dirac_2d", lambda o: fi.dirac_(o[:, :, 0, 0]), ValueError, ["shape"]),
    ("eye_4d", lambda o: fi.eye_(o), ValueError, ["shape"]),
    ("constant_string", lambda o: fi.constant_(o, "1"), TypeError, ["value"]),
]


@pytest.mark.parametrize("call,exc,words", [b[1:] for b in BAD_IN_PLACE],
                         ids=[b[0] for b in BAD_IN_PLACE])
@pytest.mark.parametrize("dtype", [np.float32, BF16])
def test_bad_input_in_place_leaves_out_untouched(call, exc, words, dtype):
    out = _out(dtype=dtype)
    before = out.copy()
    with pytest.raises(exc) as info:
        call(out)
    msg = str(info.value)
    for w in words:
        assert w in msg, (w, msg)
    assert_same_bits(out, before)


@pytest.mark.parametrize("call,exc,words", [b[1:] for b in BAD_IN_PLACE],
                         ids=[b[0] for b in BAD_IN_PLACE])
def test_bad_input_torch_target_untouched(call, exc, words):
    import torch

    t = torch.full((6, 4, 3, 3), SENTINEL)
    with pytest.raises(exc):
        call(t)
    assert torch.all(t == SENTINEL)


BAD_ALLOCATING = [
    ("shape_negative", lambda: fi.normal((3, -1), seed=0), ValueError, ["shape"]),
    ("shape_float", lambda: fi.normal((3, 2.5), seed=0), TypeError, ["shape"]),
    ("shape_int_negative", lambda: fi.uniform(-5, seed=0), ValueError, ["shape"]),
    ("shape_none", lambda: fi.uniform(None, seed=0), TypeError, ["shape"]),
    ("shape_bool", lambda: fi.zeros((True, 3)), TypeError, ["shape"]),
    ("dtype_int", lambda: fi.normal((3,), dtype="int32", seed=0), TypeError, ["dtype"]),
    ("dtype_unknown", lambda: fi.normal((3,), dtype="float8", seed=0), TypeError, ["dtype"]),
    ("dtype_bogus", lambda: fi.uniform((3,), dtype="bogus", seed=0), TypeError, ["dtype"]),
    ("dtype_bogus_eye", lambda: fi.eye((3, 3), dtype="float33"), TypeError, ["dtype"]),
    ("dtype_complex_trunc", lambda: fi.trunc_normal((3,), dtype=np.complex64, seed=0), TypeError,
     ["dtype"]),
    ("dtype_complex32", lambda: fi.uniform((3,), dtype="complex32", seed=0), TypeError,
     ["dtype"]),
    ("dtype_clongdouble", lambda: fi.normal((3,), dtype=np.clongdouble, seed=0), TypeError,
     ["dtype"]),
    ("region_outside", lambda: fi.normal((10, 10), region=(slice(5, 12),), seed=0), ValueError,
     ["region"]),
    ("region_outside_dim1", lambda: fi.eye((10, 10), region=(slice(0, 1), slice(9, 11))),
     ValueError, ["region"]),
    ("seed_negative", lambda: fi.uniform((3,), seed=-5), ValueError, ["seed"]),
    ("seed_big", lambda: fi.uniform((3,), seed=2**70), ValueError, ["seed"]),
    ("seed_type", lambda: fi.uniform((3,), seed=[1, 2]), TypeError, ["seed"]),
    ("fan_1d", lambda: fi.kaiming_uniform((5,), seed=0), ValueError, ["shape"]),
    ("fan_0d", lambda: fi.glorot_normal((), convention="jax", seed=0), ValueError, ["shape"]),
    ("lecun_1d", lambda: fi.lecun_uniform((5,), seed=0), ValueError, ["shape"]),
    ("vs_1d", lambda: fi.variance_scaling((5,), 1.0, "fan_in", "uniform", seed=0), ValueError,
     ["shape"]),
    ("sparse_sparsity", lambda: fi.sparse((4, 4), 1.5, seed=0), ValueError, ["sparsity"]),
    ("dirac_groups", lambda: fi.dirac((5, 4, 3), groups=2), ValueError, ["groups"]),
    ("device_unknown", lambda: fi.normal((3,), device="tpu", seed=0), ValueError, ["device"]),
    ("random_bits_seed", lambda: fi.random_bits(4, seed=-1), ValueError, ["seed"]),
    ("random_bits_region", lambda: fi.random_bits(4, seed=0, region=(slice(2, 6),)), ValueError,
     ["region"]),
]


@pytest.mark.parametrize("call,exc,words", [b[1:] for b in BAD_ALLOCATING],
                         ids=[b[0] for b in BAD_ALLOCATING])
def test_bad_input_allocating(call, exc, words):
    with pytest.raises(exc) as info:
        call()
    for w in words:
        assert w in str(info.value), (w, str(info.value))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint16, np.bool_])
def test_integer_out_rejected(dtype):
    out = np.full((5, 4), 3, dtype)
    before = out.copy()
    with pytest.raises(TypeError, match="out"):
        fi.normal_(out, seed=0)
    with pytest.raises(TypeError, match="out"):
        fi.zeros_(out)
    np.testing.assert_array_equal(out, before)


@pytest.mark.parametrize("fill, dtype", [
    (lambda out: fi.trunc_normal_(out, seed=0), np.complex64),
    (lambda out: fi.truncated_normal_(out, seed=0), np.complex128),
    (lambda out: fi.kaiming_uniform_(out, seed=0), np.clongdouble)])
def test_complex_out_refused_where_there_is_no_kernel(fill, dtype):
    """The truncated normals have no complex law (torch and JAX refuse it), and no
    initializer takes an extended-precision complex: refused, untouched."""
    out = np.full((5, 4), complex(SENTINEL, SENTINEL), dtype)
    before = out.copy()
    with pytest.raises(TypeError, match="out"):
        fill(out)
    np.testing.assert_array_equal(out, before)


def test_read_only_out_rejected():
    out = np.full((5, 4), SENTINEL, np.float32)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out"):
        fi.normal_(out, seed=0)
    with pytest.raises(ValueError, match="out"):
        fi.ones_(out)
    assert np.all(out == SENTINEL)
    # a read-only view of a writable base
    base = np.full((5, 4), SENTINEL, np.float32)
    ro = base[:, ::2]
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="out"):
        fi.uniform_(ro, seed=0)
    assert np.all(base == SENTINEL)


def test_broadcast_out_rejected():
    base = np.full((4,), SENTINEL, np.float32)
    view = np.lib.stride_tricks.as_strided(base, shape=(3, 4), strides=(0, 4))
    with pytest.raises(ValueError, match="out"):
        fi.normal_(view, seed=0)
    assert np.all(base == SENTINEL)


def test_numpy_scalar_out_rejected():
    # a NumPy scalar is immutable: filling a temporary copy and returning would silently
    # leave the caller's value as it was
    x = np.float32(SENTINEL)
    with pytest.raises((TypeError, ValueError), match="out"):
        fi.normal_(x, seed=0)


def test_non_array_out_rejected():
    with pytest.raises(TypeError, match="out"):
        fi.normal_([0.0, 1.0], seed=0)
    with pytest.raises(TypeError, match="out"):
        fi.normal_(None, seed=0)


# --- accepted at the edge, quietly -------------------------------------------------------------

def test_constant_nan_and_inf_allowed():
    # the docstring of fi.constant: "nan and inf allowed" (torch.nn.init.constant_ accepts both)
    assert np.all(np.isinf(fi.constant((3,), math.inf)))
    assert np.all(np.isnan(fi.constant((3,), math.nan)))
    out = np.zeros(4, np.float32)
    fi.constant_(out, math.nan)
    assert np.all(np.isnan(out))


def test_no_spurious_warnings():
    # a float16 uniform with a bound >= 2 must not leak NumPy's overflow warning from the
    # internal search for the first float32 that rounds to `high`
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for high in (0.5, 2.0, 10.0):
            fi.uniform((10,), -high, high, dtype="float16", seed=0)
        fi.kaiming_uniform((1, 1), dtype="float16", seed=0)
        fi.variance_scaling((1, 7), 1.0, "fan_in", "uniform", convention="jax",
                            dtype="float16", seed=0)



# --- uniform bounds whose span overflows: refused, never inf or NaN -------------------------

@pytest.mark.parametrize("low,high,dtype", [
    (-1e308, 1e308, "float64"), (-1.7e308, 1.7e308, "float64"), (-3e38, 3e38, "float32"),
    (0.0, 1e39, "float32"), (1e39, 2e39, "float32"), (0.0, 1e5, "float16"),
    (-3e38, 3e38, "bfloat16")])
def test_uniform_span_beyond_the_dtype_is_refused(low, high, dtype):
    with pytest.raises(ValueError, match="uniform bounds"):
        fi.uniform((8,), low, high, dtype=dtype, seed=0)
    out = np.full((8,), SENTINEL, dtype=np.dtype(BF16 if dtype == "bfloat16" else dtype))
    with pytest.raises(ValueError, match="uniform bounds"):
        fi.uniform_(out, low, high, seed=0)
    assert (out.astype(np.float64) == SENTINEL).all()


@pytest.mark.parametrize("low,high,dtype", [
    (-1.7e38, 1.7e38, "float32"), (-6e4, 6e4, "float16"), (-8.9e307, 8.9e307, "float64"),
    (-1e38, 2.3e38, "bfloat16")])
def test_uniform_wide_spans_within_range_are_finite_and_span_the_interval(low, high, dtype):
    x = fi.uniform((4096,), low, high, dtype=dtype, seed=1).astype(np.float64)
    assert np.isfinite(x).all() and (x >= low).all() and (x < high).all()
    width = high - low
    assert x.min() < low + 0.01 * width and x.max() > high - 0.01 * width


# --- shapes: every public function that takes one says that the shape is wrong ---------------

REQUIRED = {"variance_scaling": (1.0, "fan_in", "normal"), "constant": (0.5,),
            "sparse": (0.5,)}
SHAPE_FUNCTIONS = sorted(
    n for n in fi.__all__ if callable(getattr(fi, n)) and not n.endswith("_")
    and next(iter(__import__("inspect").signature(getattr(fi, n)).parameters), None) == "shape")


@pytest.mark.parametrize("bad", [(0, 2**70), (10, -3), (2**64, 2), (2.5, 3), ("3", 3), None])
@pytest.mark.parametrize("name", SHAPE_FUNCTIONS)
def test_shape_errors_name_the_shape(name, bad):
    with pytest.raises((ValueError, TypeError, OverflowError), match="shape"):
        getattr(fi, name)(bad, *REQUIRED.get(name, ()))


def test_every_shape_function_is_checked():
    assert {"normal", "uniform", "orthogonal", "compute_fans", "random_bits", "sparse",
            "delta_orthogonal", "variance_scaling"} <= set(SHAPE_FUNCTIONS)
