"""The Numba floor: written once in the package (``fastinit._requirements.NUMBA_MIN``), equal
to the ``numba>=`` floor of ``pyproject.toml``, and an older Numba (installed with ``--no-deps``,
or pinned by another package) refused by ``import fastinit`` at once, with an ImportError that
names both versions, before any kernel (or Numba itself) is imported."""
import os
import pathlib
import re
import subprocess
import sys

import pytest

from fastinit import _requirements

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _toml():
    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    return tomllib


def test_floor_is_the_one_pyproject_declares():
    project = _toml().loads((ROOT / "pyproject.toml").read_text())["project"]
    floors = [re.fullmatch(r"numba\s*>=\s*([0-9.]+)", d.split(";")[0].strip())
              for d in project["dependencies"]]
    floors = [m.group(1) for m in floors if m]
    assert floors == [_requirements.NUMBA_MIN]


# floors the minimum-versions pass cannot install: torch (its one build here is the newest, for
# Python 3.11; the floor declared is the version the main job tests), the GPU extras (no GPU),
# the benchmark tools, Keras and transformers (their tests need torch or a Keras backend), and
# the documentation's tools
NOT_PINNED = {"torch", "cupy-cuda12x", "cupy-cuda13x", "numba-cuda", "nvidia-cuda-nvcc", "asv",
              "keras", "transformers",
              # the documentation's tools, built with the main job's environment only
              "sphinx", "pydata-sphinx-theme", "numpydoc", "myst-parser", "matplotlib"}


def _floors():
    """``(name, floor)`` of every ``name>=floor`` that pyproject.toml declares."""
    data = _toml().loads((ROOT / "pyproject.toml").read_text())
    reqs = list(data["build-system"]["requires"]) + list(data["project"]["dependencies"])
    for extra in data["project"]["optional-dependencies"].values():
        reqs += extra
    floors = []
    for req in reqs:
        req = req.split(";")[0].strip()  # the environment marker aside
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^]]*\])?\s*>=\s*([0-9.]+)", req)
        if m:
            floors.append((m.group(1).lower().replace("_", "-"), m.group(3)))
    return floors


def _pins():
    pins = {}
    for line in (ROOT / ".ci" / "minimum-versions.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def _same(a, b):
    """Equal releases, trailing zeros aside: "1.24" and "1.24.0"."""
    a, b = _requirements.release(a), _requirements.release(b)
    n = max(len(a), len(b))
    return a + (0,) * (n - len(a)) == b + (0,) * (n - len(b))


def test_minimum_versions_pass_pins_every_floor():
    # .ci/minimum-versions.txt installs exactly the floors pyproject.toml declares
    floors, pins = _floors(), _pins()
    assert {"numba", "numpy", "setuptools"} <= {name for name, _ in floors}
    for name, floor in floors:
        if name == "torch":  # the main job's torch is its floor
            run = (ROOT / ".ci" / "run").read_text()
            assert _same(re.search(r"torch==([0-9.]+)", run).group(1), floor), floor
        if name in NOT_PINNED:
            continue
        assert name in pins, f"{name}>={floor} is declared but not pinned"
        assert _same(pins[name], floor), f"{name}: floor {floor}, pinned {pins[name]}"


def test_the_pass_runs_on_the_python_floor():
    requires = _toml().loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    floor = re.fullmatch(r">=\s*(3\.[0-9]+)", requires).group(1)
    assert f"python{floor} " in (ROOT / ".ci" / "minimum-versions").read_text()


@pytest.mark.parametrize("version,want", [
    ("0.62.1", (0, 62, 1)), ("0.62", (0, 62)), ("0.62.0rc1", (0, 62, 0)),
    ("0.63.0.dev0+12.gabc", (0, 63, 0)), ("1.0", (1, 0)), ("0.59.1", (0, 59, 1)),
    ("rubbish", ()),
])
def test_release(version, want):
    assert _requirements.release(version) == want


def _floor_minus_one():
    """A version just below the floor: "0.59" -> "0.58.1"."""
    major, minor = _requirements.release(_requirements.NUMBA_MIN)[:2]
    return f"{major}.{minor - 1}.1"


def _import_with_numba_metadata(tmp_path, version):
    """``import fastinit`` in a fresh process whose first path entry holds a numba
    dist-info of ``version`` (what ``importlib.metadata`` finds first); the installed Numba
    stays where it is."""
    info = tmp_path / f"numba-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: numba\nVersion: {version}\n")
    code = ("import sys\n"
            "try:\n"
            "    import fastinit\n"
            "except ImportError as e:\n"
            "    print('ImportError:', e)\n"
            "    print('numba imported:', 'numba' in sys.modules)\n"
            "else:\n"
            "    print('imported', fastinit.__version__)\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(tmp_path)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_older_numba_is_refused_at_import(tmp_path):
    old = _floor_minus_one()
    out = _import_with_numba_metadata(tmp_path, old)
    assert f"ImportError: fastinit needs numba>={_requirements.NUMBA_MIN} " in out, out
    assert f"but numba {old} is installed" in out, out
    assert "numba imported: False" in out, out


def test_the_floor_itself_is_accepted(tmp_path):
    # the same path with the floor's own version imports (the real Numba behind it is newer)
    floor = ".".join(map(str, _requirements.release(_requirements.NUMBA_MIN)))
    out = _import_with_numba_metadata(tmp_path, floor + ".0")
    assert out.startswith("imported "), out
