"""Safe wherever it runs: children forked after the parent used fastinit, on every threading
layer installable here, with the same bits; a clear error (never a kill or a hang) where the
layer cannot survive fork()."""
import os
import platform
import subprocess
import sys

import pytest

SCRIPT = r"""
import concurrent.futures as cf
import multiprocessing as mp
import sys
import fastinit as fi
from fastinit._backend import cpu_threads

def job(i):
    return fi.normal((300, 200), std=0.02, seed=i).tobytes() + fi.uniform(77, seed=i).tobytes()

def child(q):
    q.put(job(5))

if __name__ == "__main__":
    expect = [job(i) for i in range(4)]  # the parent launches first
    ctx = mp.get_context("fork")
    results = {}
    try:
        with ctx.Pool(2) as pool:
            results["pool"] = pool.map_async(job, range(4)).get(120) == expect
        with cf.ProcessPoolExecutor(2, mp_context=ctx) as ex:
            results["executor"] = list(ex.map(job, range(4), timeout=120)) == expect
        q = ctx.Queue()
        p = ctx.Process(target=child, args=(q,))
        p.start()
        results["process"] = q.get(timeout=120) == job(5)
        p.join(60)
        results["exitcode"] = p.exitcode
    except RuntimeError as e:
        print("refused", cpu_threads.layer(), str(e).split(":")[0])
        sys.exit(0)
    print("ran", cpu_threads.layer(), results)
"""


def _run(tmp_path, layer=None):
    script = tmp_path / "forked.py"
    script.write_text(SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    if layer:
        env["NUMBA_THREADING_LAYER"] = layer
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def _layers():
    from fastinit._backend import cpu_threads  # noqa: F401  (loads TBB's library first)
    import importlib
    found = []
    for layer, module in (("tbb", "tbbpool"), ("omp", "omppool"), ("workqueue", "workqueue")):
        try:
            importlib.import_module(f"numba.np.ufunc.{module}")
        except ImportError:
            continue
        found.append(layer)
    return found


ALL_RAN = "{'pool': True, 'executor': True, 'process': True, 'exitcode': 0}"


@pytest.mark.slow
@pytest.mark.parametrize("layer", _layers())
def test_forked_children_after_the_parent_used_fastinit(tmp_path, layer):
    from fastinit._backend import cpu_threads
    line = _run(tmp_path, layer)
    if cpu_threads.fork_safe(layer):
        assert line == f"ran {layer} {ALL_RAN}"
    else:  # GNU OpenMP: the child says what to do, the pool does not hang
        assert line == f"refused {layer} fastinit cannot run in this process"


@pytest.mark.slow
def test_a_plain_install_is_fork_safe(tmp_path):
    """No environment variable: where the tbb dependency has wheels, the layer is tbb."""
    from importlib.metadata import PackageNotFoundError, version
    if sys.platform.startswith("linux") and platform.machine() == "x86_64":
        try:
            version("tbb")
        except PackageNotFoundError:
            pytest.fail("tbb is a dependency on Linux x86_64 but is not installed")
        assert _run(tmp_path) == f"ran tbb {ALL_RAN}"
    else:
        line = _run(tmp_path)
        assert line.startswith("ran") or line.startswith("refused")


def test_fork_safety_table():
    from fastinit._backend import cpu_threads
    assert cpu_threads.fork_safe("tbb") and cpu_threads.fork_safe("workqueue")
    assert cpu_threads.fork_safe("omp") == (cpu_threads.openmp_vendor() != "GNU")
    assert set(cpu_threads.THREAD_SAFE) == {"tbb", "omp"}
