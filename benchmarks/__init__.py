"""The asv suite. What it compares (initializers, arguments, peers, sizes, dtypes) is the table
``fastinit/_peers.py``, which ``fastinit bench`` reads too.

asv runs this checkout's benchmarks against each commit it measures, installed in its own
environment: commits from before the table have no ``fastinit._peers``, and later ones may
have another. So the table is loaded here from this checkout's file, as ``fastinit._peers``
(on top of whatever fastinit is installed), and the benchmark files import it by that name.
"""
import importlib.util
import os
import sys


def _load_peers():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    spec = importlib.util.spec_from_file_location(
        "fastinit._peers", os.path.join(root, "fastinit", "_peers.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[spec.name]
        raise
    sys.modules["fastinit"]._peers = module  # over an installed one imported before


_load_peers()
