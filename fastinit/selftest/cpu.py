"""The CPU battery: the contract, checked on this machine against the slow reference.

:func:`plan` lists the checks as ``(name, function, arguments)``; ``quick`` picks smaller
sizes and fewer dtypes. The groups, in order: ``kernels`` (compile or load every kernel),
``philox`` (the known-answer vectors, the raw words), ``bits`` (every initializer and dtype,
allocating, by region and in place, against the reference), ``layouts`` (C, F, strided and
reversed targets), ``threads`` (one thread and all give the same bits), ``stats`` (KS and
moments at fixed seeds), ``orthogonal`` (orthonormality, the Haar law, layouts),
``known`` (the shipped table of known values) and ``speed`` (ratios to peers measured in the
same run).
"""
import importlib.resources
import math
import statistics
import time

import numpy as np

from .._bench import measure
from . import known, laws, stats
from . import reference as R
from .report import Failed, NotRun, Outcome

SENTINEL = 7.25  # exact in every dtype: an element a fill skips keeps it
QUICK_DTYPES = ("float32", "float64", "bfloat16", "complex64", None)


# --- comparing bits -------------------------------------------------------------------------------

def _bits(a):
    """The elements' bits as rows of unsigned ints (a complex element: two of them)."""
    a = np.ascontiguousarray(a)
    return a.reshape(-1).view(np.dtype(f"u{min(a.dtype.itemsize, 8)}")).reshape(a.size, -1)


def same_bits(got, expect, what):
    """Raise :class:`Failed` unless ``got`` and ``expect`` hold the same bits."""
    got, expect = np.asarray(got), np.asarray(expect)
    if got.dtype != expect.dtype or got.shape != expect.shape:
        raise Failed(f"{what}: got {got.dtype} {got.shape}, expected {expect.dtype} "
                     f"{expect.shape}")
    bad = np.flatnonzero(np.any(_bits(got) != _bits(expect), axis=1))
    if bad.size:
        i = int(bad[0])
        where = np.unravel_index(i, got.shape) if got.ndim else ()
        raise Failed(f"{what}: {bad.size} of {got.size} elements differ; first at "
                     f"{tuple(int(k) for k in where)}: got {got.reshape(-1)[i]!r}, expected "
                     f"{expect.reshape(-1)[i]!r}", differing=int(bad.size), elements=got.size)


def _sentinel(dtype):
    return SENTINEL + SENTINEL * 1j if np.dtype(dtype).kind == "c" else SENTINEL


# --- kernels and Philox ---------------------------------------------------------------------------

def check_kernels(quick):
    """Compile (or load from the disk cache) every kernel the battery runs."""
    import fastinit as fi
    from fastinit.kernels import cache
    t0 = time.perf_counter()
    count = 0
    for case in laws.cases():
        for dtype in _dtypes(case, quick):
            shape = laws.shape_of(case, True)
            case.allocate(shape, dtype)
            # a whole small target runs the serial path, a region the parallel drivers
            case.allocate(shape, dtype, region=laws.region_of(shape))
            count += 1
    for dtype in ("float32", "float64", "complex64"):
        fi.orthogonal((12, 8), dtype=dtype, seed=0)
    seconds = time.perf_counter() - t0
    where = ", ".join(cache.locations()) or "nowhere (not writable)"
    return Outcome(f"{count} initializer/dtype pairs ready in {seconds:.1f} s (compiled, or "
                   f"loaded from the cache in {where})", seconds=seconds, pairs=count)


def kat_rows():
    """The Philox4x32 known-answer vectors of Random123 shipped with the package:
    ``(rounds, counter, key, expected)``."""
    text = importlib.resources.files("fastinit.selftest").joinpath(
        "philox4x32_kat.csv").read_text()
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            f = line.split(",")
            rows.append((int(f[0]), tuple(int(x, 16) for x in f[1:5]),
                         tuple(int(x, 16) for x in f[5:7]), tuple(int(x, 16) for x in f[7:11])))
    return rows


def check_known_answers():
    from fastinit.kernels.philox import philox4x32
    rows = kat_rows()
    if sorted({r[0] for r in rows}) != [7, 10]:
        raise Failed(f"the vectors file has rounds {sorted({r[0] for r in rows})}, "
                     f"expected 7 and 10")
    for rounds, ctr, key, expected in rows:
        got = philox4x32(*(np.uint32(c) for c in ctr), *(np.uint32(k) for k in key), rounds)
        ref = R.philox4x32_ref(ctr, key, rounds)
        for who, out in (("kernel", got), ("reference", ref)):
            if tuple(int(w) for w in out) != expected:
                raise Failed(f"{who}: Philox4x32-{rounds} of counter {ctr}, key {key} gave "
                             f"{[hex(int(w)) for w in out]}, expected "
                             f"{[hex(w) for w in expected]}")
    return Outcome(f"{len(rows)} Random123 vectors (10 and 7 rounds): kernel and reference",
                   vectors=len(rows))


def check_random_bits(quick):
    """The raw words of ``random_bits`` against the reference, including a region far out
    (counter word 1 in use) and 64-bit seeds and streams."""
    import fastinit as fi
    cases = [((5, 9001) if not quick else (3, 4099), None, 3, 4),
             ((7, 9, 11), (slice(1, 6), slice(2, 9), slice(3, 10)), 2**64 - 1, 2**63 + 5),
             ((2**36,), (slice(4 * 2**32 - 7, 4 * 2**32 + 6),), 20240607, 3)]
    words = 0
    for shape, region, seed, stream in cases:
        got = fi.random_bits(shape, seed=seed, stream=stream, region=region)
        same_bits(got, R.random_bits_ref(shape, seed, stream, region),
                  f"random_bits({shape}, seed={seed}, stream={stream}, region={region})")
        words += got.size
    return Outcome(f"{words} words equal the reference (64-bit seeds and streams, far "
                   f"counters)", words=words)


# --- every initializer against the reference ------------------------------------------------------

def _dtypes(case, quick):
    return [d for d in case.dtypes if not quick or d in QUICK_DTYPES]


def check_bits(case, dtype, quick):
    """Allocating (whole and a region) and in place, bit for bit against the reference."""
    shape = laws.shape_of(case, quick)
    expect = case.expect(shape, dtype)
    same_bits(case.allocate(shape, dtype), expect, "allocating")
    region = laws.region_of(shape)
    same_bits(case.allocate(shape, dtype, region=region), expect[region],
              f"region {_show(region)}")
    forms = "allocating and region"  # random_bits has no in-place form
    if case.init != "random_bits":
        out = np.full(shape, _sentinel(expect.dtype), expect.dtype)
        if case.fill(out) is not out:
            raise Failed("the in-place form did not return its target")
        same_bits(out, expect, "in place")
        forms = "allocating, region and in place"
    return Outcome(f"{expect.size} elements {'x'.join(map(str, shape))}: {forms} "
                   f"bit-identical to the reference", elements=expect.size)


def _show(region):
    return "(" + ", ".join(f"{s.start}:{s.stop}" for s in region) + ")"


def layouts_of(shape, dtype):
    """In-place targets of ``shape`` in other memory layouts, filled with the sentinel."""
    s = _sentinel(dtype)
    return {
        "F": np.asfortranarray(np.full(shape, s, dtype)),
        "strided": np.full(shape[:-1] + (3 * shape[-1],), s, dtype)[..., ::3],
        "reversed": np.full(shape, s, dtype)[(slice(None, None, -1),) * len(shape)],
    }


def check_layouts(case, dtype, quick):
    """C, F, strided and reversed targets, whole and by region, give the allocating bits."""
    shape = laws.shape_of(case, quick)
    whole = case.allocate(shape, dtype)
    region = laws.region_of(shape)
    rshape = tuple(s.stop - s.start for s in region)
    for label, out in layouts_of(shape, whole.dtype).items():
        case.fill(out)
        same_bits(np.ascontiguousarray(out), whole, f"{label} target")
        part = layouts_of(rshape, whole.dtype)[label]
        case.fill(part, shape=shape, region=region)
        same_bits(np.ascontiguousarray(part), whole[region], f"{label} target of a region")
    return Outcome("F, strided and reversed targets (whole and by region) equal C order",
                   layouts=3)


# --- threads --------------------------------------------------------------------------------------

THREAD_CASES = ["random_bits", "uniform", "normal", "trunc_normal", "kaiming_uniform", "sparse"]


def check_threads(case, dtype, quick):
    """The same bits under one Numba thread and under all of them (allocating and into an
    F-order target)."""
    import numba
    threads = numba.get_num_threads()
    if threads < 2:
        raise NotRun(f"Numba runs {threads} thread here (NUMBA_NUM_THREADS="
                     f"{numba.config.NUMBA_NUM_THREADS}): nothing to compare")
    shape = (512, 1031) if quick else (1024, 2053)
    if case.shape == "conv":
        shape = (shape[0], shape[1] // 9, 3, 3)
    runs = []
    for n in (1, threads):
        numba.set_num_threads(n)
        try:
            a = case.allocate(shape, dtype)
            f = None
            if case.init != "random_bits":
                f = np.asfortranarray(np.empty(shape, a.dtype))
                case.fill(f)
        finally:
            numba.set_num_threads(threads)
        runs.append((a, f))
    (a1, f1), (an, fn) = runs
    same_bits(an, a1, f"{threads} threads against 1")
    if f1 is not None:
        same_bits(np.ascontiguousarray(fn), np.ascontiguousarray(f1),
                  f"F-order target, {threads} threads against 1")
    return Outcome(f"{a1.size} elements: 1 and {threads} threads bit-identical",
                   threads=threads, elements=a1.size)


# --- distributions --------------------------------------------------------------------------------

def _ks(x, cdf, what):
    d, p = stats.ks_pvalue(x, cdf)
    if not p > stats.P_MIN:
        raise Failed(f"{what}: KS statistic {d:.3g}, p = {p:.3g} < {stats.P_MIN}", ks_d=d, p=p)
    return p


def _moments(x, mean, var, what):
    zm, zv = stats.moments_z(x, mean, var)
    if abs(zm) > 6 or abs(zv) > 6:
        raise Failed(f"{what}: mean {zm:+.1f} and variance {zv:+.1f} standard errors off",
                     z_mean=zm, z_var=zv)
    return zm, zv


def _bounded(x, low, high, what, closed=False):
    lo, hi = float(np.min(x)), float(np.max(x))
    if lo < low or hi > high or (not closed and hi >= high):
        raise Failed(f"{what}: values in [{lo}, {hi}], outside [{low}, {high}"
                     f"{']' if closed else ')'}")


def _law_outcome(n, ps, zs=None):
    text = f"{n} samples: KS p = " + ", ".join(f"{p:.2f}" for p in ps)
    figs = {"samples": n, "p": list(ps)}
    if zs is not None:
        text += f"; mean, variance at {zs[0]:+.1f}, {zs[1]:+.1f} standard errors"
        figs["z_mean"], figs["z_var"] = zs
    return Outcome(text, **figs)


def check_uniform(dtype, n):
    import fastinit as fi
    x = fi.uniform((n,), -3.0, 5.0, dtype=dtype, seed=1234).astype(np.float64)
    _bounded(x, -3.0, 5.0, "uniform")
    p = _ks(x, stats.uniform_cdf(-3.0, 5.0), "uniform")
    return _law_outcome(n, [p], _moments(x, 1.0, 64.0 / 12, "uniform"))


def check_normal(dtype, n):
    import fastinit as fi
    x = fi.normal((n,), 2.5, 0.5, dtype=dtype, seed=99).astype(np.float64)
    p = _ks(x, stats.normal_cdf(2.5, 0.5), "normal")
    # the Box-Muller pairs: r**2 is exponential with mean 2, the angle uniform
    z = (x - 2.5) / 0.5
    r2 = z[0::2] ** 2 + z[1::2] ** 2
    p2 = _ks(r2, lambda t: -np.expm1(-np.maximum(t, 0.0) / 2.0), "radius of the pairs")
    p3 = _ks(np.arctan2(z[1::2], z[0::2]), stats.uniform_cdf(-math.pi, math.pi),
             "angle of the pairs")
    return _law_outcome(n, [p, p2, p3], _moments(x, 2.5, 0.25, "normal"))


TRUNC_LAWS = [(0.0, 1.0, -1.0, 3.0), (0.0, 1.0, 5.0, 6.0), (1.0, 0.02, 0.99, 1.05)]


def check_trunc_normal(dtype, n):
    import fastinit as fi
    ps = []
    for k, (mean, std, a, b) in enumerate(TRUNC_LAWS):
        x = fi.trunc_normal((n,), mean, std, a, b, dtype=dtype, seed=7 + k).astype(np.float64)
        what = f"trunc_normal({mean}, {std}, {a}, {b})"
        _bounded(x, a, b, what, closed=True)
        ps.append(_ks(x, stats.trunc_normal_cdf(mean, std, a, b), what))
    return _law_outcome(n, ps)


def check_complex_laws(dtype, n):
    """The complex normal (parts N(0, 1/2)), JAX's disk (``|z|**2 / (2 sd**2)`` uniform) and
    its modulus-truncated normal, each with a uniform angle."""
    import fastinit as fi
    ps = []
    z = fi.normal((n,), 0.0, 1.0, dtype=dtype, seed=21).astype(np.complex128)
    ps.append(_ks(z.real, stats.normal_cdf(0.0, math.sqrt(0.5)), "complex normal, real part"))
    ps.append(_ks(z.imag, stats.normal_cdf(0.0, math.sqrt(0.5)), "complex normal, imag part"))
    shape = (n // 64, 64)  # JAX's fan_in: the rows
    sd = math.sqrt(2.0 / shape[0])
    d = fi.he_uniform(shape, convention="jax", dtype=dtype, seed=22).astype(np.complex128)
    ps.append(_ks(np.abs(d.ravel()) ** 2 / (2 * sd * sd), stats.uniform_cdf(0.0, 1.0),
                  "disk, squared modulus"))
    ps.append(_ks(np.angle(d.ravel()), stats.uniform_cdf(-math.pi, math.pi), "disk, angle"))
    t = fi.variance_scaling(shape, 2.0, "fan_in", "truncated_normal", convention="jax",
                            dtype=dtype, seed=23).astype(np.complex128)
    scale = sd / laws.TRUNCATED_COMPLEX_STD
    ps.append(_ks(np.abs(t.ravel() / scale) ** 2, stats.truncated_exponential_cdf(2.0),
                  "truncated complex normal, squared modulus"))
    return _law_outcome(n, ps, _moments(np.abs(z) ** 2, 1.0, 1.0, "complex normal, |z|^2"))


def check_independence(n):
    """Streams, seeds and neighbours are uncorrelated (|r| below 5 standard errors)."""
    import fastinit as fi
    limit = 5 / math.sqrt(n // 2)
    base = fi.normal((n,), seed=42).astype(np.float64)
    others = {"stream 1": fi.normal((n,), seed=42, stream=1),
              "stream 2**63": fi.normal((n,), seed=42, stream=2**63),
              "seed 43": fi.normal((n,), seed=43),
              "seed 42 + 2**32": fi.normal((n,), seed=42 + 2**32)}
    worst = 0.0
    for what, other in others.items():
        r = float(np.corrcoef(base, other.astype(np.float64))[0, 1])
        worst = max(worst, abs(r))
        if abs(r) > limit:
            raise Failed(f"seed 42 stream 0 against {what}: correlation {r:.3g}")
    for lag in (1, 2, 3, 4, 5):
        r = float(np.corrcoef(base[:-lag], base[lag:])[0, 1])
        worst = max(worst, abs(r))
        if abs(r) > limit:
            raise Failed(f"neighbours at lag {lag}: correlation {r:.3g}")
    r = float(np.corrcoef(base[0::2] ** 2, base[1::2] ** 2)[0, 1])
    if abs(r) > limit:
        raise Failed(f"squares of Box-Muller pairs: correlation {r:.3g}")
    return Outcome(f"{n} samples: largest |correlation| {worst:.4f} (limit {limit:.4f})",
                   worst=worst, limit=limit)


# --- orthogonal -----------------------------------------------------------------------------------

def orth_error(q):
    """``max |Q^H Q - I|`` over the smaller side, in float64 (complex128)."""
    q = np.asarray(q)
    q = q.astype(np.complex128 if q.dtype.kind == "c" else np.float64)
    g = q.conj().T @ q if q.shape[0] >= q.shape[1] else q @ q.conj().T
    return float(np.abs(g - np.eye(g.shape[0])).max())


def lapack_error(shape, dtype):
    """``(error, by)``: the orthonormality LAPACK's QR reaches on a Gaussian of the same size
    and dtype (through SciPy, which calls it in that precision), or without SciPy the bound
    ``50 sqrt(n) eps`` (NumPy's QR computes float32 in float64: no measure of float32)."""
    tall = (max(shape), min(shape))
    try:
        import scipy.linalg
    except ImportError:
        return 50 * math.sqrt(tall[1]) * float(np.finfo(dtype).eps), "50 sqrt(n) eps"
    rng = np.random.default_rng(0)
    g = rng.standard_normal(tall)
    if np.dtype(dtype).kind == "c":
        g = g + 1j * rng.standard_normal(tall)
    return orth_error(scipy.linalg.qr(g.astype(dtype), mode="economic")[0]), "LAPACK's QR"


def check_orthogonal(dtype, quick):
    """Orthonormal within 4x what LAPACK's QR reaches (float32, float64, complex); float16 and
    bfloat16 the float32 result rounded once; the shapes of both conventions; both methods."""
    import fastinit as fi
    n = 256 if quick else 512
    shapes = [(n, n // 2 + 3), (n // 2 + 3, n), (n // 8, 8, 3, 3)]
    worst, ratio = 0.0, 0.0
    for method in ("reflectors", "qr"):
        for shape in shapes:
            w = fi.orthogonal(shape, 1.5, method=method, dtype=dtype, seed=21)
            if w.shape != shape or w.dtype != laws.dtype_of(dtype):
                raise Failed(f"{shape}: got {w.dtype} {w.shape}")
            if dtype in ("float16", "bfloat16"):
                w32 = fi.orthogonal(shape, 1.5, method=method, dtype="float32", seed=21)
                same_bits(w, w32.astype(w.dtype), f"{method} {shape}: the float32 result "
                          f"rounded once")
                continue
            m = w.reshape(shape[0], -1) / 1.5
            err, (ref, by) = orth_error(m), lapack_error(m.shape, w.dtype)
            worst, ratio = max(worst, err), max(ratio, err / ref)
            if err > 4 * ref:
                raise Failed(f"{method} {shape}: max |Q^T Q - I| = {err:.3g}, 4x {by} "
                             f"{ref:.3g}", error=err, reference=ref)
    jax = fi.orthogonal((3, 5, 8), convention="jax", column_axis=1, dtype=dtype, seed=4)
    m = np.moveaxis(jax, 1, -1).reshape(-1, 5).astype(np.complex128)
    if dtype not in ("float16", "bfloat16") and orth_error(m) > 1e-3:
        raise Failed(f"jax convention, column_axis=1: max |Q^T Q - I| = {orth_error(m):.3g}")
    if dtype in ("float16", "bfloat16"):
        return Outcome("both methods, 3 shapes: the float32 result rounded once")
    return Outcome(f"both methods, 3 shapes: max |Q^T Q - I| = {worst:.2g} ({ratio:.2f}x "
                   f"{by})", error=worst, ratio_to_reference=ratio, reference=by)


def check_haar(method, quick):
    """The Haar law at n = 4 over fixed seeds: a column is uniform on the sphere S^3 (KS of two
    coordinates), signs are symmetric, det = +1 and -1 equally often."""
    import fastinit as fi
    count = 500 if quick else 2000
    q00, qlast, det = np.empty(count), np.empty(count), np.empty(count)
    for s in range(count):
        q = fi.orthogonal((4, 4), method=method, dtype="float64", seed=1000 + s)
        q00[s], qlast[s], det[s] = q[0, 0], q[-1, -1], np.linalg.det(q)
    ps = [_ks(q00, stats.sphere3_coordinate_cdf, "Q[0, 0]"),
          _ks(qlast, stats.sphere3_coordinate_cdf, "Q[3, 3]")]
    for what, positive in (("sign of Q[0, 0]", int(np.sum(q00 > 0))),
                           ("sign of det Q", int(np.sum(det > 0)))):
        p = stats.sign_pvalue(positive, count)
        if not p > stats.P_MIN:
            raise Failed(f"{what}: {positive} of {count} positive, p = {p:.3g}")
        ps.append(p)
    if not np.allclose(np.abs(det), 1.0):
        raise Failed("|det Q| != 1")
    return _law_outcome(count, ps)


def check_unitary_haar(quick):
    """Complex: |Q[0, 0]|**2 of a Haar unitary 4 x 4 is Beta(1, 3), its phase uniform."""
    import fastinit as fi
    count = 500 if quick else 2000
    q00 = np.array([fi.orthogonal((4, 4), dtype="complex128", seed=5000 + s)[0, 0]
                    for s in range(count)])
    ps = [_ks(np.abs(q00) ** 2, lambda x: 1.0 - (1.0 - np.clip(x, 0.0, 1.0)) ** 3,
              "|Q[0, 0]|^2"),
          _ks(np.angle(q00), stats.uniform_cdf(-math.pi, math.pi), "phase of Q[0, 0]")]
    return _law_outcome(count, ps)


def check_orthogonal_layouts(dtype):
    """In place into C, F, strided and reversed targets: the allocating bits; and
    delta_orthogonal zero but at the kernel's centre."""
    import fastinit as fi
    shape = (40, 24)
    whole = fi.orthogonal(shape, 1.5, dtype=dtype, seed=2)
    targets = dict(C=np.full(shape, _sentinel(whole.dtype), whole.dtype),
                   **layouts_of(shape, whole.dtype))
    for label, out in targets.items():
        if fi.orthogonal_(out, 1.5, seed=2) is not out:
            raise Failed("orthogonal_ did not return its target")
        same_bits(np.ascontiguousarray(out), whole, f"{label} target")
    d = fi.delta_orthogonal((3, 3, 8, 12), dtype=dtype, seed=3)
    centre = d[1, 1]
    rest = d.copy()
    rest[1, 1] = 0
    if np.any(rest != 0):
        raise Failed("delta_orthogonal is not zero off the centre")
    if orth_error(centre.astype(np.complex128)) > 1e-3:
        raise Failed(f"delta_orthogonal's centre: max |Q Q^T - I| = "
                     f"{orth_error(centre.astype(np.complex128)):.3g}")
    return Outcome("C, F, strided and reversed targets equal the allocating bits; "
                   "delta_orthogonal zero off its orthogonal centre")


# --- known values ---------------------------------------------------------------------------------

def check_known():
    if not known.TABLE:
        raise Failed("the package ships no table of known values")
    got = known.compute()
    wrong = [k for k in known.TABLE if got.get(k) != known.TABLE[k]]
    if wrong or set(got) != set(known.TABLE):
        raise Failed(f"{len(wrong)} of {len(known.TABLE)} digests differ from the table "
                     f"shipped with this version, first: {wrong[:1]}", digests=got)
    return Outcome(f"{len(got)} of {len(known.TABLE)} digests match the table shipped with "
                   f"this version", digests=got)


# --- speed ----------------------------------------------------------------------------------------

def _touched(shape, dtype):
    buf = np.empty(shape, dtype)
    buf.reshape(-1).view(np.uint8)[:] = 0  # every page faulted in before timing
    return buf


def check_fill_speed(init, quick):
    """``normal_``/``uniform_`` float32 in place against the write floor: the fastest write
    of the same bytes into the same touched buffer measured here (NumPy's ``fill``, and
    fastinit's own ``constant_``, which uses every thread)."""
    import fastinit as fi
    shape = (4096, 8192) if quick else (8192, 16384)  # 128 / 512 MiB: beyond any cache
    buf = _touched(shape, np.float32)
    fill = {"normal": lambda: fi.normal_(buf, 0.0, 0.02, seed=0),
            "uniform": lambda: fi.uniform_(buf, -0.1, 0.1, seed=0)}[init]
    med = measure({"fastinit": fill, "numpy.fill": lambda: buf.fill(0.5),
                    "constant_": lambda: fi.constant_(buf, 0.5)}, 5 if quick else 9)
    floor = min(med["numpy.fill"], med["constant_"])
    gbs = buf.nbytes / med["fastinit"] / 1e9
    ratio = med["fastinit"] / floor
    return Outcome(f"{ratio:.2f}x the write floor ({med['fastinit'] * 1e3:.1f} ms, "
                   f"{gbs:.1f} GB/s; floor {floor * 1e3:.1f} ms) for {buf.nbytes >> 20} MiB",
                   ratio_to_floor=ratio, seconds=med["fastinit"], floor_seconds=floor,
                   numpy_fill_seconds=med["numpy.fill"], constant_seconds=med["constant_"],
                   bytes=buf.nbytes)


def check_orthogonal_speed(quick):
    """``orthogonal_`` float32 n x n against NumPy's QR of a Gaussian of the same size."""
    import fastinit as fi
    n = 512 if quick else 2048
    buf = _touched((n, n), np.float32)
    g = np.random.default_rng(0).standard_normal((n, n), np.float32)
    # NumPy's QR has nothing to warm up, and costs the most here
    med = measure({"fastinit": lambda: fi.orthogonal_(buf, seed=0),
                    "numpy.linalg.qr": lambda: np.linalg.qr(g)}, 3, warm=("fastinit",))
    ratio = med["numpy.linalg.qr"] / med["fastinit"]
    return Outcome(f"{ratio:.2f}x NumPy's QR speed ({med['fastinit']:.3f} s against "
                   f"{med['numpy.linalg.qr']:.3f} s) at {n} x {n}", speedup=ratio,
                   seconds=med["fastinit"], numpy_seconds=med["numpy.linalg.qr"], n=n)


# --- the plan -------------------------------------------------------------------------------------

def plan(quick):
    """The CPU battery: a list of ``(name, function, arguments)``."""
    cases = laws.cases()
    by_name = {c.name: c for c in cases}
    n = 2**16 if quick else 2**18
    out = [("kernels", check_kernels, (quick,)),
           ("philox.known_answers", check_known_answers, ()),
           ("philox.random_bits", check_random_bits, (quick,))]
    for case in cases:
        for dtype in _dtypes(case, quick):
            out.append((f"bits.{case.name}.{dtype or 'uint32'}", check_bits,
                        (case, dtype, quick)))
    layout_dtypes = ("float32", "complex64") + (() if quick else ("bfloat16", "complex128"))
    for case in cases:
        if case.init == "random_bits":
            continue
        for dtype in [d for d in case.dtypes if d in layout_dtypes]:
            out.append((f"layouts.{case.name}.{dtype}", check_layouts, (case, dtype, quick)))
    for name in THREAD_CASES:
        for dtype in ((None,) if name == "random_bits" else
                      ("float32",) if quick else ("float32", "float64", "bfloat16")):
            out.append((f"threads.{name}.{dtype or 'uint32'}", check_threads,
                        (by_name[name], dtype, quick)))
    for dtype in ("float32",) if quick else ("float32", "float64"):
        out += [(f"stats.uniform.{dtype}", check_uniform, (dtype, n)),
                (f"stats.normal.{dtype}", check_normal, (dtype, n)),
                (f"stats.trunc_normal.{dtype}", check_trunc_normal, (dtype, n))]
    for dtype in ("complex64",) if quick else ("complex64", "complex128"):
        out.append((f"stats.complex_laws.{dtype}", check_complex_laws, (dtype, n)))
    out.append(("stats.independence", check_independence, (n,)))
    for dtype in (("float32", "float64", "bfloat16", "complex64") if quick else laws.INEXACT):
        out.append((f"orthogonal.{dtype}", check_orthogonal, (dtype, quick)))
    out += [("orthogonal.haar.reflectors", check_haar, ("reflectors", quick)),
            ("orthogonal.haar.qr", check_haar, ("qr", quick)),
            ("orthogonal.haar.unitary", check_unitary_haar, (quick,))]
    for dtype in ("float32", "complex64"):
        out.append((f"orthogonal.layouts.{dtype}", check_orthogonal_layouts, (dtype,)))
    out += [("known.values", check_known, ()),
            ("speed.normal.float32", check_fill_speed, ("normal", quick)),
            ("speed.uniform.float32", check_fill_speed, ("uniform", quick)),
            ("speed.orthogonal.float32", check_orthogonal_speed, (quick,))]
    return out
