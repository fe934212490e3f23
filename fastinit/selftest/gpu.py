"""The GPU battery (``fastinit selftest --gpu``): every CUDA kernel on the device against the
CPU, then speed as ratios to peers measured in the same run.

Each check is ``check(gpu, *args)`` with ``gpu`` a :class:`fastinit.selftest.device.Gpu`.
The CPU result it compares with is fastinit's own on the CPU, which the CPU battery checks
against the slow reference. Integer, uniform-family and constant outputs must be
bit-identical; the normal family (its values from logarithms, sines and quantiles) must be
within the README's tolerance, ``|x_gpu - x_cpu| <= 2**-20 (std max(|z|, 1) + |mean|)``
(``2**-49`` for float64; one more unit in the last place for 16-bit outputs), and the line
says whether it was bit-identical (under the simulator it always must be). Orthogonal on
the device must be within 4e-4 (float32) / 2e-11 (float64) of the CPU's matrix and
orthonormal. A check that needs CuPy or torch with CUDA is "not run" where they are missing.
"""
import numpy as np

from . import laws
from .cpu import _bits, _sentinel, lapack_error, orth_error, same_bits
from .device import LAYOUTS, layout_target
from .report import Failed, NotRun, Outcome

# README: the normal family's bound relative to std * max(|z|, 1) + |mean|
REL_TOL = {np.dtype(np.float32): 2.0**-20, np.dtype(np.float64): 2.0**-49}
ORTH_TOL = {np.dtype(np.float32): 4e-4, np.dtype(np.float64): 2e-11}
QUICK_DTYPES = ("float32", "float64", "bfloat16", "complex64", None)


# --- sizes --------------------------------------------------------------------------------------

def shape_for(gpu, case, flat=False):
    """The global shape of a case: small under the simulator (it runs every thread in
    Python), a million elements on a device; ``flat``: a 2-D one (for the strided layouts)."""
    matrix = (12, 37) if gpu.simulating else (1000, 1037)
    if flat:
        return matrix
    sim = {"conv": (8, 4, 3, 3), "dirac": (8, 4, 3, 3)}
    real = {"conv": (64, 32, 3, 3), "dirac": (64, 32, 3, 5)}
    return (sim if gpu.simulating else real).get(case.shape, matrix)


def fill_elements(gpu, itemsize):
    """Elements of the speed fills: 2**28 (2**26 quick), fewer when the device's free
    memory would not hold the two buffers (the target, a copy's source) with room to spare."""
    if gpu.simulating:
        return 2**9
    n = 2**26 if gpu.quick else 2**28
    while n > 2**20 and 3 * n * itemsize > gpu.free_bytes():
        n //= 2
    return n


# --- comparing with the CPU -----------------------------------------------------------------------

def _real(a):
    """Real parts and imaginary parts as one real array (complex), else ``a``."""
    return np.stack([a.real, a.imag], -1) if a.dtype.kind == "c" else a


def _ulp16(x, dtype):
    """One unit in the last place of the 16-bit ``dtype`` at ``x`` (float32 values)."""
    x16 = np.abs(x).astype(dtype)
    up = np.nextafter(x16, np.array(np.inf, dtype))
    return (up.astype(np.float64) - x16.astype(np.float64))


def compare(got, expect, normal_family, what):
    """Bits where they are promised, the README's tolerance for the normal family. Returns
    the text of the figure and the number of elements whose bits differ."""
    same = np.all(_bits(got) == _bits(expect), axis=1) if got.shape == expect.shape else None
    if same is None or not normal_family:
        same_bits(got, expect, what)
        return "bit-identical", 0
    differ = int(np.count_nonzero(~same))
    if differ == 0:
        return "bit-identical", 0
    g, e = _real(got).astype(np.float64), _real(expect).astype(np.float64)
    part = np.dtype(np.float64) if expect.dtype in (np.float64, np.complex128) else \
        np.dtype(np.float32)
    finite = np.isfinite(e)
    mean = float(np.mean(e[finite])) if finite.any() else 0.0
    std = float(np.std(e[finite])) if finite.any() else 0.0
    std = std or 1.0
    bound = REL_TOL[part] * (std * np.maximum(np.abs(e - mean) / std, 1.0) + abs(mean))
    bound = bound * 2  # the sample's std and mean stand in for the law's (a truncated law's
    # sample std is down to about half of its std parameter)
    if expect.dtype.itemsize == 2:
        bound = bound + _ulp16(e, expect.dtype)
    over = np.abs(g - e) > bound
    if np.any(over | (np.isnan(g) != np.isnan(e))):
        i = int(np.flatnonzero(over.ravel())[0]) if over.any() else 0
        raise Failed(f"{what}: {int(over.sum())} of {got.size} elements beyond the README's "
                     f"tolerance; first: got {g.ravel()[i]!r}, CPU {e.ravel()[i]!r}",
                     differing=differ, beyond=int(over.sum()))
    return f"within the tolerance ({differ} of {got.size} elements not bit-identical)", differ


# --- fills: every elementwise initializer and dtype -----------------------------------------------

def _fill(case, target, **kw):
    """The in-place form of ``case`` into a device ``target`` (random_bits: the words'
    in-place route, which the allocating form has no public twin of)."""
    if case.init == "random_bits":
        from .. import _api, _plans
        req = _api.in_place(target, case.kwargs["seed"], case.kwargs["stream"],
                            kw.get("shape"), kw.get("region"), dtypes=(np.dtype(np.uint32),))
        return req.fill(_plans.BITS)
    return case.fill(target, **kw)


def check_bits(gpu, case, dtype):
    """Whole, a region of the global shape, and (CuPy) the ``device="cuda"`` allocating form:
    each against the CPU."""
    kind = gpu.kind_for(dtype)
    shape = shape_for(gpu, case)
    expect = case.allocate(shape, dtype)
    region = laws.region_of(shape)
    rshape = tuple(s.stop - s.start for s in region)
    texts, differ = [], 0
    _, whole, read = layout_target(gpu, kind, "contiguous", shape, dtype)
    _fill(case, whole)
    texts.append(compare(read(), expect, case.normal_family, f"whole ({kind})"))
    _, part, read = layout_target(gpu, kind, "contiguous", rshape, dtype)
    _fill(case, part, shape=shape, region=region)
    texts.append(compare(read(), expect[region], case.normal_family, f"region ({kind})"))
    alloc = gpu.cupy is not None and case.init != "random_bits" and dtype != "bfloat16"
    if alloc:
        got = gpu.cupy.asnumpy(case.allocate(shape, dtype, device="cuda", region=region))
        texts.append(compare(got, expect[region], case.normal_family, "device='cuda'"))
    differ = sum(d for _, d in texts)
    worst = next((t for t, d in texts if d), "bit-identical")
    return Outcome(f"{expect.size} elements on {kind} targets, whole and by region"
                   f"{' and allocating' if alloc else ''}: {worst}", elements=expect.size,
                   not_bit_identical=differ, target=kind)


LAYOUT_CASES = ["uniform", "normal", "trunc_normal", "constant", "kaiming_uniform", "eye",
                "sparse", "glorot_normal_jax"]


def check_layouts(gpu, case, dtype):
    """Strided targets (F order, a column slice, reversed rows), whole and by region."""
    kind = gpu.kind_for(dtype)
    shape = shape_for(gpu, case, flat=True)
    expect = case.allocate(shape, dtype)
    region = laws.region_of(shape)
    rshape = tuple(s.stop - s.start for s in region)
    differ, done = 0, []
    for layout in LAYOUTS:
        if layout == "contiguous" or (kind == "torch" and layout == "reversed_rows"):
            continue
        _, target, read = layout_target(gpu, kind, layout, shape, dtype)
        case.fill(target)
        differ += compare(read(), expect, case.normal_family, f"{layout} ({kind})")[1]
        _, target, read = layout_target(gpu, kind, layout, rshape, dtype)
        case.fill(target, shape=shape, region=region)
        differ += compare(read(), expect[region], case.normal_family,
                          f"{layout} region ({kind})")[1]
        done.append(layout)
    state = "bit-identical" if not differ else f"within the tolerance ({differ} not identical)"
    return Outcome(f"{', '.join(done)} ({kind}), whole and by region: {state}",
                   layouts=done, not_bit_identical=differ)


TARGET_CASES = ["uniform", "normal", "kaiming_uniform", "eye", "sparse"]


def check_target_kind(gpu, kind, cases):
    """In place into every layout of one kind of GPU array (CuPy arrays, torch CUDA tensors
    with bfloat16, Numba device arrays), against the CPU."""
    if kind not in gpu.kinds():
        raise NotRun({"cupy": "CuPy is not installed (or sees no device)",
                      "torch": "torch has no CUDA here"}.get(kind, kind))
    dtypes = ["float32", "float16", "complex64"] + (["bfloat16"] if kind == "torch" else [])
    if gpu.simulating:
        dtypes.append("bfloat16")
    count = differ = 0
    for case in cases:
        for dtype in dtypes:
            if dtype not in case.dtypes:
                continue
            shape = shape_for(gpu, case, flat=True)
            expect = case.allocate(shape, dtype)
            for layout in LAYOUTS:
                if kind == "torch" and (layout == "reversed_rows" or dtype == "complex64"):
                    continue  # torch has no negative strides; complex tensors: CuPy's test
                _, target, read = layout_target(gpu, kind, layout, shape, dtype)
                if case.fill(target) is not target:
                    raise Failed(f"{case.name} {dtype} {layout}: did not return its target")
                differ += compare(read(), expect, case.normal_family,
                                  f"{case.name} {dtype} {layout}")[1]
                count += 1
    return Outcome(f"{count} fills ({len(cases)} initializers, {', '.join(dtypes)}, every "
                   f"layout): {'bit-identical' if not differ else 'within the tolerance'}",
                   fills=count, not_bit_identical=differ)


def check_stream(gpu, kind):
    """A fill goes on the caller's current stream: on a busy non-blocking stream, a sentinel
    written just before the fill must never win."""
    import fastinit as fi
    if kind not in gpu.kinds() or gpu.simulating:
        raise NotRun("the simulator runs every launch at once" if gpu.simulating else
                     f"{kind} is not usable here")
    n, m = 2048, 4096
    expect = fi.uniform((n, n), seed=31)
    if kind == "cupy":
        cp = gpu.cupy
        out = cp.empty((n, n), np.float32)
        stream = cp.cuda.Stream(non_blocking=True)
        with stream:
            busy = cp.ones((m, m), np.float32)
            for _ in range(8):
                busy = busy @ busy  # keeps the stream busy for milliseconds
            out.fill(_sentinel(np.float32))
            fi.uniform_(out, seed=31)
        stream.synchronize()
        got = cp.asnumpy(out)
    else:
        th = gpu.torch
        out = th.empty((n, n), dtype=th.float32, device="cuda")
        stream = th.cuda.Stream()
        with th.cuda.stream(stream):
            busy = th.ones((m, m), device="cuda")
            for _ in range(8):
                busy = busy @ busy
            out.fill_(_sentinel(np.float32))
            fi.uniform_(out, seed=31)
        stream.synchronize()
        gpu.synchronize()
        got = out.cpu().numpy()
    same_bits(got, expect, f"a fill on a busy {kind} stream")
    return Outcome(f"ordered after earlier work on the current {kind} stream")


def check_device_owner(gpu):
    """A target on device 1 while device 0 is current is filled on device 1."""
    import fastinit as fi
    if gpu.simulating or len(gpu.cuda.gpus) < 2:
        raise NotRun("one device here")
    expect = fi.uniform((1000, 1037), seed=32)
    checked = []
    if gpu.cupy is not None:
        with gpu.cupy.cuda.Device(1):
            out = gpu.cupy.full((1000, 1037), 7.0, np.float32)
        with gpu.cupy.cuda.Device(0):
            fi.uniform_(out, seed=32)
        gpu.synchronize()
        same_bits(gpu.cupy.asnumpy(out), expect, "CuPy array on device 1")
        checked.append("CuPy")
    if gpu.torch is not None:
        out = gpu.torch.full((1000, 1037), 7.0, device="cuda:1")
        with gpu.torch.cuda.device(0):
            fi.uniform_(out, seed=32)
        gpu.torch.cuda.synchronize(1)
        same_bits(out.cpu().numpy(), expect, "torch tensor on cuda:1")
        checked.append("torch")
    if not checked:
        raise NotRun("neither CuPy nor torch with CUDA: no way to place a target on device 1")
    return Outcome(f"{' and '.join(checked)} targets on device 1 filled there")


# --- orthogonal -----------------------------------------------------------------------------------

def check_orthogonal(gpu, dtype):
    """On the device: within 4e-4 (float32) / 2e-11 (float64) of the CPU's matrix, and
    orthonormal within 4x what LAPACK's QR reaches."""
    import fastinit as fi
    if not gpu.simulating and gpu.cupy is None:
        raise NotRun("orthogonal on a GPU computes with CuPy, which is not installed")
    kind = gpu.kind_for(dtype)
    shapes = [(24, 16), (16, 24)] if gpu.simulating else [(1024, 512), (512, 1024)]
    worst_diff = worst_err = 0.0
    for shape in shapes:
        for method in ("reflectors", "qr"):
            expect = fi.orthogonal(shape, 1.5, method=method, dtype=dtype, seed=41)
            _, target, read = layout_target(gpu, kind, "contiguous", shape, dtype)
            fi.orthogonal_(target, 1.5, method=method, seed=41)
            got = read()
            part = np.dtype(np.float64 if dtype in ("float64", "complex128") else np.float32)
            tol = ORTH_TOL[part] if got.dtype.itemsize > 2 else 1e-2  # bfloat16: 8 bits
            diff = float(np.max(np.abs(got.astype(np.complex128) - expect.astype(
                np.complex128))))
            worst_diff = max(worst_diff, diff)
            if diff > tol:
                raise Failed(f"{method} {shape}: {diff:.3g} from the CPU's matrix (tolerance "
                             f"{tol})", max_difference=diff)
            if got.dtype.itemsize > 2:
                err = orth_error(got / 1.5)
                bound = 4 * lapack_error(shape, got.dtype)[0]
                worst_err = max(worst_err, err)
                if err > bound:
                    raise Failed(f"{method} {shape}: max |Q^T Q - I| = {err:.3g} > {bound:.3g}",
                                 error=err)
    orthonormal = (f", max |Q^T Q - I| = {worst_err:.2g}" if laws.dtype_of(dtype).itemsize > 2
                   else " (the float32 matrix rounded)")
    return Outcome(f"{len(shapes)} shapes, both methods ({kind}): {worst_diff:.2g} from the "
                   f"CPU's matrix{orthonormal}", max_difference=worst_diff, error=worst_err)


# --- speed ----------------------------------------------------------------------------------------

def _note(gpu):
    return " (simulator: not a speed)" if gpu.simulating else ""


def check_fill_speed(gpu, init, dtype):
    """``normal_``/``uniform_`` in place against a device-to-device copy of the same bytes
    into the same buffer (the floor: it reads them too, so a fill may beat it),
    ``cupy.random`` and torch (``torch.randn``/``rand`` with ``out=``, ``torch.nn.init``),
    every one writing the same buffer, in the same run."""
    import fastinit as fi
    kind = gpu.kind_for(dtype)
    dt = laws.dtype_of(dtype)
    gpu.release()
    n = fill_elements(gpu, dt.itemsize)
    shape = (n // 4096, 4096) if n >= 4096 else (1, n)
    buf, src = gpu.zeros(shape, dt, kind), gpu.zeros(shape, dt, kind)
    fns = {"fastinit": {"normal": lambda: fi.normal_(buf, 0.0, 0.02, seed=0),
                        "uniform": lambda: fi.uniform_(buf, -0.1, 0.1, seed=0)}[init],
           "copy": gpu.copier(buf, src, kind)}
    del src  # the copier keeps it
    fns.update(_peers(gpu, init, kind, buf, dt))
    med = gpu.seconds(fns, 1 if gpu.simulating else 3 if gpu.quick else 7)
    ns = {k: v / n * 1e9 for k, v in med.items()}
    ratios = {k: med[k] / med["fastinit"] for k in med if k != "fastinit"}
    text = (f"{ns['fastinit']:.4f} ns/element, {med['fastinit'] / med['copy']:.2f}x the time "
            f"of a copy" + "".join(f"; {k} {v:.2f}x its time" for k, v in ratios.items()
                                   if k != "copy"))
    return Outcome(text + _note(gpu), elements=n, ns_per_element=ns,
                   peer_time_over_fastinit=ratios, ratio_to_copy=med["fastinit"] / med["copy"])


def _peers(gpu, init, kind, buf, dt):
    """The same fill of ``buf`` by CuPy's cuRAND Generator and by torch, where present."""
    fns = {}
    if gpu.cupy is not None and kind == "cupy" and dt in (np.float32, np.float64):
        rng = gpu.cupy.random.default_rng(0)
        fns["cupy.random"] = {"normal": lambda: rng.standard_normal(buf.shape, dt, out=buf),
                              "uniform": lambda: rng.random(buf.shape, dt, out=buf)}[init]
    if gpu.torch is not None:
        th = gpu.torch
        t = buf if kind == "torch" else th.as_tensor(buf, device="cuda")  # zero copy
        draw = th.randn if init == "normal" else th.rand
        fns["torch.randn" if init == "normal" else "torch.rand"] = \
            lambda: draw(t.shape, dtype=t.dtype, device=t.device, out=t)
        fns["torch.nn.init"] = {"normal": lambda: th.nn.init.normal_(t, 0.0, 0.02),
                                "uniform": lambda: th.nn.init.uniform_(t, -0.1, 0.1)}[init]
    return fns


def check_orthogonal_speed(gpu, n):
    """``orthogonal_`` float32 n x n against ``cupy.linalg.qr`` and torch's
    ``nn.init.orthogonal_`` on the same device."""
    import fastinit as fi
    if gpu.cupy is None:
        raise NotRun("orthogonal on a GPU computes with CuPy, which is not installed" if not
                     gpu.simulating else "the simulator has no CuPy, the peer")
    cp = gpu.cupy
    buf = cp.empty((n, n), np.float32)
    g = cp.random.default_rng(0).standard_normal((n, n), np.float32)
    fns = {"fastinit": lambda: fi.orthogonal_(buf, seed=0),
           "cupy.linalg.qr": lambda: cp.linalg.qr(g)}
    if gpu.torch is not None:
        t = gpu.torch.empty((n, n), device="cuda")
        fns["torch.nn.init.orthogonal_"] = lambda: gpu.torch.nn.init.orthogonal_(t)
    gpu.release()
    med = gpu.seconds(fns, 2 if n > 4096 else 3)
    ratios = {k: med[k] / med["fastinit"] for k in med if k != "fastinit"}
    return Outcome(f"{med['fastinit']:.3f} s at {n} x {n}" + "".join(
        f"; {k} {med[k]:.3f} s ({v:.2f}x its time)" for k, v in ratios.items()),
        seconds=med, peer_time_over_fastinit=ratios, n=n)


def check_first_weight(model, seed=0):
    """The first rows of a materialized ``nn.Linear`` stack's first weight against
    ``kaiming_uniform(a=sqrt(5))`` on the CPU with the stream of its name."""
    import fastinit as fi
    w = model[0].weight[:3].detach().float().cpu().numpy()
    expect = fi.kaiming_uniform(tuple(model[0].weight.shape), 5 ** 0.5, seed=seed,
                                stream=fi.stream_of("0.weight"), region=(slice(0, 3), slice(None)))
    same_bits(w, expect, "0.weight against fastinit on the CPU")


def check_materialize_speed(gpu):
    """``fastinit.torch.materialize`` of a ~1B-parameter model (``nn.Linear`` 8192 x 8192
    layers, built on the meta device) on CUDA, against ``to_empty`` plus torch's own
    ``reset_parameters``; the first weight checked against fastinit on the CPU."""
    import time

    if gpu.torch is None:
        raise NotRun("torch has no CUDA here")
    th = gpu.torch
    from ..torch import materialize
    gpu.release()
    d = 8192
    layers = 4 if gpu.quick else 15
    while layers > 1 and 1.3 * layers * d * d * 4 > gpu.free_bytes():
        layers -= 1

    def build():
        with th.device("meta"):
            return th.nn.Sequential(*[th.nn.Linear(d, d) for _ in range(layers)])

    def torch_default(model):
        model.to_empty(device="cuda")
        for m in model.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()

    times = {"fastinit": [], "torch": []}
    for _ in range(2):
        for who, run in (("fastinit", lambda m: materialize(m, seed=0, device="cuda")),
                         ("torch", torch_default)):
            model = build()
            gpu.synchronize()
            t0 = time.perf_counter()
            run(model)
            gpu.synchronize()
            times[who].append(time.perf_counter() - t0)
            if who == "fastinit":
                check_first_weight(model)
            del model
            th.cuda.empty_cache()
    params = layers * (d * d + d)
    ours, theirs = min(times["fastinit"]), min(times["torch"])
    return Outcome(f"{params / 1e9:.2f}B parameters: {ours:.2f} s against torch's default "
                   f"init {theirs:.2f} s ({theirs / ours:.2f}x)", parameters=params,
                   seconds=ours, torch_seconds=theirs, ratio=theirs / ours)


# --- the plan -------------------------------------------------------------------------------------

def check_device(gpu):
    info = gpu.describe()
    return Outcome(f"{info['name']}" + (f", compute capability {info['compute_capability']}, "
                                        f"{info['memory_bytes'] / 2**30:.1f} GiB, driver "
                                        f"{info['driver']}, runtime {info['runtime']}"
                                        if not gpu.simulating else "")
                   + f"; targets: {', '.join(gpu.kinds())}", **info)


def plan(quick):
    """The GPU battery: a list of ``(name, function, arguments)``; every function takes the
    :class:`~fastinit.selftest.device.Gpu` first."""
    cases = laws.cases()
    by_name = {c.name: c for c in cases}
    out = [("gpu.device", check_device, ())]
    for case in cases:
        for dtype in case.dtypes:
            if quick and dtype not in QUICK_DTYPES:
                continue
            out.append((f"gpu.bits.{case.name}.{dtype or 'uint32'}", check_bits, (case, dtype)))
    for name in LAYOUT_CASES:
        for dtype in ("float32", "bfloat16", "complex64"):
            if dtype in by_name[name].dtypes:
                out.append((f"gpu.layouts.{name}.{dtype}", check_layouts,
                            (by_name[name], dtype)))
    targets = [by_name[n] for n in TARGET_CASES]
    out += [(f"gpu.targets.{kind}", check_target_kind, (kind, targets))
            for kind in ("numba", "cupy", "torch")]
    out += [("gpu.stream.cupy", check_stream, ("cupy",)),
            ("gpu.stream.torch", check_stream, ("torch",))]
    for dtype in ("float32", "float64", "complex64", "bfloat16"):
        out.append((f"gpu.orthogonal.{dtype}", check_orthogonal, (dtype,)))
    for init in ("normal", "uniform"):
        for dtype in ("float32", "bfloat16"):
            out.append((f"gpu.speed.{init}.{dtype}", check_fill_speed, (init, dtype)))
    for n in (4096,) if quick else (4096, 8192):
        out.append((f"gpu.speed.orthogonal.{n}", check_orthogonal_speed, (n,)))
    out.append(("gpu.speed.materialize", check_materialize_speed, ()))
    # last: a launch on the wrong device can end in an illegal address, which leaves the
    # process's CUDA context unusable for any check after it
    out.append(("gpu.device_owner", check_device_owner, ()))
    return out
