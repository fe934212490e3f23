"""The selftest's checks as they run: one line each, the summary, and the ``--json`` report.

A check is a function that returns its figure (an :class:`Outcome`), raises :class:`Failed`
(or any exception: a bug found is a failure, with its message), or raises :class:`NotRun`
when this machine lacks what it needs (an optional peer such as CuPy or torch with CUDA).
"""
import datetime
import importlib.metadata
import json
import os
import platform
import sys
import time
import traceback

PASSED, FAILED, NOT_RUN = "passed", "FAILED", "not run"
# distributions whose versions the report records (CuPy under any of its wheel names)
DISTRIBUTIONS = ("fastinit-kernels", "numba", "llvmlite", "numpy", "ml_dtypes", "scipy",
                 "numba-cuda", "cupy", "cupy-cuda12x", "cupy-cuda13x", "torch")


class Outcome:
    """A passed check's figure: one short text for the line, numbers for the report."""

    def __init__(self, text, **figures):
        self.text, self.figures = text, figures


class Failed(Exception):
    """A check that ran and found the installation wrong."""

    def __init__(self, text, **figures):
        super().__init__(text)
        self.text, self.figures = text, figures


class NotRun(Exception):
    """A check this machine cannot run (the reason says what is missing)."""


class Result:
    """One check as it ran."""

    def __init__(self, name, status, text, figures, seconds, error=None):
        self.name, self.status, self.text = name, status, text
        self.figures, self.seconds, self.error = figures, seconds, error

    def as_dict(self):
        d = {"name": self.name, "status": self.status.lower(), "figure": self.text,
             "figures": self.figures, "seconds": round(self.seconds, 4)}
        if self.error:
            d["error"] = self.error
        return d


class Runner:
    """Runs checks, prints a line for each as it finishes, keeps the results."""

    def __init__(self, file=None, width=46):
        self.file = sys.stdout if file is None else file
        self.width = width
        self.results = []
        self.started = time.perf_counter()

    def run(self, name, check, *args, **kwargs):
        t0 = time.perf_counter()
        error = None
        try:
            out = check(*args, **kwargs)
            if not isinstance(out, Outcome):
                out = Outcome("ran" if out is None else str(out))
            status, text, figures = PASSED, out.text, out.figures
        except Failed as e:
            status, text, figures = FAILED, e.text, e.figures
        except NotRun as e:
            status, text, figures = NOT_RUN, str(e), {}
        except Exception as e:  # a bug found: reported as a failure with its message
            status, text, figures = FAILED, f"{type(e).__name__}: {_one_line(e)}", {}
            error = traceback.format_exc(limit=6)
        text = " ".join(str(text).split())  # one line per check, whatever a message holds
        result = Result(name, status, text, _plain(figures), time.perf_counter() - t0, error)
        self.results.append(result)
        print(f"{name:<{self.width}} {status:<7}  {text}", file=self.file, flush=True)
        return result

    def counts(self):
        n = {PASSED: 0, FAILED: 0, NOT_RUN: 0}
        for r in self.results:
            n[r.status] += 1
        return n

    def summary(self):
        n = self.counts()
        line = f"selftest: {n[PASSED]} passed, {n[FAILED]} failed"
        if n[NOT_RUN]:
            line += f" ({n[NOT_RUN]} not run: see the lines marked 'not run')"
        return line

    @property
    def failed(self):
        return self.counts()[FAILED] > 0

    @property
    def seconds(self):
        return time.perf_counter() - self.started


def _one_line(e):
    return " ".join(str(e).split())[:300]


def _plain(value):
    """``value`` with NumPy scalars and tuples made JSON's own types."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()
    return value


# --- the machine ------------------------------------------------------------------------------

def cpu_model():
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else what ``platform`` knows)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_bytes():
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def machine():
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "usable_cores": usable,
            "memory_bytes": memory_bytes(), "platform": platform.platform(),
            "python": platform.python_version(), "gpu": None,
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None}


def versions():
    """Installed versions by distribution metadata (nothing is imported for it)."""
    out = {}
    for dist in DISTRIBUTIONS:
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[dist] = None
    import fastinit
    out["fastinit"] = fastinit.__version__
    cupy = [out.pop(d) for d in ("cupy", "cupy-cuda12x", "cupy-cuda13x")]
    out["cupy"] = next((v for v in cupy if v), None)
    return out


def threading():
    """Numba's threading layer (chosen at the first parallel launch) and its threads."""
    import numba
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel launch yet
        layer = None
    return {"layer": layer, "threads": numba.get_num_threads(),
            "NUMBA_NUM_THREADS": numba.config.NUMBA_NUM_THREADS}


def report(runner, options, gpu=None):
    """The ``--json`` report as a dict."""
    info = machine()
    info["gpu"] = gpu
    n = runner.counts()
    return {
        "fastinit_selftest": 1,  # the report's format
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "options": options, "seconds": round(runner.seconds, 2),
        "machine": info, "versions": versions(), "threading": threading(),
        "summary": {"passed": n[PASSED], "failed": n[FAILED], "not_run": n[NOT_RUN]},
        "checks": [r.as_dict() for r in runner.results],
    }


def write_json(path, data):
    """Write ``data`` to ``path`` atomically: a temporary file next to it, then a rename."""
    from .. import _io
    text = json.dumps(data, indent=1, sort_keys=False, allow_nan=True).encode() + b"\n"
    with _io.AtomicFile(path, overwrite=True) as f:
        _io._pwrite_all(f.fd, text, 0)
        f.commit()
