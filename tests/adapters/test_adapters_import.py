"""A framework adapter never imports another framework (and ``import fastinit`` none)."""
import json
import subprocess
import sys

import pytest

FRAMEWORKS = ["torch", "jax", "dask"]


@pytest.mark.parametrize("adapter,own", [("fastinit.torch", "torch"), ("fastinit.jax", "jax"),
                                         ("fastinit.dask", "dask")])
def test_adapter_imports_only_its_framework(adapter, own):
    code = (f"import sys, json; import {adapter}; "
            "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    roots = set(json.loads(r.stdout.strip().splitlines()[-1]))
    for other in FRAMEWORKS:
        if other != own:
            assert other not in roots, (adapter, other)
