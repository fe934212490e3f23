"""``fastinit bench``: each initializer against NumPy's Generator and torch.nn.init, side by side.

Every contender fills the same pre-touched buffer in place (freshly allocated pages cost more
than the fill on some machines, and would time the allocator, not the generator). The repeats
are interleaved (fastinit, numpy, torch, fastinit, ...), so a load change on a shared machine
hits every column alike, and the table shows medians and the ratio peer / fastinit.

NumPy's Generator draws float32 and float64 only: for float16 and bfloat16 its column is a
float32 draw plus the cast into the output, which is what a NumPy user would do. NumPy has no
truncated normal: that row has no NumPy column.
"""
import math
import statistics
import sys
import time

import numpy as np

import fastinit as fi

from . import _peers

# the rows, in order: name -> (needs 2+ dims, fastinit(buf), numpy(rng, dst, shape) or None);
# the torch column is _peers.torch_fill of the same name. Arguments and peers: _peers.
CASES = {name: (fan_based, _peers.in_place(name), _peers.NUMPY[name])
         for name, fan_based in _peers.BENCH_ROWS.items()}


def _touched(shape, dtype):
    buf = np.empty(shape, dtype)
    buf.reshape(-1).view(np.uint8)[:] = 0  # fault every page in before timing
    return buf


def _numpy_fill(fill, buf, shape):
    """NumPy's fill of ``buf``: directly for float32/float64, else float32 then a cast."""
    rng = np.random.default_rng(0)
    if buf.dtype in (np.float32, np.float64):
        return lambda: fill(rng, buf, shape)
    scratch = _touched(shape, np.float32)

    def draw_and_cast():
        fill(rng, scratch, shape)
        np.copyto(buf, scratch, casting="unsafe")
    return draw_and_cast


def _fmt_ms(seconds):
    return "-" if seconds is None else f"{seconds * 1e3:.2f} ms"


def _fmt_ratio(peer, ours):
    return "-" if peer is None else f"{peer / ours:.1f}x"


def measure(fns, repeat, warm=None):
    """Median seconds of each callable in ``fns`` (a dict), repeats interleaved (a load change
    on a shared machine hits every column alike) after one warm-up call of each of ``warm``
    (default: all; JIT from the cache, thread pools, first-touch effects)."""
    for name in fns if warm is None else warm:
        fns[name]()
    times = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def run(sizes, dtypes, inits, repeat, torch=True, file=None):
    """Print one table per size and dtype; return the rows as dicts (for tests)."""
    import numba
    file = sys.stdout if file is None else file
    th = _peers.import_torch() if torch else None
    rows = []
    for shape in sizes:
        for dtype in dtypes:
            dt = _peers.DTYPES[dtype]
            n = math.prod(shape)
            buf = _touched(shape, dt)
            threads = f"numba threads: {numba.get_num_threads()}"
            if th is not None:
                threads += f", torch {th.__version__} threads: {th.get_num_threads()}"
            print(f"\nfastinit {fi.__version__} bench: {'x'.join(map(str, shape)) or '()'} "
                  f"{dtype} ({n:,} elements), in place, median of {repeat} ({threads})",
                  file=file)
            head = f"{'initializer':<17} {'fastinit':>11} {'numpy':>11} {'numpy/fi':>9}"
            if th is not None:
                head += f" {'torch':>11} {'torch/fi':>9}"
            print(head, file=file)
            for name in inits:
                fan_based, ours, np_fill = CASES[name]
                if fan_based and len(shape) < 2:
                    print(f"{name:<17} {'(needs 2+ dims)':>11}", file=file)
                    continue
                fns = {"fastinit": lambda: ours(buf)}
                if np_fill is not None:
                    fns["numpy"] = _numpy_fill(np_fill, buf, shape)
                if th is not None:
                    fns["torch"] = _peers.torch_fill(th, name, buf)
                med = measure(fns, repeat)
                row = {"init": name, "shape": shape, "dtype": dtype, **med}
                rows.append(row)
                line = (f"{name:<17} {_fmt_ms(med['fastinit']):>11} "
                        f"{_fmt_ms(med.get('numpy')):>11} "
                        f"{_fmt_ratio(med.get('numpy'), med['fastinit']):>9}")
                if th is not None:
                    line += (f" {_fmt_ms(med['torch']):>11} "
                             f"{_fmt_ratio(med['torch'], med['fastinit']):>9}")
                print(line, file=file, flush=True)
            del buf
    print("\nratio = peer time / fastinit time (above 1: fastinit is faster)."
          + (" NumPy for float16/bfloat16: float32 draw + cast." if set(dtypes) - {"float32",
             "float64"} else ""), file=file)
    return rows
