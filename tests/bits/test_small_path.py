"""Small tensors take a lean path (one work item, no parallel region): the same bits as the
parallel drivers give, on both sides of the threshold (``fastinit.kernels.cpu.CHUNK``)."""
import numpy as np
import pytest

import fastinit as fi
from fastinit.kernels.cpu import CHUNK

from ..helpers import DTYPES, INITS, NPDT, assert_same_bits

SIZES = [1, 5, 64, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 7]


def _shape(rule, n):
    if rule in ("any",):
        return (n,)
    if rule in ("fan", "2d"):
        return (n // 8 or 1, 8) if n >= 8 else (1, n)
    return None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(INITS))
def test_small_equals_the_parallel_path(name, dtype):
    alloc, in_place, rule = INITS[name]
    for n in SIZES:
        shape = _shape(rule, n)
        if shape is None:
            continue
        whole = alloc(shape, dtype=dtype)
        # the same tensor through the general geometry and the parallel drivers: a
        # Fortran-ordered target, and two regions
        f_order = np.zeros(shape, NPDT[dtype], order="F")
        in_place(f_order)
        assert_same_bits(np.ascontiguousarray(f_order), whole)
        cut = shape[0] // 2
        top = alloc(shape, dtype=dtype, region=(slice(0, cut),))
        rest = alloc(shape, dtype=dtype, region=(slice(cut, None),))
        assert_same_bits(np.concatenate([top, rest]), whole)


@pytest.mark.parametrize("dtype", DTYPES)
def test_small_is_the_head_of_a_big_one(dtype):
    big = fi.normal((4 * CHUNK,), std=0.5, dtype=dtype, seed=9, stream=4)
    bits = fi.random_bits((4 * CHUNK,), seed=9, stream=4)
    uni = fi.uniform((4 * CHUNK,), -2.0, 3.0, dtype=dtype, seed=9)
    for n in SIZES[:-1]:
        assert_same_bits(fi.normal((n,), std=0.5, dtype=dtype, seed=9, stream=4), big[:n])
        assert_same_bits(fi.uniform((n,), -2.0, 3.0, dtype=dtype, seed=9), uni[:n])
        np.testing.assert_array_equal(fi.random_bits((n,), seed=9, stream=4), bits[:n])
