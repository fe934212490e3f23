"""Parallel CPU drivers (``prange``) over the scalar source in ``philox.py``.

Every driver fills a *region* of a global row-major tensor into a target described by a flat
1-D view of its memory, a base offset and per-dimension strides in elements (any sign). The
region is cut into work items of at most ``CHUNK`` consecutive elements of one row; each item
generates whole Philox blocks into a small tile (aligned to the block grid, so the values are
those of the global indices whatever the cut) and stores them with the target's stride. Work
items, not threads, are the unit, so thread count and scheduling never change a bit.
"""
import numpy as np
from numba import njit, prange

from .philox import (
    box_muller_f32, box_muller_f64, f32_to_bf16_bits, f32_to_f16_bits, join64,
    open_uniform_pair_u32, open_uniform_pair_u64, philox_block, truncated_normal, u32, u64,
    uniform_f32, uniform_f64,
)

driver = njit(parallel=True, cache=True, error_model="numpy")
helper = njit(inline="always", cache=True, error_model="numpy")

CHUNK = 4096  # elements per work item: a float32 tile of 16 KiB stays in L1

# unsigned tile offsets: a signed index costs a wraparound check that blocks vectorization
ONE, TWO, THREE, FOUR = u64(1), u64(2), u64(3), u64(4)

# what a driver generates (``kind``) and the meaning of ``params`` for each
CONSTANT = 0      # params[0] = value (filled by fill_value, without a tile)
UNIFORM = 1       # params = low, high - low, threshold (a value >= threshold becomes low)
NORMAL = 2        # params = mean, std
TRUNC_NORMAL = 3  # params = mean, std, a, b, Phi(alpha), Phi(-beta), Phi(beta) - Phi(alpha)

# how a float32 tile is stored (``outcode``)
OUT_F32 = 0
OUT_F16 = 1
OUT_BF16 = 2


@helper
def _work_item(w, nchunk, base, ostride, rshape, rstart, gstride):
    """Global flat index, target offset and length of work item ``w``."""
    ndim = rshape.size
    last = ndim - 1
    row = w // nchunk
    c = w - row * nchunk
    g = rstart[last] + c * CHUNK
    o = base + c * CHUNK * ostride[last]
    for d in range(last - 1, -1, -1):
        i = row % rshape[d]
        row = row // rshape[d]
        g += (rstart[d] + i) * gstride[d]
        o += i * ostride[d]
    n = min(CHUNK, rshape[last] - c * CHUNK)
    return g, o, n


@helper
def _items(rshape):
    rows = 1
    for d in range(rshape.size - 1):
        rows *= rshape[d]
    nchunk = (rshape[rshape.size - 1] + CHUNK - 1) // CHUNK
    return rows * nchunk, nchunk


@helper
def _trunc_f32(w, mean, std, a, b, p_lo, q_hi, mass):
    u, v = open_uniform_pair_u32(w)
    return np.float32(truncated_normal(u, v, mean, std, a, b, p_lo, q_hi, mass))


@helper
def _gen_f32(kind, params, k0, k1, s0, s1, block0, nblocks, tile):
    """Fill ``tile[:4 * nblocks]`` with the float32 values of blocks ``block0 ...``."""
    if kind == UNIFORM:
        low = np.float32(params[0])
        span = np.float32(params[1])
        top = np.float32(params[2])
        for j in range(u64(nblocks)):
            x0, x1, x2, x3 = philox_block(u64(block0) + j, s0, s1, k0, k1)
            v0 = uniform_f32(x0) * span + low
            v1 = uniform_f32(x1) * span + low
            v2 = uniform_f32(x2) * span + low
            v3 = uniform_f32(x3) * span + low
            tile[FOUR * j] = low if v0 >= top else v0
            tile[FOUR * j + ONE] = low if v1 >= top else v1
            tile[FOUR * j + TWO] = low if v2 >= top else v2
            tile[FOUR * j + THREE] = low if v3 >= top else v3
    elif kind == NORMAL:
        mean = np.float32(params[0])
        std = np.float32(params[1])
        for j in range(u64(nblocks)):
            x0, x1, x2, x3 = philox_block(u64(block0) + j, s0, s1, k0, k1)
            z0, z1 = box_muller_f32(x0, x1)
            z2, z3 = box_muller_f32(x2, x3)
            tile[FOUR * j] = z0 * std + mean
            tile[FOUR * j + ONE] = z1 * std + mean
            tile[FOUR * j + TWO] = z2 * std + mean
            tile[FOUR * j + THREE] = z3 * std + mean
    else:  # TRUNC_NORMAL, in float64 then rounded once
        mean, std, a, b = params[0], params[1], params[2], params[3]
        p_lo, q_hi, mass = params[4], params[5], params[6]
        for j in range(u64(nblocks)):
            x0, x1, x2, x3 = philox_block(u64(block0) + j, s0, s1, k0, k1)
            tile[FOUR * j] = _trunc_f32(x0, mean, std, a, b, p_lo, q_hi, mass)
            tile[FOUR * j + ONE] = _trunc_f32(x1, mean, std, a, b, p_lo, q_hi, mass)
            tile[FOUR * j + TWO] = _trunc_f32(x2, mean, std, a, b, p_lo, q_hi, mass)
            tile[FOUR * j + THREE] = _trunc_f32(x3, mean, std, a, b, p_lo, q_hi, mass)


@helper
def _gen_f64(kind, params, k0, k1, s0, s1, block0, nblocks, tile):
    """Fill ``tile[:2 * nblocks]`` with the float64 values of blocks ``block0 ...``."""
    if kind == UNIFORM:
        low, span, top = params[0], params[1], params[2]
        for j in range(u64(nblocks)):
            x0, x1, x2, x3 = philox_block(u64(block0) + j, s0, s1, k0, k1)
            v0 = uniform_f64(join64(x0, x1)) * span + low
            v1 = uniform_f64(join64(x2, x3)) * span + low
            tile[TWO * j] = low if v0 >= top else v0
            tile[TWO * j + ONE] = low if v1 >= top else v1
    elif kind == NORMAL:
        mean, std = params[0], params[1]
        for j in range(u64(nblocks)):
            x0, x1, x2, x3 = philox_block(u64(block0) + j, s0, s1, k0, k1)
            z0, z1 = box_muller_f64(join64(x0, x1), join64(x2, x3))
            tile[TWO * j] = z0 * std + mean
            tile[TWO * j + ONE] = z1 * std + mean
    else:
        mean, std, a, b = params[0], params[1], params[2], params[3]
        p_lo, q_hi, mass = params[4], params[5], params[6]
        for j in range(u64(nblocks)):
            x0, x1, x2, x3 = philox_block(u64(block0) + j, s0, s1, k0, k1)
            u, v = open_uniform_pair_u64(join64(x0, x1))
            tile[TWO * j] = truncated_normal(u, v, mean, std, a, b, p_lo, q_hi, mass)
            u, v = open_uniform_pair_u64(join64(x2, x3))
            tile[TWO * j + ONE] = truncated_normal(u, v, mean, std, a, b, p_lo, q_hi, mass)


@helper
def _store(out, o, step, tile, first, n):
    """``out[o + j * step] = tile[first + j]``; the slice form vectorizes when contiguous.

    Offsets are relative to the lowest address of the target, so every index is >= 0 and can
    be unsigned (a signed index costs a wraparound check that blocks vectorization).
    """
    if step == 1:
        out[o:o + n] = tile[first:first + n]
    else:
        for j in range(n):
            out[u64(o + j * step)] = tile[u64(first + j)]


@helper
def _store_f32(out, o, step, tile, first, n, outcode):
    """Store ``tile[first:first + n]`` at ``out[o + j * step]``, rounding to the target format."""
    if outcode == OUT_F32:
        _store(out, o, step, tile, first, n)
    elif outcode == OUT_BF16:
        for j in range(n):
            out[u64(o + j * step)] = f32_to_bf16_bits(tile[u64(first + j)])
    else:
        for j in range(n):
            out[u64(o + j * step)] = f32_to_f16_bits(tile[u64(first + j)])


@driver
def fill_f32(out, base, ostride, rshape, rstart, gstride, key, stream, kind, params, outcode):
    """Fill a region with float32-generated values (float32, float16 or bfloat16 target).

    ``out`` is a flat float32 (``OUT_F32``) or uint16 (``OUT_F16``/``OUT_BF16``) view of the
    target's memory; ``key`` and ``stream`` are pairs of uint32 words.
    """
    k0, k1 = u32(key[0]), u32(key[1])
    s0, s1 = u32(stream[0]), u32(stream[1])
    last = rshape.size - 1
    total, nchunk = _items(rshape)
    for w in prange(total):
        g, o, n = _work_item(w, nchunk, base, ostride, rshape, rstart, gstride)
        first = g % 4
        nblocks = (first + n + 3) // 4
        tile = np.empty(4 * nblocks, np.float32)
        _gen_f32(kind, params, k0, k1, s0, s1, g // 4, nblocks, tile)
        _store_f32(out, o, ostride[last], tile, first, n, outcode)


@driver
def fill_f64(out, base, ostride, rshape, rstart, gstride, key, stream, kind, params):
    """Fill a region of a float64 target (two 64-bit draws per Philox block)."""
    k0, k1 = u32(key[0]), u32(key[1])
    s0, s1 = u32(stream[0]), u32(stream[1])
    last = rshape.size - 1
    total, nchunk = _items(rshape)
    for w in prange(total):
        g, o, n = _work_item(w, nchunk, base, ostride, rshape, rstart, gstride)
        first = g % 2
        nblocks = (first + n + 1) // 2
        tile = np.empty(2 * nblocks, np.float64)
        _gen_f64(kind, params, k0, k1, s0, s1, g // 2, nblocks, tile)
        _store(out, o, ostride[last], tile, first, n)


@driver
def fill_value(out, base, ostride, rshape, rstart, gstride, value):
    """Write ``value`` (an element's bits, of ``out``'s unsigned type) over a region.

    The constant family needs no tile: storing straight into the target runs at the speed of
    a plain write (measured 1.8x faster than through the tile at 16384 x 16384 float32).
    """
    step = ostride[rshape.size - 1]
    total, nchunk = _items(rshape)
    for w in prange(total):
        g, o, n = _work_item(w, nchunk, base, ostride, rshape, rstart, gstride)
        if step == 1:  # its own loop, so that it vectorizes
            for j in range(n):
                out[u64(o + j)] = value
        else:
            for j in range(n):
                out[u64(o + j * step)] = value


@driver
def fill_bits(out, base, ostride, rshape, rstart, gstride, key, stream):
    """Fill a region of a uint32 target with the raw Philox4x32-10 words."""
    k0, k1 = u32(key[0]), u32(key[1])
    s0, s1 = u32(stream[0]), u32(stream[1])
    last = rshape.size - 1
    total, nchunk = _items(rshape)
    for w in prange(total):
        g, o, n = _work_item(w, nchunk, base, ostride, rshape, rstart, gstride)
        first = g % 4
        nblocks = (first + n + 3) // 4
        tile = np.empty(4 * nblocks, np.uint32)
        block0 = u64(g // 4)
        for j in range(u64(nblocks)):
            x0, x1, x2, x3 = philox_block(block0 + j, s0, s1, k0, k1)
            tile[FOUR * j] = x0
            tile[FOUR * j + ONE] = x1
            tile[FOUR * j + TWO] = x2
            tile[FOUR * j + THREE] = x3
        _store(out, o, ostride[last], tile, first, n)


SPARSE_GROUP = 64  # columns per work item of zero_sparse: a row's words come as whole blocks


@driver
def zero_sparse(out, base, ostride, rbounds, rows, cols, key, stream, num_zeros):
    """Zero ``num_zeros`` rows per column of a ``(rows, cols)`` tensor (region ``rbounds``).

    Column ``c`` zeroes the rows with the smallest mask keys, the key of ``(r, c)`` being the
    raw word of global flat index ``rows * cols + r * cols + c`` (the indices just past the
    tensor's own, so values and mask never share a word); ties go to the smaller row. A work
    item takes ``SPARSE_GROUP`` neighbouring columns, so each row contributes a contiguous run
    of words (whole Philox blocks, each computed once) instead of one block per key.
    """
    k0, k1 = u32(key[0]), u32(key[1])
    s0, s1 = u32(stream[0]), u32(stream[1])
    r0, r1, c0, c1 = rbounds[0], rbounds[1], rbounds[2], rbounds[3]
    numel = rows * cols
    ngroups = (c1 - c0 + SPARSE_GROUP - 1) // SPARSE_GROUP
    for grp in prange(ngroups):
        g0 = c0 + grp * SPARSE_GROUP
        width = min(SPARSE_GROUP, c1 - g0)
        keys = np.empty((width, rows), np.uint64)
        for r in range(rows):
            i0 = numel + r * cols + g0  # global index of (r, g0)
            for b in range(i0 // 4, (i0 + width - 1) // 4 + 1):
                x = philox_block(u64(b), s0, s1, k0, k1)
                for w in range(4):
                    j = 4 * b + w - i0
                    if 0 <= j < width:
                        keys[j, r] = (u64(x[w]) << u64(32)) | u64(r)
        for j in range(width):
            cut = np.partition(keys[j], num_zeros - 1)[num_zeros - 1]
            c = g0 + j
            for r in range(r0, r1):
                if keys[j, r] <= cut:
                    out[base + (r - r0) * ostride[0] + (c - c0) * ostride[1]] = 0
