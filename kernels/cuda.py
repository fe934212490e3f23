"""CUDA kernels (grid-stride loops) over the scalar source in ``philox.py``.

Every scalar function of ``philox.py`` is compiled again here as a CUDA device function by
``philox.for_target``: the same Python code as the CPU kernels, so integer, uniform and constant
outputs are bit-identical to the CPU's, and under the CUDA simulator (which runs this code as
Python on NumPy scalars) every output is. On a real GPU, NVVM contracts ``a * b + c`` into one
fused multiply-add by default; the uniforms avoid that through ``mul_rn_f32``/``mul_rn_f64``
(``__fmul_rn``/``__dmul_rn`` here). The float32 Box-Muller spells its multiply-adds as
explicit FMAs (``fma_f32``: ``fma.rn.f32`` here, the FMA instruction on the CPU), leaving
nothing to contract, and so do the truncated normal's quantile polynomials (``fma_f64``); the
float64 normal and the float64 logarithm of the quantile's tail keep the contraction for
speed and differ from the CPU by a few units in the last place.

Layout of a launch: the target is the region of a global row-major tensor, described (as for the
CPU drivers) by a flat 1-D view of its memory, a base offset and per-dimension tuples
``ostride`` (target strides in elements), ``rshape``, ``rstart`` and ``gstride`` (global
strides). A *unit* of work is one Philox block inside one row of the region: each thread takes
units ``grid(1), grid(1) + gridsize(1), ...``, generates the whole block and writes the elements
of it that fall in its row: with one vector store (16 bytes for float32, float64 and the raw
words, 8 for the 16-bit formats) where the row is contiguous, the block lies inside it and the
address is aligned to the vector, else element by element. Consecutive threads write
consecutive pieces of a row, so a warp's stores coalesce. Threads per block and the grid
size are launch parameters chosen by the caller at call time, never globals frozen into a
kernel. No signatures are given: kernels compile on first use, so importing costs nothing.
"""
from numba import config, cuda

from . import philox
from .philox import f32, f64, u64

from .codes import OUT_BF16, OUT_F16, OUT_F32


def _device(func):
    return cuda.jit(device=True)(func)


def _fmul_rn(a, b):
    return cuda.libdevice.fmul_rn(a, b)


def _dmul_rn(a, b):
    return cuda.libdevice.dmul_rn(a, b)


def _fma_f32(a, b, c):
    return cuda.fma(f32(a), f32(b), f32(c))


def _fma_f64(a, b, c):
    return cuda.fma(f64(a), f64(b), f64(c))


# The simulator runs plain Python (no contraction to avoid, no libdevice, no FMA instruction):
# it keeps the source, with the FMA emulations (20 calls per normal pair) as plain functions,
# because a simulated device function call swaps the module's globals, which costs more
# than the arithmetic it calls.
if config.ENABLE_CUDASIM:
    _S = philox.for_target(_device, unwrapped=("fma_f32", "fma_f64"))
else:
    _S = philox.for_target(_device, {"mul_rn_f32": _fmul_rn, "mul_rn_f64": _dmul_rn,
                                     "fma_f32": _fma_f32, "fma_f64": _fma_f64})
philox_block = _S["philox_block"]
join64 = _S["join64"]
uniform_affine_f32 = _S["uniform_affine_f32"]
uniform_affine_f64 = _S["uniform_affine_f64"]
box_muller_f32 = _S["box_muller_f32"]
normal_affine_f32 = _S["normal_affine_f32"]
box_muller_f64 = _S["box_muller_f64"]
polar_f32 = _S["polar_f32"]
polar_f64 = _S["polar_f64"]
open_uniform_pair_u32 = _S["open_uniform_pair_u32"]
open_uniform_pair_u64 = _S["open_uniform_pair_u64"]
truncated_normal = _S["truncated_normal"]
truncated_normal_f32 = _S["truncated_normal_f32"]
f32_to_bf16_bits = _S["f32_to_bf16_bits"]
f32_to_f16_bits = _S["f32_to_f16_bits"]


# --- geometry -----------------------------------------------------------------------------------

@_device
def _row_origin(row, base, ostride, rshape, rstart, gstride):
    """Global flat index and target offset of the first element of region row ``row``."""
    last = len(rshape) - 1
    g = rstart[last]
    o = base
    for k in range(last):
        d = last - 1 - k
        i = row % rshape[d]
        row = row // rshape[d]
        g += (rstart[d] + i) * gstride[d]
        o += i * ostride[d]
    return g, o


@_device
def _split(unit, per_row):
    """``divmod(unit, per_row)`` (a 64-bit division: costly on a GPU, hence the one-row case)."""
    row = unit // per_row
    return row, unit - row * per_row


@_device
def _rows(rshape):
    rows = 1
    for d in range(len(rshape) - 1):
        rows *= rshape[d]
    return rows


# --- stores -------------------------------------------------------------------------------------

if config.ENABLE_CUDASIM:
    # The simulator has no pointers: every position counts as aligned, so its runs go through
    # the vector branch's indexing (and the scalar branch at row ends and for strided targets).
    @_device
    def _address(array, index):
        return u64(0)

    @_device
    def _store4(array, index, v0, v1, v2, v3):
        array[index] = v0
        array[index + 1] = v1
        array[index + 2] = v2
        array[index + 3] = v3

    @_device
    def _store2(array, index, v0, v1):
        array[index] = v0
        array[index + 1] = v1
else:
    from llvmlite import ir
    from numba import types
    from numba.cuda import cgutils
    from numba.cuda.extending import intrinsic

    def _element_pointer(context, builder, array_type, array, index):
        ary = context.make_array(array_type)(context, builder, value=array)
        return cgutils.get_item_pointer(context, builder, array_type, ary, [index],
                                        wraparound=False)

    @intrinsic
    def _address(typingctx, array, index):
        """The address of ``array[index]`` as uint64 (to test the alignment of a vector store)."""
        def codegen(context, builder, sig, args):
            ptr = _element_pointer(context, builder, sig.args[0], args[0], args[1])
            return builder.ptrtoint(ptr, ir.IntType(64))
        return types.uint64(array, index), codegen

    def _vector_store(typingctx, array, index, values):
        """``array[index + k] = values[k]`` as one vector store, aligned to its full width
        (the caller checks the alignment): ``st.v4.f32`` is one 16-byte store."""
        def codegen(context, builder, sig, args):
            array_type = sig.args[0]
            element = context.get_value_type(array_type.dtype)
            vector_type = ir.VectorType(element, len(values))
            vector = ir.Constant(vector_type, ir.Undefined)
            for k, (value, value_type) in enumerate(zip(args[2:], sig.args[2:])):
                value = context.cast(builder, value, value_type, array_type.dtype)
                vector = builder.insert_element(vector, value, ir.Constant(ir.IntType(32), k))
            ptr = _element_pointer(context, builder, array_type, args[0], args[1])
            ptr = builder.bitcast(ptr, vector_type.as_pointer())
            builder.store(vector, ptr, align=len(values) * array_type.dtype.bitwidth // 8)
        return types.void(array, index, *values), codegen

    @intrinsic
    def _store4(typingctx, array, index, v0, v1, v2, v3):
        return _vector_store(typingctx, array, index, (v0, v1, v2, v3))

    @intrinsic
    def _store2(typingctx, array, index, v0, v1):
        return _vector_store(typingctx, array, index, (v0, v1))


@_device
def _vector_ok(out, i, count, step, li, n):
    """Whether elements ``li .. li + count - 1`` of the row are in it, contiguous, and start at
    an address aligned to the whole vector."""
    if step != 1 or li < 0 or li + count > n:
        return False
    return (_address(out, i) & u64(count * out.itemsize - 1)) == u64(0)


@_device
def _put_f32(out, o, step, li, n, v, outcode):
    """Store the float32 ``v`` as local element ``li`` of the row if it lies in the row."""
    if 0 <= li < n:
        if outcode == OUT_F32:
            out[o + li * step] = v
        elif outcode == OUT_BF16:
            out[o + li * step] = f32_to_bf16_bits(v)
        else:
            out[o + li * step] = f32_to_f16_bits(v)


@_device
def _put(out, o, step, li, n, v):
    if 0 <= li < n:
        out[o + li * step] = v


# --- 32-bit kernels: four elements per Philox block ----------------------------------------------

def _kernel32(gen4):
    """A kernel filling float32, float16 or bfloat16 targets with ``gen4``'s four values per
    block (``gen4(block, s0, s1, k0, k1, params)``)."""
    def fill(out, base, ostride, rshape, rstart, gstride, k0, k1, s0, s1, params, outcode):
        last = len(rshape) - 1
        n = rshape[last]
        step = ostride[last]
        per_row = (n + 6) // 4  # a row of n elements touches at most this many blocks
        total = _rows(rshape) * per_row
        one_row = total == per_row  # a contiguous target collapses to one row: no division
        for unit in range(cuda.grid(1), total, cuda.gridsize(1)):
            row, j = (0, unit) if one_row else _split(unit, per_row)
            g, o = _row_origin(row, base, ostride, rshape, rstart, gstride)
            b = g // 4 + j
            li = b * 4 - g  # local index in the row of the block's first word
            if li < n:
                v0, v1, v2, v3 = gen4(u64(b), s0, s1, k0, k1, params)
                if _vector_ok(out, o + li, 4, step, li, n):  # one 16-byte (8-byte) store
                    if outcode == OUT_F32:
                        _store4(out, o + li, v0, v1, v2, v3)
                    elif outcode == OUT_BF16:
                        _store4(out, o + li, f32_to_bf16_bits(v0), f32_to_bf16_bits(v1),
                                f32_to_bf16_bits(v2), f32_to_bf16_bits(v3))
                    else:
                        _store4(out, o + li, f32_to_f16_bits(v0), f32_to_f16_bits(v1),
                                f32_to_f16_bits(v2), f32_to_f16_bits(v3))
                else:
                    _put_f32(out, o, step, li, n, v0, outcode)
                    _put_f32(out, o, step, li + 1, n, v1, outcode)
                    _put_f32(out, o, step, li + 2, n, v2, outcode)
                    _put_f32(out, o, step, li + 3, n, v3, outcode)
    return cuda.jit(fill)


@_device
def _constant4(b, s0, s1, k0, k1, params):
    v = f32(params[0])
    return v, v, v, v


@_device
def _uniform_value_f32(x, low, span, top):
    v = uniform_affine_f32(x, low, span)
    return low if v >= top else v  # torch's rule: a value rounding to high becomes low


@_device
def _uniform4(b, s0, s1, k0, k1, params):
    low, span, top = f32(params[0]), f32(params[1]), f32(params[2])
    x0, x1, x2, x3 = philox_block(b, s0, s1, k0, k1)
    return (_uniform_value_f32(x0, low, span, top), _uniform_value_f32(x1, low, span, top),
            _uniform_value_f32(x2, low, span, top), _uniform_value_f32(x3, low, span, top))


@_device
def _normal4(b, s0, s1, k0, k1, params):
    mean, std = f32(params[0]), f32(params[1])
    x0, x1, x2, x3 = philox_block(b, s0, s1, k0, k1)
    z0, z1 = box_muller_f32(x0, x1)
    z2, z3 = box_muller_f32(x2, x3)
    return (normal_affine_f32(z0, mean, std), normal_affine_f32(z1, mean, std),
            normal_affine_f32(z2, mean, std), normal_affine_f32(z3, mean, std))


@_device
def _trunc_value_f32(w, params):
    u, v = open_uniform_pair_u32(w)
    return f32(truncated_normal(u, v, params[0], params[1], params[2], params[3], params[4],
                                params[5], params[6]))


@_device
def _trunc_normal4(b, s0, s1, k0, k1, params):
    x0, x1, x2, x3 = philox_block(b, s0, s1, k0, k1)
    return (_trunc_value_f32(x0, params), _trunc_value_f32(x1, params),
            _trunc_value_f32(x2, params), _trunc_value_f32(x3, params))


@_device
def _trunc_f32_value(w, params):
    return truncated_normal_f32(w, f32(params[0]), f32(params[1]), f32(params[2]),
                                f32(params[3]), f32(params[4]), f32(params[5]), f32(params[6]),
                                f32(params[7]), f32(params[8]), f32(params[9]))


@_device
def _trunc_normal_f32_4(b, s0, s1, k0, k1, params):
    x0, x1, x2, x3 = philox_block(b, s0, s1, k0, k1)
    return (_trunc_f32_value(x0, params), _trunc_f32_value(x1, params),
            _trunc_f32_value(x2, params), _trunc_f32_value(x3, params))


@_device
def _polar4(b, s0, s1, k0, k1, params):
    scale, rayleigh, c = f64(params[0]), params[1] != 0.0, f64(params[2])
    x0, x1, x2, x3 = philox_block(b, s0, s1, k0, k1)
    z0, z1 = polar_f32(x0, x1, scale, rayleigh, c)
    z2, z3 = polar_f32(x2, x3, scale, rayleigh, c)
    return z0, z1, z2, z3


fill_constant_f32 = _kernel32(_constant4)
fill_uniform_f32 = _kernel32(_uniform4)
fill_normal_f32 = _kernel32(_normal4)
fill_trunc_normal_f32 = _kernel32(_trunc_normal4)
fill_polar_f32 = _kernel32(_polar4)
fill_trunc_normal_f32_f32 = _kernel32(_trunc_normal_f32_4)


@cuda.jit
def fill_bits(out, base, ostride, rshape, rstart, gstride, k0, k1, s0, s1):
    """The raw Philox4x32-10 words into a uint32 target (``random_bits``)."""
    last = len(rshape) - 1
    n = rshape[last]
    step = ostride[last]
    per_row = (n + 6) // 4
    total = _rows(rshape) * per_row
    one_row = total == per_row  # a contiguous target collapses to one row: no division
    for unit in range(cuda.grid(1), total, cuda.gridsize(1)):
        row, j = (0, unit) if one_row else _split(unit, per_row)
        g, o = _row_origin(row, base, ostride, rshape, rstart, gstride)
        b = g // 4 + j
        li = b * 4 - g
        if li < n:
            x0, x1, x2, x3 = philox_block(u64(b), s0, s1, k0, k1)
            if _vector_ok(out, o + li, 4, step, li, n):
                _store4(out, o + li, x0, x1, x2, x3)
            else:
                _put(out, o, step, li, n, x0)
                _put(out, o, step, li + 1, n, x1)
                _put(out, o, step, li + 2, n, x2)
                _put(out, o, step, li + 3, n, x3)


# --- float64 kernels: two elements (two 64-bit draws) per Philox block ---------------------------

def _kernel64(gen2):
    """A kernel filling float64 targets with ``gen2``'s two values per block."""
    def fill(out, base, ostride, rshape, rstart, gstride, k0, k1, s0, s1, params):
        last = len(rshape) - 1
        n = rshape[last]
        step = ostride[last]
        per_row = (n + 2) // 2
        total = _rows(rshape) * per_row
        one_row = total == per_row  # a contiguous target collapses to one row: no division
        for unit in range(cuda.grid(1), total, cuda.gridsize(1)):
            row, j = (0, unit) if one_row else _split(unit, per_row)
            g, o = _row_origin(row, base, ostride, rshape, rstart, gstride)
            b = g // 2 + j
            li = b * 2 - g
            if li < n:
                v0, v1 = gen2(u64(b), s0, s1, k0, k1, params)
                if _vector_ok(out, o + li, 2, step, li, n):  # one 16-byte store
                    _store2(out, o + li, v0, v1)
                else:
                    _put(out, o, step, li, n, v0)
                    _put(out, o, step, li + 1, n, v1)
    return cuda.jit(fill)


@_device
def _constant2(b, s0, s1, k0, k1, params):
    return f64(params[0]), f64(params[0])


@_device
def _uniform_value_f64(x, low, span, top):
    v = uniform_affine_f64(x, low, span)
    return low if v >= top else v


@_device
def _uniform2(b, s0, s1, k0, k1, params):
    low, span, top = f64(params[0]), f64(params[1]), f64(params[2])
    x0, x1, x2, x3 = philox_block(b, s0, s1, k0, k1)
    return (_uniform_value_f64(join64(x0, x1), low, span, top),
            _uniform_value_f64(join64(x2, x3), low, span, top))


@_device
def _normal2(b, s0, s1, k0, k1, params):
    mean, std = f64(params[0]), f64(params[1])
    x0, x1, x2, x3 = philox_block(b, s0, s1, k0, k1)
    z0, z1 = box_muller_f64(join64(x0, x1), join64(x2, x3))
    return z0 * std + mean, z1 * std + mean


@_device
def _trunc_value_f64(x, params):
    u, v = open_uniform_pair_u64(x)
    return truncated_normal(u, v, params[0], params[1], params[2], params[3], params[4],
                            params[5], params[6])


@_device
def _trunc_normal2(b, s0, s1, k0, k1, params):
    x0, x1, x2, x3 = philox_block(b, s0, s1, k0, k1)
    return _trunc_value_f64(join64(x0, x1), params), _trunc_value_f64(join64(x2, x3), params)


@_device
def _polar2(b, s0, s1, k0, k1, params):
    scale, rayleigh, c = f64(params[0]), params[1] != 0.0, f64(params[2])
    x0, x1, x2, x3 = philox_block(b, s0, s1, k0, k1)
    return polar_f64(join64(x0, x1), join64(x2, x3), scale, rayleigh, c)


fill_constant_f64 = _kernel64(_constant2)
fill_uniform_f64 = _kernel64(_uniform2)
fill_normal_f64 = _kernel64(_normal2)
fill_trunc_normal_f64 = _kernel64(_trunc_normal2)
fill_polar_f64 = _kernel64(_polar2)


# kernel by kind (``codes``: CONSTANT, UNIFORM, NORMAL, TRUNC_NORMAL, POLAR, TRUNC_NORMAL_F32),
# float32 and float64 output (float64 output has no float32 truncated normal)
KERNELS_F32 = (fill_constant_f32, fill_uniform_f32, fill_normal_f32, fill_trunc_normal_f32,
               fill_polar_f32, fill_trunc_normal_f32_f32)
KERNELS_F64 = (fill_constant_f64, fill_uniform_f64, fill_normal_f64, fill_trunc_normal_f64,
               fill_polar_f64, None)


# --- sparse: the zeros of each column ------------------------------------------------------------

@_device
def _mask_word(r, c, first, cols, k0, k1, s0, s1):
    """The mask word of ``(r, c)``: the raw word ``first + r*cols + c`` of the stream (as
    ``cpu.zero_sparse``)."""
    i = first + r * cols + c
    x0, x1, x2, x3 = philox_block(u64(i // 4), s0, s1, k0, k1)
    k = i % 4
    return x0 if k == 0 else (x1 if k == 1 else (x2 if k == 2 else x3))


@cuda.jit
def zero_sparse(out, base, ostride, rbounds, rows, cols, k0, k1, s0, s1, num_zeros, first):
    """Zero ``num_zeros`` rows per column of a ``(rows, cols)`` tensor (region ``rbounds``).

    The same rows as ``cpu.zero_sparse``, which sorts the keys ``word << 32 | row``: here one
    thread per column finds the ``num_zeros``-th smallest word by bisection over its 32 bits
    (33 passes over the column, no per-thread sort buffer), zeroes the rows whose word is
    smaller, and of the rows whose word ties with it the first ones in row order.
    """
    r0, r1, c0, c1 = rbounds
    for c in range(c0 + cuda.grid(1), c1, cuda.gridsize(1)):
        lo = u64(0)
        hi = u64(0xFFFFFFFF)
        while lo < hi:
            mid = (lo + hi) // u64(2)
            count = 0
            for r in range(rows):
                if u64(_mask_word(r, c, first, cols, k0, k1, s0, s1)) <= mid:
                    count += 1
            if count >= num_zeros:
                hi = mid
            else:
                lo = mid + u64(1)
        less = 0
        for r in range(rows):
            if u64(_mask_word(r, c, first, cols, k0, k1, s0, s1)) < lo:
                less += 1
        ties = num_zeros - less  # rows with word == lo that are zeroed, in row order
        for r in range(rows):
            w = u64(_mask_word(r, c, first, cols, k0, k1, s0, s1))
            zero = w < lo
            if w == lo:
                zero = ties > 0
                ties -= 1
            if zero and r0 <= r < r1:
                out[base + (r - r0) * ostride[0] + (c - c0) * ostride[1]] = 0


# --- eye and dirac: ones at given points --------------------------------------------------------

@cuda.jit
def put_value(out, offsets, value):
    """``out[offsets[i]] = value`` for every ``i`` (the ones of ``eye`` and ``dirac``, written
    after the zero fill; ``value`` holds the bits of 1 in the target's format)."""
    for i in range(cuda.grid(1), offsets.size, cuda.gridsize(1)):
        out[offsets[i]] = value
