"""Philox4x32 and the raw-bits counter contract, against Random123's vectors and tests/reference.py."""
import pathlib

import numba
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastinit as fi
from fastinit.kernels.philox import philox4x32, philox_block

from .. import reference as R

KAT = pathlib.Path(__file__).resolve().parent.parent / "data" / "philox4x32_kat.csv"
U32, U64 = 2**32, 2**64


def _kat_rows():
    rows = []
    for line in KAT.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        f = line.split(",")
        rows.append((int(f[0]), tuple(int(x, 16) for x in f[1:5]),
                     tuple(int(x, 16) for x in f[5:7]), tuple(int(x, 16) for x in f[7:11])))
    return rows


KAT_ROWS = _kat_rows()
HSET = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


def test_kat_file_has_both_round_counts():
    assert sorted({r[0] for r in KAT_ROWS}) == [7, 10]
    assert len(KAT_ROWS) == 6


@pytest.mark.parametrize("rounds, ctr, key, expected", KAT_ROWS)
def test_kernel_known_answers(rounds, ctr, key, expected):
    out = philox4x32(*(np.uint32(c) for c in ctr), *(np.uint32(k) for k in key), rounds)
    assert tuple(int(w) for w in out) == expected


@pytest.mark.parametrize("rounds, ctr, key, expected", KAT_ROWS)
def test_reference_known_answers(rounds, ctr, key, expected):
    out = R.philox4x32_ref(ctr, key, rounds)
    assert tuple(int(w) for w in out) == expected


@pytest.mark.parametrize("rounds", [10, 7, 1, 3])
def test_kernel_matches_reference_on_random_counters(rounds):
    rng = np.random.default_rng(1000 + rounds)
    v = rng.integers(0, U32, size=(60, 6), dtype=np.uint64)
    v[0] = 0
    v[1] = U32 - 1
    ref = R.philox4x32_ref(tuple(v[:, j] for j in range(4)), (v[:, 4], v[:, 5]), rounds)
    for n in range(len(v)):
        out = philox4x32(*(np.uint32(x) for x in v[n]), rounds)
        assert tuple(int(w) for w in out) == tuple(int(r[n]) for r in ref), (rounds, v[n])


def test_philox_block_splits_the_64bit_counter():
    for block in (0, 1, U32 - 1, U32, U32 + 1, 2**63 + 5, U64 - 1):
        out = philox_block(np.uint64(block), np.uint32(7), np.uint32(9), np.uint32(11), np.uint32(13))
        ref = R.philox4x32_ref((block % U32, block >> 32, 7, 9), (11, 13))
        assert tuple(int(w) for w in out) == tuple(int(r) for r in ref), block


def test_docstring_example():
    np.testing.assert_array_equal(fi.random_bits(4, seed=0),
                                  np.array([1713891541, 3781805453, 3159862348, 2600524760],
                                           np.uint32))


@pytest.mark.parametrize("shape", [(1,), (3,), (4,), (5,), (17,), (4099,), (3, 5), (7, 9, 11), (2, 1, 3, 1)])
def test_random_bits_matches_reference(shape):
    rng = np.random.default_rng(sum(shape) * 31 + len(shape))
    for _ in range(3):
        seed, stream = int(rng.integers(0, U64, dtype=np.uint64)), int(rng.integers(0, U64, dtype=np.uint64))
        out = fi.random_bits(shape, seed=seed, stream=stream)
        assert out.dtype == np.uint32 and out.shape == shape
        np.testing.assert_array_equal(out, R.random_bits_ref(shape, seed, stream))


# global tensors far above 2**32 blocks: only the region is generated
HUGE = [
    ((2**36,), (slice(4 * U32 - 13, 4 * U32 + 11),)),       # counter word 1 goes 0 -> 1
    ((2**36,), (slice(4 * U32 - 1, 4 * U32 + 1),)),
    ((2**36,), (slice(2**36 - 13, 2**36),)),                 # the very end
    ((2**36,), (slice(2**35 + 2, 2**35 + 4101),)),           # more than one work item
    ((2**34 + 6, 3), (slice(U32 - 2, U32 + 3), slice(1, 3))),
    ((2**20, 2**20, 2**10), (slice(2**20 - 2, 2**20), slice(5, 7), slice(1021, 1024))),
    ((2**62,), (slice(2**62 - 9, 2**62),)),                  # counter word 1 near 2**28
    ((2**31 + 3, 2**31 - 1), (slice(2**31, 2**31 + 3), slice(2**31 - 6, 2**31 - 1))),
    ((2**63 - 1,), (slice(2**63 - 10, 2**63 - 1),)),         # the last int64 index
]


@pytest.mark.parametrize("shape, region", HUGE)
@pytest.mark.parametrize("seed, stream", [(0, 0), (2**40 + 17, 2**35 + 3), (U64 - 1, U64 - 1)])
def test_random_bits_far_counters(shape, region, seed, stream):
    out = fi.random_bits(shape, seed=seed, stream=stream, region=region)
    ref = R.random_bits_ref(shape, seed, stream, region)
    assert out.shape == ref.shape
    np.testing.assert_array_equal(out, ref)


@st.composite
def shape_and_region(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(0, 23)) for _ in range(ndim))
    region = []
    for n in shape:
        a = draw(st.integers(0, n))
        b = draw(st.integers(a, n))
        region.append(slice(a, b))
    nslices = draw(st.integers(0, ndim))
    return shape, tuple(region[:nslices])


@HSET
@given(sr=shape_and_region(), seed=st.integers(0, U64 - 1), stream=st.integers(0, U64 - 1))
def test_random_bits_regions_hypothesis(sr, seed, stream):
    shape, region = sr
    out = fi.random_bits(shape, seed=seed, stream=stream, region=region)
    np.testing.assert_array_equal(out, R.random_bits_ref(shape, seed, stream, region))
    full = fi.random_bits(shape, seed=seed, stream=stream)
    np.testing.assert_array_equal(out, full[region])


@HSET
@given(start=st.integers(0, 2**48 - 64), length=st.integers(1, 40),
       seed=st.integers(0, U64 - 1), stream=st.integers(0, U64 - 1))
def test_random_bits_offsets_hypothesis(start, length, seed, stream):
    shape = (2**48,)
    region = (slice(start, start + length),)
    out = fi.random_bits(shape, seed=seed, stream=stream, region=region)
    np.testing.assert_array_equal(out, R.random_bits_ref(shape, seed, stream, region))


def _direct(n, key, stream_words):
    """random_bits written out by hand from the contract: no reference helpers but Philox."""
    i = np.arange(n, dtype=np.uint64)
    b = i // np.uint64(4)
    w = np.stack(R.philox4x32_ref((b & np.uint64(0xFFFFFFFF), b >> np.uint64(32),
                                   stream_words[0], stream_words[1]), key))
    return w[(i % np.uint64(4)).astype(np.intp), np.arange(n)]


@pytest.mark.parametrize("seed", [0, 1, 0xFFFFFFFF, U32, U32 + 1, 0x0123456789ABCDEF, U64 - 1])
def test_int_seed_is_the_key(seed):
    out = fi.random_bits(10, seed=seed)
    np.testing.assert_array_equal(out, _direct(10, (seed & 0xFFFFFFFF, seed >> 32), (0, 0)))


@pytest.mark.parametrize("stream", [1, 0xFFFFFFFF, U32, 0xFEDCBA9876543210, U64 - 1])
def test_stream_is_counter_words_2_3(stream):
    out = fi.random_bits(10, seed=5, stream=stream)
    np.testing.assert_array_equal(out, _direct(10, (5, 0), (stream & 0xFFFFFFFF, stream >> 32)))


def test_numpy_integer_seed_and_stream():
    ref = fi.random_bits(9, seed=2**40 + 3, stream=2**33 + 1)
    np.testing.assert_array_equal(fi.random_bits(9, seed=np.uint64(2**40 + 3), stream=np.uint64(2**33 + 1)), ref)
    np.testing.assert_array_equal(fi.random_bits(9, seed=np.int64(2**40 + 3), stream=np.int64(2**33 + 1)), ref)


@pytest.mark.parametrize("entropy", [0, 42, 2**100 + 7])
def test_seedsequence_hashes_to_key(entropy):
    key = np.random.SeedSequence(entropy).generate_state(2, np.uint32)
    out = fi.random_bits((3, 7), seed=np.random.SeedSequence(entropy), stream=11)
    np.testing.assert_array_equal(out.ravel(), _direct(21, (int(key[0]), int(key[1])), (11, 0)))
    np.testing.assert_array_equal(out, R.random_bits_ref((3, 7), np.random.SeedSequence(entropy), 11))


def test_seeds_and_streams_differ():
    a = fi.random_bits(64, seed=1)
    assert not np.array_equal(a, fi.random_bits(64, seed=2))
    assert not np.array_equal(a, fi.random_bits(64, seed=1, stream=1))
    assert not np.array_equal(a, fi.random_bits(64, seed=1 + U32))  # the key's high word counts
    assert not np.array_equal(a, fi.random_bits(64, seed=1, stream=U32))


def test_thread_count_does_not_change_bits():
    shape = (5, 9001)
    full = fi.random_bits(shape, seed=3, stream=4)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = fi.random_bits(shape, seed=3, stream=4)
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(full, one)
    np.testing.assert_array_equal(full, R.random_bits_ref(shape, 3, 4))
