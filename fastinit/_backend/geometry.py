"""Where a region's elements lie in a target's memory: the geometry both backends launch on.

The drivers of both backends take a target as a flat 1-D view of its memory, the offset of
its first element and per-dimension ``(ostride, rshape, rstart, gstride)``: the target's
strides, the region's shape and start, and the global tensor's row-major strides.
"""
import numpy as np


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
