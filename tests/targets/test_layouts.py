"""In-place targets of every layout (C, F, transposed, strided with negative steps, 0-d) equal
the allocating form, bit for bit, and write nothing outside the view; the allocating form
returns a C-contiguous NumPy array of the requested dtype.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastinit as fi

from ..helpers import (
    DTYPES, INITS, NPDT, SENTINEL, SETTINGS, as_slices, assert_same_bits, bits, region_of,
    shapes_for,
)


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


def _steps_of(out):
    return [(2 if d % 2 == 0 else -3) for d in range(out.ndim)]


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
            return  # zero-element in-place targets: test_zero_element.py
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


def test_zero_d_out_filled():
    out = np.full((), SENTINEL, np.float32)
    fi.normal_(out, seed=3)
    assert_same_bits(out, fi.normal((), seed=3))
    assert out != SENTINEL


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

