"""Every ``python`` block of README.md and of the documentation's pages runs, and passes.

The blocks of a page run in order in one fresh interpreter (in a temporary directory, with
the repository root off ``sys.path``), each in a fresh namespace: a block must import what it
uses. The pages run side by side, one per core. Output, shell sessions and anything not meant to run are ``console`` or ``text`` blocks,
never ``python``. An HTML comment on the line just before a block changes how it runs:

- ``<!-- docs-test: continue -->``: the block continues the previous block's namespace;
- ``<!-- docs-test: cudasim -->``: run (with the page's other such blocks) in a separate
  interpreter under the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``), skipped without
  numba-cuda;
- ``<!-- docs-test: gpu -->``: needs a real GPU (CuPy or torch CUDA tensors): run only with
  ``FASTINIT_GPU_TESTS=1``, skipped otherwise.

A block that imports an optional framework that is not installed (torch, transformers, JAX,
Flax, Keras, Dask, ...) is skipped, as the suite's other tests of that framework are; the
page's other blocks still run, and the skip names what was left out.
"""
import importlib.util
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
RUNNER = Path(__file__).resolve().with_name("run_blocks.py")
TIMEOUT = 600          # seconds per page: a cold kernel cache compiles in the first page
MARK = re.compile(r"<!--\s*docs-test:\s*([a-z-]+)\s*-->")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^\s`]*)")
MODES = ("continue", "cudasim", "gpu")


def pages():
    found = [ROOT / "README.md"]
    for path in sorted(DOCS.rglob("*.md")):
        rel = path.relative_to(DOCS).parts
        if rel[0] in ("_build", "api", "_templates"):
            continue
        found.append(path)
    return found


def python_blocks(path):
    """(first line of code, 0-based), code, marker) of each python fenced block of a page."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = m.groups()
        start = i + 1
        j = start
        while j < len(lines) and not (lines[j].strip().startswith(fence)
                                      and set(lines[j].strip()) == set(fence[0])):
            j += 1
        if lang in ("python", "py", "python3"):
            code = "\n".join(line[len(indent):] for line in lines[start:j])
            prev = i - 1
            while prev >= 0 and not lines[prev].strip():
                prev -= 1
            mark = MARK.search(lines[prev]) if prev >= 0 else None
            marker = mark.group(1) if mark else None
            if marker is not None and marker not in MODES:
                raise ValueError(f"{path}:{prev + 1}: unknown docs-test marker {marker!r}")
            blocks.append((start, code, marker))
        i = j + 1
    return blocks


def cases():
    for path in pages():
        blocks = python_blocks(path)
        rel = str(path.relative_to(ROOT))
        for kind in ("cpu", "cudasim", "gpu"):
            chosen = [b for b in blocks
                      if (b[2] == kind) or (kind == "cpu" and b[2] in (None, "continue"))]
            if chosen:
                yield pytest.param(path, kind, chosen, id=f"{rel}[{kind}]")


def _spec(path, blocks):
    return {"blocks": [{"file": str(path), "line": line, "code": code,
                        "continue": marker == "continue"} for line, code, marker in blocks]}


def _skip_reason(kind):
    if kind == "cudasim" and importlib.util.find_spec("numba.cuda") is None:
        return "numba-cuda is not installed (the cuda-test extra)"
    if kind == "gpu" and os.environ.get("FASTINIT_GPU_TESTS") != "1":
        return "needs a GPU: run with FASTINIT_GPU_TESTS=1 on a machine that has one"
    return None


def _run(path, kind, blocks, workdir):
    """Run one page's blocks in a fresh interpreter in ``workdir``: (returncode, output)."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.setdefault("MPLBACKEND", "Agg")
    if kind == "cudasim":
        env["NUMBA_ENABLE_CUDASIM"] = "1"
    spec = workdir / "blocks.json"
    spec.write_text(json.dumps(_spec(path, blocks)))
    # -I: neither the repository root nor the runner's folder on sys.path (the root's
    # kernels/ would shadow a PyPI package, see tests/conftest.py); PYTHON* ignored
    try:
        proc = subprocess.run([sys.executable, "-I", str(RUNNER), str(spec)], cwd=workdir,
                              env=env, capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as e:
        return -1, f"timed out after {TIMEOUT} s\n{e.stdout or ''}\n{e.stderr or ''}"
    return proc.returncode, f"{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"


@pytest.fixture(scope="module")
def page_runs(request, tmp_path_factory):
    """Every selected page, started at once on as many workers as cores (a page's
    interpreter spends most of its time importing, on one core), so the whole file takes
    about the time of its longest pages."""
    todo = {}
    for item in request.session.items:
        callspec = getattr(item, "callspec", None)
        if item.originalname == "test_examples_run" and callspec is not None:
            path, kind, blocks = (callspec.params[k] for k in ("path", "kind", "blocks"))
            if _skip_reason(kind) is None:
                todo[(str(path), kind)] = (path, kind, blocks)
    pool = ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1))
    futures = {key: pool.submit(_run, *args, tmp_path_factory.mktemp("page"))
               for key, args in todo.items()}
    yield futures
    pool.shutdown(wait=True, cancel_futures=True)


@pytest.mark.parametrize(("path", "kind", "blocks"), list(cases()))
def test_examples_run(path, kind, blocks, page_runs):
    reason = _skip_reason(kind)
    if reason:
        pytest.skip(reason)
    returncode, output = page_runs[(str(path), kind)].result()
    if returncode == 3:      # the other blocks ran and passed
        lines = [line[len("SKIPPED "):] for line in output.splitlines()
                 if line.startswith("SKIPPED ")]
        pytest.skip("blocks that need a framework not installed here: " + "; ".join(lines))
    if returncode != 0:
        pytest.fail(f"examples of {path.relative_to(ROOT)} failed:\n{output}", pytrace=False)


def test_every_page_is_scanned():
    """The README and the site's pages are found, and the README has examples."""
    names = {str(p.relative_to(ROOT)) for p in pages()}
    assert "README.md" in names and "docs/index.md" in names
    assert len(python_blocks(ROOT / "README.md")) >= 5


def test_readme_is_short():
    """The README stays a front page (the issue: about 200 lines, at most 250)."""
    n = len((ROOT / "README.md").read_text(encoding="utf-8").splitlines())
    assert n <= 250, f"README.md has {n} lines"
