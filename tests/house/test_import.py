"""Import cost: ``import fastinit`` pulls in no GPU or framework module, and the CPU drivers are
cached on disk (numba ``cache=True``) so a new process does not recompile them."""
import json
import os
import pathlib
import subprocess
import sys

import fastinit as fi

FORBIDDEN = ["numba.cuda", "cupy", "torch", "jax", "dask", "keras", "transformers"]


def _run(code, **env):
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, **env))
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_import_pulls_in_no_gpu_or_framework_module():
    code = ("import sys, json; import fastinit; "
            "print(json.dumps(sorted(m for m in sys.modules)))")
    mods = json.loads(_run(code).strip().splitlines()[-1])
    for name in FORBIDDEN:
        hits = [m for m in mods if m == name or m.startswith(name + ".")]
        assert hits == [], (name, hits[:5])


def test_first_call_pulls_in_no_gpu_or_framework_module():
    code = ("import sys, json; import fastinit as fi; fi.normal((1000,), seed=0); "
            "fi.uniform((10, 10), dtype='bfloat16', seed=0); fi.kaiming_uniform((4, 4), seed=0); "
            "print(json.dumps(sorted(m for m in sys.modules)))")
    mods = json.loads(_run(code).strip().splitlines()[-1])
    for name in FORBIDDEN:
        assert not [m for m in mods if m == name or m.startswith(name + ".")], name


def _kernels_dir():
    # fastinit.kernels is kernels/ of the repository (installed as fastinit.kernels)
    import fastinit.kernels.cpu as cpu

    return pathlib.Path(cpu.__file__).resolve().parent


def test_drivers_are_cached_on_disk():
    # run every driver once in a fresh process; numba writes its index files in the stamp
    # directory of fastinit.kernels.cache, inside kernels/__pycache__
    _run("import numpy as np, fastinit as fi\n"  # sizes beyond one work item (CHUNK)
         "fi.normal((10000,), seed=0)\n"
         "fi.normal((10000,), dtype='bfloat16', seed=0)\n"
         "fi.normal((10000,), dtype='float64', seed=0)\n"
         "fi.random_bits((10000,), seed=0)\n"
         "fi.sparse((10, 10), 0.5, seed=0)\n")
    from fastinit.kernels.cache import PREFIX, STAMP
    cache = _kernels_dir() / "__pycache__" / (PREFIX + STAMP)
    assert cache.is_dir()
    index = sorted(p.name for p in cache.glob("cpu.*.nbi"))
    for driver in ("fill_f32", "fill_half", "fill_f64", "fill_bits", "zero_sparse"):
        assert any(n.startswith(f"cpu.{driver}-") for n in index), (driver, index)
        # and at least one compiled object per index
        assert any(p.name.startswith(f"cpu.{driver}-") for p in cache.glob("cpu.*.nbc")), driver


def test_second_process_loads_from_cache():
    # after a warm run, a new process finds every signature it needs in the cache: numba's
    # dispatcher reports cache hits and no new compilation
    code = ("import fastinit as fi\n"
            "from fastinit.kernels import cpu\n"
            "fi.normal((1000,), seed=0)\n"  # one work item: the serial unit
            "fi.normal((100000,), seed=0)\n"  # many: the parallel driver
            "ds = (cpu.fill_f32_item, cpu.fill_f32)\n"
            "print(min(sum(d.stats.cache_hits.values()) for d in ds),\n"
            "      sum(sum(d.stats.cache_misses.values()) for d in ds))\n")
    _run(code)  # warm
    hits, misses = map(int, _run(code).split()[-2:])
    assert hits >= 1 and misses == 0, (hits, misses)


def test_version():
    assert isinstance(fi.__version__, str) and fi.__version__
