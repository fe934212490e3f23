"""fastinit.dask: every initializer as a dask array of any chunking, bit-identical to the
single-process result, on the local scheduler and on a two-process distributed.LocalCluster."""
import math

import ml_dtypes
import numpy as np
import pytest

import fastinit as fi
import fastinit.dask as fd

BF16 = np.dtype(ml_dtypes.bfloat16)

CASES = [
    ("uniform", (-0.5, 2.0), {}), ("normal", (0.1, 0.02), {}),
    ("trunc_normal", (0.0, 1.0, -1.0, 2.0), {}), ("truncated_normal", (0.3,), {}),
    ("xavier_uniform", (), {}), ("xavier_normal", (1.3,), {}),
    ("glorot_normal", (), {"convention": "jax"}), ("glorot_uniform", (), {}),
    ("kaiming_uniform", (math.sqrt(5),), {}), ("kaiming_normal", (), {"mode": "fan_out"}),
    ("he_uniform", (), {"convention": "jax"}), ("he_normal", (), {}),
    ("lecun_uniform", (), {}), ("lecun_normal", (), {"convention": "jax"}),
    ("variance_scaling", (2.0, "fan_avg", "truncated_normal"), {"convention": "jax"}),
    ("sparse", (0.4,), {}),
]


def _bits(a):
    return a.view(np.uint16) if a.dtype.itemsize == 2 else a


@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float64"])
@pytest.mark.parametrize("name,args,kw", CASES, ids=[c[0] for c in CASES])
def test_equals_single_process(name, args, kw, dtype):
    shape = (90, 70)
    x = getattr(fd, name)(shape, *args, chunks=(25, 33), dtype=dtype, seed=7, stream=2, **kw)
    got = x.compute(scheduler="threads")
    want = getattr(fi, name)(shape, *args, dtype=dtype, seed=7, stream=2, **kw)
    assert got.dtype == want.dtype and x.dtype == want.dtype
    np.testing.assert_array_equal(_bits(got), _bits(want))


@pytest.mark.parametrize("shape,chunks", [((5, 6, 7, 8), (2, 5, 3, 8)), ((1000,), 97),
                                          ((33, 1, 40), "auto"), ((0, 5), 2), ((), ())])
def test_any_shape_and_chunking(shape, chunks):
    x = fd.normal(shape, chunks=chunks, seed=1)
    assert x.shape == shape
    np.testing.assert_array_equal(x.compute(scheduler="sync"), fi.normal(shape, seed=1))
    if len(shape) >= 2:
        y = fd.kaiming_uniform(shape, chunks=chunks, seed=1)
        np.testing.assert_array_equal(y.compute(scheduler="sync"),
                                      fi.kaiming_uniform(shape, seed=1))


def test_deterministic_and_bits():
    np.testing.assert_array_equal(fd.eye((7, 9), chunks=4).compute(), fi.eye((7, 9)))
    np.testing.assert_array_equal(fd.dirac((6, 4, 3, 3), 2, chunks=(4, 3, 2, 2)).compute(),
                                  fi.dirac((6, 4, 3, 3), 2))
    np.testing.assert_array_equal(fd.constant((5, 5), 0.1, chunks=2, dtype="bfloat16")
                                  .compute().view(np.uint16),
                                  fi.constant((5, 5), 0.1, dtype="bfloat16").view(np.uint16))
    np.testing.assert_array_equal(fd.random_bits((9, 13), chunks=(4, 5), seed=3).compute(),
                                  fi.random_bits((9, 13), seed=3))


def test_seed_none_is_drawn_once_per_array():
    x = fd.normal((64, 64), chunks=16)
    a = x.compute()
    np.testing.assert_array_equal(a, x.compute())  # all blocks share one seed
    assert not np.array_equal(a, fd.normal((64, 64), chunks=16).compute())


def test_errors_when_built():
    with pytest.raises(ValueError, match="2 dimensions"):
        fd.xavier_uniform((5,), seed=0)
    with pytest.raises(ValueError, match="std"):
        fd.normal((5, 5), std=-1.0, seed=0)
    with pytest.raises(TypeError, match="dtype"):
        fd.normal((5, 5), dtype="int32", seed=0)


@pytest.mark.slow
def test_local_cluster_two_processes():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None, memory_limit="1GiB") as cluster, \
            distributed.Client(cluster) as client:
        shape = (600, 500)
        arrays = [fd.normal(shape, std=0.02, chunks=(150, 200), seed=11, dtype="bfloat16"),
                  fd.kaiming_uniform(shape, a=math.sqrt(5), chunks=(100, 250), seed=11,
                                     stream=4),
                  fd.glorot_normal(shape, chunks=(300, 125), seed=2, convention="jax")]
        futures = client.compute(arrays)
        who = client.run(lambda: __import__("os").getpid())
        assert len(who) == 2 and __import__("os").getpid() not in who.values()
        got = client.gather(futures)
        wants = [fi.normal(shape, std=0.02, seed=11, dtype="bfloat16"),
                 fi.kaiming_uniform(shape, a=math.sqrt(5), seed=11, stream=4),
                 fi.glorot_normal(shape, seed=2, convention="jax")]
        for g, w in zip(got, wants):
            np.testing.assert_array_equal(_bits(g), _bits(w))
