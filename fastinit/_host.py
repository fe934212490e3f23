"""Host buffers that other frameworks take without a copy."""
import math

import numpy as np

ALIGN = 64  # XLA's CPU client takes a DLPack buffer without copying only when it is aligned


def aligned_empty(shape, dtype):
    """An uninitialized C-order array of ``shape`` and ``dtype`` whose data is ``ALIGN``-byte
    aligned."""
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    raw = np.empty(nbytes + ALIGN, np.uint8)
    off = (-raw.ctypes.data) % ALIGN
    return raw[off:off + nbytes].view(dtype).reshape(shape)
