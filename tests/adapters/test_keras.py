"""fastinit.keras against keras.initializers, on the jax and the torch backend.

Keras picks its backend once, when it is imported, and this suite imports jax and torch in
its own process: so each backend runs ``keras_checks.py`` in a subprocess of its own (one per
backend for the whole module), which runs every check and reports JSON. Here each check is
one test, and the values of an int seed are compared across the backends and with fastinit's
core, by the formulas written out.
"""
import importlib.util
import json
import math
import os
import pathlib
import subprocess
import sys

import ml_dtypes
import numpy as np
import pytest

import fastinit as fi

# find_spec, not importorskip: importing keras here would pick a backend for this process
if importlib.util.find_spec("keras") is None:
    pytest.skip("keras is not installed", allow_module_level=True)

SCRIPT = pathlib.Path(__file__).with_name("keras_checks.py")
_spec = importlib.util.spec_from_file_location("keras_checks", SCRIPT)
checks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(checks)

BACKENDS = [b for b in ("jax", "torch") if importlib.util.find_spec(b) is not None]


def _start(backend, tmp):
    env = dict(os.environ, KERAS_BACKEND=backend)
    return subprocess.Popen([sys.executable, str(SCRIPT), str(tmp)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=tmp)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """``report(backend)``: the JSON of that backend's process; the processes run at once
    (most of their time is Keras's JAX compiles and imports, one core each)."""
    procs = {b: _start(b, tmp_path_factory.mktemp(f"keras_{b}")) for b in BACKENDS}
    results = {}
    for backend, proc in procs.items():
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-4000:]
        results[backend] = json.loads(out.strip().splitlines()[-1])
    return results.__getitem__


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("check", sorted(checks.CHECKS))
def test_side_by_side_with_keras(report, backend, check):
    error = report(backend)["checks"][check]
    assert error is None, error


def _core(name, kwargs, shape, dtype):
    """The values of ``fastinit.keras.<name>(**kwargs)(shape, dtype)``: Keras's formula
    through fastinit's core (an int seed ``s`` is the Philox key ``(s, 0)``, fastinit's seed
    ``s``)."""
    seed, stream = kwargs.get("seed"), kwargs.get("stream", 0)
    rng = {"dtype": dtype, "seed": seed, "stream": stream}
    if name == "RandomNormal":
        return fi.normal(shape, kwargs["mean"], kwargs["stddev"], **rng)
    if name == "RandomUniform":
        return fi.uniform(shape, kwargs["minval"], kwargs["maxval"], **rng)
    if name == "TruncatedNormal":
        m, s = kwargs["mean"], kwargs["stddev"]
        return fi.trunc_normal(shape, m, s, m - 2 * s, m + 2 * s, **rng)
    if name == "Orthogonal":
        return fi.orthogonal(shape, kwargs["gain"], convention="jax", **rng)
    if name == "Identity":
        return (kwargs["gain"] * np.eye(*shape)).astype(fi._checks.check_dtype(dtype))
    if name == "Constant":
        return np.full(shape, kwargs["value"], fi._checks.check_dtype(dtype))
    scale, mode, dist = checks.SCALED.get(name) or (kwargs["scale"], kwargs["mode"],
                                                    kwargs["distribution"])
    fan_in, fan_out = _keras_fans(shape, kwargs.get("input_axes"), kwargs.get("output_axes"))
    n = max(1.0, {"fan_in": fan_in, "fan_out": fan_out}.get(mode, (fan_in + fan_out) / 2))
    if dist == "truncated_normal":
        return fi.truncated_normal(shape, math.sqrt(scale / n) / checks.TRUNC, -2.0, 2.0, **rng)
    if dist == "untruncated_normal":
        return fi.normal(shape, 0.0, math.sqrt(scale / n), **rng)
    limit = math.sqrt(3.0 * scale / n)
    return fi.uniform(shape, -limit, limit, **rng)


def _keras_fans(shape, input_axes, output_axes):
    if input_axes is not None and output_axes is not None:
        return (math.prod(shape[a] for a in input_axes),
                math.prod(shape[a] for a in output_axes))
    rf = math.prod(shape[:-2])
    return shape[-2] * rf, shape[-1] * rf


@pytest.mark.parametrize("i", range(len(checks.VALUES)),
                         ids=[v[0] for v in checks.VALUES])
def test_int_seed_gives_the_core_values_on_every_backend(report, i):
    want = _core(*checks.VALUES[i]).astype(np.float32).tobytes().hex()
    for backend in BACKENDS:
        got = report(backend)["values"][str(i)]
        assert got == want, (backend, checks.VALUES[i])


def test_core_reference_is_not_trivial():
    # the written-out formulas above give distinct, non-constant tensors (a guard on the guard)
    seen = set()
    for v in checks.VALUES:
        a = _core(*v)
        assert a.shape == v[2] and np.all(np.isfinite(a.astype(np.float64)))
        seen.add(a.astype(np.float32).tobytes())
    assert len(seen) == len(checks.VALUES)
    assert _core(*checks.VALUES[4]).dtype == np.dtype(ml_dtypes.bfloat16)


def test_import_fastinit_never_imports_keras():
    code = "import sys, fastinit; print('keras' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[-1] == "False"
