"""Parallel CPU drivers (``prange``) over the scalar source in ``philox.py``.

Every driver fills a *region* of a global row-major tensor into a target described by a flat
1-D view of its memory, a base offset and per-dimension strides in elements (any sign). The
region is cut into work items of at most ``CHUNK`` consecutive elements of one row. An item
writes its whole Philox blocks straight into the target and the partial blocks at its ends
through a scratch block (computed whole, so the values are those of the global indices
whatever the cut). Work items, not threads, are the unit, so thread count and scheduling never
change a bit.
"""
import numpy as np
from llvmlite import binding as llvm, ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.core.extending import intrinsic

from .codes import NORMAL, OUT_BF16, POLAR, TRUNC_NORMAL_F32, UNIFORM
from .philox import (
    PPND7_CENTRAL_EDGE_F32, PPND7_NEAR_LIMIT_F32, TAIL_NEAR_LIMIT, box_muller_f32,
    box_muller_f64, f32_to_bf16_bits, f32_to_f16_bits, join64, normal_affine_f32,
    normal_affine_f64, normal_quantile_central, open_uniform_pair_u32, open_uniform_pair_u64,
    philox_block, polar_f32, polar_f64, ppnd7_central_f32, quantile_is_central,
    quantile_tail_from_r, quantile_tail_r, trunc_centred_f32, trunc_from_quantile,
    trunc_tail_from_r_f32, trunc_tail_prob, trunc_tail_r_f32, trunc_uniforms_f32,
    trunc_value_f32, u32, u64, uniform_f32, uniform_f64,
)

driver = njit(parallel=True, cache=True, error_model="numpy")
helper = njit(inline="always", cache=True, error_model="numpy")
# not inlined: compiled once, called for the whole blocks of a work item and, into a scratch
# block, for the partial blocks at its ends (inlining every call tripled the compile time)
units = njit(cache=True, error_model="numpy")


@intrinsic
def _wide_vectors(typingctx):
    """Mark the calling function for 512-bit vectors (LLVM's ``prefer-vector-width``).

    LLVM tunes Intel cores with AVX-512 for 256-bit vectors, because early ones slowed their
    clock for 512-bit work. The transforms are bound by floating-point throughput, which
    512-bit vectors raise where the core has them. Elementwise IEEE
    arithmetic with no reassociation: the width never changes a bit. Without AVX-512 the
    attribute changes nothing. llvmlite only accepts the attributes it knows, and writes the
    members of the set as they are: the plain ``set.add`` passes a string attribute.
    """
    def codegen(context, builder, signature, args):
        set.add(builder.function.attributes, '"prefer-vector-width"="512"')
        return context.get_dummy_value()
    return types.none(), codegen


# LLVM 17 removed typed pointers: from Numba 0.62 (llvmlite 0.45, LLVM 20) a pointer is `ptr`
# and the intrinsic is llvm.prefetch.p0; Numba 0.59-0.61 (LLVM 14-15) run LLVM with typed
# pointers, which reads no `ptr`: there the operand is an i8* and the name llvm.prefetch.p0i8
_OPAQUE_POINTERS = llvm.llvm_version_info[0] >= 17


@intrinsic
def _prefetch_l2(typingctx, arr, i):
    """Bring the cache line of ``arr[i]`` into L2 (LLVM's ``llvm.prefetch``: ``prefetcht1``).

    A line read ahead of its stores comes in exclusive, and the stores then own it without a
    read for ownership on the spot. The normal's stores come in a burst after the Philox pass
    of its item, and a core alone writes at about half the machine's bandwidth: lines read
    into L2 ahead make the burst a run of L2 hits. A hint only: no value depends on it.
    """
    def codegen(context, builder, signature, args):
        array = context.make_array(signature.args[0])(context, builder, args[0])
        ptr = builder.gep(array.data, [args[1]])
        if _OPAQUE_POINTERS:
            pty, name = ir.PointerType(), "llvm.prefetch.p0"
        else:
            pty, name = ir.IntType(8).as_pointer(), "llvm.prefetch.p0i8"
            ptr = builder.bitcast(ptr, pty)
        fnty = ir.FunctionType(ir.VoidType(), [pty] + [ir.IntType(32)] * 3)
        fn = cgutils.get_or_insert_function(builder.module, fnty, name)
        # read, locality 2 (L2), data cache
        builder.call(fn, [ptr] + [ir.IntType(32)(v) for v in (0, 2, 1)])
        return context.get_dummy_value()
    return types.none(arr, i), codegen


CHUNK = 4096  # elements per work item (a normal item's 16 KiB word tile stays in L1)

PAIR_GROUP = u64(64)  # blocks between prefetches in _blocks_pairs (16 output lines)

# unsigned offsets: a signed index costs a wraparound check that blocks vectorization
ONE, TWO, THREE, FOUR = u64(1), u64(2), u64(3), u64(4)



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
def _cut(g, n, per):
    """Split elements ``g ... g + n - 1`` at the grid of units of ``per`` elements.

    Returns ``head`` (the elements before the first whole unit) and ``units`` (the number of
    whole units after it); the rest, ``n - head - per * units``, is the tail.
    """
    head = min(n, (per - g % per) % per)
    return head, (n - head) // per


@units
def _blocks_bits(kind, params, out, o, b0, nb, k0, k1, s0, s1):
    """The ``4 * nb`` raw words of blocks ``b0 ...`` into ``out[o:]`` (``kind`` and
    ``params`` unused: the signature of the other ``_blocks_*``). Also the first pass of the
    normal and truncated-normal blocks."""
    _wide_vectors()
    o = u64(o)
    for q in range(u64(nb)):
        x0, x1, x2, x3 = philox_block(u64(b0) + q, s0, s1, k0, k1)
        out[o + FOUR * q] = x0
        out[o + FOUR * q + ONE] = x1
        out[o + FOUR * q + TWO] = x2
        out[o + FOUR * q + THREE] = x3


@helper
def _uniform_f32(w, low, span, top):
    v = uniform_f32(w) * span + low
    return low if v >= top else v


@helper
def _draw(words, j, wide):
    """``(u, 1 - u)`` of draw ``j``: one word (float32 targets) or two (``wide``, float64)."""
    if wide:
        return open_uniform_pair_u64(join64(words[TWO * j], words[TWO * j + ONE]))
    return open_uniform_pair_u32(words[j])


@units
def _trunc_normal(out, o, words, ndraws, wide, params):
    """Truncated-normal values of ``ndraws`` draws of ``words`` into ``out[o:]``.

    ``truncated_normal`` evaluates both branches of AS 241 for every element (what a GPU
    thread does); here the central branch runs vectorized over all draws, then the tail branch
    vectorized over the draws that need it (gathered first), with the same bits. For the
    default bounds of 2 standard deviations 11% of the draws are in the tails; within 1.4
    standard deviations none are, and the item ends after the first loop. The tail branch
    takes ``r = sqrt(-log p)`` first; when every tail draw of the item is in AS 241's near
    branch (``r <= 5``, ``p >= 1.4e-11``: always for bounds within 6.7 standard deviations),
    its rational runs with the near coefficients as constants, without the per-element
    selection (which would take floating-point ports from the arithmetic).
    """
    _wide_vectors()
    mean, std, lo, hi = params[0], params[1], params[2], params[3]
    p_lo, q_hi, mass = params[4], params[5], params[6]
    pp = np.empty(ndraws, np.float64)
    ntail = 0  # a count, not a flag array: a byte store per element slows this loop
    for j in range(u64(ndraws)):
        u, v = _draw(words, j, wide)
        p, lower = trunc_tail_prob(u, v, p_lo, q_hi, mass)
        out[o + j] = trunc_from_quantile(normal_quantile_central(p), lower, mean, std, lo, hi)
        pp[j] = p
        ntail += 0 if quantile_is_central(p) else 1
    if ntail == 0:  # every draw central (bounds within 1.4 standard deviations): done
        return
    index = np.empty(ndraws, np.int64)
    nt = 0
    for j in range(ndraws):  # the tail draws' indices (one comparison each, no branch)
        index[nt] = j
        nt += 0 if quantile_is_central(pp[j]) else 1
    for k in range(nt):  # their tail probabilities, gathered in place (index[k] >= k)
        pp[k] = pp[index[k]]
    far = 0
    for k in range(nt):  # pp becomes r = sqrt(-log p)
        r = quantile_tail_r(pp[k])
        pp[k] = r
        far += 0 if r <= TAIL_NEAR_LIMIT else 1
    if far == 0:  # the usual case (p > 1.4e-11): the near branch alone, no selections
        for k in range(nt):
            pp[k] = quantile_tail_from_r(pp[k], True)
    else:
        for k in range(nt):
            pp[k] = quantile_tail_from_r(pp[k], pp[k] <= TAIL_NEAR_LIMIT)
    for k in range(nt):
        j = index[k]
        u, v = _draw(words, j, wide)
        p, lower = trunc_tail_prob(u, v, p_lo, q_hi, mass)
        out[o + j] = trunc_from_quantile(pp[k], lower, mean, std, lo, hi)


# LLVM 19 has a compress into a register (``llvm.experimental.vector.compress``: ``vpcompressd``
# to a register, then a plain store); before it only the compressing store, which some cores
# (AMD Zen 4) run in microcode, tens of cycles a time
_VECTOR_COMPRESS = llvm.llvm_version_info[0] >= 19


@intrinsic
def _append_below(typingctx, values, j, limit, index, k):
    """Append to ``index[k:]`` the positions among ``j ... j + 15`` whose ``values`` are below
    ``limit`` (in order), and return the new count. ``index`` must have 16 elements of room
    past the count: the compressed positions are stored as one whole vector.

    The positions of the truncated normal's tail draws, found 16 at a time: a scalar loop
    that appends one position per test costs as much as the central branch itself.
    """
    sig = types.int64(values, j, limit, index, k)

    def codegen(context, builder, signature, args):
        f32, i32, i64 = ir.FloatType(), ir.IntType(32), ir.IntType(64)
        fvec, ivec = ir.VectorType(f32, 16), ir.VectorType(i32, 16)
        mask_t = ir.VectorType(ir.IntType(1), 16)
        vals = context.make_array(signature.args[0])(context, builder, args[0])
        idx = context.make_array(signature.args[3])(context, builder, args[3])
        jj = context.cast(builder, args[1], signature.args[1], types.int64)
        lim = context.cast(builder, args[2], signature.args[2], types.float32)
        kk = context.cast(builder, args[4], signature.args[4], types.int64)
        v = builder.load(builder.bitcast(builder.gep(vals.data, [jj]), fvec.as_pointer()),
                         align=4)
        zeros16 = ir.Constant(ivec, [0] * 16)

        def splat(vec_t, x):
            one = builder.insert_element(ir.Constant(vec_t, ir.Undefined), x, i32(0))
            return builder.shuffle_vector(one, ir.Constant(vec_t, ir.Undefined), zeros16)
        mask = builder.fcmp_ordered("<", v, splat(fvec, lim))
        pos = builder.add(splat(ivec, builder.trunc(jj, i32)),
                          ir.Constant(ivec, list(range(16))))
        dst = builder.gep(idx.data, [kk])
        if _VECTOR_COMPRESS:
            compress = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ivec, [ivec, mask_t, ivec]),
                "llvm.experimental.vector.compress.v16i32")
            packed = builder.call(compress, [pos, mask, ir.Constant(ivec, ir.Undefined)])
            builder.store(packed, builder.bitcast(dst, ivec.as_pointer()), align=4)
        else:
            pty = ir.PointerType() if _OPAQUE_POINTERS else i32.as_pointer()
            store = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), [ivec, pty, mask_t]),
                "llvm.masked.compressstore.v16i32")
            builder.call(store, [pos, builder.bitcast(dst, pty), mask])
        ctpop = cgutils.get_or_insert_function(builder.module, ir.FunctionType(i32, [i32]),
                                               "llvm.ctpop.i32")
        bits = builder.zext(builder.bitcast(mask, ir.IntType(16)), i32)
        return builder.add(kk, builder.zext(builder.call(ctpop, [bits]), i64))
    return sig, codegen


@units
def _trunc_normal_f32(out, o, words, n, params):
    """Float32 truncated-normal values of the ``n`` words into ``out[o:]``, as
    ``philox.truncated_normal_f32`` gives them: PPND7's central rational vectorized over every
    draw, then its tail rationals (``|p - 1/2| > 0.425``: 11% of the draws of a wide interval,
    none within 1.44 standard deviations of the mean) vectorized over the tail draws, found
    16 at a time by compressing stores and gathered."""
    _wide_vectors()
    mean, std = np.float32(params[0]), np.float32(params[1])
    lo, hi = np.float32(params[2]), np.float32(params[3])
    p_lo, q_hi = np.float32(params[4]), np.float32(params[5])
    mass, mass2 = np.float32(params[6]), np.float32(params[7])
    c_lo, c_lo2 = np.float32(params[8]), np.float32(params[9])
    edge = -PPND7_CENTRAL_EDGE_F32
    cc = np.empty(n + 16, np.float32)  # -|p - 1/2|, padded for the last group of 16
    ntail = 0
    for j in range(u64(n)):
        u = trunc_uniforms_f32(words[j])[0]
        centred = trunc_centred_f32(u, mass, mass2, c_lo, c_lo2)
        out[o + j] = trunc_value_f32(ppnd7_central_f32(centred), mean, std, lo, hi)
        side = -abs(centred)
        cc[j] = side
        ntail += 0 if side >= edge else 1
    if ntail == 0:
        return
    for j in range(n, n + 16):
        cc[j] = np.float32(0.0)  # never a tail
    index = np.empty(n + 16, np.int32)
    nt = 0
    for j in range(0, n, 16):
        nt = _append_below(cc, j, edge, index, nt)
    tw = np.empty(nt, np.uint32)
    for k in range(nt):  # the tail draws' words, gathered: the next loop runs contiguous
        tw[k] = words[index[k]]
    far = 0
    for k in range(u64(nt)):  # cc becomes r = sqrt(-log t)
        u, v = trunc_uniforms_f32(tw[k])
        r = trunc_tail_r_f32(u, v, trunc_centred_f32(u, mass, mass2, c_lo, c_lo2), p_lo, q_hi,
                             mass)
        cc[k] = r
        far += 0 if r <= PPND7_NEAR_LIMIT_F32 else 1
    # the near rational alone when no draw needs the far one (r <= 5: always for bounds
    # within 6.7 standard deviations of the mean): no per-element selection of coefficients
    if far == 0:
        for k in range(u64(nt)):
            centred = trunc_centred_f32(trunc_uniforms_f32(tw[k])[0], mass, mass2, c_lo, c_lo2)
            cc[k] = trunc_value_f32(trunc_tail_from_r_f32(cc[k], True, centred), mean, std,
                                    lo, hi)
    else:
        for k in range(u64(nt)):
            centred = trunc_centred_f32(trunc_uniforms_f32(tw[k])[0], mass, mass2, c_lo, c_lo2)
            r = cc[k]
            cc[k] = trunc_value_f32(trunc_tail_from_r_f32(r, r <= PPND7_NEAR_LIMIT_F32, centred),
                                    mean, std, lo, hi)
    for k in range(nt):
        out[o + index[k]] = cc[k]


@helper
def _pair_words(radius, angle, q, b0, k0, k1, s0, s1):
    """Block ``b0 + q``'s radius words into ``radius[2q:2q + 2]``, its angle words into
    ``angle[2q:2q + 2]``."""
    x0, x1, x2, x3 = philox_block(u64(b0) + q, s0, s1, k0, k1)
    radius[TWO * q] = x0
    radius[TWO * q + ONE] = x2
    angle[TWO * q] = x1
    angle[TWO * q + ONE] = x3


@units
def _blocks_pairs(radius, angle, b0, nb, k0, k1, s0, s1, ahead, a):
    """The words of blocks ``b0 ...`` as the Box-Muller pairs take them: pair ``p`` is words
    ``2p`` (``radius[p]``) and ``2p + 1`` (``angle[p]``), so block ``b`` gives pairs ``2b``
    (``x0, x1``) and ``2b + 1`` (``x2, x3``). Two arrays rather than one: no shuffles to
    split the words again in the transform, and fewer here.

    Meanwhile ``4 nb`` elements of ``ahead`` from ``a`` on are read into L2 (``_prefetch_l2``;
    a line for each four blocks, the prefetches of a group of ``PAIR_GROUP`` blocks together,
    so that the Philox loop between them stays vectorized). The caller passes the elements
    just after its own: a thread takes consecutive work items and a row's items are adjacent,
    so these are mostly the lines of the thread's next item, in L2 long before its stores
    come. A prefetch never faults, so lines past the end of the target are harmless.
    """
    _wide_vectors()
    ng = u64(nb) // PAIR_GROUP
    for g in range(ng):
        for line in range(PAIR_GROUP // FOUR):
            _prefetch_l2(ahead, a + FOUR * (g * PAIR_GROUP + FOUR * line))
        for r in range(PAIR_GROUP):
            _pair_words(radius, angle, g * PAIR_GROUP + r, b0, k0, k1, s0, s1)
    for q in range(ng * PAIR_GROUP, u64(nb)):
        _pair_words(radius, angle, q, b0, k0, k1, s0, s1)


@units
def _blocks_f32(kind, params, out, o, b0, nb, k0, k1, s0, s1):
    """The ``4 * nb`` float32 values of blocks ``b0 ...`` into ``out[o:]``.

    Element ``i`` of the global tensor takes word ``i``; normal: words ``2p, 2p + 1`` give
    elements ``2p, 2p + 1``. Values go straight into the target as they are made, so that the
    stores overlap the arithmetic (through a tile they would come in bursts that stall on
    memory). Normal and truncated normal take two passes, the words into an L1 tile and then
    the transform: Philox runs in 64-bit lanes and the transforms in 32-bit or float64 ones,
    and fused they would all run at the narrower width.
    """
    _wide_vectors()
    o = u64(o)
    if kind == UNIFORM:
        low = np.float32(params[0])
        span = np.float32(params[1])
        top = np.float32(params[2])
        for q in range(u64(nb)):
            x0, x1, x2, x3 = philox_block(u64(b0) + q, s0, s1, k0, k1)
            j = o + FOUR * q
            out[j] = _uniform_f32(x0, low, span, top)
            out[j + ONE] = _uniform_f32(x1, low, span, top)
            out[j + TWO] = _uniform_f32(x2, low, span, top)
            out[j + THREE] = _uniform_f32(x3, low, span, top)
        return
    if kind == NORMAL:
        words = np.empty(4 * nb, np.uint32)  # one allocation for both halves
        radius = words[:2 * nb]
        angle = words[2 * nb:]
        # prefetch the lines after this item's (the thread's next item): they arrive in L2
        # long before their stores, where this item's own lines would come too late
        _blocks_pairs(radius, angle, b0, nb, k0, k1, s0, s1, out, o + FOUR * u64(nb))
        mean = np.float32(params[0])
        std = np.float32(params[1])
        for p in range(TWO * u64(nb)):
            z0, z1 = box_muller_f32(radius[p], angle[p])
            out[o + TWO * p] = normal_affine_f32(z0, mean, std)
            out[o + TWO * p + ONE] = normal_affine_f32(z1, mean, std)
    elif kind == POLAR:  # pairs as the normal's: the real and imaginary parts of one element
        words = np.empty(4 * nb, np.uint32)
        radius = words[:2 * nb]
        angle = words[2 * nb:]
        _blocks_pairs(radius, angle, b0, nb, k0, k1, s0, s1, out, o + FOUR * u64(nb))
        scale, rayleigh, c = params[0], params[1] != 0.0, params[2]
        for p in range(TWO * u64(nb)):
            re, im = polar_f32(radius[p], angle[p], scale, rayleigh, c)
            out[o + TWO * p] = re
            out[o + TWO * p + ONE] = im
    elif kind == TRUNC_NORMAL_F32:
        words = np.empty(4 * nb, np.uint32)
        _blocks_bits(0, params, words, 0, b0, nb, k0, k1, s0, s1)
        _trunc_normal_f32(out, o, words, 4 * nb, params)
    else:  # TRUNC_NORMAL, in float64 then rounded once
        words = np.empty(4 * nb, np.uint32)
        _blocks_bits(0, params, words, 0, b0, nb, k0, k1, s0, s1)
        _trunc_normal(out, o, words, 4 * nb, False, params)


@units
def _round_half(out, o, tile, n, outcode):
    """``tile[:n]`` rounded to float16 or bfloat16 bits into the contiguous ``out[o:o + n]``
    (a unit of its own for the 512-bit vectors; the driver keeps the strided case)."""
    _wide_vectors()
    o = u64(o)
    if outcode == OUT_BF16:
        for j in range(u64(n)):
            out[o + j] = f32_to_bf16_bits(tile[j])
    else:
        for j in range(u64(n)):
            out[o + j] = f32_to_f16_bits(tile[j])


@units
def _blocks_f64(kind, params, out, o, b0, nb, k0, k1, s0, s1):
    """The ``2 * nb`` float64 values of blocks ``b0 ...`` into ``out[o:]``: block ``b`` gives
    elements ``2b`` and ``2b + 1`` (words ``x0, x1`` and ``x2, x3``)."""
    _wide_vectors()
    o = u64(o)
    if kind == UNIFORM:
        low, span, top = params[0], params[1], params[2]
        for q in range(u64(nb)):
            x0, x1, x2, x3 = philox_block(u64(b0) + q, s0, s1, k0, k1)
            v0 = uniform_f64(join64(x0, x1)) * span + low
            v1 = uniform_f64(join64(x2, x3)) * span + low
            out[o + TWO * q] = low if v0 >= top else v0
            out[o + TWO * q + ONE] = low if v1 >= top else v1
    elif kind == NORMAL:
        mean, std = params[0], params[1]
        for q in range(u64(nb)):
            x0, x1, x2, x3 = philox_block(u64(b0) + q, s0, s1, k0, k1)
            z0, z1 = box_muller_f64(join64(x0, x1), join64(x2, x3))
            out[o + TWO * q] = normal_affine_f64(z0, mean, std)
            out[o + TWO * q + ONE] = normal_affine_f64(z1, mean, std)
    elif kind == POLAR:
        scale, rayleigh, c = params[0], params[1] != 0.0, params[2]
        for q in range(u64(nb)):
            x0, x1, x2, x3 = philox_block(u64(b0) + q, s0, s1, k0, k1)
            re, im = polar_f64(join64(x0, x1), join64(x2, x3), scale, rayleigh, c)
            out[o + TWO * q] = re
            out[o + TWO * q + ONE] = im
    else:  # TRUNC_NORMAL, as in _blocks_f32
        words = np.empty(4 * nb, np.uint32)
        _blocks_bits(0, params, words, 0, b0, nb, k0, k1, s0, s1)
        _trunc_normal(out, o, words, 2 * nb, True, params)


@helper
def _span(blocks, per, kind, params, out, o, g, n, k0, k1, s0, s1):
    """Elements ``g ... g + n - 1`` into ``out[o:o + n]``: the whole blocks (``per`` elements
    each) straight in, the partial ones at both ends through a scratch block."""
    head, nb = _cut(g, n, per)
    if head > 0:
        scratch = np.empty(per, out.dtype)
        blocks(kind, params, scratch, 0, g // per, 1, k0, k1, s0, s1)
        for j in range(head):
            out[o + j] = scratch[g % per + j]
    blocks(kind, params, out, o + head, (g + head) // per, nb, k0, k1, s0, s1)
    done = head + per * nb
    if done < n:
        scratch = np.empty(per, out.dtype)
        blocks(kind, params, scratch, 0, (g + done) // per, 1, k0, k1, s0, s1)
        for j in range(n - done):
            out[o + done + j] = scratch[j]


@helper
def _plan(key, stream, ostride, rshape):
    """Key and stream words, the innermost target stride and the work items of a driver."""
    total, nchunk = _items(rshape)
    return (u32(key[0]), u32(key[1]), u32(stream[0]), u32(stream[1]),
            ostride[rshape.size - 1], total, nchunk)


@helper
def _item(blocks, per, kind, params, out, o, step, g, n, k0, k1, s0, s1):
    """Elements ``g ... g + n - 1`` at ``out[o + j * step]``: straight in when the row is
    contiguous, else through a tile and a strided copy (with unsigned offsets: ``o + j * step``
    is >= 0 even when ``step`` is negative, and a signed index costs a wraparound check)."""
    if step == 1:
        _span(blocks, per, kind, params, out, o, g, n, k0, k1, s0, s1)
    else:
        tile = np.empty(n, out.dtype)
        _span(blocks, per, kind, params, tile, 0, g, n, k0, k1, s0, s1)
        for j in range(n):
            out[u64(o + j * step)] = tile[j]


@driver
def fill_f32(out, base, ostride, rshape, rstart, gstride, key, stream, kind, params):
    """Fill a region of a float32 target (``out``: a flat view of its memory).

    ``key`` and ``stream`` are pairs of uint32 words; ``kind`` and ``params`` say what is
    generated (see the constants above).
    """
    k0, k1, s0, s1, step, total, nchunk = _plan(key, stream, ostride, rshape)
    for w in prange(total):
        g, o, n = _work_item(w, nchunk, base, ostride, rshape, rstart, gstride)
        _item(_blocks_f32, 4, kind, params, out, o, step, g, n, k0, k1, s0, s1)


@driver
def fill_half(out, base, ostride, rshape, rstart, gstride, key, stream, kind, params, outcode):
    """Fill a region of a float16 (``OUT_F16``) or bfloat16 (``OUT_BF16``) target.

    ``out`` is a flat uint16 view of its memory. The float32 values go through an L1 tile and
    are rounded once on the way out.
    """
    k0, k1, s0, s1, step, total, nchunk = _plan(key, stream, ostride, rshape)
    for w in prange(total):
        g, o, n = _work_item(w, nchunk, base, ostride, rshape, rstart, gstride)
        tile = np.empty(n, np.float32)
        if step == 1:
            # the item's output lines into L2 while its values are made; here all at once:
            # the prefetches of a float32 normal item, twice as many, are spread over its
            # Philox pass instead (see _blocks_pairs)
            for line in range(0, n, 32):
                _prefetch_l2(out, u64(o + line))
        _item(_blocks_f32, 4, kind, params, tile, 0, 1, g, n, k0, k1, s0, s1)
        if step == 1:
            _round_half(out, o, tile, n, outcode)
        elif outcode == OUT_BF16:
            for j in range(n):
                out[u64(o + j * step)] = f32_to_bf16_bits(tile[j])
        else:
            for j in range(n):
                out[u64(o + j * step)] = f32_to_f16_bits(tile[j])


@driver
def fill_f64(out, base, ostride, rshape, rstart, gstride, key, stream, kind, params):
    """Fill a region of a float64 target (two 64-bit draws per Philox block), as ``fill_f32``."""
    k0, k1, s0, s1, step, total, nchunk = _plan(key, stream, ostride, rshape)
    for w in prange(total):
        g, o, n = _work_item(w, nchunk, base, ostride, rshape, rstart, gstride)
        _item(_blocks_f64, 2, kind, params, out, o, step, g, n, k0, k1, s0, s1)


@driver
def fill_value(out, base, ostride, rshape, rstart, gstride, value):
    """Write ``value`` (an element's bits, of ``out``'s unsigned type) over a region.

    The constant family needs no tile: storing straight into the target runs at the speed of
    a plain write, where a tile would copy every element twice.
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
    """Fill a region of a uint32 target with the raw Philox4x32-10 words, as ``fill_f32``."""
    k0, k1, s0, s1, step, total, nchunk = _plan(key, stream, ostride, rshape)
    params = np.empty(0, np.float64)
    for w in prange(total):
        g, o, n = _work_item(w, nchunk, base, ostride, rshape, rstart, gstride)
        _item(_blocks_bits, 4, 0, params, out, o, step, g, n, k0, k1, s0, s1)


# --- one work item, without a parallel region --------------------------------------------
# A whole contiguous target of at most CHUNK elements is the parallel drivers' single work
# item (g = 0, o = 0, step = 1): the same units fill it, so the bits are the same, without the
# cost of waking the thread team.


@units
def fill_f32_item(out, n, key, stream, kind, params):
    """``fill_f32`` of a whole contiguous target of ``n <= CHUNK`` elements, serially."""
    k0, k1, s0, s1 = u32(key[0]), u32(key[1]), u32(stream[0]), u32(stream[1])
    _span(_blocks_f32, 4, kind, params, out, 0, 0, n, k0, k1, s0, s1)


@units
def fill_f64_item(out, n, key, stream, kind, params):
    """``fill_f64`` of a whole contiguous target of ``n <= CHUNK`` elements, serially."""
    k0, k1, s0, s1 = u32(key[0]), u32(key[1]), u32(stream[0]), u32(stream[1])
    _span(_blocks_f64, 2, kind, params, out, 0, 0, n, k0, k1, s0, s1)


@units
def fill_half_item(out, n, key, stream, kind, params, outcode):
    """``fill_half`` of a whole contiguous target of ``n <= CHUNK`` elements, serially."""
    k0, k1, s0, s1 = u32(key[0]), u32(key[1]), u32(stream[0]), u32(stream[1])
    tile = np.empty(n, np.float32)
    _span(_blocks_f32, 4, kind, params, tile, 0, 0, n, k0, k1, s0, s1)
    _round_half(out, 0, tile, n, outcode)


@units
def fill_bits_item(out, n, key, stream):
    """``fill_bits`` of a whole contiguous target of ``n <= CHUNK`` elements, serially."""
    k0, k1, s0, s1 = u32(key[0]), u32(key[1]), u32(stream[0]), u32(stream[1])
    _span(_blocks_bits, 4, 0, np.empty(0, np.float64), out, 0, 0, n, k0, k1, s0, s1)


SPARSE_GROUP = 64  # columns per work item of zero_sparse: a row's words come as whole blocks


@driver
def zero_sparse(out, base, ostride, rbounds, rows, cols, key, stream, num_zeros, first):
    """Zero ``num_zeros`` rows per column of a ``(rows, cols)`` tensor (region ``rbounds``).

    Column ``c`` zeroes the rows with the smallest mask keys, the key of ``(r, c)`` being the
    raw word ``first + r * cols + c`` of the stream (``first``: the first word past those the
    values use, ``rows * cols`` for 32-bit draws, ``2 * rows * cols`` for float64's 64-bit
    ones, so values and mask never share a word); ties go to the smaller row. A work
    item takes ``SPARSE_GROUP`` neighbouring columns, so each row contributes a contiguous run
    of words (whole Philox blocks, each computed once) instead of one block per key.
    """
    k0, k1 = u32(key[0]), u32(key[1])
    s0, s1 = u32(stream[0]), u32(stream[1])
    r0, r1, c0, c1 = rbounds[0], rbounds[1], rbounds[2], rbounds[3]
    ngroups = (c1 - c0 + SPARSE_GROUP - 1) // SPARSE_GROUP
    for grp in prange(ngroups):
        g0 = c0 + grp * SPARSE_GROUP
        width = min(SPARSE_GROUP, c1 - g0)
        keys = np.empty((width, rows), np.uint64)
        for r in range(rows):
            i0 = first + r * cols + g0  # global word index of (r, g0)
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
