"""The suite's one piece of process setup: the repository root moves to the end of
``sys.path``.

``python -m pytest`` (the README's test command) puts the current directory first on
``sys.path``, and this repository's top-level ``kernels/`` folder (installed as
``fastinit.kernels``) would then shadow the PyPI package named ``kernels``, which transformers
imports. Last, the root still serves what only it holds: the ``tests`` package, which the
workers that torch.multiprocessing spawns import by name (they inherit this ``sys.path``).
"""
import os
import sys

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_rest = [p for p in sys.path if os.path.abspath(p or os.curdir) != _ROOT]
if len(_rest) < len(sys.path):
    sys.path[:] = _rest + [_ROOT]
