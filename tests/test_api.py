"""The API contract: region equals slice, in-place targets of every layout, torch tensors in
place, determinism across calls and thread counts, zero-element tensors and every bad input.
"""
import math
import os
import subprocess
import sys
import warnings

import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import fastinit as fi

BF16 = np.dtype(ml_dtypes.bfloat16)
DTYPES = ["float32", "float64", "float16", "bfloat16"]
NPDT = {"float32": np.dtype(np.float32), "float64": np.dtype(np.float64),
        "float16": np.dtype(np.float16), "bfloat16": BF16}
SENTINEL = 7.25  # exact in every dtype

# derandomized (fixed examples, no flakes); no shrinking, so that a failure stays cheap
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow])


# --- every initializer, in both forms, with fixed arguments -----------------------------------
# (allocating(shape, **kw), in_place(out, **kw), shape rule) where kw carries dtype/region for
# the allocating form and shape/region for the in-place form.

def _pair(name, *args, **fixed):
    alloc, inplace = getattr(fi, name), getattr(fi, name + "_")
    return (lambda shape, **kw: alloc(shape, *args, **fixed, **kw),
            lambda out, **kw: inplace(out, *args, **fixed, **kw))


INITS = {
    "uniform": _pair("uniform", -0.5, 2.0, seed=3, stream=1) + ("any",),
    "normal": _pair("normal", 0.1, 0.02, seed=4, stream=5) + ("any",),
    "trunc_normal": _pair("trunc_normal", 0.0, 1.0, -1.0, 3.0, seed=5) + ("any",),
    "truncated_normal": _pair("truncated_normal", 0.5, seed=6, stream=2**40) + ("any",),
    "xavier_uniform": _pair("xavier_uniform", 1.5, seed=7) + ("fan",),
    "xavier_normal": _pair("xavier_normal", seed=8) + ("fan",),
    "xavier_uniform_jax": _pair("xavier_uniform", convention="jax", seed=7) + ("fan",),
    "xavier_normal_jax": _pair("xavier_normal", convention="jax", seed=8) + ("fan",),
    "kaiming_uniform": _pair("kaiming_uniform", 5 ** 0.5, seed=9) + ("fan",),
    "kaiming_normal": _pair("kaiming_normal", mode="fan_out", nonlinearity="relu",
                            seed=10) + ("fan",),
    "kaiming_uniform_jax": _pair("kaiming_uniform", convention="jax", seed=9) + ("fan",),
    "kaiming_normal_jax": _pair("kaiming_normal", convention="jax", seed=10) + ("fan",),
    "lecun_uniform": _pair("lecun_uniform", seed=11) + ("fan",),
    "lecun_normal": _pair("lecun_normal", seed=12) + ("fan",),
    "lecun_uniform_jax": _pair("lecun_uniform", convention="jax", seed=11) + ("fan",),
    "lecun_normal_jax": _pair("lecun_normal", convention="jax", seed=12) + ("fan",),
    "variance_scaling_tn": _pair("variance_scaling", 2.0, "fan_avg", "truncated_normal",
                                 seed=13) + ("fan",),
    "variance_scaling_u_jax": _pair("variance_scaling", 0.5, "fan_geo_avg", "uniform",
                                    convention="jax", seed=14) + ("fan",),
    "variance_scaling_n_jax": _pair("variance_scaling", 1.0, "fan_out", "normal",
                                    convention="jax", seed=15) + ("fan",),
    "constant": _pair("constant", -0.3) + ("any",),
    "zeros": _pair("zeros") + ("any",),
    "ones": _pair("ones") + ("any",),
    "eye": _pair("eye") + ("2d",),
    "dirac": _pair("dirac") + ("dirac",),
    "dirac_groups": _pair("dirac", 2) + ("dirac2",),
    "sparse": _pair("sparse", 0.4, 0.1, seed=16, stream=3) + ("2d",),
}


def shapes_for(rule, min_dim=1, max_dim=6):
    dim = st.integers(min_dim, max_dim)
    if rule == "any":
        return st.lists(dim, min_size=0, max_size=4).map(tuple)
    if rule == "fan":
        return st.lists(dim, min_size=2, max_size=4).map(tuple)
    if rule == "2d":
        return st.lists(dim, min_size=2, max_size=2).map(tuple)
    if rule == "dirac":
        return st.lists(dim, min_size=3, max_size=5).map(tuple)
    # dirac2: shape[0] even
    return st.lists(dim, min_size=3, max_size=5).map(lambda s: (2 * s[0],) + tuple(s[1:]))


@st.composite
def region_of(draw, shape):
    """A tuple of step-1 slices inside ``shape`` (possibly fewer slices than dims, Nones)."""
    n = draw(st.integers(0, len(shape)))
    out = []
    for d in range(n):
        a = draw(st.integers(0, shape[d]))
        b = draw(st.integers(a, shape[d]))
        out.append(slice(draw(st.sampled_from([a, None] if a == 0 else [a])),
                         draw(st.sampled_from([b, None] if b == shape[d] else [b]))))
    return tuple(out)


def as_slices(region, shape):
    return tuple(region) + (slice(None),) * (len(shape) - len(region))


def make_target(shape, dtype, layout, fill=SENTINEL):
    """An array of ``shape`` in the given layout (and the base it views, if any)."""
    dt = NPDT[dtype]
    if layout == "C":
        a = np.full(shape, fill, dt)
        return a, a
    if layout == "F":
        a = np.full(shape, fill, dt, order="F")  # (np.asfortranarray makes 0-d arrays 1-d)
        return a, a
    if layout == "T":
        base = np.full(shape[::-1], fill, dt)
        return base.T, base
    # strided with negative steps: every other element, reversed in odd dimensions
    steps = _steps_of(np.empty(shape))
    base = np.full([n * abs(s) for n, s in zip(shape, steps)], fill, dt)
    view = base[tuple(slice(None, None, s) for s in steps) + (Ellipsis,)]  # 0-d: still a view
    assert view.shape == tuple(shape)
    return view, base


def bits(a):
    a = np.ascontiguousarray(a)
    return a.view(np.dtype(f"u{a.itemsize}"))


def assert_same_bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    np.testing.assert_array_equal(bits(a), bits(b))


# --- region equals slice, every initializer ----------------------------------------------------

@pytest.mark.parametrize("name", list(INITS))
def test_region_equals_slice(name):
    alloc, _, rule = INITS[name]

    @SETTINGS
    @given(data=st.data())
    def check(data):
        shape = data.draw(shapes_for(rule, min_dim=0 if rule == "any" else 1))
        region = data.draw(region_of(shape))
        dtype = data.draw(st.sampled_from(DTYPES))
        full = alloc(shape, dtype=dtype)
        assert full.shape == shape and full.dtype == NPDT[dtype]
        part = alloc(shape, dtype=dtype, region=region)
        assert_same_bits(part, full[as_slices(region, shape)])

    check()


@pytest.mark.parametrize("name", list(INITS))
def test_in_place_layouts_equal_allocating(name):
    alloc, inplace, rule = INITS[name]

    @SETTINGS
    @given(data=st.data())
    def check(data):
        shape = data.draw(shapes_for(rule))
        region = data.draw(region_of(shape))
        dtype = data.draw(st.sampled_from(DTYPES))
        layout = data.draw(st.sampled_from(["C", "F", "T", "strided"]))
        expected = alloc(shape, dtype=dtype)[as_slices(region, shape)]
        if expected.size == 0:
            return  # zero-element in-place targets: see test_zero_element_in_place
        out, base = make_target(expected.shape, dtype, layout)
        before = base.copy()
        ret = inplace(out, shape=shape, region=region)
        assert ret is out
        assert_same_bits(out, expected)
        # nothing outside the view was written
        if layout == "strided":
            inside = np.zeros(base.shape, bool)
            inside[tuple(slice(None, None, s) for s in _steps_of(out))] = True
            np.testing.assert_array_equal(bits(base[~inside]), bits(before[~inside]))
        # and without region/shape the global shape is out's own
        if region == ():
            out2, _ = make_target(shape, dtype, layout)
            assert_same_bits(inplace(out2), alloc(shape, dtype=dtype))

    check()


def _steps_of(out):
    return [(2 if d % 2 == 0 else -3) for d in range(out.ndim)]


@pytest.mark.parametrize("layout", ["C", "F", "T", "strided"])
def test_fortran_and_strided_views_named(layout):
    a = np.zeros((30, 40), np.float32)
    v = {"C": a, "F": np.asfortranarray(a), "T": np.zeros((40, 30), np.float32).T,
         "strided": np.zeros((60, 120), np.float32)[::2, ::-3]}[layout]
    assert v.shape == (30, 40)
    fi.normal_(v, std=0.5, seed=1, stream=2)
    assert_same_bits(v, fi.normal((30, 40), std=0.5, seed=1, stream=2))
    fi.kaiming_uniform_(v, shape=(90, 40), region=(slice(30, 60),), seed=3)
    assert_same_bits(v, fi.kaiming_uniform((90, 40), seed=3)[30:60])


@pytest.mark.parametrize("name", ["uniform", "normal", "trunc_normal", "xavier_uniform",
                                  "kaiming_normal_jax", "constant", "sparse", "eye"])
@pytest.mark.parametrize("gshape,region", [
    ((3, 2), (slice(0, 3), slice(0, 1))),          # one column
    ((3, 2), (slice(0, 3), slice(1, 2))),
    ((5, 7), (slice(1, 4), slice(6, 7))),
    ((4, 3, 2), (slice(0, 2), slice(0, 1), slice(0, 1))),
    ((4, 3, 5), (slice(1, 3), slice(2, 3), slice(4, 5))),
    ((4, 6), (slice(2, 3), slice(1, 5))),         # one row
])
def test_region_with_unit_trailing_dimension(name, gshape, region):
    """A region one element wide in its last dimension(s), e.g. one column of a matrix."""
    alloc, inplace, _ = INITS[name]
    if name in ("sparse", "eye") and len(gshape) != 2:
        return
    full = alloc(gshape)
    assert_same_bits(alloc(gshape, region=region), full[region])
    out = np.full(full[region].shape, SENTINEL, np.float32)
    inplace(out, shape=gshape, region=region)
    assert_same_bits(out, full[region])


def test_random_bits_single_column():
    full = fi.random_bits((3, 2), seed=0)
    col = fi.random_bits((3, 2), seed=0, region=(slice(None), slice(1, 2)))
    np.testing.assert_array_equal(col, full[:, 1:2])


def test_documented_shard_example():
    global_shape = (64, 48)
    full = fi.kaiming_uniform(global_shape, seed=0)
    for rows in (slice(0, 16), slice(16, 48), slice(48, 64)):
        for cols in (slice(0, 20), slice(20, 48)):
            shard = np.empty((rows.stop - rows.start, cols.stop - cols.start), np.float32)
            fi.kaiming_uniform_(shard, shape=global_shape, region=(rows, cols), seed=0)
            assert_same_bits(shard, full[rows, cols])


def test_region_of_a_large_logical_tensor():
    # the documented example: a block of a 65536 x 65536 tensor without allocating it
    blk = fi.normal((65536, 65536), seed=0, region=(slice(0, 4), slice(4096, 4104)))
    assert blk.shape == (4, 8)
    row = fi.normal((65536, 65536), seed=0, region=(slice(3, 4), slice(4096, 4104)))
    assert_same_bits(blk[3:4], row)
    # flat index beyond 2**32 (block counter above 2**32 / 4)
    far = fi.uniform((1 << 20, 1 << 14), seed=1, region=(slice(300000, 300002), slice(5, 9)))
    far2 = fi.uniform((1 << 20, 1 << 14), seed=1, region=(slice(300001, 300002), slice(6, 9)))
    assert_same_bits(far[1:, 1:], far2)


# --- torch tensors, in place and zero copy -----------------------------------------------------

def test_torch_float32_in_place_zero_copy():
    import torch

    t = torch.empty(64, 48)
    ptr = t.data_ptr()
    ret = fi.normal_(t, std=0.02, seed=0, stream=9)
    assert ret is t and t.data_ptr() == ptr
    assert_same_bits(t.numpy(), fi.normal((64, 48), std=0.02, seed=0, stream=9))
    fi.kaiming_uniform_(t, a=5 ** 0.5, seed=1)
    assert t.data_ptr() == ptr
    assert_same_bits(t.numpy(), fi.kaiming_uniform((64, 48), a=5 ** 0.5, seed=1))
    fi.xavier_normal_(t, convention="jax", seed=1)
    assert_same_bits(t.numpy(), fi.xavier_normal((64, 48), convention="jax", seed=1))


def test_torch_bfloat16_in_place_zero_copy():
    import torch

    t = torch.empty(33, 65, dtype=torch.bfloat16)
    ptr = t.data_ptr()
    fi.normal_(t, std=0.02, seed=2)
    assert t.data_ptr() == ptr and t.dtype == torch.bfloat16
    got = t.view(torch.int16).numpy().view(BF16)
    assert_same_bits(got, fi.normal((33, 65), std=0.02, dtype="bfloat16", seed=2))
    # torch's own cast of the float32 result agrees (round to nearest even)
    f32 = torch.from_numpy(fi.normal((33, 65), std=0.02, seed=2)).to(torch.bfloat16)
    assert torch.equal(f32.view(torch.int16), t.view(torch.int16))
    fi.uniform_(t, -1.0, 1.0, seed=3)
    assert_same_bits(t.view(torch.int16).numpy().view(BF16),
                     fi.uniform((33, 65), -1.0, 1.0, dtype="bfloat16", seed=3))


@pytest.mark.parametrize("tdtype", ["float32", "bfloat16", "float64", "float16"])
def test_torch_non_contiguous_transpose(tdtype):
    import torch

    dt = getattr(torch, tdtype)
    base = torch.zeros(40, 24, dtype=dt)
    t = base.T
    assert not t.is_contiguous()
    ptr = t.data_ptr()
    fi.trunc_normal_(t, std=0.5, a=-0.4, b=1.0, seed=4)
    assert t.data_ptr() == ptr
    expected = fi.trunc_normal((24, 40), std=0.5, a=-0.4, b=1.0, dtype=tdtype, seed=4)
    got = t.contiguous()
    got = (got.view(torch.int16).numpy().view(BF16) if tdtype == "bfloat16" else got.numpy())
    assert_same_bits(got, expected)
    # the base was written, not a copy
    assert torch.equal(base.T, t)


def test_torch_parameter_and_sliced_views():
    import torch

    p = torch.nn.Parameter(torch.empty(20, 30))
    fi.xavier_uniform_(p, seed=5)
    assert p.requires_grad
    assert_same_bits(p.detach().numpy(), fi.xavier_uniform((20, 30), seed=5))
    base = torch.full((40, 60), SENTINEL)
    v = base[::2, 1::2]
    fi.normal_(v, seed=6)
    assert_same_bits(v.numpy(), fi.normal((20, 30), seed=6))
    assert torch.all(base[1::2] == SENTINEL) and torch.all(base[:, 0::2] == SENTINEL)


def test_torch_shard_in_place():
    import torch

    shard = torch.empty(16, 48)
    fi.kaiming_normal_(shard, shape=(64, 48), region=(slice(16, 32),), seed=7)
    assert_same_bits(shard.numpy(), fi.kaiming_normal((64, 48), seed=7)[16:32])


# --- determinism -------------------------------------------------------------------------------

ALL_FORMS = [(name, spec[0], spec[2]) for name, spec in INITS.items()]


def _shape(rule):
    return {"any": (17, 9), "fan": (17, 9), "2d": (17, 9), "dirac": (6, 4, 3), "dirac2": (6, 4, 3)}[rule]


@pytest.mark.parametrize("name,alloc,rule", ALL_FORMS, ids=[f[0] for f in ALL_FORMS])
def test_same_seed_same_bits(name, alloc, rule):
    for dtype in DTYPES:
        assert_same_bits(alloc(_shape(rule), dtype=dtype), alloc(_shape(rule), dtype=dtype))


@pytest.mark.parametrize("name", ["uniform", "normal", "trunc_normal", "truncated_normal",
                                  "xavier_uniform", "kaiming_normal", "lecun_normal",
                                  "sparse"])
def test_different_seeds_and_streams_differ(name):
    f = getattr(fi, name)
    args = {"sparse": (0.3,), "truncated_normal": ()}.get(name, ())
    a = f((64, 32), *args, seed=0)
    for kw in (dict(seed=1), dict(seed=2**32), dict(seed=0, stream=1),
               dict(seed=np.random.SeedSequence(0))):
        b = f((64, 32), *args, **kw)
        assert not np.array_equal(a, b), kw
        assert np.mean(a == b) < 0.5


def test_seed_forms():
    # a SeedSequence is hashed to a key: the same entropy gives the same bits
    ss = np.random.SeedSequence(1234)
    assert_same_bits(fi.normal((100,), seed=ss), fi.normal((100,), seed=np.random.SeedSequence(1234)))
    # numpy integer seeds are the int
    assert_same_bits(fi.normal((100,), seed=np.uint64(2**63 + 5)), fi.normal((100,), seed=2**63 + 5))
    assert_same_bits(fi.normal((100,), seed=np.int32(7), stream=np.uint64(3)),
                     fi.normal((100,), seed=7, stream=3))
    # the extremes are valid
    fi.normal((10,), seed=2**64 - 1, stream=2**64 - 1)
    # seed=None draws entropy: two calls differ
    assert not np.array_equal(fi.normal((100,)), fi.normal((100,)))
    # key = (seed & 0xFFFFFFFF, seed >> 32): the high word matters
    assert not np.array_equal(fi.random_bits(8, seed=1), fi.random_bits(8, seed=1 + 2**32))


THREAD_SCRIPT = r"""
import hashlib, sys
import numpy as np
import fastinit as fi
n = (1000, 1000)
outs = [
    fi.normal(n, std=0.02, seed=1, stream=3),
    fi.uniform(n, -1.0, 1.0, dtype="float64", seed=2),
    fi.trunc_normal(n, std=0.5, a=-0.3, b=1.2, dtype="bfloat16", seed=3),
    fi.kaiming_uniform(n, a=5 ** 0.5, dtype="float16", seed=4),
    fi.glorot_normal(n, convention="jax", seed=5),
    fi.sparse((1000, 1000), 0.9, seed=6),
    fi.random_bits(n, seed=7),
]
# and one in-place strided fill
buf = np.zeros((2000, 1000), np.float32)
fi.normal_(buf[::2, ::-1], seed=8)
outs.append(buf)
h = hashlib.sha256()
for o in outs:
    h.update(np.ascontiguousarray(o).view(np.uint8).tobytes())
import numba
print(numba.config.NUMBA_NUM_THREADS, h.hexdigest())
"""


def _run_threads(n):
    env = dict(os.environ, NUMBA_NUM_THREADS=str(n))
    r = subprocess.run([sys.executable, "-c", THREAD_SCRIPT], env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    threads, digest = r.stdout.split()
    assert threads == str(n)
    return digest


def test_bit_identical_across_thread_counts():
    one, two = _run_threads(1), _run_threads(2)
    assert one == two
    # and the same as this process (whatever its thread count)
    ns = {}
    import contextlib
    import io
    with contextlib.redirect_stdout(io.StringIO()) as f:
        exec(compile(THREAD_SCRIPT, "<thread-script>", "exec"), ns)
    assert f.getvalue().split()[1] == one


# --- zero-element tensors ----------------------------------------------------------------------

ZERO_SHAPES = {"any": [(0,), (3, 0), (0, 4, 2)], "fan": [(0, 4), (3, 0), (2, 0, 3)],
               "2d": [(0, 4), (3, 0)], "dirac": [(0, 2, 3), (2, 0, 3, 3)],
               "dirac2": [(0, 2, 3), (2, 0, 3, 3)]}


@pytest.mark.parametrize("name", list(INITS))
def test_zero_element_allocating(name):
    alloc, _, rule = INITS[name]
    for shape in ZERO_SHAPES[rule]:
        for dtype in ("float32", "bfloat16"):
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                x = alloc(shape, dtype=dtype)
            assert isinstance(x, np.ndarray) and x.shape == shape and x.dtype == NPDT[dtype]
            msgs = [str(m.message) for m in w]
            if name.startswith("kaiming"):
                assert "Initializing zero-element tensors is a no-op" in msgs
            else:
                assert msgs == []
    # an empty region of a non-empty tensor is empty too
    x = alloc(_shape(rule), region=(slice(2, 2),))
    assert x.size == 0 and x.shape[0] == 0


def test_kaiming_warns_like_torch():
    import torch

    for f_t, f_fi in ((torch.nn.init.kaiming_uniform_, fi.kaiming_uniform),
                      (torch.nn.init.kaiming_normal_, fi.kaiming_normal)):
        with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
            f_t(torch.empty(0, 3))
        with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
            f_fi((0, 3), seed=0)
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        fi.he_uniform((4, 0, 3), convention="jax", seed=0)


@pytest.mark.parametrize("shape", [(0,), (0, 3), (3, 0), (2, 0, 4)])
def test_zero_element_in_place(shape):
    """In-place forms on an empty NumPy array are a no-op and return it.

    NumPy >= 2 gives zero-size arrays zero strides (np.empty((0, 3)).strides == (0, 0)),
    which must not be mistaken for a broadcast view.
    """
    out = np.empty(shape, np.float32)
    assert fi.normal_(out, seed=0) is out
    assert fi.uniform_(out, seed=0) is out
    assert fi.zeros_(out) is out
    if len(shape) >= 2:
        with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
            assert fi.kaiming_uniform_(out, seed=0) is out
        assert fi.xavier_normal_(out, seed=0) is out


def test_zero_element_torch_in_place():
    import torch

    t = torch.empty(0, 3)
    assert fi.normal_(t, seed=0) is t
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        fi.kaiming_normal_(t, seed=0)


# --- bad input: a clear error naming the parameter, out untouched ------------------------------

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
    ("dtype_complex", lambda: fi.ones((3,), dtype=np.complex64), TypeError, ["dtype"]),
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


@pytest.mark.parametrize("make", [
    lambda: fi.normal((4, 4), device="cuda", seed=0),
    lambda: fi.kaiming_uniform((4, 4), device="cuda", seed=0),
    lambda: fi.zeros((4, 4), device="cuda"),
    lambda: fi.sparse((4, 4), 0.5, device="cuda", seed=0),
])
def test_cuda_without_cupy(make):
    import importlib.util

    assert importlib.util.find_spec("cupy") is None  # this environment has no CuPy
    with pytest.raises(RuntimeError, match="CuPy"):
        make()


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint16, np.bool_, np.complex64])
def test_integer_out_rejected(dtype):
    out = np.full((5, 4), 3, dtype)
    before = out.copy()
    with pytest.raises(TypeError, match="out"):
        fi.normal_(out, seed=0)
    with pytest.raises(TypeError, match="out"):
        fi.zeros_(out)
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


def test_zero_d_out_filled():
    out = np.full((), SENTINEL, np.float32)
    fi.normal_(out, seed=3)
    assert_same_bits(out, fi.normal((), seed=3))
    assert out != SENTINEL


def test_non_array_out_rejected():
    with pytest.raises(TypeError, match="out"):
        fi.normal_([0.0, 1.0], seed=0)
    with pytest.raises(TypeError, match="out"):
        fi.normal_(None, seed=0)


# --- small contract details --------------------------------------------------------------------

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


def test_constant_nan_and_inf_allowed():
    # the docstring of fi.constant: "nan and inf allowed" (torch.nn.init.constant_ accepts both)
    assert np.all(np.isinf(fi.constant((3,), math.inf)))
    assert np.all(np.isnan(fi.constant((3,), math.nan)))
    out = np.zeros(4, np.float32)
    fi.constant_(out, math.nan)
    assert np.all(np.isnan(out))


def test_allocating_returns_numpy_of_requested_dtype():
    for dtype in DTYPES:
        for x in (fi.normal((3, 4), dtype=dtype, seed=0), fi.eye((3, 4), dtype=dtype),
                  fi.sparse((3, 4), 0.5, dtype=dtype, seed=0)):
            assert type(x) is np.ndarray and x.dtype == NPDT[dtype]
            assert x.flags.c_contiguous
    assert fi.normal((3, 4), dtype=np.float64, seed=0).dtype == np.float64
    assert fi.normal(5, seed=0).shape == (5,)
    assert fi.normal(np.int64(5), seed=0).shape == (5,)
    assert fi.normal([2, np.int32(3)], seed=0).shape == (2, 3)


def test_region_forms():
    full = fi.normal((6, 8), seed=3)
    assert_same_bits(fi.normal((6, 8), seed=3, region=slice(2, 4)), full[2:4])
    assert_same_bits(fi.normal((6, 8), seed=3, region=(slice(None), slice(3, None))), full[:, 3:])
    assert_same_bits(fi.normal((6, 8), seed=3, region=(slice(np.int64(1), np.int32(5)),)),
                     full[1:5])
    assert_same_bits(fi.normal((6, 8), seed=3, region=()), full)


def test_shape_beyond_the_flat_index_range_is_rejected():
    # flat indices are int64: a global tensor of 2**63 elements or more cannot be addressed
    with pytest.raises(ValueError, match="shape"):
        fi.random_bits((2**61, 8), seed=0, region=(slice(0, 1), slice(0, 1)))
    with pytest.raises(ValueError, match="sparse"):
        fi.sparse((2**31, 2**31), 0.5, seed=0, region=(slice(0, 1), slice(0, 1)))
    # the largest addressable index still works and matches the full layout's word
    last = fi.random_bits((2**63 - 1,), seed=3, region=(slice(2**63 - 2, 2**63 - 1),))
    assert last.shape == (1,)
