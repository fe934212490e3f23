"""The suite's one piece of process setup: the repository root leaves ``sys.path``.

``python -m pytest`` (the README's test command) puts the current directory first on
``sys.path``, and this repository's top-level ``kernels/`` folder (installed as
``fastinit.kernels``) would then shadow the PyPI package named ``kernels``, which transformers
imports. The package under test is the installed one (editable or not); nothing in the suite
imports from the root by path.
"""
import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]
