"""The CUDA kernels under the simulator run in their own pytest process.

``NUMBA_ENABLE_CUDASIM=1`` must be set before numba is imported, so these files are collected
only by the process that ``tests/cuda/test_cuda.py::test_cuda_kernels_under_the_simulator``
starts with it set (``NUMBA_ENABLE_CUDASIM=1 python -m pytest tests/cuda/simulator`` by hand).
The main pytest process ignores them: it has already imported numba without the simulator.
"""
import os

if os.environ.get("NUMBA_ENABLE_CUDASIM") != "1":
    collect_ignore_glob = ["test_*.py"]
