"""``fastinit selftest``: one command that proves an installation right and fast.

The CPU battery (:mod:`fastinit.selftest.cpu`) always runs: the Philox known-answer vectors,
every initializer in every dtype it takes against the slow reference of
:mod:`fastinit.selftest.reference` (bits where the contract promises bits, KS and moments at
fixed seeds for the laws), regions, thread counts, memory layouts, orthogonal matrices, a table
of known values shipped with the package, and speed as ratios to peers measured in the same
run. ``--gpu`` adds the GPU battery (:mod:`fastinit.selftest.gpu`): every CUDA kernel against
the CPU, on every kind of GPU array present, and GPU speed against copies, CuPy and torch.

One line per check (name, passed/FAILED/not run, figure), then ``selftest: N passed, M
failed``. Exit code 0 when every check passed, 1 when one failed; the command turns
:class:`BadUsage` (``--gpu`` without a device included) into exit code 2. The ``--json``
report holds the machine, the versions, the threading layer and every check's figures.
Nothing here is imported by ``import fastinit``.
"""
import os
import sys

from .device import NoDevice
from .report import Runner

__all__ = ["BadUsage", "NoDevice", "run"]


class BadUsage(Exception):
    """An argument the selftest cannot run with (exit code 2)."""


def check_json_path(path):
    """``path`` for the report, or :class:`BadUsage` before anything runs."""
    if path is None:
        return None
    parent = os.path.dirname(os.path.abspath(path)) or "."
    if os.path.isdir(path):
        raise BadUsage(f"--json {path}: is a directory")
    if not os.path.isdir(parent):
        raise BadUsage(f"--json {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise BadUsage(f"--json {path}: directory {parent} is not writable")
    return path


def run(quick=False, gpu=False, json_path=None, file=None):
    """Run the batteries; print one line per check and the summary; return the exit code
    (0: all passed, 1: a check failed).

    Parameters
    ----------
    quick : bool
        Smaller sizes and fewer dtypes (the CPU battery in under 150 s on two cores).
    gpu : bool
        Also the GPU battery; :class:`NoDevice` (a :class:`BadUsage`) when there is no CUDA
        device, raised before any check runs.
    json_path : str, optional
        Where to write the report, atomically.
    file : file, optional
        Where the lines go (stdout).
    """
    from . import cpu, report
    file = sys.stdout if file is None else file
    json_path = check_json_path(json_path)
    device = None
    if gpu:
        from . import device as device_mod
        try:
            device = device_mod.find_device()
        except NoDevice as e:
            raise BadUsage(f"--gpu: {e}") from None
        device.quick = quick
    import fastinit
    print(f"fastinit {fastinit.__version__} selftest ({'quick' if quick else 'full'}"
          f"{', GPU' if gpu else ''}) on {report.cpu_model()}, {os.cpu_count()} cores",
          file=file, flush=True)
    runner = Runner(file)
    for name, check, args in cpu.plan(quick):
        runner.run(f"cpu.{name}", check, *args)
    gpu_info = None
    if device is not None:
        from . import gpu as gpu_battery
        for name, check, args in gpu_battery.plan(quick):
            result = runner.run(name, check, device, *args)
            if check is gpu_battery.check_device and result.status == report.PASSED:
                gpu_info = result.figures
        gpu_info = gpu_info or device.describe()
    threads = report.threading()
    print(f"numba threading layer {threads['layer']}, {threads['threads']} threads; "
          f"{runner.seconds:.1f} s", file=file)
    print(runner.summary(), file=file, flush=True)
    if json_path is not None:
        options = {"quick": quick, "gpu": gpu}
        report.write_json(json_path, report.report(runner, options, gpu_info))
    return 1 if runner.failed else 0
