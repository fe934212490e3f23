"""The house: no import cycle among the modules of ``fastinit/`` and ``kernels/``.

Every ``import`` and ``from ... import`` is read from the source, at any depth (an import
inside a function counts: it ties the two files just the same). ``kernels/`` is the package
``fastinit.kernels``. ``from P import name`` is an import of the module ``P.name`` when that
is a module, else of ``P``.
"""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = {"fastinit": ROOT / "fastinit", "fastinit.kernels": ROOT / "kernels"}


def _modules():
    """Module name -> (path, is_package) for every module of the two packages."""
    mods = {}
    for pkg, folder in PACKAGES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[0] == "kernels" and pkg == "fastinit":
                continue  # not a folder of fastinit/ (kernels/ is installed there)
            is_pkg = parts[-1] == "__init__"
            name = ".".join((pkg,) + (parts[:-1] if is_pkg else parts))
            mods[name] = (path, is_pkg)
    return mods


def _resolve(module, is_pkg, level, target):
    """The absolute name of a relative import ``from {'.' * level}{target}``."""
    base = module.split(".") if is_pkg else module.split(".")[:-1]
    if level > 1:
        base = base[:len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def import_graph():
    """Module name -> the set of modules of the two packages it imports."""
    mods = _modules()
    graph = {}
    for name, (path, is_pkg) in mods.items():
        deps = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                src = (_resolve(name, is_pkg, node.level, node.module) if node.level
                       else node.module)
                targets = [f"{src}.{a.name}" if f"{src}.{a.name}" in mods else src
                           for a in node.names]
            else:
                continue
            deps.update(t for t in targets if t in mods and t != name)
        graph[name] = deps
    return graph


def find_cycle(graph):
    """One import cycle as a list of modules (first == last), or None."""
    state = {}

    def visit(node, path):
        state[node] = "open"
        path.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == "open":
                return path[path.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep, path)
                if found:
                    return found
        path.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node, [])
            if found:
                return found
    return None


def test_the_graph_sees_every_module_and_the_imports_inside_functions():
    graph = import_graph()
    assert {"fastinit", "fastinit._api", "fastinit.kernels.cpu", "fastinit.torch.init",
            "fastinit._backend.cuda"} <= set(graph)
    assert "fastinit.kernels.philox" in graph["fastinit.kernels.cpu"]
    # the CUDA backend is imported inside a function only
    assert "fastinit._backend.cuda" in graph["fastinit._backend"]


def test_find_cycle_finds_one_at_any_depth():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set(), "d": {"d2"}, "d2": {"d"}}) \
        == ["d", "d2", "d"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


@pytest.mark.parametrize("module", ["fastinit._checks", "fastinit._backend.geometry",
                                    "fastinit._backend.foreign", "fastinit.kernels.codes"])
def test_leaves_import_nothing_of_the_house(module):
    """Argument checks, target geometry, foreign arrays and kernel codes sit at the bottom."""
    assert import_graph()[module] == set()
