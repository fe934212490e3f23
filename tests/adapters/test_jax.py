"""fastinit.jax.initializers against jax.nn.initializers: signatures, defaults, dtypes, the
key mapping, formulas (against JAX's own samples and written out), jit, DLPack."""
import inspect
import math

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from scipy import stats

import fastinit as fi
from fastinit.jax import initializers as fji
from fastinit.jax import key_to_seed_stream

P_MIN = 1e-4
FACTORIES = ["glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "kaiming_normal",
             "kaiming_uniform", "lecun_normal", "lecun_uniform", "xavier_normal",
             "xavier_uniform"]


def test_same_names_and_signatures_as_jax():
    public = [n for n in dir(jax.nn.initializers) if not n.startswith("_")]
    assert fji.Initializer is jax.nn.initializers.Initializer
    for name in public:
        if name == "Initializer":
            continue
        assert hasattr(fji, name), name
        ours = inspect.signature(getattr(fji, name)).parameters
        theirs = inspect.signature(getattr(jax.nn.initializers, name)).parameters
        assert list(ours) == list(theirs), name
        for p in theirs:
            assert ours[p].default == theirs[p].default, (name, p)


def _pair(name, *args):
    return getattr(fji, name)(*args), getattr(jax.nn.initializers, name)(*args)


@pytest.mark.parametrize("name", FACTORIES)
@pytest.mark.parametrize("shape", [(64, 96), (3, 3, 16, 32)])
def test_scaled_against_jax_samples(name, shape):
    ours, theirs = _pair(name)
    key = jax.random.key(0)
    a, b = ours(key, shape), theirs(key, shape)
    assert a.shape == b.shape and a.dtype == b.dtype == jnp.float32
    assert isinstance(a, jax.Array)
    x, y = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    assert stats.ks_2samp(x, y).pvalue > P_MIN
    if "uniform" in name:  # the same bound, written out: sqrt(3 * scale / n)
        fan_in = shape[-2] * math.prod(shape[:-2])
        fan_out = shape[-1] * math.prod(shape[:-2])
        scale, n = ((1.0, (fan_in + fan_out) / 2) if name in ("glorot_uniform", "xavier_uniform")
                    else (2.0, fan_in) if name in ("he_uniform", "kaiming_uniform")
                    else (1.0, fan_in))
        bound = math.sqrt(3 * scale / n)
        assert np.abs(x).max() < bound and np.abs(x).max() > 0.98 * bound
    else:  # truncated at 2 std, std / 0.8796...: the variance is the intended one
        assert np.abs(x).max() <= np.abs(y).max() * 1.05


def test_variance_scaling_axes_modes_against_jax():
    for mode in ("fan_in", "fan_out", "fan_avg", "fan_geo_avg"):
        for dist in ("truncated_normal", "normal", "uniform"):
            ours, theirs = _pair("variance_scaling", 2.0, mode, dist, (0, 1), 3, (2,))
            shape = (4, 5, 3, 40)
            a = np.asarray(ours(jax.random.key(1), shape), np.float64).ravel()
            b = np.asarray(theirs(jax.random.key(1), shape), np.float64).ravel()
            assert stats.ks_2samp(a, b).pvalue > P_MIN, (mode, dist)


def test_plain_distributions():
    key = jax.random.key(2)
    x = np.asarray(fji.normal(0.3)(key, (4000,)), np.float64)
    assert stats.kstest(x, "norm", args=(0, 0.3)).pvalue > P_MIN
    u = np.asarray(fji.uniform(0.5)(key, (4000,)), np.float64)
    assert stats.kstest(u, "uniform", args=(0, 0.5)).pvalue > P_MIN
    t = np.asarray(fji.truncated_normal(0.2, lower=-1.0, upper=1.5)(key, (4000,)), np.float64)
    assert stats.kstest(t / 0.2, "truncnorm", args=(-1.0, 1.5)).pvalue > P_MIN
    assert np.all(np.asarray(fji.constant(2.5)(key, (3, 2))) == 2.5)
    assert np.all(np.asarray(fji.zeros(key, (3,))) == 0)
    assert np.all(np.asarray(fji.ones(key, (3,), jnp.bfloat16)) == 1)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float16, jnp.bfloat16, None])
def test_dtypes_like_jax(dtype):
    for name in ("normal", "uniform", "truncated_normal"):
        ours, theirs = _pair(name)
        a = ours(jax.random.key(0), (8, 4), dtype)
        b = theirs(jax.random.key(0), (8, 4), dtype)
        assert a.dtype == b.dtype, name
    a = fji.glorot_uniform(dtype=jnp.bfloat16)(jax.random.key(0), (8, 4))
    assert a.dtype == jnp.bfloat16


def test_key_maps_to_the_seed_it_was_made_from():
    for s in (0, 7, 2**32 - 1):
        assert key_to_seed_stream(jax.random.key(s)) == (s, 0)
        assert key_to_seed_stream(jax.random.PRNGKey(s)) == (s, 0)
        got = fji.he_normal()(jax.random.key(s), (32, 16))
        np.testing.assert_array_equal(np.asarray(got),
                                      fi.he_normal((32, 16), convention="jax", seed=s))
    words = np.array([1, 2, 3, 4], np.uint32)
    assert key_to_seed_stream(words) == (2**32 + 2, 3 * 2**32 + 4)
    k1, k2 = jax.random.split(jax.random.key(0))
    assert not np.array_equal(fji.normal()(k1, (16,)), fji.normal()(k2, (16,)))
    with pytest.raises(ValueError, match="key"):
        key_to_seed_stream(jax.random.split(jax.random.key(0), 3))


def test_bfloat16_bits_and_jit():
    init = fji.lecun_normal()
    eager = init(jax.random.key(3), (40, 24), jnp.bfloat16)
    want = fi.lecun_normal((40, 24), convention="jax", dtype="bfloat16", seed=3)
    np.testing.assert_array_equal(np.asarray(eager).view(np.uint16), want.view(np.uint16))
    jitted = jax.jit(lambda k: init(k, (40, 24), jnp.bfloat16))(jax.random.key(3))
    np.testing.assert_array_equal(np.asarray(jitted).view(np.uint16), want.view(np.uint16))


def test_float32_result_is_zero_copy():
    from fastinit.jax.initializers import _host, _to_jax
    host = _host(lambda out, s, t: fi.normal_(out, seed=s), (256, 256), np.dtype(np.float32),
                 1, 0)
    arr = _to_jax(host)
    assert arr.unsafe_buffer_pointer() == host.ctypes.data


def test_errors_when_init_is_called_as_jax():
    """As JAX, a factory takes any argument and ``init`` refuses; the full list, side by side
    with JAX, is in test_jax_dropin_errors.py."""
    init = fji.variance_scaling(1.0, "fan_sum", "normal")
    with pytest.raises(ValueError, match="invalid mode for variance scaling"):
        init(jax.random.key(0), (2, 2))
    with pytest.raises(ValueError, match="invalid distribution for variance scaling"):
        fji.variance_scaling(1.0, "fan_in", "cauchy")(jax.random.key(0), (2, 2))
    with pytest.raises(ValueError, match="Must be at least 2D or specify in_axis"):
        fji.glorot_uniform()(jax.random.key(0), (5,))
    with pytest.raises(ValueError, match="must be a float or complex dtype, got int32"):
        fji.normal()(jax.random.key(0), (5,), jnp.int32)


# --- orthogonal: thin calls to fastinit.orthogonal_ (built in another branch) --------------

@pytest.mark.parametrize("shape", [(16, 8), (8, 16), (3, 3, 6, 10)])
def test_jax_orthogonal(shape):
    for column_axis in (-1, 0):
        w = np.asarray(fji.orthogonal(1.5, column_axis)(jax.random.key(0), shape), np.float64)
        cols = shape[column_axis]
        m = np.moveaxis(w, column_axis, -1).reshape(-1, cols)
        gram = m.T @ m if m.shape[0] >= cols else m @ m.T
        np.testing.assert_allclose(gram, 1.5**2 * np.eye(gram.shape[0]), atol=1e-5)


def test_jax_delta_orthogonal():
    w = np.asarray(fji.delta_orthogonal()(jax.random.key(0), (3, 3, 8, 8)), np.float64)
    centre = w[1, 1]
    np.testing.assert_allclose(centre.T @ centre, np.eye(8), atol=1e-5)
    assert not np.delete(w.reshape(9, 8, 8), 4, axis=0).any()


# --- in Flax modules ------------------------------------------------------------------------

def test_in_flax_linen_and_nnx():
    import flax.linen as nn
    from flax import nnx

    class Net(nn.Module):
        kernel_init: object

        @nn.compact
        def __call__(self, x):
            x = nn.Dense(256, kernel_init=self.kernel_init, bias_init=fji.zeros)(x)
            return nn.Conv(8, (3, 3), kernel_init=fji.he_uniform(),
                           param_dtype=jnp.bfloat16)(x.reshape(2, 16, 16, 1))

    x = jnp.ones((2, 512))
    ours = Net(fji.lecun_normal()).init(jax.random.key(0), x)["params"]
    theirs = Net(jax.nn.initializers.lecun_normal()).init(jax.random.key(0), x)["params"]
    k, r = ours["Dense_0"]["kernel"], theirs["Dense_0"]["kernel"]
    assert k.shape == r.shape == (512, 256) and k.dtype == r.dtype == jnp.float32
    assert stats.ks_2samp(np.asarray(k).ravel(), np.asarray(r).ravel()).pvalue > P_MIN
    assert not np.asarray(ours["Dense_0"]["bias"]).any()
    conv = ours["Conv_0"]["kernel"]
    assert conv.dtype == jnp.bfloat16 and conv.shape == (3, 3, 1, 8)
    assert np.abs(np.asarray(conv, np.float64)).max() < math.sqrt(3 * 2.0 / 9)
    jitted = jax.jit(Net(fji.lecun_normal()).init)(jax.random.key(0), x)["params"]
    for a, b in zip(jax.tree_util.tree_leaves(ours), jax.tree_util.tree_leaves(jitted)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    lin = nnx.Linear(64, 32, kernel_init=fji.glorot_uniform(), rngs=nnx.Rngs(0))
    w = np.asarray(lin.kernel.get_value())
    assert w.shape == (64, 32) and np.abs(w).max() < math.sqrt(6 / 96)
