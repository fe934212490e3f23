"""``region=`` equals the slice of the whole tensor, for every initializer and dtype: hypothesis
shapes and regions, one-element-wide regions, the documented shard example, a block of a
tensor too large to allocate, the forms ``region`` accepts and the end of the flat index range.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fastinit as fi

from ..helpers import (
    DTYPES, INITS, NPDT, SENTINEL, SETTINGS, as_slices, assert_same_bits, region_of, shapes_for,
)


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

