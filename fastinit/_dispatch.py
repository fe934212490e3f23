"""From a checked request to a kernel call: target layout, region geometry, generation plan.

A *plan* is ``(kind, params)`` as the CPU drivers in ``fastinit.kernels.cpu`` take them.
"""
import functools
import math

import numpy as np

from ._checks import BFLOAT16, as_target, check_region
from .kernels import cpu

_UINT = {2: np.uint16, 4: np.uint32, 8: np.uint64}
_OUTCODE = {np.dtype(np.float16): cpu.OUT_F16, BFLOAT16: cpu.OUT_BF16}


def region_shape(bounds):
    return tuple(stop - start for start, stop in bounds)


def allocate(shape, region, dtype):
    """An empty array of the region's shape and the bounds of the region."""
    bounds = check_region(region, shape)
    return np.empty(region_shape(bounds), dtype), bounds


def target(out, shape, region, dtypes=None):
    """The NumPy view of an in-place target, the global shape and the region bounds.

    ``shape`` (the global shape) defaults to ``out``'s own; ``out`` must have the region's
    shape.
    """
    from ._checks import FLOAT_DTYPES, check_shape
    arr = as_target(out, FLOAT_DTYPES if dtypes is None else dtypes)
    gshape = arr.shape if shape is None else check_shape(shape)
    bounds = check_region(region, gshape)
    if region_shape(bounds) != arr.shape:
        raise ValueError(f"out has shape {arr.shape} but region {region!r} of shape {gshape} "
                         f"has shape {region_shape(bounds)}")
    return arr, gshape, bounds


def _geometry(arr, gshape, bounds):
    """Flat view, base offset and the collapsed (ostride, rshape, rstart, gstride) arrays."""
    item = arr.itemsize
    low, span, base, ostride, rshape, rstart, gstride = layout(
        arr.shape, [s // item for s in arr.strides], gshape, bounds)
    corner = tuple(n - 1 if s < 0 else 0 for s, n in zip(arr.strides, arr.shape))
    # arr[corner + (...,)] is a 0-d view (a plain index would copy the element out)
    flat = np.lib.stride_tricks.as_strided(arr[corner + (Ellipsis,)], shape=(span,),
                                           strides=(item,))
    return flat, base, ostride, rshape, rstart, gstride


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


def fill(arr, gshape, bounds, plan, key, stream):
    """Run ``plan = (kind, params)`` into ``arr`` (the region ``bounds`` of ``gshape``)."""
    if arr.size == 0:
        return arr
    kind, params = plan
    params = np.asarray(params, np.float64)
    flat, base, ostride, rshape, rstart, gstride = _geometry(arr, gshape, bounds)
    if arr.dtype == np.uint32:  # random_bits (its plan is ignored)
        cpu.fill_bits(flat, base, ostride, rshape, rstart, gstride, key, stream)
    elif kind == cpu.CONSTANT:  # the value is exact in every dtype (constant_plan rounded it)
        uint = _UINT[arr.itemsize]
        value = np.array(params[0]).astype(arr.dtype).view(uint)[()]
        cpu.fill_value(flat.view(uint), base, ostride, rshape, rstart, gstride, value)
    elif arr.dtype == np.float64:
        cpu.fill_f64(flat, base, ostride, rshape, rstart, gstride, key, stream, kind, params)
    elif arr.dtype == np.float32:
        cpu.fill_f32(flat, base, ostride, rshape, rstart, gstride, key, stream, kind, params)
    else:
        cpu.fill_half(flat.view(np.uint16), base, ostride, rshape, rstart, gstride, key, stream,
                      kind, params, _OUTCODE[arr.dtype])
    return arr


# --- plans --------------------------------------------------------------------------------

def constant_plan(value, dtype):
    """The value rounded once into ``dtype`` (exact in the float32/float64 tile)."""
    with np.errstate(over="ignore"):  # beyond the dtype's range is inf, as in torch
        v = np.array(value, np.float64).astype(dtype)
    return cpu.CONSTANT, [float(v)]


def uniform_plan(low, high, dtype):
    """``u * (high - low) + low`` in the generation precision; a value whose rounding into
    ``dtype`` reaches ``high`` becomes ``low`` (torch's rule)."""
    if dtype == np.float64:
        return cpu.UNIFORM, [low, high - low, high]
    return cpu.UNIFORM, [float(np.float32(low)), float(np.float32(high - low)),
                         _first_f32_reaching(high, dtype)]


@functools.lru_cache(maxsize=256)  # a model's layers share a few bounds; 0.2 ms a search
def _first_f32_reaching(high, dtype):
    """The smallest float32 whose rounding into ``dtype`` is >= ``high``."""
    def reaches(key):  # keys order float32 values monotonically
        bits = np.uint32(key if key >= 0 else (-key) | 0x80000000)
        x = np.array(bits, np.uint32).view(np.float32)
        with np.errstate(over="ignore"):  # float32 beyond float16's range rounds to inf
            return float(x.astype(dtype)) >= high
    lo, hi = -0x7F800000, 0x7F800000  # -inf, inf
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if reaches(mid):
            hi = mid
        else:
            lo = mid
    bits = np.uint32(hi if hi >= 0 else (-hi) | 0x80000000)
    return float(np.array(bits, np.uint32).view(np.float32))


def normal_plan(mean, std):
    return cpu.NORMAL, [mean, std]


def _phi(x):
    """Standard normal CDF, accurate in the lower tail."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def trunc_normal_plan(mean, std, a, b):
    """Normal(mean, std) truncated to the absolute bounds [a, b], by inverse CDF."""
    if std == 0.0:
        return cpu.CONSTANT, [min(max(mean, a), b)]
    alpha = (a - mean) / std
    beta = (b - mean) / std
    p_lo, q_hi = _phi(alpha), _phi(-beta)
    if beta <= 0.0:
        mass = _phi(beta) - p_lo
    elif alpha >= 0.0:
        mass = _phi(-alpha) - q_hi
    else:
        mass = 1.0 - p_lo - q_hi
    if not mass >= 1e-290:  # keeps every tail probability a normal float64
        raise ValueError(f"the interval [a, b] = [{a}, {b}] has probability below 1e-290 under "
                         f"normal(mean={mean}, std={std}): move it closer to the mean")
    return cpu.TRUNC_NORMAL, [mean, std, a, b, p_lo, q_hi, mass]
