"""``fastinit selftest``: the quick battery passes on this machine, its report is complete, a
failing check exits 1, ``--gpu`` without a device exits 2 saying what was looked for, usage
errors exit 2; the batteries' plans cover every initializer and dtype; the GPU battery's
tolerance rules; ``tests/gpu`` is collected only when asked for.

The quick battery runs once, in a subprocess (a fresh process: compile or cache load
included), shared by the tests through a module-scoped fixture. The GPU battery itself runs
under the simulator in ``tests/cuda/simulator/test_sim_selftest.py``.
"""
import json
import math
import os
import pathlib
import re
import subprocess
import sys
import time

import numpy as np
import pytest

import fastinit as fi
from fastinit import cli
from fastinit.selftest import cpu, device, gpu, known, laws, stats
from fastinit.selftest import reference as R
from fastinit.selftest.report import Failed, NotRun, Outcome

ROOT = pathlib.Path(__file__).resolve().parents[2]
LINE = re.compile(r"^(\S+) +(passed|FAILED|not run)  (.+)$")


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """``fastinit selftest --quick --json FILE`` run once: (process, report, seconds)."""
    path = tmp_path_factory.mktemp("selftest") / "report.json"
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "fastinit", "selftest", "--quick", "--json",
                        str(path)], capture_output=True, text=True, timeout=900, env=_env())
    seconds = time.perf_counter() - t0
    print(r.stdout[-3000:], r.stderr[-2000:], f"{seconds:.1f} s", sep="\n")
    return r, (json.loads(path.read_text()) if path.exists() else None), seconds


@pytest.mark.slow
def test_quick_battery_passes(quick):
    r, _, seconds = quick
    lines = r.stdout.strip().splitlines()
    assert r.returncode == 0, "\n".join(ln for ln in lines if " FAILED " in ln) or r.stderr
    assert re.fullmatch(r"selftest: \d+ passed, 0 failed", lines[-1]), lines[-1]
    checks = [LINE.match(ln) for ln in lines[1:-2]]
    assert all(checks), [ln for ln, m in zip(lines[1:-2], checks) if not m][:3]
    assert {m.group(2) for m in checks} == {"passed"}
    assert int(lines[-1].split()[1]) == len(checks) >= 150
    assert lines[0].startswith(f"fastinit {fi.__version__} selftest (quick)")
    assert "threading layer" in lines[-2]
    print(f"quick battery: {len(checks)} checks in {seconds:.1f} s")


@pytest.mark.slow
def test_quick_report_is_complete(quick):
    r, report, _ = quick
    assert report is not None, r.stderr
    machine = report["machine"]
    assert machine["cpu"] and machine["cores"] >= 1 and machine["memory_bytes"] > 0
    assert machine["gpu"] is None
    versions = report["versions"]
    assert versions["fastinit"] == fi.__version__
    for name in ("numba", "numpy", "cupy", "torch", "llvmlite", "ml_dtypes"):
        assert name in versions
    import numba
    assert versions["numba"] == numba.__version__ and versions["numpy"] == np.__version__
    assert report["threading"]["layer"] in ("tbb", "omp", "workqueue")
    assert report["threading"]["threads"] >= 1
    printed = [LINE.match(ln).group(1) for ln in r.stdout.strip().splitlines()[1:-2]]
    names = [c["name"] for c in report["checks"]]
    assert names == printed and len(set(names)) == len(names)
    assert report["summary"] == {"passed": len(names), "failed": 0, "not_run": 0}
    for c in report["checks"]:
        assert c["status"] == "passed" and c["figure"] and c["seconds"] >= 0, c
    by_name = {c["name"]: c for c in report["checks"]}
    assert by_name["cpu.known.values"]["figures"]["digests"] == known.TABLE
    for name in ("cpu.speed.normal.float32", "cpu.speed.uniform.float32"):
        assert by_name[name]["figures"]["ratio_to_floor"] > 0
    assert by_name["cpu.speed.orthogonal.float32"]["figures"]["speedup"] > 0
    groups = {n.split(".")[1] for n in names}
    assert groups == {"kernels", "philox", "bits", "layouts", "threads", "stats",
                      "orthogonal", "known", "speed"}


def test_gpu_without_a_device_exits_2_naming_what_was_looked_for(tmp_path):
    """The real search (numba-cuda, the driver, the device count), before any check runs;
    ``CUDA_VISIBLE_DEVICES`` hides any device this machine may have."""
    path = tmp_path / "r.json"
    r = subprocess.run([sys.executable, "-m", "fastinit", "selftest", "--gpu", "--json",
                        str(path)], capture_output=True, text=True, timeout=300,
                       env=_env(CUDA_VISIBLE_DEVICES=""))
    assert r.returncode == 2, r.stdout[-2000:] + r.stderr
    assert r.stdout == "" and not path.exists()
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("fastinit selftest: error: --gpu: no CUDA device")
    for what in ("numba-cuda", "driver", "device count"):
        assert what in err, err


def test_no_device_messages(monkeypatch):
    """Without numba-cuda the message says so and what was not checked."""
    import numba
    monkeypatch.setitem(sys.modules, "numba.cuda", None)
    monkeypatch.delattr(numba, "cuda", raising=False)
    with pytest.raises(device.NoDevice, match=r"no CUDA device: numba-cuda is not installed"
                                              r".*driver \(not checked\).*device count"):
        device.find_device()


def _fake_plan(*entries):
    return lambda quick: list(entries)


def _ok():
    return Outcome("fine", value=1.5)


def _bad():
    raise Failed("3 of 9 elements differ", differing=3)


def _bug():
    raise ZeroDivisionError("a bug in a kernel")


def _absent():
    raise NotRun("CuPy is not installed")


def test_a_failing_check_exits_1(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(cpu, "plan", _fake_plan(("a.ok", _ok, ()), ("a.bad", _bad, ()),
                                                ("a.bug", _bug, ()), ("a.absent", _absent, ())))
    path = tmp_path / "report.json"
    assert cli.main(["selftest", "--quick", "--json", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert [LINE.match(ln).group(1, 2) for ln in out[1:5]] == [
        ("cpu.a.ok", "passed"), ("cpu.a.bad", "FAILED"), ("cpu.a.bug", "FAILED"),
        ("cpu.a.absent", "not run")]
    assert "ZeroDivisionError: a bug in a kernel" in out[3]
    assert out[-1] == "selftest: 1 passed, 2 failed (1 not run: see the lines marked 'not run')"
    report = json.loads(path.read_text())
    statuses = [(c["name"], c["status"]) for c in report["checks"]]
    assert statuses == [("cpu.a.ok", "passed"), ("cpu.a.bad", "failed"),
                        ("cpu.a.bug", "failed"), ("cpu.a.absent", "not run")]
    assert report["checks"][0]["figures"] == {"value": 1.5}
    assert report["checks"][1]["figures"] == {"differing": 3}
    assert "ZeroDivisionError" in report["checks"][2]["error"]  # the traceback
    assert report["summary"] == {"passed": 1, "failed": 2, "not_run": 1}


def test_all_passed_exits_0_and_the_report_replaces_a_file_atomically(monkeypatch, capsys,
                                                                      tmp_path):
    monkeypatch.setattr(cpu, "plan", _fake_plan(("a.ok", _ok, ())))
    path = tmp_path / "report.json"
    path.write_text("an older report")
    assert cli.main(["selftest", "--json", str(path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "selftest: 1 passed, 0 failed"
    assert json.loads(path.read_text())["options"] == {"quick": False, "gpu": False}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]  # no partial file


@pytest.mark.parametrize("argv, message", [
    (["selftest", "--bogus"], "unrecognized arguments: --bogus"),
    (["selftest", "extra"], "unrecognized arguments: extra"),
    (["selftest", "--json"], "expected one argument"),
    (["selftest", "--json", "/nonexistent-dir/r.json"], "does not exist"),
    (["selftest", "--json", "."], "is a directory"),
    (["selftest", "--quick=yes"], "ignored explicit argument"),
])
def test_usage_errors_exit_2(argv, message, capsys, monkeypatch):
    monkeypatch.setattr(cpu, "plan", _fake_plan())  # nothing may run: fail if it did
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and message in err and err.startswith("fastinit")


def test_the_batteries_import_no_gpu_or_framework_module():
    """numba.cuda, CuPy and torch are imported by the GPU checks that run, never before."""
    code = ("import sys, json; import fastinit.selftest, fastinit.selftest.gpu, "
            "fastinit.selftest.cpu, fastinit.selftest.device; "
            "print(json.dumps(sorted(sys.modules)))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300, env=_env())
    mods = json.loads(r.stdout.strip().splitlines()[-1])
    for name in ("numba.cuda", "cupy", "torch", "jax"):
        assert not [m for m in mods if m == name or m.startswith(name + ".")], name


# --- the plans cover every initializer and dtype ------------------------------------------------

def test_cpu_plan_covers_every_initializer_in_every_dtype():
    full = [name for name, _, _ in cpu.plan(quick=False)]
    quick = [name for name, _, _ in cpu.plan(quick=True)]
    assert len(set(full)) == len(full) and len(set(quick)) == len(quick)
    assert set(quick) < set(full)
    for case in laws.cases():
        for dtype in case.dtypes:
            assert f"bits.{case.name}.{dtype or 'uint32'}" in full
    for dtype in laws.INEXACT:
        assert f"orthogonal.{dtype}" in full
    # every public initializer is a case (aliases share one implementation), or orthogonal
    covered = {c.init for c in laws.cases()} | {"orthogonal", "delta_orthogonal"}
    aliases = {"glorot_uniform": "xavier_uniform", "glorot_normal": "xavier_normal",
               "he_uniform": "kaiming_uniform", "he_normal": "kaiming_normal"}
    for name in cli.initializers():
        assert aliases.get(name, name) in covered | set(aliases), name


def test_gpu_plan_covers_every_initializer_in_every_dtype():
    names = [name for name, _, _ in gpu.plan(quick=False)]
    assert len(set(names)) == len(names)
    for case in laws.cases():
        for dtype in case.dtypes:
            assert f"gpu.bits.{case.name}.{dtype or 'uint32'}" in names
    for name in ("gpu.targets.cupy", "gpu.targets.torch", "gpu.stream.cupy",
                 "gpu.stream.torch", "gpu.speed.normal.bfloat16",
                 "gpu.speed.orthogonal.8192", "gpu.speed.materialize"):
        assert name in names


def test_known_table_is_this_versions():
    assert known.compute() == known.TABLE
    assert len(known.TABLE) == len(known.CALLS)


def test_package_reference_is_the_contract():
    """The package's reference: the KAT vectors shipped as package data, and the complex
    sparse mask words (two per complex64 value, four per complex128)."""
    rows = cpu.kat_rows()
    assert len(rows) == 6 and sorted({r[0] for r in rows}) == [7, 10]
    for dtype in ("complex64", "complex128"):
        got = fi.sparse((30, 8), 0.5, 0.1, dtype=dtype, seed=4, stream=1)
        np.testing.assert_array_equal(got == 0, R.sparse_zeros_ref((30, 8), 0.5, dtype, 4, 1))


# --- the GPU battery's comparison rules ----------------------------------------------------------

def test_bits_where_bits_are_promised():
    x = fi.uniform((50, 40), seed=1)
    assert gpu.compare(x.copy(), x, False, "u") == ("bit-identical", 0)
    y = x.copy()
    y.view(np.uint32)[3, 4] ^= 1
    with pytest.raises(Failed, match="1 of 2000 elements differ"):
        gpu.compare(y, x, False, "u")


@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16", "complex64"])
def test_normal_family_within_the_readme_tolerance(dtype):
    x = fi.normal((50, 40), 0.5, 2.0, dtype=dtype, seed=1)
    part = {"complex64": np.float32, "bfloat16": np.uint16}.get(dtype, x.dtype)
    bits = np.dtype(f"u{np.dtype(part).itemsize}")
    y = x.copy()
    y.reshape(-1).view(bits)[:7] += 1  # one unit in the last place (of a part)
    elements = 4 if dtype == "complex64" else 7
    text, differ = gpu.compare(y, x, True, "n")
    assert differ == elements and f"within the tolerance ({elements} of 2000" in text
    z = x.copy()
    z.reshape(-1)[5] *= 1.05  # far beyond 2**-20 relative, and beyond one bfloat16 unit
    with pytest.raises(Failed, match="beyond the README's tolerance"):
        gpu.compare(z, x, True, "n")


def test_materialize_check_reads_the_first_weight():
    """The check the GPU's materialize run makes, on a small model on the CPU."""
    import torch

    from fastinit.torch import materialize
    with torch.device("meta"):
        model = torch.nn.Sequential(torch.nn.Linear(64, 48), torch.nn.Linear(48, 64))
    materialize(model, seed=0, device="cpu")
    gpu.check_first_weight(model)
    with torch.no_grad():
        model[0].weight[1, 2] += 1
    with pytest.raises(Failed, match="0.weight against fastinit on the CPU: 1 of"):
        gpu.check_first_weight(model)


def test_the_device_owner_check_runs_last():
    """A launch on the wrong device can leave the CUDA context unusable for what follows."""
    assert gpu.plan(quick=False)[-1][0] == gpu.plan(quick=True)[-1][0] == "gpu.device_owner"


# --- the statistics ------------------------------------------------------------------------------

def test_ks_and_sign_tests_against_scipy():
    from scipy import stats as sp
    x = np.random.default_rng(3).standard_normal(5000) * 2 + 1
    d, p = stats.ks_pvalue(x, stats.normal_cdf(1.0, 2.0))
    ref = sp.kstest(x, "norm", args=(1.0, 2.0))
    assert d == pytest.approx(ref.statistic, rel=1e-9) and p == pytest.approx(ref.pvalue,
                                                                              abs=0.02)
    d, p = stats.ks_pvalue(x, stats.normal_cdf(1.2, 2.0))
    assert p < 1e-3
    assert stats.sign_pvalue(500, 1000) == pytest.approx(1.0, abs=0.03)
    assert stats.sign_pvalue(580, 1000) < 1e-3
    assert stats.sign_pvalue(560, 1000) == pytest.approx(sp.binomtest(560, 1000).pvalue,
                                                         rel=0.1)
    t = np.linspace(-1, 1, 11)
    beta = sp.beta.cdf(t ** 2, 0.5, 1.5)
    np.testing.assert_allclose(stats.sphere3_coordinate_cdf(t),
                               np.where(t < 0, (1 - beta) / 2, (1 + beta) / 2), atol=1e-12)
    c = stats.trunc_normal_cdf(0.5, 2.0, -1.0, 3.0)(np.array([-1.0, 0.0, 3.0]))
    np.testing.assert_allclose(c, sp.truncnorm.cdf([-1.0, 0.0, 3.0], -0.75, 1.25, 0.5, 2.0),
                               atol=1e-12)
    assert math.isclose(stats.truncated_exponential_cdf(2.0)(np.array([4.0]))[0], 1.0)


# --- tests/gpu: collected only when asked for ---------------------------------------------------

def _collect(*args, **env):
    return subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env=_env(**env))


def test_gpu_tests_are_not_collected_by_the_cpu_run():
    """The default run's arguments (``tests``), with every other folder left out: nothing
    of ``tests/gpu`` is collected, so nothing can show up as a skip."""
    others = [f"--ignore={p.relative_to(ROOT)}" for p in (ROOT / "tests").iterdir()
              if p.name != "gpu" and (p.is_dir() or p.suffix == ".py")]
    r = _collect("tests", *others)
    assert "tests/gpu" not in r.stdout and "skipped" not in r.stdout, r.stdout
    assert "no tests collected" in r.stdout, r.stdout + r.stderr


def test_gpu_tests_are_collected_when_asked_for():
    count = len(gpu.plan(quick=False))
    for args, env in ((("tests/gpu",), {}), (("tests",), {"FASTINIT_GPU_TESTS": "1"})):
        if args == ("tests",):
            args = args + tuple(f"--ignore={p.relative_to(ROOT)}"
                                for p in (ROOT / "tests").iterdir()
                                if p.name != "gpu" and (p.is_dir() or p.suffix == ".py"))
        r = _collect(*args, **env)
        assert f"{count} tests collected" in r.stdout, r.stdout[-2000:] + r.stderr


def test_gpu_tests_fail_without_a_device():
    test = "tests/gpu/test_gpu_battery.py::test_gpu_check"
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        f"{test}[gpu.device]", f"{test}[gpu.bits.uniform.float32]"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env=_env(CUDA_VISIBLE_DEVICES=""))
    assert r.returncode == 1, r.stdout[-2000:]
    assert "no CUDA device" in r.stdout and "skipped" not in r.stdout.splitlines()[-1]
    assert "2 errors" in r.stdout.splitlines()[-1], r.stdout[-2000:]
