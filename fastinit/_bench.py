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

from ._checks import BFLOAT16, check_dtype

SQRT5 = math.sqrt(5.0)


def _kaiming_bound(shape):
    fan_in, _ = fi.compute_fans(shape)
    return fi.calculate_gain("leaky_relu", SQRT5) * math.sqrt(3.0 / fan_in)


def _xavier_bound(shape):
    fan_in, fan_out = fi.compute_fans(shape)
    return math.sqrt(6.0 / (fan_in + fan_out))


def _kaiming_std(shape):
    fan_in, _ = fi.compute_fans(shape)
    return math.sqrt(2.0) / math.sqrt(fan_in)


# name -> (needs 2+ dims, fastinit(buf), numpy(rng, dst, shape) or None, torch name and kwargs)
CASES = {
    "uniform": (False, lambda b: fi.uniform_(b, -0.1, 0.1, seed=0),
                lambda rng, d, s: _np_uniform(rng, d, -0.1, 0.1),
                ("uniform_", dict(a=-0.1, b=0.1))),
    "normal": (False, lambda b: fi.normal_(b, std=0.02, seed=0),
               lambda rng, d, s: _np_normal(rng, d, 0.02),
               ("normal_", dict(std=0.02))),
    "trunc_normal": (False, lambda b: fi.trunc_normal_(b, std=0.02, a=-0.04, b=0.04, seed=0),
                     None, ("trunc_normal_", dict(std=0.02, a=-0.04, b=0.04))),
    "xavier_uniform": (True, lambda b: fi.xavier_uniform_(b, seed=0),
                       lambda rng, d, s: _np_uniform(rng, d, -_xavier_bound(s), _xavier_bound(s)),
                       ("xavier_uniform_", {})),
    "kaiming_uniform": (True, lambda b: fi.kaiming_uniform_(b, a=SQRT5, seed=0),
                        lambda rng, d, s: _np_uniform(rng, d, -_kaiming_bound(s),
                                                      _kaiming_bound(s)),
                        ("kaiming_uniform_", dict(a=SQRT5))),
    "kaiming_normal": (True, lambda b: fi.kaiming_normal_(b, nonlinearity="relu", seed=0),
                       lambda rng, d, s: _np_normal(rng, d, _kaiming_std(s)),
                       ("kaiming_normal_", dict(nonlinearity="relu"))),
    "constant": (False, lambda b: fi.constant_(b, 0.1), lambda rng, d, s: d.fill(0.1),
                 ("constant_", dict(val=0.1))),
}


def _np_uniform(rng, dst, low, high):
    rng.random(dtype=dst.dtype, out=dst)
    dst *= high - low
    dst += low


def _np_normal(rng, dst, std):
    rng.standard_normal(dtype=dst.dtype, out=dst)
    dst *= std


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


def _import_torch():
    try:
        import torch
    except ImportError:
        return None
    import numba
    torch.set_num_threads(numba.get_num_threads())  # the same cores as fastinit's kernels
    return torch


def _torch_fill(torch, name, kwargs, buf):
    if buf.dtype == BFLOAT16:
        t = torch.from_numpy(buf.view(np.int16)).view(torch.bfloat16)
    else:
        t = torch.from_numpy(buf)
    init = getattr(torch.nn.init, name)
    if name == "constant_":
        return lambda: init(t, **kwargs)
    gen = torch.Generator().manual_seed(0)
    return lambda: init(t, generator=gen, **kwargs)


def _fmt_ms(seconds):
    return "-" if seconds is None else f"{seconds * 1e3:.2f} ms"


def _fmt_ratio(peer, ours):
    return "-" if peer is None else f"{peer / ours:.1f}x"


def measure(fns, repeat):
    """Median seconds of each callable in ``fns`` (a dict), repeats interleaved after one
    warm-up call of each (JIT from the cache, thread pools, first-touch effects)."""
    for fn in fns.values():
        fn()
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
    th = _import_torch() if torch else None
    rows = []
    for shape in sizes:
        for dtype in dtypes:
            dt = check_dtype(dtype)
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
                fan_based, ours, np_fill, (t_name, t_kw) = CASES[name]
                if fan_based and len(shape) < 2:
                    print(f"{name:<17} {'(needs 2+ dims)':>11}", file=file)
                    continue
                fns = {"fastinit": lambda: ours(buf)}
                if np_fill is not None:
                    fns["numpy"] = _numpy_fill(np_fill, buf, shape)
                if th is not None:
                    fns["torch"] = _torch_fill(th, t_name, t_kw, buf)
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
