"""The GPU battery of ``fastinit selftest --gpu`` under the CUDA simulator, without CuPy.

The battery must work on Numba device arrays when CuPy is missing and use CuPy and torch's
CUDA only where present: here every check runs on simulator device arrays, the checks that
need CuPy or torch with CUDA report "not run" with the reason, and ``fastinit selftest --gpu``
exits 0 with a report that names the simulator. Launches are patched small (as in the other
simulator tests) so the battery's small shapes cover many blocks and stay fast.
"""
import json

import pytest
from numba import config

from fastinit import cli, linalg
from fastinit._backend import cuda as cuda_backend, cuda_steps
from fastinit.selftest import cpu, device, gpu
from fastinit.selftest.report import NotRun, Outcome

PLAN = {name: (check, args) for name, check, args in gpu.plan(quick=True)}
# every kind of check, every dtype family once; the whole plan's bits checks are the other
# simulator tests' ground (every initializer x dtype x layout)
RUN = [n for n in PLAN if n.startswith("gpu.bits.") and n.endswith((".float32", ".uint32"))]
# (sparse, slow here: a thread per column, has one bits check; complex sparse is in
# test_sim_complex)
RUN += ["gpu.device", "gpu.bits.normal.bfloat16", "gpu.bits.normal.complex64",
        "gpu.bits.he_uniform_jax.complex64", "gpu.bits.trunc_normal.float64",
        "gpu.layouts.kaiming_uniform.float32", "gpu.layouts.normal.bfloat16",
        "gpu.layouts.normal.complex64", "gpu.targets.numba", "gpu.orthogonal.float32",
        "gpu.orthogonal.float64", "gpu.orthogonal.complex64", "gpu.orthogonal.bfloat16",
        "gpu.speed.normal.float32", "gpu.speed.uniform.bfloat16"]
NOT_RUN = {"gpu.targets.cupy": "CuPy", "gpu.targets.torch": "torch has no CUDA",
           "gpu.stream.cupy": "simulator", "gpu.stream.torch": "simulator",
           "gpu.device_owner": "one device", "gpu.speed.orthogonal.4096": "CuPy",
           "gpu.speed.materialize": "torch has no CUDA"}


@pytest.fixture(autouse=True)
def small_launches(monkeypatch):
    assert config.ENABLE_CUDASIM, "these tests must run with NUMBA_ENABLE_CUDASIM=1"
    monkeypatch.setattr(cuda_backend, "THREADS_PER_BLOCK", 8)
    monkeypatch.setattr(cuda_backend, "MAX_BLOCKS", 3)
    monkeypatch.setattr(cuda_steps, "PANEL_THREADS", 8)
    monkeypatch.setattr(cuda_steps, "MAX_BLOCKS", 2)
    monkeypatch.setattr(linalg, "PANEL_WIDTH", 5)


@pytest.fixture(scope="module")
def sim():
    found = device.find_device()
    assert found.simulating and found.cupy is None and found.torch is None
    assert found.kinds() == ["numba"]
    found.quick = True
    return found


def test_the_lists_name_real_checks():
    assert set(RUN) <= set(PLAN) and set(NOT_RUN) <= set(PLAN)
    assert len(RUN) == len(set(RUN)) >= 35


@pytest.mark.parametrize("name", RUN)
def test_check_passes_on_numba_device_arrays(name, sim):
    check, args = PLAN[name]
    if name == "gpu.targets.numba":  # every layout of two initializers is enough here
        args = (args[0], args[1][:2])
    out = check(sim, *args)
    assert isinstance(out, Outcome) and out.text
    if name.startswith(("gpu.bits.", "gpu.layouts.", "gpu.targets.")):
        assert "bit-identical" in out.text  # under the simulator, bits everywhere
        assert out.figures["not_bit_identical"] == 0
    if name.startswith("gpu.speed."):
        assert out.figures["ns_per_element"]["fastinit"] > 0 and "copy" in out.figures[
            "ns_per_element"]


@pytest.mark.parametrize("name", sorted(NOT_RUN))
def test_checks_without_their_library_say_why(name, sim):
    check, args = PLAN[name]
    with pytest.raises(NotRun, match=NOT_RUN[name]):
        check(sim, *args)


def test_a_kernel_that_writes_wrong_bits_fails(sim, monkeypatch):
    """A device fill that differs from the CPU by one bit is a failure with its figures."""
    check, args = PLAN["gpu.bits.uniform.float32"]
    real = args[0].fill

    def off_by_one(out, **kw):
        result = real(out, **kw)
        host = out.copy_to_host()
        host.view("u4")[0, 0] ^= 1
        out.copy_to_device(host)
        return result
    monkeypatch.setattr(args[0], "fill", off_by_one)
    with pytest.raises(Exception, match="1 of .* elements differ"):
        check(sim, *args)


def test_selftest_gpu_command_under_the_simulator(tmp_path, monkeypatch, capsys):
    """``fastinit selftest --gpu --json``: exit 0, one line per check, a report naming the
    simulator (the CPU battery cut to one check: it has its own tests)."""
    monkeypatch.setattr(cpu, "plan", lambda quick: [("philox.known_answers",
                                                     cpu.check_known_answers, ())])
    subset = [p for p in gpu.plan(quick=True) if p[0] in ("gpu.device",
              "gpu.bits.normal.float32", "gpu.layouts.eye.float32", "gpu.targets.cupy",
              "gpu.speed.uniform.float32")]
    monkeypatch.setattr(gpu, "plan", lambda quick: subset)
    path = tmp_path / "report.json"
    assert cli.main(["selftest", "--gpu", "--quick", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "selftest: 5 passed, 0 failed (1 not run" in out
    report = json.loads(path.read_text())
    assert report["machine"]["gpu"]["name"].startswith("CUDA simulator")
    assert [c["name"] for c in report["checks"]] == [
        "cpu.philox.known_answers", "gpu.device", "gpu.bits.normal.float32",
        "gpu.layouts.eye.float32", "gpu.targets.cupy", "gpu.speed.uniform.float32"]
    assert report["checks"][4]["status"] == "not run"
