"""The backends, and the one place that picks between them.

``cpu`` and ``cuda`` have the same functions with the same signatures (``as_target``,
``empty``, ``fill``, ``zero_sparse``, ``set_ones``, ``fill_orthogonal``, ``fill_delta``). A
call picks one once, from ``device=`` or from its target, and every step of it goes there.
The CUDA backend is imported only when a GPU call arrives.
"""
import numpy as np

from . import cpu
from .foreign import is_device_array


def for_device(device):
    """The backend of ``device`` (``"cpu"``, ``"cuda"`` or ``"cuda:N"``, checked) and the GPU's
    number (None: the current one): for the GPU, after raising an error that names what is
    missing (CuPy, numba-cuda, a GPU, GPU number N)."""
    if device == "cpu":
        return cpu, None
    from . import cuda
    from .cuda_runtime import check_available
    cupy = check_available()
    if device == "cuda":
        return cuda, None
    index, count = int(device[5:]), cupy.cuda.runtime.getDeviceCount()
    if index >= count:
        raise ValueError(f"device {device!r} does not exist: this machine has {count} GPU"
                         f"{'s' if count != 1 else ''}")
    return cuda, index


def for_target(out):
    """The backend whose memory ``out`` lives in."""
    if type(out) is np.ndarray:
        return cpu
    if is_device_array(out):
        from . import cuda
        return cuda
    return cpu
