"""fastinit.jax.initializers against jax.nn.initializers on bad and unusual input: what JAX
refuses is refused with the same exception type and message, before anything is allocated;
what JAX accepts (array scalars, raw keys, list shapes, NumPy dims, Python dtypes, zero-size
orthogonal shapes with any key) is accepted, with JAX's shape and dtype."""
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import NamedSharding, PartitionSpec

from fastinit.jax import initializers as fji

jinit = jax.nn.initializers
K = jax.random.key(0)


def _outcome(module, call):
    """``("ok", shape, dtype)`` or ``("raises", type, message)`` of ``call(module)``, traced
    by ``jax.eval_shape`` (JAX's checks run, its samplers are not compiled: that is what makes
    these many small cases cheap; the real runs are in test_jax_dropin.py)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = jax.eval_shape(lambda: call(module))
    except Exception as e:  # noqa: BLE001 (the type is what is compared)
        return ("raises", type(e), str(e))
    return ("ok", r.shape, r.dtype)


# (label, call, whether the message is compared): every call fails in JAX
REFUSED = [
    ("1d-default-in-axis", lambda m: m.glorot_uniform()(K, (5,)), True),
    ("0d-default-in-axis", lambda m: m.he_normal()(K, ()), True),
    ("1d-out-axis-only", lambda m: m.lecun_normal(out_axis=0)(K, (5,)), True),
    ("0d-in-axes-only", lambda m: m.glorot_uniform(in_axis=())(K, ()), False),
    ("axis-out-of-range", lambda m: m.glorot_normal(in_axis=5)(K, (5, 3)), False),
    ("numpy-int-axis", lambda m: m.variance_scaling(1.0, "fan_in", "normal",
                                                    in_axis=np.int64(0))(K, (2, 3)), True),
    ("zero-size-in-axis", lambda m: m.glorot_uniform()(K, (0, 5)), False),
    ("zero-size-receptive", lambda m: m.he_uniform()(K, (0, 3, 4)), False),
    ("bad-mode", lambda m: m.variance_scaling(1.0, "fan_sum", "normal")(K, (2, 2)), True),
    ("bad-distribution", lambda m: m.variance_scaling(1.0, "fan_in", "cauchy")(K, (2, 2)),
     True),
    ("uniform-complex", lambda m: m.uniform()(K, (2,), jnp.complex64), True),
    ("truncated-normal-complex", lambda m: m.truncated_normal()(K, (2,), jnp.complex64), True),
    ("normal-int", lambda m: m.normal()(K, (2,), jnp.int32), True),
    ("uniform-int", lambda m: m.uniform()(K, (2,), jnp.int32), True),
    ("glorot-uniform-int", lambda m: m.glorot_uniform()(K, (2, 2), jnp.int32), True),
    ("glorot-normal-int", lambda m: m.glorot_normal()(K, (2, 2), jnp.int32), True),
    ("variance-scaling-normal-int", lambda m: m.variance_scaling(1, "fan_in", "normal")(
        K, (2, 2), jnp.int32), True),
    ("orthogonal-int", lambda m: m.orthogonal()(K, (2, 2), jnp.int32), True),
    ("object-dtype", lambda m: m.normal()(K, (2,), object), True),
    ("array-as-dtype", lambda m: m.normal()(K, (2,), jnp.zeros(2)), True),
    ("orthogonal-1d", lambda m: m.orthogonal()(K, (3,)), True),
    ("orthogonal-int-shape", lambda m: m.orthogonal()(K, 3), False),
    ("orthogonal-column-axis", lambda m: m.orthogonal(column_axis=2)(K, (3, 3)), True),
    ("orthogonal-float-column-axis", lambda m: m.orthogonal(column_axis=1.0)(K, (2, 3)),
     True),
    ("orthogonal-out-sharding", lambda m: m.orthogonal()(K, (2, 3),
                                                         out_sharding=PartitionSpec()), True),
    ("delta-2d", lambda m: m.delta_orthogonal()(K, (3, 3)), True),
    ("delta-6d", lambda m: m.delta_orthogonal()(K, (1, 1, 1, 1, 3, 3)), True),
    ("delta-fan-in-above-fan-out", lambda m: m.delta_orthogonal()(K, (3, 3, 5, 4)), True),
    ("delta-column-axis", lambda m: m.delta_orthogonal(column_axis=2)(K, (3, 3, 4, 4)), True),
    ("delta-zero-spatial", lambda m: m.delta_orthogonal()(K, (3, 0, 4, 4)), True),
    ("delta-zero-spatial-and-matrix", lambda m: m.delta_orthogonal()(K, (0, 3, 0, 0)), True),
    ("float-dims", lambda m: m.normal()(K, (2.0, 2)), True),
    ("float-dims-scaled", lambda m: m.glorot_uniform()(K, (2.0, 3)), True),
    ("int-key", lambda m: m.normal()(0, (2,)), True),
    ("str-key", lambda m: m.he_normal()("x", (2, 3)), True),
    ("list-key", lambda m: m.normal()([0, 0], (2,)), True),
    ("float-key", lambda m: m.normal()(np.zeros(2, np.float32), (2,)), True),
    ("0d-raw-key", lambda m: m.normal()(np.uint32(3), (2,)), True),
    ("raw-key-3-words", lambda m: m.normal()(np.zeros(3, np.uint32), (2,)), False),
    ("batched-key", lambda m: m.normal()(jax.random.split(K, 3), (2,)), True),
    ("batched-raw-key", lambda m: m.uniform()(jax.random.split(jax.random.PRNGKey(0), 3),
                                              (2,)), True),
    ("batched-key-scaled", lambda m: m.glorot_normal()(jax.random.split(K, 2), (2, 2)), True),
    ("batched-key-complex-uniform", lambda m: m.he_uniform()(jax.random.split(K, 2), (2, 2),
                                                            jnp.complex64), True),
    ("batched-key-int-truncated", lambda m: m.lecun_normal()(jax.random.split(K, 2), (2, 2),
                                                             jnp.int32), True),
    ("batched-key-orthogonal", lambda m: m.orthogonal()(jax.random.split(K, 2), (2, 2)),
     True),
    ("partition-spec-without-mesh", lambda m: m.normal()(K, (4, 3),
                                                          out_sharding=PartitionSpec("x")),
     True),
]


@pytest.mark.parametrize("label,call,message", REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_as_jax_refuses(label, call, message, monkeypatch):
    theirs = _outcome(jinit, call)
    assert theirs[0] == "raises", theirs

    def no_allocation(*a):
        raise AssertionError("allocated before the check")
    monkeypatch.setattr(fji, "aligned_empty", no_allocation)
    ours = _outcome(fji, call)
    assert ours[:2] == theirs[:2], (ours, theirs)
    if message:
        assert ours[2] == theirs[2]


def test_raw_key_shape_message_starts_as_jax():
    call = REFUSED[[r[0] for r in REFUSED].index("raw-key-3-words")][1]
    ours, theirs = _outcome(fji, call), _outcome(jinit, call)
    prefix = "JAX encountered invalid PRNG key data: expected key_data.shape to end with (2,)"
    assert ours[2].startswith(prefix) and theirs[2].startswith(prefix)


# (label, call): JAX accepts each; fastinit gives JAX's shape and dtype
ACCEPTED = [
    ("array-scalar-stddev", lambda m: m.normal(jnp.array(2.0))(K, (4, 4))),
    ("array-scalar-scale", lambda m: m.uniform(jnp.array(2.0, jnp.float32), jnp.bfloat16)(
        K, (4, 4))),
    ("array-scalar-truncated", lambda m: m.truncated_normal(jnp.array(1.0), jnp.bfloat16)(
        K, (4, 4))),
    ("array-scalar-bounds", lambda m: m.truncated_normal(1.0, lower=jnp.array(-1.0),
                                                         upper=np.float32(1.5))(K, (4,))),
    ("array-scalar-variance", lambda m: m.variance_scaling(jnp.array(2.0), "fan_in",
                                                           "normal")(K, (2, 3))),
    ("array-scalar-orthogonal", lambda m: m.orthogonal(jnp.array(2.0))(K, (3, 3))),
    ("numpy-scalar-constant", lambda m: m.constant(np.float32(2.0))(K, (3,))),
    ("array-constant", lambda m: m.constant(jnp.arange(3.0))(K, (2, 3))),
    ("vector-stddev", lambda m: m.normal(jnp.array([1.0, 2.0]))(K, (3, 2))),
    ("vector-variance-scale", lambda m: m.variance_scaling(jnp.ones(3), "fan_in", "normal")(
        K, (2, 3))),
    ("negative-stddev", lambda m: m.normal(-1.0)(K, (3,))),
    ("negative-uniform-scale", lambda m: m.uniform(-1.0)(K, (3,))),
    ("zero-uniform-scale", lambda m: m.uniform(0.0)(K, (3,))),
    ("reversed-bounds", lambda m: m.truncated_normal(1.0, lower=1.0, upper=-1.0)(K, (3,))),
    ("int-shape", lambda m: m.normal()(K, 5)),
    ("list-shape", lambda m: m.he_normal()(K, [2, 3])),
    ("numpy-dims", lambda m: m.glorot_uniform()(K, (np.int64(4), np.int32(3)))),
    ("numpy-shape", lambda m: m.lecun_uniform()(K, np.array([4, 3]))),
    ("list-axes", lambda m: m.variance_scaling(1.0, "fan_in", "normal", in_axis=[0],
                                               out_axis=[1])(K, (2, 3))),
    ("duplicate-axes", lambda m: m.variance_scaling(1.0, "fan_avg", "uniform", in_axis=(0, 0),
                                                    out_axis=1)(K, (2, 3))),
    ("multi-axes", lambda m: m.variance_scaling(1.0, "fan_avg", "truncated_normal",
                                                in_axis=(0, 1), out_axis=(-2, -1))(
        K, (2, 3, 4, 5))),
    ("batch-axis", lambda m: m.variance_scaling(1.0, "fan_avg", "truncated_normal", in_axis=0,
                                                out_axis=(2, 3), batch_axis=1)(K, (2, 3, 4, 5))),
    ("python-float-dtype", lambda m: m.normal()(K, (3,), float)),
    ("python-complex-dtype", lambda m: m.he_normal()(K, (3, 2), complex)),
    ("string-dtype", lambda m: m.glorot_normal()(K, (3, 2), "bfloat16")),
    ("numpy-dtype", lambda m: m.normal()(K, (3,), np.dtype(np.float16))),
    ("float64-without-x64", lambda m: m.normal()(K, (3,), jnp.float64)),
    ("complex128-without-x64", lambda m: m.glorot_uniform()(K, (3, 2), jnp.complex128)),
    ("float8", lambda m: m.normal()(K, (3,), jnp.float8_e4m3fn)),
    ("float8-scaled", lambda m: m.glorot_normal()(K, (3, 2), jnp.float8_e4m3fn)),
    ("numpy-raw-key", lambda m: m.normal()(np.zeros(2, np.uint32), (3,))),
    ("zeros-any-key-int", lambda m: m.zeros("not a key", (2, 2), jnp.int32)),
    ("ones-bool", lambda m: m.ones(K, (2,), bool)),
    ("constant-int", lambda m: m.constant(3)(K, (2, 2), jnp.int32)),
    ("orthogonal-zero-size", lambda m: m.orthogonal()(K, (0, 3))),
    ("orthogonal-zero-size-any-key", lambda m: m.orthogonal()("not a key", (2, 0, 3))),
    ("orthogonal-zero-size-int", lambda m: m.orthogonal(column_axis=7)(K, (0, 3), jnp.int32)),
    ("orthogonal-numpy-column-axis", lambda m: m.orthogonal(column_axis=np.int64(0))(
        K, (2, 3))),
    ("delta-zero-matrix", lambda m: m.delta_orthogonal()(K, (3, 3, 0, 0))),
    ("delta-zero-in", lambda m: m.delta_orthogonal(column_axis=-2)(K, (3, 3, 0, 4))),
    ("zero-size-normal", lambda m: m.normal()(K, (0, 3), jnp.bfloat16)),
    ("zero-size-uniform", lambda m: m.uniform()(K, (4, 0))),
    ("zero-size-complex", lambda m: m.normal()(K, (0,), jnp.complex64)),
]


@pytest.mark.parametrize("label,call", ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_accepted_as_jax_accepts(label, call):
    theirs, ours = _outcome(jinit, call), _outcome(fji, call)
    assert theirs[0] == "ok", theirs
    assert ours == theirs


def test_array_scalars_take_the_kernels():
    """An array scalar is the same number as a Python one: the same fastinit values, not a
    detour through JAX."""
    for make, arg in ((fji.normal, 0.5), (fji.uniform, 0.5), (fji.truncated_normal, 0.5),
                      (fji.orthogonal, 0.5)):
        want = np.asarray(make(arg)(K, (6, 6)))
        for scalar in (jnp.array(arg), np.float32(arg), np.array(arg)):
            np.testing.assert_array_equal(np.asarray(make(scalar)(K, (6, 6))), want)
    vs = np.asarray(fji.variance_scaling(2.0, "fan_in", "normal")(K, (6, 6)))
    got = fji.variance_scaling(jnp.array(2.0), "fan_in", "normal")(K, (6, 6))
    np.testing.assert_array_equal(np.asarray(got), vs)


@pytest.mark.parametrize("label,call", [
    ("vector-stddev", lambda m: m.normal(jnp.array([1.0, 2.0]))(K, (3, 2))),
    ("negative-stddev", lambda m: m.normal(-1.0)(K, (3,))),
    ("float8", lambda m: m.uniform()(K, (3,), jnp.float8_e4m3fn)),
])
def test_outside_the_kernels_values_are_jax_own(label, call):
    """The documented fallback: where the kernels do not apply, JAX's values exactly."""
    np.testing.assert_array_equal(np.asarray(call(fji)).astype(np.float64),
                                  np.asarray(call(jinit)).astype(np.float64))


def test_out_sharding_is_honoured():
    mesh = jax.make_mesh((1,), ("x",))
    sharding = NamedSharding(mesh, PartitionSpec("x"))
    ours = fji.he_normal()(K, (4, 3), out_sharding=sharding)
    theirs = jinit.he_normal()(K, (4, 3), out_sharding=sharding)
    assert ours.sharding == theirs.sharding and ours.shape == theirs.shape
    with jax.set_mesh(mesh):
        spec = fji.normal()(K, (4, 3), out_sharding=PartitionSpec("x"))
    assert spec.sharding.spec == theirs.sharding.spec


def test_traced_scale_under_jit():
    ours = jax.jit(lambda s, k: fji.normal(s)(k, (500,)))(2.0, K)
    theirs = jax.jit(lambda s, k: jinit.normal(s)(k, (500,)))(2.0, K)
    np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_x64_dtype_warning_as_jax():
    with pytest.warns(UserWarning, match="Explicitly requested dtype float64"):
        got = fji.glorot_normal()(K, (3, 2), jnp.float64)
    assert got.dtype == jnp.float32


def test_legacy_key_modes_as_jax():
    raw = jax.random.PRNGKey(0)
    with jax.legacy_prng_key("error"):
        for module in (jinit, fji):
            with pytest.raises(ValueError, match="Legacy uint32 key array"):
                module.normal()(raw, (2,))
        assert fji.normal()(K, (2,)).shape == (2,)  # typed keys stay fine


def test_initializer_protocol_is_jax_own():
    assert fji.Initializer is jinit.Initializer
    for init in (fji.normal(), fji.glorot_uniform(), fji.orthogonal(), fji.zeros):
        assert isinstance(init, fji.Initializer)
    assert math.isfinite(float(fji.lecun_normal()(K, (2, 2)).sum()))
