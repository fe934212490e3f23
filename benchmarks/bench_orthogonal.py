"""Orthogonal initialization on the CPU against its peers, in the same classes.

Peers (all float32, square ``n x n``, Haar-distributed):

- ``fastinit`` (the default method), ``reflectors`` and ``qr`` (``fi.orthogonal_`` into a
  buffer ``setup`` has already touched);
- ``scipy_lapack``: NumPy's ``Generator.standard_normal`` then ``scipy.linalg.qr`` (LAPACK
  ``geqrf`` + ``orgqr``) and the sign fix ``q *= sign(diag(r))``;
- ``numpy_qr``: the same with ``numpy.linalg.qr``;
- ``torch``: ``torch.nn.init.orthogonal_`` on a float32 tensor (torch imported inside the
  benchmark; skipped when torch is missing).

``time_*`` is the wall time of one call, ``peakmem_*`` asv's peak resident memory of the
process, ``track_peak_over_output`` the peak memory a call adds over the process before it
(``VmHWM`` in a fresh subprocess, reset just before the call), divided by the output's size: 1.0 means nothing but the
output. Run ``python benchmarks/bench_orthogonal.py`` for the side-by-side figures of
docs/performance.md (median of several repeats in one process, ratios and the sgemm floor).
"""
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import fastinit as fi
from fastinit import _peers

SIZES = _peers.ORTHOGONAL_SIZES
OURS = _peers.ORTHOGONAL_OURS  # fastinit: the default method, then method="reflectors", "qr"
PEERS = _peers.ORTHOGONAL_PEERS
IMPLS = [*OURS, *PEERS]


def _torch():
    try:
        import torch
    except ImportError:
        raise NotImplementedError("torch is not installed") from None
    return torch


def make_runner(impl, n):
    """A zero-argument callable that produces one ``n x n`` float32 orthogonal matrix by
    ``impl``, with every one-off cost (JIT, imports, the touched output) paid here."""
    if impl in OURS:
        method = None if impl == "fastinit" else impl
        fi.orthogonal_(np.empty((64, 64), np.float32), method=method, seed=0)  # JIT warm-up
        out = np.ones((n, n), np.float32)  # touched: this machine's first touch is slow
        return lambda: fi.orthogonal_(out, method=method, seed=1)
    if impl == "scipy_lapack":
        import scipy.linalg
        rng = np.random.default_rng(1)

        def run():
            g = rng.standard_normal((n, n), dtype=np.float32)
            q, r = scipy.linalg.qr(g, mode="economic", overwrite_a=True, check_finite=False)
            q *= np.sign(np.diag(r))
            return q
        return run
    if impl == "numpy_qr":
        rng = np.random.default_rng(1)

        def run():
            q, r = np.linalg.qr(rng.standard_normal((n, n), dtype=np.float32))
            q *= np.sign(np.diag(r))
            return q
        return run
    if impl == "torch":
        torch = _torch()
        t = torch.ones(n, n)
        gen = torch.Generator().manual_seed(1)
        torch.nn.init.orthogonal_(torch.empty(64, 64), generator=gen)
        return lambda: torch.nn.init.orthogonal_(t, generator=gen)
    raise ValueError(impl)


class Orthogonal:
    """Wall time and peak memory of one ``n x n`` float32 orthogonal matrix."""

    params = (SIZES, IMPLS)
    param_names = ["n", "impl"]
    number = 1
    repeat = (1, 3, 900.0)
    warmup_time = 0
    timeout = 1800

    def setup(self, n, impl):
        self.run = make_runner(impl, n)

    def time_orthogonal(self, n, impl):
        self.run()

    def peakmem_orthogonal(self, n, impl):
        self.run()


class OrthogonalMemory:
    """Peak memory one call adds, over the output's size (lower is better; 1.0 = only the
    output), measured in a fresh process so nothing earlier holds the high-water mark."""

    params = (SIZES, IMPLS)
    param_names = ["n", "impl"]
    unit = "x output"
    timeout = 1800

    def setup(self, n, impl):
        if impl == "torch":
            _torch()

    def track_peak_over_output(self, n, impl):
        return peak_over_output(impl, n)


# the package's __init__ first: it loads this checkout's table, fastinit/_peers.py
_CHILD = """
import sys, json, os, runpy
sys.path.insert(0, {here!r})
runpy.run_path(os.path.join({here!r}, "__init__.py"))
import bench_orthogonal as b
run = b.make_runner({impl!r}, {n})

def status(key):
    with open("/proc/self/status") as f:
        return [int(l.split()[1]) for l in f if l.startswith(key)][0]

before = status("VmRSS:")
with open("/proc/self/clear_refs", "w") as f:  # reset the high-water mark (VmHWM) to now
    f.write("5")
keep = run()
print(json.dumps([before, status("VmHWM:")]))
"""


def peak_over_output(impl, n):
    """(peak RSS during one call - RSS before it) / output bytes, in a fresh process (the
    high-water mark reset just before the call: imports and compilation peak higher).

    The fastinit runners own a touched output already counted in the RSS before, so their
    figure is ``1 + extra / output``; the peers allocate their output during the call."""
    code = _CHILD.format(here=os.path.dirname(os.path.abspath(__file__)), impl=impl, n=n)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=1800)
    if r.returncode:
        raise RuntimeError(r.stderr[-2000:])
    before, peak = json.loads(r.stdout.strip().splitlines()[-1])
    out_kib = n * n * 4 / 1024
    extra = (peak - before) / out_kib
    return extra + 1.0 if impl in OURS else extra


def sgemm_rate(n=4096, repeat=5):
    a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
    b, c = a.copy(), np.empty_like(a)
    return 2.0 * n ** 3 / median_time(lambda: np.matmul(a, b, out=c), repeat)


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv):
    """Side by side in one process:
    ``python benchmarks/bench_orthogonal.py [n] [repeat] [impl,impl,...] [--memory]``."""
    memory = "--memory" in argv
    argv = [a for a in argv if a != "--memory"]
    n = int(argv[1]) if len(argv) > 1 else 4096
    repeat = int(argv[2]) if len(argv) > 2 else (5 if n <= 4096 else 3)
    impls = argv[3].split(",") if len(argv) > 3 else IMPLS
    runners = {}
    for impl in impls:
        try:
            runners[impl] = make_runner(impl, n)
        except NotImplementedError:
            pass
    times = {impl: [] for impl in runners}
    rates = []
    for _ in range(repeat):  # interleaved, so a busy spell of the machine hits every peer
        rates.append(sgemm_rate(4096, 1))
        for impl, run in runners.items():
            t0 = time.perf_counter()
            run()
            times[impl].append(time.perf_counter() - t0)
    med = {impl: statistics.median(t) for impl, t in times.items()}
    rate = statistics.median(rates)
    print(f"n = {n}, float32, median of {repeat}; sgemm (4096) {rate / 1e9:.1f} GFLOP/s")
    for impl, t in med.items():
        line = f"  {impl:13s} {t:8.3f} s"
        if "fastinit" in med:
            line += f"   {t / med['fastinit']:6.2f}x fastinit"
        print(line)
    for impl in OURS:
        if impl in med:
            flops = (8 / 3 if impl == "qr" else 4 / 3) * n ** 3
            print(f"  {impl}: floor {flops / rate:.3f} s, {med[impl] * rate / flops:.2f}x floor")
    for peer in PEERS:
        if peer in med and "fastinit" in med:
            print(f"  fastinit is {med[peer] / med['fastinit']:.2f}x faster than {peer}")
    if memory:
        for impl in impls:
            print(f"  peak over output, {impl}: {peak_over_output(impl, n):.3f}")


if __name__ == "__main__":
    main(sys.argv)
