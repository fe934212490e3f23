"""Complex dtypes: the bits of every complex output against its definition.

A complex target is its real view ``(*shape, 2)``: normal and uniform equal the float ones of
that shape, bit for bit (the normal's std divided by sqrt(2)); JAX's complex laws (``POLAR``)
equal the slow reference of ``tests/reference.py``; ``region=`` and every layout give the same
bits; the constants, eye, dirac and sparse put their values where the real ones do.
"""
import math

import numpy as np
import pytest

import fastinit as fi

from ..helpers import assert_same_bits
from ..reference import polar_ref, sparse_zeros_ref

COMPLEX = {"complex64": np.float32, "complex128": np.float64}
SHAPE = (37, 23)
REGION = (slice(3, 30), slice(5, 22))


def _as_complex(real, dtype):
    return np.ascontiguousarray(real).view(np.dtype(dtype))[..., 0]


@pytest.mark.parametrize("dtype", COMPLEX)
def test_normal_is_the_real_view_normal(dtype):
    got = fi.normal(SHAPE, 0.25, 3.0, dtype=dtype, seed=5, stream=9)
    real = fi.normal(SHAPE + (2,), 0.25, 3.0 / math.sqrt(2.0), dtype=COMPLEX[dtype], seed=5,
                     stream=9)
    assert got.dtype == np.dtype(dtype) and got.shape == SHAPE
    assert_same_bits(got, _as_complex(real, dtype))


@pytest.mark.parametrize("dtype", COMPLEX)
def test_uniform_is_the_real_view_uniform(dtype):
    got = fi.uniform(SHAPE, -1.5, 0.5, dtype=dtype, seed=6)
    real = fi.uniform(SHAPE + (2,), -1.5, 0.5, dtype=COMPLEX[dtype], seed=6)
    assert_same_bits(got, _as_complex(real, dtype))
    assert got.real.min() >= -1.5 and got.real.max() < 0.5
    assert got.imag.min() >= -1.5 and got.imag.max() < 0.5


POLAR = [  # (name, call, scale, rayleigh, c) for shape (9, 23): JAX's fan_in is 9
    ("disk", lambda shape, dt, **kw: fi.variance_scaling(
        shape, 2.0, "fan_in", "uniform", convention="jax", dtype=dt, **kw),
     math.sqrt(2.0 / 9), False, 0.0),
    ("truncated", lambda shape, dt, **kw: fi.variance_scaling(
        shape, 2.0, "fan_in", "truncated_normal", convention="jax", dtype=dt, **kw),
     math.sqrt(2.0 / 9) / 0.95311164380491208, True, -math.expm1(-4.0)),
]


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("name, call, scale, rayleigh, c", POLAR, ids=[p[0] for p in POLAR])
def test_jax_complex_laws_equal_the_reference(name, call, scale, rayleigh, c, dtype):
    shape = (9, 23)
    got = call(shape, dtype, seed=11, stream=2)
    assert_same_bits(got, polar_ref(shape, scale, rayleigh, c, dtype, seed=11, stream=2))


def _pair(name, *args, **kw):
    """The allocating and in-place forms of ``fi.<name>`` with fixed arguments."""
    alloc, inplace = getattr(fi, name), getattr(fi, name + "_")
    return (lambda shape, dt, **extra: alloc(shape, *args, dtype=dt, **kw, **extra),
            lambda out: inplace(out, *args, **kw))


PAIRS = {
    "normal": _pair("normal", 0.5, 2.0, seed=3),
    "uniform": _pair("uniform", seed=3),
    "xavier_normal": _pair("xavier_normal", seed=3),
    "he_uniform_jax": _pair("he_uniform", convention="jax", seed=3),
    "lecun_normal_jax": _pair("lecun_normal", convention="jax", seed=3),
    "constant": _pair("constant", 1 - 2.5j),
    "eye": _pair("eye"),
    "sparse": _pair("sparse", 0.4, seed=3),
}


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("name", PAIRS)
def test_region_and_layouts_equal_the_whole(name, dtype):
    alloc, inplace = PAIRS[name]
    whole = alloc(SHAPE, dtype)
    assert_same_bits(alloc(SHAPE, dtype, region=REGION), whole[REGION])
    layouts = {
        "F": np.full(SHAPE, 7 + 7j, dtype, order="F"),
        "strided": np.full((SHAPE[0], 3 * SHAPE[1]), 7 + 7j, dtype)[:, ::3],
        "reversed": np.full(SHAPE, 7 + 7j, dtype)[::-1, ::-1],
    }
    for label, out in layouts.items():
        assert inplace(out) is out
        assert_same_bits(np.ascontiguousarray(out), whole), label


@pytest.mark.parametrize("dtype", COMPLEX)
def test_constants_eye_dirac(dtype):
    c = fi.constant((4, 3), 1.5 - 2j, dtype=dtype)
    assert c.dtype == np.dtype(dtype) and (c == 1.5 - 2j).all()
    assert (fi.zeros((5,), dtype=dtype) == 0).all() and (fi.ones((5,), dtype=dtype) == 1).all()
    assert_same_bits(fi.eye((4, 6), dtype=dtype), np.eye(4, 6, dtype=dtype))
    d = fi.dirac((4, 2, 3), groups=2, dtype=dtype)
    real = fi.dirac((4, 2, 3), groups=2, dtype=COMPLEX[dtype])
    assert_same_bits(d, real.astype(dtype))
    # a real value into a complex target, and the parts rounded into the parts' dtype
    third = fi.constant((2,), 1 / 3 + 1j / 3, dtype=dtype)
    assert third[0].real == COMPLEX[dtype](1 / 3) and third[0].imag == COMPLEX[dtype](1 / 3)


@pytest.mark.parametrize("dtype", COMPLEX)
def test_sparse_zeros_whole_elements_by_words_past_the_values(dtype):
    """The values are the complex normal; the mask words start past the values' words (two
    per element for complex64, four for complex128)."""
    shape = (30, 8)
    got = fi.sparse(shape, 0.5, 0.1, dtype=dtype, seed=4, stream=1)
    values = fi.normal(shape, 0.0, 0.1, dtype=dtype, seed=4, stream=1)
    zero = got == 0
    assert (zero.sum(axis=0) == 15).all()
    assert_same_bits(got[~zero], values[~zero])
    np.testing.assert_array_equal(zero, sparse_zeros_ref(shape, 0.5, dtype, seed=4, stream=1))


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize("shape", [(40, 24), (24, 40), (3, 5, 6)])
def test_orthogonal_is_unitary_and_layout_free(dtype, shape):
    w = fi.orthogonal(shape, 1.5, convention="jax", dtype=dtype, seed=2)
    m = w.reshape(-1, shape[-1])
    g = m.conj().T @ m if m.shape[0] >= m.shape[1] else m @ m.conj().T
    tol = 2e-5 if dtype == "complex64" else 1e-12
    np.testing.assert_allclose(g, 2.25 * np.eye(len(g)), atol=tol * 2.25)
    assert np.abs(m.imag).max() > 0.05  # truly complex, not a real matrix
    f = np.full(shape, 7 + 7j, dtype, order="F")
    fi.orthogonal_(f, 1.5, convention="jax", seed=2)
    assert_same_bits(np.ascontiguousarray(f), w)


def test_complex_value_refused_by_a_real_target():
    out = np.full(3, 7.0, np.float32)
    with pytest.raises(TypeError, match="value"):
        fi.constant_(out, 1 + 1j)
    assert (out == 7.0).all()
