"""Determinism: the same seed gives the same bits for every initializer and dtype, other seeds
and streams give other bits, the forms ``seed`` and ``stream`` accept, and the same bits for any
number of threads (in subprocesses with ``NUMBA_NUM_THREADS`` set).
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastinit as fi

from ..helpers import DTYPES, INITS, assert_same_bits, small_shape


ALL_FORMS = [(name, spec[0], spec[2]) for name, spec in INITS.items()]


@pytest.mark.parametrize("name,alloc,rule", ALL_FORMS, ids=[f[0] for f in ALL_FORMS])
def test_same_seed_same_bits(name, alloc, rule):
    for dtype in DTYPES:
        assert_same_bits(alloc(small_shape(rule), dtype=dtype),
                         alloc(small_shape(rule), dtype=dtype))


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
    fi.normal(n, std=0.5, dtype="complex64", seed=9),
    fi.variance_scaling(n, 1.0, "fan_in", "truncated_normal", convention="jax",
                        dtype="complex128", seed=10),
    fi.glorot_uniform(n, convention="jax", dtype="complex64", seed=11),
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



def _available_layers():
    import importlib
    pools = {"tbb": "tbbpool", "omp": "omppool", "workqueue": "workqueue"}
    found = []
    for layer, module in pools.items():
        try:
            importlib.import_module(f"numba.np.ufunc.{module}")
        except ImportError:  # tbb's library is not on the loader's path
            continue
        found.append(layer)
    return found


CONCURRENT_SCRIPT = r"""
import hashlib, threading
import numpy as np
import numba
import fastinit as fi
outs = [np.empty((300, 200), np.float32) for _ in range(8)]
errors = []
def work(o, i):
    try:
        for _ in range(25):
            fi.normal_(o, std=0.02, seed=i, stream=3)
            fi.uniform_(o[:, ::2], -1.0, 1.0, seed=i)
    except Exception as e:
        errors.append(repr(e))
threads = [threading.Thread(target=work, args=(o, i)) for i, o in enumerate(outs)]
for t in threads:
    t.start()
for t in threads:
    t.join()
assert not errors, errors
h = hashlib.sha256()
for o in outs:
    h.update(o.tobytes())
print(numba.threading_layer(), h.hexdigest())
"""


@pytest.mark.slow
@pytest.mark.parametrize("layer", _available_layers())
def test_python_threads_at_once_under_every_threading_layer(layer):
    """Eight Python threads fill at once; workqueue, which aborts on concurrent launches, is
    serialized. The bits are the same under every layer and as computed here, one by one."""
    env = dict(os.environ, NUMBA_THREADING_LAYER=layer)
    r = subprocess.run([sys.executable, "-c", CONCURRENT_SCRIPT], env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    used, digest = r.stdout.split()
    assert used == layer
    h = __import__("hashlib").sha256()
    for i in range(8):
        o = np.empty((300, 200), np.float32)
        fi.normal_(o, std=0.02, seed=i, stream=3)
        fi.uniform_(o[:, ::2], -1.0, 1.0, seed=i)
        h.update(o.tobytes())
    assert digest == h.hexdigest()


def test_the_builtin_layer_is_among_those_tested():
    assert "workqueue" in _available_layers()  # built into numba: the test above never runs empty
