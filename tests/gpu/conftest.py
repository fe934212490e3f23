"""The GPU battery of ``fastinit selftest --gpu`` as pytest tests, for a machine with a CUDA
device (``python -m pytest tests/gpu``).

Collected only when asked for: a path inside ``tests/gpu`` on the command line, or
``FASTINIT_GPU_TESTS=1``. The CPU run (``python -m pytest``) never collects them, so they never
show up there as skips; ``tests/cli/test_selftest.py`` checks both. Once collected, every test
fails (never skips) when there is no CUDA device; a check whose optional peer (CuPy, torch
with CUDA, a second GPU) is missing skips with the reason.
"""
import os
import pathlib

HERE = pathlib.Path(__file__).resolve().parent


def asked_for(config):
    """Whether this run asked for the GPU tests: ``FASTINIT_GPU_TESTS=1``, or a command-line
    path in this folder."""
    if os.environ.get("FASTINIT_GPU_TESTS") == "1":
        return True
    start = pathlib.Path(config.invocation_params.dir)
    for arg in config.args:
        path = (start / str(arg).split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path, config):
    if collection_path.name.startswith("test_") and not asked_for(config):
        return True
    return None
