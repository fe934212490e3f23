"""Compiled kernels are never stale: the disk cache follows every source a kernel inlines.

In a temporary copy of the package (``fastinit/`` with ``kernels/`` as ``fastinit.kernels``,
imported from there by new processes): a cold process compiles and fills the cache, a warm one
loads every kernel it needs from it (Numba's own cache statistics), and after an edit of
``kernels/philox.py`` alone (the Philox round multiplier, a file the CPU drivers only inline) a
new process computes with the edited code, bit for bit what the reference Philox with the
edited multiplier gives.
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest

from .. import reference as R

ROOT = pathlib.Path(__file__).resolve().parents[2]
SEED, STREAM, N = 7, 3, 64
M0_EDITED = 0xD2511F55  # the Philox round multiplier 0xD2511F53, edited

SCRIPT = f"""
import json
from numba.core.dispatcher import Dispatcher
import fastinit as fi
from fastinit.kernels import cache, cpu
bits = fi.random_bits({N}, seed={SEED}, stream={STREAM})
uni = fi.uniform({N}, seed={SEED}, stream={STREAM})
stats = {{name: [sum(d.stats.cache_hits.values()), sum(d.stats.cache_misses.values())]
          for name, d in vars(cpu).items() if isinstance(d, Dispatcher) and d.signatures}}
print(json.dumps({{"file": fi.__file__, "bits": bits.tolist(),
                  "uniform": uni.view("uint32").tolist(), "stats": stats,
                  "locations": cache.locations()}}))
"""


def _copy_package(dst):
    skip = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "fastinit", dst / "fastinit", ignore=skip)
    shutil.copytree(ROOT / "kernels", dst / "fastinit" / "kernels", ignore=skip)


def _run(where):
    env = {k: v for k, v in os.environ.items()
           if k not in ("NUMBA_CACHE_DIR", "NUMBA_DISABLE_JIT", "NUMBA_CACHE_LOCATOR_CLASSES")}
    env["PYTHONPATH"] = str(where)
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=where, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert pathlib.Path(out["file"]).is_relative_to(where)  # the copy, not the checkout
    return out


def _expected():
    return (R.random_bits_ref((N,), SEED, STREAM).tolist(),
            R.uniform_ref((N,), 0.0, 1.0, np.float32, SEED, STREAM).view(np.uint32).tolist())


@pytest.mark.slow
def test_an_edit_of_an_inlined_source_is_followed(tmp_path, monkeypatch):
    _copy_package(tmp_path)
    cold = _run(tmp_path)
    assert (cold["bits"], cold["uniform"]) == _expected()
    assert all(misses for _, misses in cold["stats"].values())
    assert len(cold["locations"]) == 1

    warm = _run(tmp_path)
    assert (warm["bits"], warm["uniform"]) == _expected()
    assert warm["locations"] == cold["locations"]
    # every kernel this process needed came from the disk cache
    assert warm["stats"] and all(hits and not misses for hits, misses in warm["stats"].values())

    philox = tmp_path / "fastinit" / "kernels" / "philox.py"
    text = philox.read_text()
    assert text.count("0xD2511F53") == 1
    philox.write_text(text.replace("0xD2511F53", hex(M0_EDITED).upper().replace("0X", "0x")))
    edited = _run(tmp_path)
    assert edited["locations"] != cold["locations"]
    assert all(misses for _, misses in edited["stats"].values())  # compiled afresh
    from fastinit.selftest import reference  # where tests/reference.py takes its functions
    monkeypatch.setattr(reference, "M0", np.uint64(M0_EDITED))
    assert (edited["bits"], edited["uniform"]) == _expected()
    assert edited["bits"] != cold["bits"]


def test_stale_stamp_directories_are_pruned(tmp_path, monkeypatch):
    """The current stamp directory and the KEEP - 1 most recently used others stay; older
    ones and the loose cache files of the per-file layout go."""
    from fastinit.kernels import cache
    root = tmp_path / "root"
    root.mkdir()
    current = root / (cache.PREFIX + "current")
    current.mkdir()
    others = []
    for age in range(5):  # 0 is the newest
        d = root / f"{cache.PREFIX}old{age}"
        d.mkdir()
        (d / "cpu.fill_f32-1.py311.nbi").write_bytes(b"x")
        os.utime(d, (1e9 - age * 1000, 1e9 - age * 1000))
        others.append(d)
    (root / "cpu.fill_f32-368.py311.nbi").write_bytes(b"x")
    (root / "cpu.fill_f32-368.py311.1.nbc").write_bytes(b"x")
    (root / "philox.cpython-311.pyc").write_bytes(b"x")  # not ours to remove
    monkeypatch.setattr(cache, "_tidied", set())
    cache._tidy(str(root), str(current))
    kept = sorted(p.name for p in root.iterdir())
    assert kept == sorted([current.name] + [d.name for d in others[:cache.KEEP - 1]]
                          + ["philox.cpython-311.pyc"])
    cache._tidy(str(root), str(current))  # once per process and location
    assert sorted(p.name for p in root.iterdir()) == kept


def test_the_stamp_covers_every_source_and_the_versions(tmp_path):
    from fastinit.kernels import cache
    for name in ("philox.py", "cpu.py"):
        (tmp_path / name).write_text("x = 1\n")
    first = cache.source_stamp(tmp_path)
    assert cache.source_stamp(tmp_path) == first
    (tmp_path / "philox.py").write_text("x = 2\n")
    assert cache.source_stamp(tmp_path) != first
    (tmp_path / "philox.py").write_text("x = 1\n")
    assert cache.source_stamp(tmp_path) == first
    (tmp_path / "notes.txt").write_text("not a source")
    assert cache.source_stamp(tmp_path) == first
    assert cache.STAMP == cache.source_stamp()


def test_the_kernels_of_this_process_are_filed_under_the_stamp():
    import fastinit as fi
    from fastinit.kernels import cache, cpu
    fi.random_bits(4, seed=0)
    assert cpu.fill_bits.stats.cache_path in cache.locations()
    assert all(pathlib.Path(p).name == cache.PREFIX + cache.STAMP for p in cache.locations())
