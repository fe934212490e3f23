"""fastinit.keras against keras.initializers on one backend, side by side.

Run by ``test_keras.py`` as ``KERAS_BACKEND=<backend> python keras_checks.py <tmpdir>``, one
process per backend (keras reads KERAS_BACKEND when it is imported). Every ``check_*``
function runs; the process prints one JSON object: ``{"checks": {name: error text or None},
"values": {key: hex of the bytes}}``, the values being what the parent compares across
backends and against fastinit's core. Nothing here imports keras at module level, so the
parent can read the check names.
"""
import inspect
import json
import math
import os
import sys
import traceback
import types

import numpy as np

P_MIN = 1e-4
TRUNC = 0.87962566103423978
FLOATS = [None, "float16", "bfloat16", "float32", "float64"]
SCALED = {  # Keras's variance scaling of each subclass: (scale, mode, distribution)
    "GlorotNormal": (1.0, "fan_avg", "truncated_normal"),
    "GlorotUniform": (1.0, "fan_avg", "uniform"),
    "HeNormal": (2.0, "fan_in", "truncated_normal"),
    "HeUniform": (2.0, "fan_in", "uniform"),
    "LecunNormal": (1.0, "fan_in", "truncated_normal"),
    "LecunUniform": (1.0, "fan_in", "uniform"),
}
RANDOM = ["RandomNormal", "RandomUniform", "TruncatedNormal", "VarianceScaling", "Orthogonal",
          *SCALED]
OURS = RANDOM + ["Constant", "Zeros", "Ones", "Identity"]
# (name, kwargs, shape, dtype): values compared across backends and with the core
VALUES = [
    ("RandomNormal", {"mean": 0.1, "stddev": 0.3, "seed": 11}, (8, 6), "float32"),
    ("RandomUniform", {"minval": -0.2, "maxval": 0.7, "seed": 12}, (8, 6), "float32"),
    ("TruncatedNormal", {"mean": 0.0, "stddev": 0.3, "seed": 13}, (8, 6), "float32"),
    ("HeNormal", {"seed": 14}, (3, 3, 4, 5), "float32"),
    ("GlorotUniform", {"seed": 15}, (8, 6), "bfloat16"),
    ("LecunNormal", {"seed": 16, "stream": 3}, (8, 6), "float16"),
    ("VarianceScaling", {"scale": 2.0, "mode": "fan_out", "distribution": "untruncated_normal",
                         "seed": 17, "input_axes": [0], "output_axes": [1, 2]}, (4, 3, 5),
     "float32"),
    ("Orthogonal", {"gain": 1.5, "seed": 18}, (6, 10), "float32"),
    ("Identity", {"gain": 2.5}, (3, 5), "bfloat16"),
    ("Constant", {"value": 0.1}, (4,), "float16"),
]


class Ctx(types.SimpleNamespace):
    """keras, keras.initializers (``ki``), fastinit.keras (``fk``), the backend and a tmp dir."""

    def np(self, x):
        return np.asarray(self.keras.ops.convert_to_numpy(x))

    def f64(self, x):
        return self.np(x).astype(np.float64)

    def pair(self, name, *args, **kwargs):
        return getattr(self.fk, name)(*args, **kwargs), getattr(self.ki, name)(*args, **kwargs)


def _ks(a, b):
    from scipy import stats
    return stats.ks_2samp(np.ravel(a), np.ravel(b)).pvalue


# --- names, classes, signatures -----------------------------------------------------------

def check_every_keras_name_is_here(k):
    public = [n for n in dir(k.ki) if not n.startswith("_")]
    for name in public:
        assert hasattr(k.fk, name), name
        theirs, ours = getattr(k.ki, name), getattr(k.fk, name)
        if inspect.isclass(theirs) and theirs.__name__ in OURS:
            assert ours is getattr(k.fk, theirs.__name__), name  # aliases: the same class
            assert issubclass(ours, theirs) and ours is not theirs, name
            assert issubclass(ours, k.keras.initializers.Initializer), name
    assert k.fk.STFT is k.ki.STFT and k.fk.Initializer is k.ki.Initializer
    assert k.fk.IdentityInitializer is k.fk.Identity
    assert k.fk.OrthogonalInitializer is k.fk.Orthogonal


def check_signatures_are_keras_plus_keyword_only(k):
    for name in OURS:
        ours = list(inspect.signature(getattr(k.fk, name)).parameters.values())
        theirs = list(inspect.signature(getattr(k.ki, name)).parameters.values())
        assert [(p.name, p.default, p.kind) for p in ours[:len(theirs)]] == \
            [(p.name, p.default, p.kind) for p in theirs], name
        extra = ours[len(theirs):]
        assert all(p.kind is p.KEYWORD_ONLY for p in extra), name
        assert [p.name for p in extra] == (["stream"] if name in RANDOM else []), name


def check_positional_calls_mean_what_they_mean_in_keras(k):
    calls = [("RandomNormal", (0.5, 2.0, 5)), ("RandomUniform", (-1.0, 3.0, 6)),
             ("TruncatedNormal", (0.1, 0.2, 7)), ("Orthogonal", (2.0, 8)),
             ("VarianceScaling", (3.0, "fan_out", "uniform", 9, [0], [1])),
             ("HeNormal", (10, [0, 1], [2])), ("Constant", (4.0,)), ("Identity", (3.0,))]
    for name, args in calls:
        ours, theirs = k.pair(name, *args)
        assert vars(ours).keys() - {"stream"} == vars(theirs).keys(), name
        for attr in vars(theirs):
            assert getattr(ours, attr) == getattr(theirs, attr), (name, attr)
    for name, args in [("RandomNormal", (0.0, 1.0, 1, 2)), ("Orthogonal", (1.0, 1, 2))]:
        try:
            getattr(k.fk, name)(*args)
        except TypeError:
            continue
        raise AssertionError(f"{name}{args}: stream must be keyword-only")


# --- configs, serialization, lookup -------------------------------------------------------

def _examples(k):
    gen = k.keras.random.SeedGenerator(4)
    return [("RandomNormal", {"mean": 0.5, "stddev": 2.0, "seed": 3}),
            ("RandomUniform", {"minval": -1.0, "maxval": 2.0, "seed": gen}),
            ("TruncatedNormal", {"seed": None}),
            ("VarianceScaling", {"scale": 2.0, "mode": "fan_avg", "distribution": "uniform",
                                 "seed": 5, "input_axes": [0], "output_axes": [1, 2]}),
            ("GlorotNormal", {"seed": 6}), ("HeUniform", {"seed": 7, "input_axes": [0],
                                                          "output_axes": [1]}),
            ("Orthogonal", {"gain": 3.0, "seed": 8}), ("Constant", {"value": 2.5}),
            ("Identity", {"gain": 0.5}), ("Zeros", {}), ("Ones", {})]


def check_get_config_is_keras_and_round_trips(k):
    from keras.saving import deserialize_keras_object, serialize_keras_object
    for name, kwargs in _examples(k):
        ours, theirs = k.pair(name, **kwargs)
        config = ours.get_config()
        if kwargs.get("seed", 0) is not None:  # seed=None: each draws its own
            assert config == theirs.get_config(), (name, config, theirs.get_config())
        back = type(ours).from_config(config)
        assert type(back) is type(ours) and back.get_config() == config, name
        data = json.loads(json.dumps(serialize_keras_object(ours)))
        assert data["registered_name"] == f"fastinit>{name}", data
        revived = deserialize_keras_object(data)
        assert type(revived) is type(ours) and revived.get_config() == config, name
        assert set(dir(revived)) == set(dir(ours)), name
        assert type(ours.clone()) is type(ours), name


def check_stream_is_in_the_config_only_when_set(k):
    a = k.fk.HeNormal(seed=1, stream=7)
    assert a.get_config()["stream"] == 7 and a.clone().stream == 7
    assert "stream" not in k.fk.HeNormal(seed=1).get_config()
    for bad, exc in [(-1, ValueError), (2**64, ValueError), (1.5, TypeError), (True, TypeError),
                     ("1", TypeError)]:
        try:
            k.fk.RandomNormal(seed=1, stream=bad)
        except exc:
            continue
        raise AssertionError(f"stream={bad!r} must raise {exc.__name__}")


def check_get_follows_keras_lookup_rules(k):
    from keras.src.initializers import ALL_OBJECTS_DICT
    for name, cls in ALL_OBJECTS_DICT.items():
        outcome = _same_outcome(k, lambda m: m.get(name), name)  # ("Constant": Keras raises)
        if outcome[0] == "returns":
            assert type(k.fk.get(name)) is getattr(k.fk, cls.__name__), name
            assert type(k.ki.get(name)) is cls  # Keras's own lookup is untouched
    assert k.fk.get(None) is None
    assert type(k.fk.get(k.fk.HeNormal)) is k.fk.HeNormal
    inst = k.fk.GlorotUniform(seed=2)
    assert k.fk.get(inst) is inst

    def fn(shape, dtype=None):
        return k.keras.ops.ones(shape, dtype)
    assert k.fk.get(fn) is fn
    obj = k.fk.get({"class_name": "RandomNormal", "config": {"stddev": 2.0, "seed": 4}})
    assert type(obj) is k.fk.RandomNormal and obj.stddev == 2.0 and obj.seed == 4
    stock = k.keras.saving.serialize_keras_object(k.ki.HeUniform(seed=9))  # Keras's own config
    obj = k.fk.get(stock)
    assert type(obj) is k.fk.HeUniform and obj.seed == 9
    arr = np.arange(6, dtype="float32").reshape(2, 3)
    for ident in (arr, k.keras.ops.convert_to_tensor(arr)):
        init = k.fk.get(ident)
        assert np.array_equal(k.np(init((2, 3))), arr)
        _same_outcome(k, lambda m: m.get(ident)((3, 2)), "tensor of another shape")
    for bad in ("typo", "he-normal", 42, 1.5, ["Zeros"], {"config": {}}):
        _same_outcome(k, lambda m: m.get(bad), f"get({bad!r})")


def _outcome(f):
    try:
        r = f()
    except Exception as e:  # noqa: BLE001 (comparing what each raises is the point)
        return ("raises", type(e).__name__, str(e))
    return ("returns", str(getattr(r, "dtype", type(r).__name__)),
            tuple(getattr(r, "shape", ())))


def _same_outcome(k, call, label, seeded=False):
    """``call(module)`` does the same under Keras's module and ours: the same exception type
    and message, or a result of the same dtype and shape; with ``seeded``, ``call(module,
    gen)`` and the SeedGenerator's state after it is the same too (nothing drawn more)."""
    outs, states = [], []
    for m in (k.ki, k.fk):
        if seeded:
            gen = k.keras.random.SeedGenerator(21)
            outs.append(_outcome(lambda: call(m, gen)))
            states.append(k.np(gen.state).tolist())
        else:
            outs.append(_outcome(lambda: call(m)))
    assert outs[0] == outs[1], (label, outs)
    assert states[:1] == states[1:], (label, states)
    return outs[0]


# --- errors: what Keras refuses, refused alike --------------------------------------------

def check_bad_arguments_fail_as_in_keras(k):
    cases = {
        "seed=1.5": lambda m: m.RandomNormal(seed=1.5),
        "seed='x'": lambda m: m.HeNormal(seed="x"),
        "seed=np.int64": lambda m: m.Orthogonal(seed=np.int64(3)),
        "scale=0": lambda m: m.VarianceScaling(scale=0.0),
        "scale=-1": lambda m: m.VarianceScaling(scale=-1.0),
        "scale='a'": lambda m: m.VarianceScaling(scale="a"),
        "scale=None": lambda m: m.VarianceScaling(scale=None),
        "mode": lambda m: m.VarianceScaling(mode="FAN_IN"),
        "distribution": lambda m: m.VarianceScaling(distribution="gaussian"),
        "distribution=None": lambda m: m.VarianceScaling(distribution=None),
        "identity 3-D": lambda m: m.Identity()((3, 3, 3)),
        "identity 1-D": lambda m: m.Identity()((3,)),
        "orthogonal 1-D": lambda m: m.Orthogonal(seed=1)((7,)),
        "orthogonal 0-D": lambda m: m.Orthogonal(seed=1)(()),
        "axes out of range": lambda m: m.VarianceScaling(input_axes=[5], output_axes=[0],
                                                         seed=1)((3, 3)),
        "mean=None": lambda m: m.RandomNormal(mean=None, seed=1)((4,)),
        "stddev='a'": lambda m: m.RandomNormal(stddev="a", seed=1)((4,)),
        "constant 'a'": lambda m: m.Constant("a")((2,)),
        "constant None": lambda m: m.Constant(None)((2,)),
        "constant too big for int32": lambda m: m.Constant(2**40)((2,), "int32"),
        "gain='a'": lambda m: m.Orthogonal(gain="a", seed=1)((3, 3)),
    }
    for label, call in cases.items():
        _same_outcome(k, call, label)


def check_bad_shapes_dtypes_seeds_fail_as_in_keras(k):
    shapes = [(3, -1), (3, 2.0), (None, 3), "ab", (True, 2), (3, "2"), 5]
    dtypes = ["foo", "int32", "uint8", "bool", "complex64"]
    seeds = [-1, 2**32, 2**32 + 5, 2**64]
    # one class per code path (the variance scaling subclasses share VarianceScaling's)
    for name in [n for n in OURS if n not in SCALED or n == "HeUniform"]:
        for shape in shapes:
            _same_outcome(k, lambda m, g: _make(m, name, g)(shape), (name, shape), seeded=True)
        for dtype in dtypes:
            if name == "Orthogonal" and dtype == "complex64":
                continue  # Keras's QR of a complex normal: values only, no error to compare
            _same_outcome(k, lambda m, g: _make(m, name, g)((3, 4), dtype), (name, dtype),
                          seeded=True)
    for name in RANDOM:
        for seed in seeds:
            _same_outcome(k, lambda m: getattr(m, name)(seed=seed)((3, 4)), (name, seed))


def _make(m, name, gen):
    if name == "Constant":
        return m.Constant(2.0)
    if name in ("Zeros", "Ones", "Identity"):
        return getattr(m, name)()
    return getattr(m, name)(seed=gen)


# --- dtypes, shapes and what comes back ---------------------------------------------------

def check_every_class_and_dtype_returns_a_backend_tensor_like_keras(k):
    # the dtype Keras's own random op returns for each requested dtype (float64 is float32 on
    # JAX without x64), learnt once per dtype: every class must return it
    std = k.keras.backend.standardize_dtype
    backend_dtype = {d: std(k.ki.RandomNormal(seed=1)((2,), d).dtype) for d in FLOATS}
    for name in OURS:
        for dtype in FLOATS:
            for shape in [(5, 4), (0, 4)] + ([] if name == "Identity" else [(2, 3, 4, 5)]):
                ours = _make(k.fk, name, 3)(shape, dtype)
                assert k.keras.ops.is_tensor(ours), (name, dtype)
                got = k.keras.backend.standardize_dtype(ours.dtype)
                assert got == backend_dtype[dtype], (name, dtype, got)
                assert tuple(ours.shape) == shape, (name, shape)
                assert np.all(np.isfinite(k.f64(ours))), (name, dtype)
        for shape in [(), (7,), [3, 4], (np.int64(3), 2)]:
            if name not in ("Orthogonal", "Identity"):
                out = _make(k.fk, name, 3)(shape)
                assert tuple(out.shape) == tuple(int(d) for d in shape), (name, shape)


def check_int_dtypes_and_array_constants_are_keras_own(k):
    for dtype in ["int32", "uint8", "bool", "int64"]:
        for name in ("Zeros", "Ones", "Identity", "Constant"):
            a, b = _make(k.fk, name, 0)((3, 4), dtype), _make(k.ki, name, 0)((3, 4), dtype)
            assert a.dtype == b.dtype and np.array_equal(k.np(a), k.np(b)), (name, dtype)
    value = np.random.default_rng(0).random((3, 3))
    a, b = k.pair("Constant", value)
    assert np.array_equal(k.np(a((3, 3))), k.np(b((3, 3))))


# --- seeds --------------------------------------------------------------------------------

def check_int_seed_same_values_every_call(k):
    for name in RANDOM:
        init = getattr(k.fk, name)(seed=1234)
        a, b = k.np(init((6, 5))), k.np(init((6, 5)))
        assert np.array_equal(a, b), name
        other = k.np(getattr(k.fk, name)(seed=1235)((6, 5)))
        assert not np.array_equal(a, other), name
        assert np.array_equal(k.np(init.clone()((6, 5))), a), name


def check_seed_generator_fresh_values_and_keras_state(k):
    for name in RANDOM:
        ours_gen, their_gen = k.keras.random.SeedGenerator(77), k.keras.random.SeedGenerator(77)
        ours = getattr(k.fk, name)(seed=ours_gen)
        theirs = getattr(k.ki, name)(seed=their_gen)
        first = k.np(ours((6, 5)))
        second = k.np(ours((6, 5)))
        theirs((6, 5)), theirs((6, 5))
        assert not np.array_equal(first, second), name
        # the generator advances exactly as under Keras's own random ops
        assert k.np(ours_gen.state).tolist() == k.np(their_gen.state).tolist(), name
        # its first state is [77, 0]: the int seed 77
        assert np.array_equal(first, k.np(getattr(k.fk, name)(seed=77)((6, 5)))), name


def check_seed_none_as_keras(k):
    for name in RANDOM:
        init = getattr(k.fk, name)()
        a = k.np(init((6, 5)))
        assert np.array_equal(a, k.np(init((6, 5)))), name  # Keras: a seed drawn at __init__
        assert not np.array_equal(a, k.np(init.clone()((6, 5)))), name
        assert not np.array_equal(a, k.np(type(init).from_config(init.get_config())((6, 5))))
        k.keras.utils.set_random_seed(5)
        b = k.np(getattr(k.fk, name)()((6, 5)))
        k.keras.utils.set_random_seed(5)
        assert np.array_equal(b, k.np(getattr(k.fk, name)()((6, 5)))), name


def check_stream_gives_independent_values(k):
    import fastinit as fi
    a = k.np(k.fk.RandomNormal(stddev=1.0, seed=3, stream=9)((64, 64)))
    assert np.array_equal(a, fi.normal((64, 64), 0.0, 1.0, seed=3, stream=9))
    b = k.np(k.fk.RandomNormal(stddev=1.0, seed=3)((64, 64)))
    assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 0.05


# --- laws against Keras's own samples -----------------------------------------------------

def _law(k, name, kwargs, shape):
    ours, theirs = k.pair(name, seed=1, **kwargs)
    x, y = k.f64(ours(shape)), k.f64(theirs(shape))
    assert _ks(x, y) > P_MIN, (name, kwargs, shape, _ks(x, y))
    return x, y


def check_random_laws_match_keras(k):
    shape = (96, 80)
    x, _ = _law(k, "RandomNormal", {"mean": 0.3, "stddev": 2.0}, shape)
    x, _ = _law(k, "RandomUniform", {"minval": -0.3, "maxval": 0.9}, shape)
    assert x.min() >= -0.3 and x.max() < np.float32(0.9) and x.max() > 0.89
    x, _ = _law(k, "TruncatedNormal", {"mean": 0.1, "stddev": 0.5}, shape)
    assert x.min() >= 0.1 - 1.0 - 1e-6 and x.max() <= 0.1 + 1.0 + 1e-6


def _n(fans, mode):
    fan_in, fan_out = fans
    return max(1.0, {"fan_in": fan_in, "fan_out": fan_out}.get(mode, (fan_in + fan_out) / 2))


def _check_scaled(x, scale, mode, dist, fans):
    variance = scale / _n(fans, mode)
    if dist == "uniform":  # Keras's bound written out
        limit = math.sqrt(3.0 * variance)
        assert np.abs(x).max() < limit and np.abs(x).max() > 0.97 * limit, (mode, limit)
    elif dist == "truncated_normal":
        std = math.sqrt(variance) / TRUNC
        assert np.abs(x).max() <= 2 * std * (1 + 1e-6), (mode, std)
    # the sample std within 5 of its own standard errors, 1 / sqrt(2 n) relative
    assert abs(x.std() / math.sqrt(variance) - 1) < 5 / math.sqrt(2 * x.size), (mode, dist)


def check_variance_scaling_laws_match_keras(k):
    from keras.src.initializers.random_initializers import compute_fans
    # two shapes only (JAX compiles Keras's random ops once per shape): a conv kernel with
    # Keras's receptive field, and explicit axes on one of the same shape
    for shape, axes in [((3, 3, 16, 32), {}),
                        ((3, 3, 16, 32), {"input_axes": [0, 2], "output_axes": [1, 3]}),
                        ((64, 96), {}), ((64, 96), {"input_axes": [1], "output_axes": [0]})]:
        fans = compute_fans(shape, **axes)
        for mode in ("fan_in", "fan_out", "fan_avg"):
            for dist in ("truncated_normal", "untruncated_normal", "uniform"):
                kw = dict(scale=2.0, mode=mode, distribution=dist, **axes)
                x, _ = _law(k, "VarianceScaling", kw, shape)
                _check_scaled(x, 2.0, mode, dist, fans)
        for name, (scale, mode, dist) in SCALED.items():
            x, _ = _law(k, name, axes, shape)
            _check_scaled(x, scale, mode, dist, fans)


def check_compute_fans_is_keras(k):
    from keras.src.initializers.random_initializers import compute_fans as theirs
    ours = k.fk.initializers.compute_fans
    cases = [((), None, None), ((7,), None, None), ((3, 5), None, None),
             ((3, 3, 4, 5), None, None), ((2, 3, 3, 4, 5), None, None),
             ((512, 8, 64), [0], [1, 2]), ((512, 8, 64), [0, 1], [2]),
             ((4, 5, 6), [0], None), ((4, 5, 6), None, [2]), ((0, 5), None, None),
             ((4, 5, 6), [-1], [0, 1])]
    for shape, i, o in cases:
        assert ours(shape, i, o) == theirs(shape, i, o), (shape, i, o)


def check_orthogonal_is_orthogonal_with_keras_law(k):
    for shape, dtype in [((50, 30), "float32"), ((30, 50), "float32"), ((3, 3, 8, 16), None),
                         ((40, 40), "float64"), ((24, 16), "float16"), ((16, 24), "bfloat16")]:
        q = k.f64(k.fk.Orthogonal(gain=1.5, seed=2)(shape, dtype)).reshape(-1, shape[-1])
        tol = {"float16": 5e-3, "bfloat16": 3e-2}.get(dtype, 1e-4)
        g = q.T @ q if q.shape[0] >= q.shape[1] else q @ q.T
        assert np.allclose(g, 2.25 * np.eye(len(g)), atol=tol * 2.25), (shape, dtype)
    _law(k, "Orthogonal", {"gain": 1.5}, (64, 48))
    empty = k.fk.Orthogonal(seed=1)((0, 5))
    assert tuple(empty.shape) == (0, 5)


def check_identity_and_constants_values(k):
    for shape, gain, dtype in [((3, 3), 2, None), ((2, 5), 0.5, "float16"),
                               ((5, 2), -1.0, "bfloat16"), ((4, 4), 1.0, "float64")]:
        a, b = k.pair("Identity", gain)
        assert np.array_equal(k.np(a(shape, dtype)), k.np(b(shape, dtype))), (shape, gain)
    for value, dtype in [(6.0, None), (0.1, "float16"), (0.1, "bfloat16"), (1e6, "float16"),
                         (float("nan"), None), (-3, "float64")]:
        a, b = k.pair("Constant", value)
        assert np.array_equal(k.np(a((3, 2), dtype)), k.np(b((3, 2), dtype)), equal_nan=True)
    for name in ("Zeros", "Ones"):
        for dtype in FLOATS:
            a, b = k.pair(name)
            assert np.array_equal(k.np(a((4, 3), dtype)), k.np(b((4, 3), dtype)))


def check_outside_the_domain_is_keras_own(k):
    cases = [("RandomUniform", {"minval": 1.0, "maxval": 1.0}, None),
             ("RandomNormal", {"mean": 0.0, "stddev": 0.0}, None),
             ("TruncatedNormal", {"mean": 1.0, "stddev": 0.0}, None),
             ("RandomNormal", {"stddev": 1.0}, "complex64")]
    if k.backend == "jax":  # what torch refuses, JAX takes: a negative std, reversed bounds
        cases += [("RandomNormal", {"stddev": -1.0}, None),
                  ("RandomUniform", {"minval": 1.0, "maxval": -1.0}, None)]
    for name, kwargs, dtype in cases:
        a, b = k.pair(name, seed=3, **kwargs)
        assert np.allclose(k.np(a((4, 5), dtype)), k.np(b((4, 5), dtype))), (name, kwargs)


# --- layers, saving, backends -------------------------------------------------------------

def check_dense_layer_with_our_initializer(k):
    layer = k.keras.layers.Dense(64, kernel_initializer=k.fk.HeNormal(seed=1),
                                 bias_initializer=k.fk.Constant(0.25))
    layer.build((None, 32))
    assert np.array_equal(k.np(layer.kernel), k.np(k.fk.HeNormal(seed=1)((32, 64))))
    assert np.all(k.np(layer.bias) == 0.25)
    out = layer(np.ones((2, 32), "float32"))
    assert tuple(out.shape) == (2, 64)


def check_keras_file_saves_and_loads(k):
    model = k.keras.Sequential([
        k.keras.Input((16,)),
        k.keras.layers.Dense(8, kernel_initializer=k.fk.HeNormal(seed=1, stream=2),
                             bias_initializer=k.fk.Constant(0.5)),
        k.keras.layers.Dense(6, kernel_initializer=k.fk.Orthogonal(
            gain=2.0, seed=k.keras.random.SeedGenerator(3))),
        k.keras.layers.Dense(4, kernel_initializer=k.fk.VarianceScaling(
            0.5, "fan_out", "uniform", input_axes=[0], output_axes=[1])),
    ])
    path = os.path.join(k.tmp, "model.keras")
    model.save(path)
    loaded = k.keras.saving.load_model(path)
    for a, b in zip(model.layers, loaded.layers):
        assert type(b.kernel_initializer) is type(a.kernel_initializer)
        assert b.kernel_initializer.get_config() == a.kernel_initializer.get_config()
        assert np.array_equal(k.np(a.kernel), k.np(b.kernel))
    assert type(loaded.layers[0].bias_initializer) is k.fk.Constant
    assert '"fastinit>HeNormal"' in json.dumps(json.loads(model.to_json()))


def check_backend_specifics(k):
    if k.backend == "jax":
        import jax
        init = k.fk.GlorotUniform(seed=3)
        jitted = jax.jit(init.__call__, static_argnames=["shape", "dtype"])
        assert np.array_equal(np.asarray(jitted(shape=(64, 32), dtype="bfloat16")),
                              k.np(init((64, 32), "bfloat16")))
        assert isinstance(init((4, 4)), jax.Array)
    if k.backend == "torch":
        import torch
        from keras.src.backend.torch.core import device_scope
        with device_scope("meta"):  # Keras's symbolic runs: no values, nothing drawn
            gen = k.keras.random.SeedGenerator(5)
            t = k.fk.HeNormal(seed=gen)((4, 4))
            assert t.device.type == "meta"
        b = k.fk.RandomNormal(seed=1)((3, 3), "bfloat16")
        assert isinstance(b, torch.Tensor) and b.dtype == torch.bfloat16


def run_values(k):
    """The tensors compared across backends and with fastinit's core, as hex bytes."""
    values = {}
    for i, (name, kwargs, shape, dtype) in enumerate(VALUES):
        a = k.np(getattr(k.fk, name)(**kwargs)(shape, dtype))
        values[str(i)] = a.astype(np.float32).tobytes().hex()  # exact for every dtype here
    return values


def main():
    import keras

    import fastinit.keras as fk
    k = Ctx(keras=keras, ki=keras.initializers, fk=fk, backend=keras.backend.backend(),
            tmp=sys.argv[1])
    checks = {}
    for name, fn in CHECKS.items():
        try:
            fn(k)
            checks[name] = None
        except Exception:  # noqa: BLE001 (reported to the parent test, one per check)
            checks[name] = traceback.format_exc()
    print(json.dumps({"checks": checks, "values": run_values(k)}))


CHECKS = {n[len("check_"):]: f for n, f in list(globals().items()) if n.startswith("check_")}

if __name__ == "__main__":
    main()
