"""Where a region's elements lie in a target's memory: the geometry both backends launch on.

The drivers of both backends take a target as a flat 1-D view of its memory, the offset of
its first element and per-dimension ``(ostride, rshape, rstart, gstride)``: the target's
strides, the region's shape and start, and the global tensor's row-major strides.
"""
import math

import numpy as np


# Beyond this many elements, a layout that neither rule below decides is refused rather than
# checked element by element (the check holds every element's offset in memory).
EXACT_OVERLAP_LIMIT = 1 << 22


def self_overlaps(shape, strides):
    """Whether two indices of an array of ``shape`` and element ``strides`` (any sign, none
    zero where the extent is above 1) reach one address; None when that could not be decided
    cheaply (a large, unusual layout).

    A dimension whose stride passes the farthest offset of all the others can be set aside:
    two indices that differ there are apart. What remains is decided exactly: one dimension
    never overlaps; two, of strides ``a < b``, overlap iff ``b/g <= n_a - 1`` and
    ``a/g <= n_b - 1`` for ``g = gcd(a, b)`` (the smallest solution of ``a x = b y``);
    more are compared offset by offset, up to ``EXACT_OVERLAP_LIMIT`` elements.
    """
    if 0 in shape:
        return False
    dims = sorted((abs(s), n) for s, n in zip(strides, shape) if n > 1)
    while dims and dims[-1][0] > sum(s * (n - 1) for s, n in dims[:-1]):
        dims.pop()
    if len(dims) <= 1:
        return False
    if len(dims) == 2:
        (a, na), (b, nb) = dims
        g = math.gcd(a, b)
        return b // g <= na - 1 and a // g <= nb - 1
    if math.prod(n for _, n in dims) > EXACT_OVERLAP_LIMIT:
        return None
    offsets = np.zeros(1, np.int64)
    for s, n in dims:
        offsets = (offsets[:, None] + s * np.arange(n, dtype=np.int64)).ravel()
    return np.unique(offsets).size != offsets.size


def element_strides(shape, strides, itemsize):
    """The strides of a target in elements, after refusing layouts no fill can honour: a zero
    stride (a broadcast view), a stride that is not a multiple of the item size, and strides
    that let two indices reach one address (a self-overlapping view, whose contents would
    depend on the order of the threads' writes)."""
    if not math.prod(shape):
        return tuple(0 for _ in shape)
    for n, s in zip(shape, strides):
        if n > 1 and s == 0:
            raise ValueError(f"out has a zero stride (a broadcast view): strides {strides}")
        if s % itemsize:
            raise ValueError(f"out has strides {strides} that are not a multiple of its "
                             f"item size {itemsize}")
    elems = tuple(s // itemsize for s in strides)
    overlap = self_overlaps(shape, elems)
    if overlap:
        raise ValueError(f"out has overlapping elements: two indices reach one address "
                         f"(shape {tuple(shape)}, strides {strides})")
    if overlap is None:
        raise ValueError(f"out has an unusual layout (shape {tuple(shape)}, strides {strides}) "
                         f"whose elements could not be shown distinct; fill a copy instead")
    return elems


def region_shape(bounds):
    """The shape of the region ``bounds`` (``(start, stop)`` per dimension)."""
    return tuple(stop - start for start, stop in bounds)


def layout(shape, strides, gshape, bounds):
    """The memory span of a target and its collapsed geometry, for any backend.

    ``strides`` are in elements (any sign). Returns ``low`` (the offset of the lowest address
    from the first element, <= 0), ``span`` (elements from the lowest to the highest address),
    ``base`` (the first element's offset from the lowest address) and the collapsed
    ``(ostride, rshape, rstart, gstride)`` int64 arrays.
    """
    ostride = list(strides)
    rshape = list(shape)
    rstart = [b[0] for b in bounds]
    gstride = [1] * len(gshape)
    for d in range(len(gshape) - 2, -1, -1):
        gstride[d] = gstride[d + 1] * gshape[d + 1]
    # lowest address as the base, a 1-D view spanning the target's memory
    low = sum(s * (n - 1) for s, n in zip(ostride, rshape) if s < 0)
    high = sum(s * (n - 1) for s, n in zip(ostride, rshape) if s > 0)
    base = -low
    # drop unit dimensions (their offset folds into the last start) and merge dimensions
    # that are contiguous in both the global tensor and the target
    offset = 0
    dims = []
    for d in range(len(rshape)):
        if rshape[d] == 1 and d < len(rshape) - 1:  # the last stays: it is contiguous globally
            offset += rstart[d] * gstride[d]
        else:
            dims.append([ostride[d], rshape[d], rstart[d], gstride[d], gshape[d]])
    merged = []
    for dim in dims:
        if merged:
            prev = merged[-1]
            if dim[1] == dim[4] and prev[0] == dim[0] * dim[1] and prev[3] == dim[3] * dim[4]:
                prev[0] = dim[0]
                prev[2] = prev[2] * dim[4] + dim[2]
                prev[1] *= dim[1]
                prev[3] = dim[3]
                prev[4] *= dim[4]
                continue
        merged.append(dim)
    if not merged:
        merged = [[1, 1, 0, 1, 1]]
    merged[-1][2] += offset  # only ever used additively
    m = np.array(merged, np.int64)
    return (low, high - low + 1, base,
            m[:, 0].copy(), m[:, 1].copy(), m[:, 2].copy(), m[:, 3].copy())


def real_view(arr, part=None):
    """The real view of a complex NumPy array: ``(*shape, 2)`` (real and imaginary parts
    last), or with ``part`` 0 or 1 the real or the imaginary parts alone, of ``arr``'s shape
    (the same memory, writable when ``arr`` is)."""
    if part is not None:
        return arr.real if part == 0 else arr.imag
    half = arr.itemsize // 2
    return np.lib.stride_tricks.as_strided(arr.real, arr.shape + (2,), arr.strides + (half,))
