"""The ``fastinit`` command (also ``python -m fastinit``).

``fastinit generate``
    Stream one initialized tensor to ``.npy`` or ``.safetensors``, or a whole model's tensors
    from a JSON/TOML spec to one ``.safetensors`` file, tile by tile in bounded memory, written
    atomically. The file holds exactly ``fastinit.<init>(shape, ...)``.
``fastinit bench``
    A table per initializer: fastinit against NumPy's Generator (and torch when installed),
    measured side by side in one run.
``fastinit info``
    Versions, Numba's threading layer and thread count, and whether CUDA is usable (and why not).
``fastinit selftest``
    Proves this installation right and fast: the checks of ``fastinit.selftest`` (``--gpu``
    adds the GPU's), one line each; exit code 1 when one fails.
``fastinit hf-checkpoint``
    A Hugging Face checkpoint directory (``save_pretrained``'s layout) equal to
    ``fastinit.transformers.from_config(CONFIG, seed=N, dtype=D)``, written tensor group by
    group in bounded memory without building the model, atomically.

Bad arguments give one line on stderr and exit code 2, never a traceback.
"""
import argparse
import difflib
import inspect
import json
import math
import os
import secrets
import signal
import sys
import time

import numpy as np

from . import _io
from .streams import stream_of

EXIT_USAGE = 2
# arguments that the command sets itself rather than per-initializer ``--PARAM`` options
_COMMAND_ARGS = {"shape", "dtype", "seed", "stream", "region", "device", "out"}
_NOT_INITIALIZERS = {"calculate_gain", "compute_fans", "stream_of"}
# computed from the whole matrix (a QR), so a region costs as much as the whole: generated once
WHOLE_TENSOR = {"orthogonal", "delta_orthogonal"}
DTYPES = ("float32", "float64", "float16", "bfloat16")
DEFAULT_TILE_MIB = 64


class UsageError(Exception):
    """A bad argument: reported as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{self.prog}: error: {message}")


class _Terminated(BaseException):
    """SIGTERM or SIGHUP, raised in the main thread so that ``finally`` blocks clean up."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


# --- initializers and their parameters ----------------------------------------------------

def initializers():
    """Names of the allocating initializers ``fastinit generate --init`` accepts."""
    import fastinit
    return [n for n in fastinit.__all__ if not n.startswith("_") and not n.endswith("_")
            and n not in _NOT_INITIALIZERS and callable(getattr(fastinit, n))]


def init_parameters(init):
    """``{name: default}`` of an initializer's own parameters (``inspect.Parameter.empty``
    for required ones), without shape, dtype, seed, stream, region and device."""
    import fastinit
    sig = inspect.signature(getattr(fastinit, init))
    return {p.name: p.default for p in sig.parameters.values() if p.name not in _COMMAND_ARGS}


def takes(init, arg):
    import fastinit
    return arg in inspect.signature(getattr(fastinit, init)).parameters


def check_init(init):
    names = initializers()
    if init not in names:
        close = difflib.get_close_matches(str(init), names, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (one of: {', '.join(names)})"
        raise UsageError(f"fastinit generate: error: unknown initializer {init!r}{hint}")
    return init


def _auto(text):
    """An int, a float, a tuple of ints (``"0,1"``) or the string itself."""
    if "," in text:
        try:
            return tuple(int(t) for t in text.split(",") if t.strip())
        except ValueError:
            return text
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def convert(init, name, text, default):
    """``text`` as the type of the parameter's default (an int default takes floats too:
    kaiming's ``a=0`` is a slope; a tuple default takes ``"0,1"``; a ``None`` default takes
    ints, ``"0,1"`` or a word)."""
    try:
        if isinstance(default, bool):
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if isinstance(default, int):
            try:
                return int(text)
            except ValueError:
                return float(text)
        if isinstance(default, float):
            return float(text)
        if isinstance(default, tuple):
            return tuple(int(t) for t in text.split(",") if t.strip())
        if default is None:  # an optional int, axes, or a choice such as orthogonal's method
            if text.lower() == "none":
                return None
            value = _auto(text)
            if isinstance(value, float):
                raise ValueError
            return value  # the library checks it before anything is written
    except ValueError:
        kind = {bool: "true or false", int: "a number", float: "a number",
                tuple: "integers separated by commas"}.get(type(default), "an int or ints")
        raise UsageError(f"fastinit generate: error: --{name} of {init} expects {kind}, "
                         f"got {text!r}") from None
    if isinstance(default, str):
        return text
    return _auto(text)  # a required parameter: whatever the text reads as


def parse_params(init, extra):
    """The initializer's keyword arguments from ``--PARAM VALUE`` / ``--PARAM=VALUE`` tokens."""
    known = init_parameters(init)
    params, i = {}, 0
    while i < len(extra):
        token = extra[i]
        if not token.startswith("--") or token == "--":
            raise UsageError(f"fastinit generate: error: unexpected argument {token!r}")
        name, eq, value = token[2:].partition("=")
        name = name.replace("-", "_")
        if name not in known:
            options = ", ".join(f"--{p}" for p in known) or "none"
            raise UsageError(f"fastinit generate: error: unknown parameter --{name} for "
                             f"{init} (its parameters: {options})")
        if not eq:
            if i + 1 >= len(extra):
                raise UsageError(f"fastinit generate: error: --{name} needs a value")
            value = extra[i + 1]
            i += 1
        params[name] = convert(init, name, value, known[name])
        i += 1
    missing = [p for p, d in known.items() if d is inspect.Parameter.empty and p not in params]
    if missing:
        raise UsageError(f"fastinit generate: error: {init} needs "
                         + ", ".join(f"--{p}" for p in missing))
    return params


def parse_shape(text):
    """``"32768x32768"``, ``"32768,32768"``, ``"4096"``; ``""`` or ``"()"`` for a 0-d tensor."""
    text = text.strip().strip("()[]")
    parts = [p for p in text.replace(",", "x").replace("X", "x").split("x")] if text else []
    try:
        dims = tuple(int(p) for p in parts)
    except ValueError:
        dims = None
    if dims is None or any(d < 0 for d in dims):
        raise UsageError(f"fastinit generate: error: --shape must be non-negative integers "
                         f"separated by 'x', such as 4096x4096, got {text!r}")
    return dims


# --- one tensor to generate ---------------------------------------------------------------

class Job:
    """One tensor: its initializer call, checked before the output file is created."""

    def __init__(self, name, init, shape, dtype, seed, stream, params, keep=True):
        import fastinit

        from ._checks import check_dtype
        self.name, self.init, self.shape = name, init, tuple(shape)
        self.seed, self.stream, self.params = seed, stream, dict(params)
        if init == "random_bits":
            if dtype not in (None, "uint32"):
                raise UsageError(f"fastinit generate: error: random_bits makes uint32 words, "
                                 f"got --dtype {dtype}")
            self.dtype = np.dtype(np.uint32)
        else:
            dtype = dtype or "float32"
            if dtype not in DTYPES:
                raise UsageError(f"fastinit generate: error: dtype must be one of "
                                 f"{', '.join(DTYPES)}, got {dtype!r}")
            self.dtype = check_dtype(dtype)
            self.params["dtype"] = dtype
        if takes(init, "seed"):
            self.params["seed"], self.params["stream"] = seed, stream
        self.call = getattr(fastinit, init)
        in_place = getattr(fastinit, init + "_", None)
        # tiles are regions; an initializer without a cheap region (a QR of the whole matrix)
        # is computed once, whole, and written tile by tile: memory = that tensor
        self.whole = init != "random_bits" and (init in WHOLE_TENSOR or in_place is None
                      or "region" not in inspect.signature(self.call).parameters
                      or "region" not in inspect.signature(in_place).parameters)
        self._result = None
        self._check(keep)
        if init == "random_bits":
            self.fill = self._fill_bits
        elif self.whole:
            self.fill = self._fill_from_whole
        else:
            kw = {k: v for k, v in self.params.items() if k != "dtype"}
            self.fill = lambda view, region: in_place(view, shape=self.shape, region=region, **kw)

    def _check(self, keep):
        """Run every argument check of the library by generating the first element (the
        whole tensor for a whole-tensor initializer, kept for the write if ``keep``)."""
        try:
            if self.whole:
                result = self.call(self.shape, **self.params)
                self._result = result if keep else None
            else:
                region = tuple(slice(0, min(n, 1)) for n in self.shape)
                self.call(self.shape, region=region, **self.params)
        except (ValueError, TypeError) as e:
            msg = " ".join(str(e).split())
            where = f" (tensor {self.name!r})" if self.name else ""
            raise UsageError(f"fastinit generate: error: {self.init}{where}: {msg}") from None

    def _fill_from_whole(self, view, region):
        if self._result is None:
            self._result = np.asarray(self.call(self.shape, **self.params))
        view[...] = self._result[region]

    def release(self):
        """Drop a whole tensor once it is written."""
        self._result = None

    def _fill_bits(self, view, region):
        """random_bits into ``view`` (the ``region`` of the tensor), in place."""
        from . import _api, _plans
        _api.in_place(view, self.seed, self.stream, self.shape, region,
                      dtypes=(np.dtype(np.uint32),)).fill(_plans.BITS)

    @property
    def nbytes(self):
        return math.prod(self.shape) * self.dtype.itemsize

    def recipe(self):
        """What the file's metadata records to reproduce this tensor."""
        r = {"init": self.init, "shape": list(self.shape), "dtype": str(self.dtype)}
        r.update({k: (list(v) if isinstance(v, tuple) else v) for k, v in self.params.items()
                  if k != "dtype"})
        return r


def load_spec(path, seed, dtype):
    """Jobs from a JSON or TOML spec::

        seed = 0                       # optional (else --seed, else drawn and printed)
        dtype = "bfloat16"             # optional default (else --dtype, else float32)
        [tensors."embed.weight"]
        init = "normal"
        shape = [32000, 4096]
        std = 0.02                     # any parameter of the initializer
        # dtype, seed, stream: optional per tensor; stream defaults to stream_of(name)
    """
    where = f"fastinit generate: error: spec {path}"
    data = _read_spec(path, where)
    seed = data.get("seed", seed)
    dtype = data.get("dtype", dtype)
    for name in data["tensors"]:  # before any tensor is checked: a spec writes .safetensors
        _check_tensor_name(f"{where}: tensor {name!r}", name)
    return [_spec_job(where, name, entry, seed, dtype)
            for name, entry in data["tensors"].items()]


def _check_tensor_name(where, name):
    """A name the safetensors format cannot hold (``__metadata__``, no UTF-8) as a usage
    error ``where: why``."""
    problem = _io.safetensors_name_problem(name)
    if problem is not None:
        raise UsageError(f"{where}: {problem}")


class _JSONObject(dict):
    """A JSON object that remembers the keys it had more than once (``json`` keeps the last
    value of a repeated key without a word)."""
    repeated = ()


def _json_object(pairs):
    obj = _JSONObject()
    repeated = []
    for key, value in pairs:
        if key in obj and key not in repeated:
            repeated.append(key)
        obj[key] = value
    obj.repeated = repeated
    return obj


def _check_repeated_keys(data, where):
    """A key given twice in a JSON spec, as a usage error naming it (its tensor's name for a
    tensor defined twice). TOML needs no check: ``tomllib`` refuses a repeated key itself."""
    def first_repeated(obj):
        return next(iter(getattr(obj, "repeated", ())), None)

    if not isinstance(data, dict):
        return
    if first_repeated(data) is not None:
        raise UsageError(f"{where}: top-level key {first_repeated(data)!r} is given twice")
    tensors = data.get("tensors")
    if first_repeated(tensors) is not None:
        raise UsageError(f"{where}: tensor {first_repeated(tensors)!r} is defined twice")
    if isinstance(tensors, dict):
        for name, entry in tensors.items():
            if first_repeated(entry) is not None:
                raise UsageError(f"{where}: tensor {name!r}: key {first_repeated(entry)!r} "
                                 f"is given twice")


def _read_spec(path, where):
    """The spec file parsed as JSON or TOML (by its suffix), with its top-level keys checked."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise UsageError(f"{where}: {e.strerror}") from None
    try:
        if path.endswith(".toml"):
            data = _toml().loads(raw.decode())
        elif path.endswith(".json"):
            data = json.loads(raw, object_pairs_hook=_json_object)
        else:
            raise UsageError(f"{where}: the name must end in .json or .toml")
    except UsageError:
        raise
    except Exception as e:  # json's and tomllib's own decode errors
        raise UsageError(f"{where}: {' '.join(str(e).split())}") from None
    _check_repeated_keys(data, where)
    if not isinstance(data, dict) or not isinstance(data.get("tensors"), dict) \
            or not data["tensors"]:
        raise UsageError(f"{where}: needs a non-empty table 'tensors' of name -> "
                         f"{{init, shape, ...}}")
    unknown = set(data) - {"seed", "dtype", "tensors"}
    if unknown:
        raise UsageError(f"{where}: unknown top-level keys {sorted(unknown)}")
    return data


def _spec_job(where, name, entry, seed, dtype):
    """The job of one spec entry; its seed and dtype default to the spec's, its stream to
    ``stream_of(name)``, so it holds the same bits as a model materialized with that name."""
    if not isinstance(entry, dict) or "init" not in entry or "shape" not in entry:
        raise UsageError(f"{where}: tensor {name!r} needs 'init' and 'shape'")
    entry = dict(entry)
    init = check_init(entry.pop("init"))
    shape = entry.pop("shape")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool)
                                              and d >= 0 for d in shape):
        raise UsageError(f"{where}: tensor {name!r}: shape must be a list of non-negative "
                         f"ints, got {shape!r}")
    t_seed = entry.pop("seed", seed)
    t_stream = entry.pop("stream") if "stream" in entry else _name_stream(where, name)
    t_dtype = entry.pop("dtype", dtype)
    params = _spec_params(where, name, init, entry)
    # keep=False: a whole-tensor initializer is recomputed when written, not held meanwhile
    return Job(name, init, shape, t_dtype, t_seed, t_stream, params, keep=False)


def _name_stream(where, name):
    """``stream_of(name)``, a name it rejects reported as a usage error."""
    try:
        return stream_of(name)
    except ValueError as e:
        raise UsageError(f"{where}: tensor {name!r}: {e}") from None


def _spec_params(where, name, init, entry):
    """The initializer's keyword arguments from a spec entry (lists become tuples), checked
    against its signature: no unknown parameter, no required one missing."""
    known = init_parameters(init)
    bad = [k for k in entry if k not in known]
    if bad:
        raise UsageError(f"{where}: tensor {name!r}: unknown parameter {bad[0]!r} for "
                         f"{init} (its parameters: {', '.join(known) or 'none'})")
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()}
    missing = [p for p, d in known.items() if d is inspect.Parameter.empty
               and p not in params]
    if missing:
        raise UsageError(f"{where}: tensor {name!r}: {init} needs {', '.join(missing)}")
    return params


def _toml():
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise UsageError("fastinit generate: error: TOML specs need Python 3.11 or the "
                             "tomli package on 3.10 (pip install tomli); JSON works everywhere"
                             ) from None
    return tomllib


# --- generate -----------------------------------------------------------------------------

def _progress_bar(total, enabled, desc):
    """A tqdm bar on stderr, or None when disabled or tqdm is not installed (optional)."""
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                file=sys.stderr, leave=False, dynamic_ncols=True)


def _human_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1024


def list_initializers(file=None):
    file = sys.stdout if file is None else file
    for init in initializers():
        params = []
        for p, d in init_parameters(init).items():
            params.append(f"--{p} VALUE" if d is inspect.Parameter.empty else f"[--{p} {d}]")
        seeded = " [--seed S] [--stream N]" if takes(init, "seed") else ""
        print(f"{init:<18} {' '.join(params)}{seeded}".rstrip(), file=file)


def cmd_generate(args, extra):
    """``fastinit generate``: check the output, build the jobs (every argument checked before
    the file is created), write the file, print a summary."""
    if args.list:
        list_initializers()
        return 0
    output, budget = _check_output(args)
    jobs = _generate_jobs(args, extra, output)
    if not args.quiet:
        announce_compile()
    _sweep_partials(output, args.quiet)
    seconds = _write_output(output, jobs, budget, args)
    if not args.quiet:
        _print_summary(output, jobs, seconds)
    return 0


def _check_output(args):
    """The output path (its suffix, its directory, no file there unless ``--force``) and the
    tile budget in bytes."""
    if not args.output:
        raise UsageError("fastinit generate: error: the following arguments are required: "
                         "-o/--output")
    output = args.output
    if not (output.endswith(".npy") or output.endswith(".safetensors")):
        raise UsageError(f"fastinit generate: error: -o must end in .npy or .safetensors, "
                         f"got {output!r}")
    if not (args.tile_mib > 0 and math.isfinite(args.tile_mib)):
        raise UsageError(f"fastinit generate: error: --tile-mib must be positive, "
                         f"got {args.tile_mib}")
    budget = max(1, int(args.tile_mib * 2**20))
    parent = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(parent):
        raise UsageError(f"fastinit generate: error: directory {parent} does not exist")
    if os.path.exists(output) and not args.force:
        raise UsageError(f"fastinit generate: error: {output} exists (use --force to "
                         f"overwrite)")
    return output, budget


def _generate_jobs(args, extra, output):
    """The jobs from ``--spec`` or from ``--init``/``--shape``; a seed drawn at random is
    printed when a random tensor uses it, so the run can be reproduced."""
    seed = args.seed
    drawn = seed is None
    if drawn:
        seed = secrets.randbits(64)
    if args.spec:
        jobs = _spec_jobs(args, extra, output, seed)
        drawn = drawn and any(j.seed == seed and takes(j.init, "seed") for j in jobs)
    else:
        jobs = [_single_job(args, extra, seed, output)]
        drawn = drawn and takes(jobs[0].init, "seed")
    if drawn:
        print(f"fastinit generate: seed {seed} (pass --seed {seed} to reproduce)",
              file=sys.stderr)
    return jobs


def _spec_jobs(args, extra, output, seed):
    """The jobs of ``--spec``, which takes no per-tensor options and writes one .safetensors."""
    if extra or args.init or args.shape is not None:
        raise UsageError("fastinit generate: error: --spec takes no --init, --shape or "
                         "--PARAM options (they go in the spec)")
    if not output.endswith(".safetensors"):
        raise UsageError("fastinit generate: error: a spec writes several tensors: -o must "
                         "end in .safetensors")
    return load_spec(args.spec, seed, args.dtype)


def _single_job(args, extra, seed, output):
    """The one job of ``--init``, ``--shape`` and the ``--PARAM`` options."""
    if output.endswith(".safetensors"):
        _check_tensor_name(f"fastinit generate: error: --name {args.name!r}", args.name)
    if not args.init:
        raise UsageError("fastinit generate: error: --init is required (or --spec)")
    if args.shape is None:
        raise UsageError("fastinit generate: error: --shape is required, such as "
                         "--shape 4096x4096")
    init = check_init(args.init)
    params = parse_params(init, extra)
    if not takes(init, "seed") and (args.seed is not None or args.stream != 0):
        raise UsageError(f"fastinit generate: error: {init} is not random: it takes no "
                         f"--seed or --stream")
    return Job(args.name, init, parse_shape(args.shape), args.dtype, seed, args.stream, params)


def _sweep_partials(output, quiet):
    """Remove the partial files next to ``output`` that a killed run left (their writer, named
    in the file name, is gone: see ``fastinit._io``), one line on stderr for each; one line
    (unless ``quiet``) for the partial files of an older fastinit, which record no writer and
    are left alone."""
    def shown(text):  # one line whatever the name holds (a newline is a legal file name)
        return text if text.isprintable() else repr(text)

    removed, unknown = _io.sweep_partials(os.path.dirname(os.path.abspath(output)))
    for path, pid, host in removed:
        print(f"fastinit generate: removed stale partial file {shown(path)} (its writer, pid "
              f"{pid} on host {shown(host)}, is gone)", file=sys.stderr)
    if unknown and not quiet:
        names = ", ".join(shown(os.path.basename(p)) for p in unknown[:3])
        more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
        print(f"fastinit generate: note: left {len(unknown)} partial "
              f"file{'s' * (len(unknown) != 1)} of an older fastinit in "
              f"{shown(os.path.dirname(unknown[0]))}, whose writer is not recorded: "
              f"{names}{more} (delete them once no fastinit is writing there)", file=sys.stderr)


def _write_output(output, jobs, budget, args):
    """Write the jobs to ``output`` atomically (a progress bar if asked); the seconds taken.
    The header is made before the file is created: a tensor it cannot hold is a usage error
    that leaves no file."""
    if output.endswith(".npy"):
        layout = _npy_layout(jobs)
    else:
        layout = _safetensors_layout(jobs)
    total = sum(j.nbytes for j in jobs)
    bar = _progress_bar(total, args.progress, os.path.basename(output))
    t0 = time.perf_counter()
    try:
        with _io.AtomicFile(output, overwrite=args.force) as f:
            _write_tensors(f.fd, jobs, layout, budget, bar)
            f.commit()
    finally:
        if bar is not None:
            bar.close()
    return time.perf_counter() - t0


def _print_summary(output, jobs, seconds):
    """One line on stderr: tensors, elements, bytes, time and rates."""
    total = sum(j.nbytes for j in jobs)
    elements = sum(math.prod(j.shape) for j in jobs)
    seconds = max(seconds, 1e-9)
    print(f"wrote {output}: {len(jobs)} tensor{'s' * (len(jobs) != 1)}, {elements:,} "
          f"elements, {_human_bytes(total)} in {seconds:.3f} s "
          f"({_human_bytes(total / seconds)}/s, {elements / seconds / 1e6:.1f} M elements/s)",
          file=sys.stderr)


def _npy_layout(jobs):
    """``(header, order, offsets)`` of the one job as a .npy file: NumPy's header, then the
    tensor."""
    if len(jobs) != 1:
        raise UsageError("fastinit generate: error: .npy holds one tensor")
    job = jobs[0]
    header = _io.npy_header(job.shape, job.dtype)
    return header, [job.name], {job.name: len(header)}


def _safetensors_layout(jobs):
    """``(header, order, offsets)`` of the jobs as a .safetensors file: the header with the
    recipes as metadata, then each tensor in the header's order."""
    import fastinit
    names = [j.name for j in jobs]
    for name in names:
        _check_tensor_name(f"fastinit generate: error: tensor {name!r}", name)
    seen = set()
    for name in names:
        if name in seen:
            raise UsageError(f"fastinit generate: error: tensor {name!r} is defined twice")
        seen.add(name)
    metadata = {"format": "pt", "fastinit": json.dumps(
        {"version": fastinit.__version__, "tensors": {j.name: j.recipe() for j in jobs}},
        separators=(",", ":"))}
    try:
        return _io.safetensors_layout({j.name: (j.shape, j.dtype) for j in jobs}, metadata)
    except ValueError as e:
        raise UsageError(f"fastinit generate: error: {e}") from None


def _write_tensors(fd, jobs, layout, budget, bar):
    """The header, then each tensor tile by tile at its offset."""
    header, order, offsets = layout
    _io._pwrite_all(fd, header, 0)
    by_name = {j.name: j for j in jobs}
    for name in order:
        job = by_name[name]
        _io.stream_tensor(fd, offsets[name], job.shape, job.dtype, job.fill, budget,
                          bar.update if bar else None)
        job.release()


# --- bench and info -----------------------------------------------------------------------

def cmd_bench(args, extra):
    from . import _bench
    sizes = [parse_shape(s) for s in args.size]
    for d in args.dtype:
        if d not in DTYPES:
            raise UsageError(f"fastinit bench: error: dtype must be one of {', '.join(DTYPES)}, "
                             f"got {d!r}")
    inits = args.init or list(_bench.CASES)
    for name in inits:
        if name not in _bench.CASES:
            raise UsageError(f"fastinit bench: error: unknown initializer {name!r} "
                             f"(one of: {', '.join(_bench.CASES)})")
    if args.repeat < 1:
        raise UsageError(f"fastinit bench: error: --repeat must be >= 1, got {args.repeat}")
    announce_compile()
    _bench.run(sizes, args.dtype, inits, args.repeat, torch=not args.no_torch)
    return 0


def announce_compile(file=None):
    """One line on stderr when the kernels are not compiled yet (a machine's first run): the
    first calls then take about a minute, which would otherwise pass in silence."""
    from .kernels import cache
    if not cache.compiled():
        where = ", ".join(cache.locations()) or "Numba's cache directory"
        print(f"fastinit: compiling the kernels for this machine (once, about a minute; "
              f"cached in {where})", file=sys.stderr if file is None else file, flush=True)


def cmd_hf_checkpoint(args, extra):
    from .transformers import _cli as hf_cli
    try:
        return hf_cli.run(args, _progress_bar)
    except hf_cli.BadInput as e:
        raise UsageError(f"fastinit hf-checkpoint: error: {e}") from None
    except ImportError as e:
        raise UsageError(f"fastinit hf-checkpoint: error: {e}") from None


def cmd_selftest(args, extra):
    from . import selftest
    try:
        return selftest.run(quick=args.quick, gpu=args.gpu, json_path=args.json)
    except selftest.BadUsage as e:
        raise UsageError(f"fastinit selftest: error: {e}") from None


def cmd_info(args, extra):
    from . import _info
    _info.report()
    return 0


# --- the parser ---------------------------------------------------------------------------

def build_parser():
    parser = _Parser(prog="fastinit", allow_abbrev=False,
                     description="Fast, reproducible neural-network weight initialization.")
    sub = parser.add_subparsers(dest="command",
                                metavar="{generate,bench,info,selftest,hf-checkpoint}",
                                parser_class=_Parser)
    sub.required = True

    g = sub.add_parser(
        "generate", allow_abbrev=False, help="write initialized tensors to .npy/.safetensors",
        description="Write fastinit.<init>(shape, ...) to a .npy or .safetensors file, tile by "
                    "tile in bounded memory, atomically. Initializer parameters are options: "
                    "--std 0.02, --mode fan_out, --a 2.2360679 ...",
        epilog="example: fastinit generate --init normal --std 0.02 --shape 32768x32768 "
               "--dtype bfloat16 --seed 0 -o w.safetensors")
    g.add_argument("--init", help="initializer name, such as normal, kaiming_uniform")
    g.add_argument("--shape", help="global shape, such as 32768x32768")
    g.add_argument("--dtype", default=None,
                   help="float32 (default), float64, float16, bfloat16 (random_bits: uint32)")
    g.add_argument("--seed", type=_seed_arg, default=None,
                   help="int in [0, 2**64); drawn at random and printed when omitted")
    g.add_argument("--stream", type=_seed_arg, default=0, help="stream in [0, 2**64) (default 0)")
    g.add_argument("-o", "--output", help="output file: .npy or .safetensors (required)")
    g.add_argument("--list", action="store_true",
                   help="list the initializers and their parameters, and exit")
    g.add_argument("--name", default="weight", help="tensor name in a .safetensors file")
    g.add_argument("--spec", help="JSON or TOML spec of several tensors (one .safetensors)")
    g.add_argument("--force", action="store_true", help="overwrite an existing output")
    g.add_argument("--tile-mib", type=float, default=DEFAULT_TILE_MIB,
                   help=f"size of the tile buffer in MiB (default {DEFAULT_TILE_MIB})")
    g.add_argument("--progress", action=argparse.BooleanOptionalAction,
                   default=sys.stderr.isatty(),
                   help="progress bar on stderr (tqdm; default: when stderr is a terminal)")
    g.add_argument("-q", "--quiet", action="store_true", help="no summary line")
    g.set_defaults(run=cmd_generate)

    b = sub.add_parser("bench", allow_abbrev=False,
                       help="fastinit vs NumPy (and torch) side by side",
                       description="Time each initializer in place into touched buffers, "
                                   "against NumPy's Generator and torch.nn.init (when "
                                   "installed), medians of repeats in one process.")
    b.add_argument("--size", nargs="+", default=["4096x4096"], help="shapes (default 4096x4096)")
    b.add_argument("--dtype", nargs="+", default=["float32"], help="dtypes (default float32)")
    b.add_argument("--init", nargs="+", help="initializers (default: all in the table)")
    b.add_argument("--repeat", type=int, default=5, help="timed repeats, median (default 5)")
    b.add_argument("--no-torch", action="store_true", help="leave torch out")
    b.set_defaults(run=cmd_bench)

    i = sub.add_parser("info", allow_abbrev=False,
                       help="versions, threading layer, threads, CUDA")
    i.set_defaults(run=cmd_info)

    t = sub.add_parser("selftest", allow_abbrev=False,
                       help="prove this installation right and fast (CPU; --gpu: and GPU)",
                       description="Check the kernels on this machine against the slow "
                                   "reference, the known values and the statistics, and "
                                   "measure their speed against peers: one line per check.")
    t.add_argument("--gpu", action="store_true",
                   help="also the GPU battery (exit code 2 when there is no CUDA device)")
    t.add_argument("--quick", action="store_true", help="smaller sizes, fewer dtypes")
    t.add_argument("--json", metavar="FILE", help="write a report of every check (atomically)")
    t.set_defaults(run=cmd_selftest)

    from .transformers import _cli as hf_cli  # imports neither torch nor transformers
    h = sub.add_parser("hf-checkpoint", allow_abbrev=False,
                       help="a transformers checkpoint directory, without building the model",
                       description="Write the directory save_pretrained writes for "
                                   "fastinit.transformers.from_config(CONFIG, seed=N, dtype=D), "
                                   "tensor group by group in bounded memory, atomically.")
    hf_cli.add_arguments(h, _seed_arg)
    h.set_defaults(run=cmd_hf_checkpoint)
    return parser


def _seed_arg(text):
    try:
        value = int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an int in [0, 2**64), got {text!r}") from None
    if not 0 <= value < 2**64:
        raise argparse.ArgumentTypeError(f"expected an int in [0, 2**64), got {text!r}")
    return value


def _raise_terminated(signum, frame):
    raise _Terminated(signum)


def main(argv=None):
    """Entry point of the ``fastinit`` console script; returns the exit code."""
    parser = build_parser()
    previous = {}
    for sig in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
        if sig is not None:
            previous[sig] = signal.signal(sig, _raise_terminated)
    try:
        args, extra = parser.parse_known_args(argv)
        if extra and args.command != "generate":
            raise UsageError(f"fastinit {args.command}: error: unrecognized arguments: "
                             f"{' '.join(extra)}")
        return args.run(args, extra)
    except UsageError as e:
        print(" ".join(str(e).split()), file=sys.stderr)
        return EXIT_USAGE
    except FileExistsError as e:
        print(f"fastinit: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:
        print(f"fastinit: error: {' '.join(str(e).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fastinit: interrupted (a partly written output is removed)", file=sys.stderr)
        return 128 + signal.SIGINT
    except _Terminated as e:
        print(f"fastinit: terminated by signal {e.signum} (a partly written output is removed)",
              file=sys.stderr)
        return 128 + e.signum
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    sys.exit(main())
