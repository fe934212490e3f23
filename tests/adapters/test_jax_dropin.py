"""fastinit.jax.initializers as a drop-in, side by side with jax.nn.initializers: every
initializer x shape kind (0-d, 1-d with explicit axes, 2-d, conv, zero-size) x dtype (float16,
bfloat16, float32, complex64; float64 and complex128 under x64) x key kind, the shape and dtype
against JAX's own, the law against JAX's own samples (KS at fixed seeds, moments, bounds,
unitarity), and jit / vmap / eval_shape. Errors and unusual inputs: test_jax_dropin_errors.py.
"""
import contextlib
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from fastinit.jax import initializers as fji

jinit = jax.nn.initializers
P_MIN = 1e-4
TRUNC, CTRUNC = 0.87962566103423978, 0.95311164380491208  # std of N(0,1) | CN(0,1) cut at 2

# name -> (factory args, variance of one element per unit fan, distribution) for the laws;
# the scaled ones as variance_scaling's (scale, mode, distribution)
SCALED = {
    "glorot_uniform": (1.0, "fan_avg", "uniform"), "glorot_normal": (1.0, "fan_avg",
                                                                       "truncated_normal"),
    "he_uniform": (2.0, "fan_in", "uniform"), "he_normal": (2.0, "fan_in", "truncated_normal"),
    "lecun_uniform": (1.0, "fan_in", "uniform"), "lecun_normal": (1.0, "fan_in",
                                                                   "truncated_normal"),
}
VS_ARGS = (0.5, "fan_geo_avg", "normal")  # variance_scaling's own parameters
PLAIN = ["uniform", "normal", "truncated_normal"]
RANDOM = PLAIN + list(SCALED) + ["variance_scaling", "orthogonal", "delta_orthogonal"]
REAL_ONLY = ("uniform", "truncated_normal")
DTYPES = ["float16", "bfloat16", "float32", "complex64", "float64", "complex128"]
X64 = ("float64", "complex128")


def x64(dtype):
    """The x64 context a dtype needs, scoped (no global flag flip leaks into other tests)."""
    return jax.enable_x64(True) if dtype in X64 else contextlib.nullcontext()


def factory(module, name, **kw):
    if name == "variance_scaling":
        return module.variance_scaling(*VS_ARGS, **kw)
    return getattr(module, name)(**kw)


def kinds(name):
    """(kind, shape, factory keywords) of the shape kinds each initializer takes."""
    if name == "orthogonal":
        return [("2d", (5, 6), {}), ("3d-col0", (2, 3, 4), {"column_axis": 0}),
                ("zero-size", (0, 3), {}), ("zero-size-3d", (2, 0, 3), {})]
    if name == "delta_orthogonal":
        return [("3d", (3, 4, 4), {}), ("4d", (3, 3, 4, 6), {}), ("5d", (3, 3, 3, 2, 2), {}),
                ("zero-matrix", (3, 3, 0, 0), {}), ("zero-in", (3, 3, 0, 4), {})]
    out = [("2d", (5, 6), {}), ("conv", (3, 3, 4, 8), {})]
    if name in PLAIN:
        return out + [("0d", (), {}), ("1d", (7,), {}), ("zero-size", (0, 3), {})]
    return out + [("0d-axes", (), {"in_axis": (), "out_axis": ()}),
                  ("1d-axes", (7,), {"in_axis": 0, "out_axis": 0}),
                  ("1d-in-axis", (7,), {"in_axis": -1})]


MATRIX = [(n, k, s, kw, d) for n in RANDOM for (k, s, kw) in kinds(n) for d in DTYPES
          if not (n in REAL_ONLY and "complex" in d)]


@pytest.mark.parametrize("name,kind,shape,kw,dtype", MATRIX,
                         ids=[f"{m[0]}-{m[1]}-{m[4]}" for m in MATRIX])
def test_shape_and_dtype_as_jax(name, kind, shape, kw, dtype):
    key = jax.random.key(0)
    with x64(dtype):
        want = jax.eval_shape(functools.partial(factory(jinit, name, **kw), key, shape,
                                                getattr(jnp, dtype)))
        got = factory(fji, name, **kw)(key, shape, getattr(jnp, dtype))
        assert isinstance(got, jax.Array)
        assert (got.shape, got.dtype) == (want.shape, want.dtype)
        assert got.dtype == jax.dtypes.canonicalize_dtype(getattr(jnp, dtype))
        values = np.asarray(got)
        assert np.all(np.isfinite(values))
        if 0 in shape:
            assert values.size == 0
        elif name != "delta_orthogonal" and values.size > 1:
            assert np.unique(values).size > 1  # random, not a constant


# --- the laws ----------------------------------------------------------------------------

def _pair(name, dtype, shape=(64, 64), seed=0, **kw):
    key = jax.random.key(seed)
    with x64(dtype):
        dt = getattr(jnp, dtype)
        ours = factory(fji, name, **kw)(key, shape, dt)
        theirs = factory(jinit, name, **kw)(key, shape, dt)
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        cast = np.complex128 if "complex" in dtype else np.float64
        return np.asarray(ours).astype(cast).ravel(), np.asarray(theirs).astype(cast).ravel()


def _same_law(a, b):
    """KS two-sample on the values (both parts and the modulus for complex)."""
    parts = [np.real, np.imag, np.abs] if np.iscomplexobj(a) else [lambda v: v]
    for part in parts:
        assert stats.ks_2samp(part(a), part(b)).pvalue > P_MIN


def _variance(name, fan=64.0, **kw):
    """The variance JAX intends for a (64, 64) weight, written out."""
    if name == "variance_scaling":
        return VS_ARGS[0] / fan
    return SCALED[name][0] / fan


LAW_DTYPES = ["float16", "bfloat16", "float32", "float64", "complex64", "complex128"]
# every dtype for one initializer of each distribution, float32 and complex64 for the others
# (they differ from those only by scale and mode): each JAX sample compiles, which costs
ALL_DTYPES = ("he_uniform", "glorot_normal", "variance_scaling")
SCALED_LAWS = [(n, d) for n in list(SCALED) + ["variance_scaling"] for d in LAW_DTYPES
               if n in ALL_DTYPES or d in ("float32", "complex64")]


@pytest.mark.parametrize("name,dtype", SCALED_LAWS)
def test_scaled_laws(name, dtype):
    ours, theirs = _pair(name, dtype)
    _same_law(ours, theirs)
    var = _variance(name)
    assert abs(np.mean(np.abs(ours) ** 2) / var - 1) < 0.1  # E|z|^2: the intended variance
    dist = VS_ARGS[2] if name == "variance_scaling" else SCALED[name][2]
    cplx = "complex" in dtype
    if dist == "uniform":  # [-b, b) with b = sqrt(3 var); the complex disk's radius sqrt(2 var)
        bound = math.sqrt((2 if cplx else 3) * var)
        assert np.abs(ours).max() > 0.9 * bound
        if cplx:
            assert np.abs(ours).max() <= bound * (1 + 1e-6)
        else:
            low = float(np.array(-bound).astype(jnp.dtype(dtype)))  # -b rounded
            assert ours.max() < bound and ours.min() >= low
    elif dist == "truncated_normal":  # cut at 2 std of the untruncated law
        cut = 2 * math.sqrt(var) / (CTRUNC if cplx else TRUNC)
        assert np.abs(ours).max() <= cut * (1 + 2**-7)


PLAIN_LAWS = [(n, d) for n in PLAIN for d in LAW_DTYPES
              if not (n in REAL_ONLY and "complex" in d)]  # JAX refuses: the errors' file


@pytest.mark.parametrize("name,dtype", PLAIN_LAWS)
def test_plain_laws(name, dtype):
    ours, theirs = _pair(name, dtype)
    _same_law(ours, theirs)
    if name == "uniform":
        assert ours.min() >= 0 and ours.max() < 1e-2 and ours.max() > 0.99e-2
    if name == "truncated_normal":
        assert np.abs(ours).max() <= 2e-2 * (1 + 2**-7)
    if name == "normal":  # E|z|^2 = stddev^2, real or complex
        assert abs(np.mean(np.abs(ours) ** 2) / 1e-4 - 1) < 0.1


@pytest.mark.parametrize("kw", [{"in_axis": -1}, {"in_axis": 0, "out_axis": 0},
                                {"in_axis": (), "out_axis": (), "batch_axis": 0}])
@pytest.mark.parametrize("name", ["he_normal", "glorot_uniform"])
def test_1d_explicit_axes_law(name, kw):
    """JAX's fans of a 1-d shape with explicit axes: here fan_in = fan_out = 1 (in and out
    sizes n with a receptive field 1 / n, or sizes 1 with n in the batch), variance = scale."""
    ours, theirs = _pair(name, "float32", (4096,), **kw)
    _same_law(ours, theirs)
    assert abs(np.var(ours) / SCALED[name][0] - 1) < 0.1


def _unitary(m, scale):
    g = m.conj().T @ m if m.shape[0] >= m.shape[1] else m @ m.conj().T
    np.testing.assert_allclose(g, scale**2 * np.eye(g.shape[0]), atol=2e-5 * scale**2 * 64)


ORTHOGONAL_LAWS = ([((48, 32), -1, d) for d in ("float32", "float64", "complex64", "complex128")]
                   + [((32, 48), -1, "complex64"), ((4, 8, 12), 0, "float32")])


@pytest.mark.parametrize("shape,col,dtype", ORTHOGONAL_LAWS)
def test_orthogonal_law(shape, col, dtype):
    key = jax.random.key(3)
    with x64(dtype):
        ours = np.asarray(fji.orthogonal(1.5, col)(key, shape, getattr(jnp, dtype)))
        theirs = np.asarray(jinit.orthogonal(1.5, col)(key, shape, getattr(jnp, dtype)))
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    m = np.moveaxis(ours, col, -1).reshape(-1, shape[col]).astype(np.complex128)
    _unitary(m, 1.5)
    _same_law(ours.ravel(), theirs.ravel())


@pytest.mark.parametrize("dtype", ["float32", "complex64", "bfloat16"])
def test_delta_orthogonal_law(dtype):
    shape = (3, 3, 24, 32)
    ours = np.asarray(fji.delta_orthogonal(0.5)(jax.random.key(1), shape, getattr(jnp, dtype)))
    centre = ours[1, 1].astype(np.complex128)
    tol = 1e-2 if dtype == "bfloat16" else 1e-5
    g = centre @ centre.conj().T
    np.testing.assert_allclose(g, 0.25 * np.eye(24), atol=tol)
    assert not np.delete(ours.reshape(9, 24, 32), 4, axis=0).any()


# --- keys ---------------------------------------------------------------------------------

KEYS = {
    "key": lambda s: jax.random.key(s),
    "PRNGKey": lambda s: jax.random.PRNGKey(s),
    "numpy-uint32": lambda s: np.asarray(jax.random.PRNGKey(s)),
    "rbg": lambda s: jax.random.key(s, impl="rbg"),
}


@pytest.mark.parametrize("kind", list(KEYS))
@pytest.mark.parametrize("name", ["normal", "he_uniform", "orthogonal"])
def test_key_kinds(kind, name):
    init = factory(fji, name)
    a, again, other = (np.asarray(init(KEYS[kind](s), (8, 6))) for s in (5, 5, 6))
    np.testing.assert_array_equal(a, again)
    assert not np.array_equal(a, other)
    key = KEYS[kind](5)
    want = jax.eval_shape(lambda: factory(jinit, name)(key, (8, 6)))
    assert a.shape == want.shape and a.dtype == want.dtype
    if kind != "rbg":  # the same seed as the typed key made from the same int
        np.testing.assert_array_equal(a, np.asarray(init(jax.random.key(5), (8, 6))))


def test_split_keys_independent():
    keys = jax.random.split(jax.random.key(0), 4)
    rows = np.stack([np.asarray(fji.normal(1.0)(k, (2000,))) for k in keys])
    corr = np.corrcoef(rows)
    assert np.abs(corr - np.eye(4)).max() < 0.1


# --- transformations ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["normal", "glorot_normal", "orthogonal", "delta_orthogonal"])
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "complex64"])
def test_jit_equals_eager(name, dtype):
    shape = (3, 4, 4) if name == "delta_orthogonal" else (6, 4)
    init, dt = factory(fji, name), getattr(jnp, dtype)
    key = jax.random.key(7)
    eager = init(key, shape, dt)
    jitted = jax.jit(lambda k: init(k, shape, dt))(key)
    assert jitted.dtype == eager.dtype
    np.testing.assert_array_equal(np.asarray(jitted), np.asarray(eager))


def test_vmap_equals_each_key():
    init = fji.he_normal()
    keys = jax.random.split(jax.random.key(0), 3)
    batched = jax.vmap(lambda k: init(k, (5, 4)))(keys)
    for i in range(3):
        np.testing.assert_array_equal(np.asarray(batched[i]), np.asarray(init(keys[i], (5, 4))))
    raw = jax.vmap(lambda k: init(k, (5, 4)))(jax.random.split(jax.random.PRNGKey(0), 3))
    assert raw.shape == (3, 5, 4)


def test_eval_shape_and_flax_style_jit():
    ours = jax.eval_shape(functools.partial(fji.glorot_normal(), shape=(4, 5)),
                          jax.random.key(0))
    theirs = jax.eval_shape(functools.partial(jinit.glorot_normal(), shape=(4, 5)),
                            jax.random.key(0))
    assert ours == theirs
