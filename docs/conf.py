"""Sphinx configuration of fastinit's documentation (PyData theme, numpydoc, MyST).

Build: ``python -m pip install -e ".[docs]"`` (and torch, CPU build), then
``sphinx-build -n -W -b html docs docs/_build/html``. The build needs no network (no
intersphinx) and never imports CUDA: the API reference imports the public modules, which
import numba.cuda and CuPy only when a GPU call arrives.
"""
import os
import re
import sys
import importlib

# Keras 3 picks its backend at import: the API reference imports fastinit.keras
os.environ.setdefault("KERAS_BACKEND", "jax")
# the plots read committed benchmark data through docs/plots.py
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# the repository root must not shadow the installed fastinit.kernels (see tests/conftest.py)
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]

import fastinit  # noqa: E402

project = "fastinit"
author = "fastinit developers"
copyright = "fastinit developers"
release = fastinit.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "matplotlib.sphinxext.plot_directive",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "data", "_templates", "Thumbs.db", ".DS_Store"]

# --- MyST ------------------------------------------------------------------------------
myst_enable_extensions = ["colon_fence", "deflist", "dollarmath"]
myst_heading_anchors = 3

# --- API reference -----------------------------------------------------------------------
autosummary_generate = True
autosummary_ignore_module_all = False   # a module's members are its __all__
autodoc_default_options = {"members": False}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# numpydoc's validation stays off: the docstrings are checked by the build's -W for what
# breaks rendering; the style checks (GL08, SA01, EX01, ...) would flag every drop-in
numpydoc_validation_checks = set()

# The modules of the API reference, in order. fastinit.keras and fastinit.selftest are
# included when they import (keras installed, KERAS_BACKEND set), so the build never fails
# on a missing optional framework: it leaves that module out and says so.
API_MODULES = [
    ("fastinit", "the initializers, allocating and in place; stream_of; the helpers"),
    ("fastinit.linalg", "blocked Householder QR"),
    ("fastinit.torch", "PyTorch: torch.nn.init drop-ins, materialize, intercept_init"),
    ("fastinit.transformers", "Hugging Face transformers: from_config, init_weights, "
                              "write_checkpoint"),
    ("fastinit.jax.initializers", "JAX: a drop-in for jax.nn.initializers"),
    ("fastinit.keras", "Keras 3: a drop-in for keras.initializers"),
    ("fastinit.dask", "Dask: lazy arrays, one region per block"),
    ("fastinit.selftest", "fastinit selftest, as a function"),
]
# Modules whose docstrings hold rules the pages point to (seeds, views, errors, the counter
# layout): one page each with the docstring only, their names being documented above.
API_NOTES = ["fastinit.kernels", "fastinit.torch.init", "fastinit.torch.intercept",
             "fastinit.keras.initializers"]


def _importable(name):
    try:
        importlib.import_module(name)
    except ImportError as e:
        print(f"docs: {name} left out of the API reference ({e})", file=sys.stderr)
        return False
    return True


def _write_api_index():
    """docs/api/index.rst from the template, with the modules that import here."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "_templates", "api_index.rst")) as f:
        text = f.read()
    rows = "\n".join(f"   {name}" for name, _ in API_MODULES if _importable(name))
    notes = "\n".join(f"   {name}" for name in API_NOTES if _importable(name))
    text = text.replace("{{ modules }}", rows).replace("{{ notes }}", notes)
    os.makedirs(os.path.join(here, "api"), exist_ok=True)
    path = os.path.join(here, "api", "index.rst")
    old = open(path).read() if os.path.exists(path) else None
    if old != text:       # unchanged: keep the mtime, so an incremental build stays one
        with open(path, "w") as f:
            f.write(text)


_write_api_index()

# numpydoc keeps only its own sections and drops any other ("State and Seeding", "Keys",
# "Counter layout", ...) with a Python warning. Module docstrings use such sections for
# prose: they become rubrics before numpydoc sees them, so their text stays in the page.
_NUMPYDOC_SECTIONS = {
    "Parameters", "Returns", "Yields", "Receives", "Raises", "Warns", "Other Parameters",
    "Attributes", "Methods", "See Also", "Notes", "Warnings", "References", "Examples",
}


def _rubrics_for_prose_sections(app, what, name, obj, options, lines):
    if what != "module":
        return
    out, i = [], 0
    while i < len(lines):
        head = lines[i]
        under = lines[i + 1] if i + 1 < len(lines) else ""
        if (head.strip() and re.fullmatch(r"-{3,}", under.strip() or "x")
                and head.strip() not in _NUMPYDOC_SECTIONS):
            out += [f".. rubric:: {head.strip()}", ""]
            i += 2
            continue
        out.append(head)
        i += 1
    lines[:] = out


_LITERAL = re.compile(r"``.+?``")


def _summary_safe_literals(app, what, name, obj, options, lines):
    """autosummary's table cuts a summary at the first period followed by a space, inside
    an inline literal too (``H_0 H_1 ... H_k``), which leaves the literal open: in the first
    paragraph, such an ellipsis inside a literal becomes one character (U+2026)."""
    for i, line in enumerate(lines):
        if not line.strip():
            break
        lines[i] = _LITERAL.sub(lambda m: m.group(0).replace("... ", "\u2026 "), line)


def _keras_own_names(app, what, name, obj, options, lines):
    """Names fastinit.keras re-exports from Keras unchanged carry Keras's own docstrings
    (Markdown, not numpydoc): the page points to Keras instead."""
    module = getattr(obj, "__module__", "") or ""
    if name.startswith("fastinit.keras.") and module.startswith("keras"):
        short = name.rsplit(".", 1)[-1]
        lines[:] = [f"Keras's own ``keras.initializers.{short}``, re-exported unchanged "
                    "(fastinit adds nothing here): see Keras's documentation."]


# -n (nitpicky): every cross-reference must resolve, but these, which the docstrings make to
# pages outside this site (no intersphinx: the build needs no network) or to internal modules
nitpick_ignore = [
    ("py:mod", "jax.nn.initializers"),
    ("py:func", "numpy.linalg.qr"),
    ("py:func", "compute_fans"),            # Keras's, in fastinit.keras.VarianceScaling
    ("py:mod", "fastinit.selftest.cpu"),
    ("py:mod", "fastinit.selftest.gpu"),
    ("py:mod", "fastinit.selftest.reference"),
]

# --- plots -------------------------------------------------------------------------------
plot_include_source = False
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110), ("svg", 110)]
plot_rcparams = {"figure.figsize": (7.0, 4.2), "font.size": 10}

# --- HTML ----------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"fastinit {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_static_path = []
html_show_sourcelink = False


def _no_cuda_imported(app, exception):
    """The build never imports CUDA (numba.cuda, CuPy): it runs where no GPU is."""
    if exception is None:
        found = sorted(m for m in ("numba.cuda", "cupy") if m in sys.modules)
        if found:
            from sphinx.util import logging
            logging.getLogger(__name__).warning(
                f"the documentation build imported {', '.join(found)}")


def setup(app):
    app.connect("build-finished", _no_cuda_imported)
    # before numpydoc's own handler (priority 500)
    app.connect("autodoc-process-docstring", _keras_own_names, priority=90)
    app.connect("autodoc-process-docstring", _rubrics_for_prose_sections, priority=100)
    app.connect("autodoc-process-docstring", _summary_safe_literals, priority=110)
