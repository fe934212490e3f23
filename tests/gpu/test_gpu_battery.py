"""Every check of the GPU battery (``fastinit.selftest.gpu``) as a test, on the real device.

``FASTINIT_GPU_QUICK=1`` runs the quick battery's sizes. Without a CUDA device every test
fails with what was looked for; a check whose optional peer is missing skips with the reason.
The figures (speed ratios, bit-identity of the normal family) are printed: run with ``-s``.
"""
import os

import pytest

from fastinit.selftest import device, gpu
from fastinit.selftest.report import NotRun

QUICK = os.environ.get("FASTINIT_GPU_QUICK") == "1"
PLAN = gpu.plan(quick=QUICK)


@pytest.fixture(scope="session")
def gpu_device():
    try:
        found = device.find_device()
    except device.NoDevice as e:
        missing = str(e)
    else:
        found.quick = QUICK
        return found
    pytest.fail(missing, pytrace=False)


@pytest.mark.parametrize("name, check, args", PLAN, ids=[p[0] for p in PLAN])
def test_gpu_check(name, check, args, gpu_device):
    try:
        out = check(gpu_device, *args)
    except NotRun as e:
        pytest.skip(f"{name}: {e}")
    print(f"{name}: {out.text}")
