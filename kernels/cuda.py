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
speed and differ from the CPU by a few units in the last place. The Philox state is held in
uint32 words here (``philox_word``), so that each 32x32->64 product of a round is one
``mul.wide.u32``.

Layout of a launch: the target is the region of a global row-major tensor, described (as for the
CPU drivers) by a flat 1-D view of its memory, a base offset and per-dimension tuples
``ostride`` (target strides in elements), ``rshape``, ``rstart`` and ``gstride`` (global
strides), and by ``fast = (extent, target stride, global stride)``: a dimension taken out of
those tuples because it is the fastest-moving one in the target's memory while not the last
(an F-ordered target's first), else ``(1, 0, 0)``. A *unit* of work is one Philox block
inside one row of the region, at one index ``f`` of the fast dimension; units are numbered
with ``f`` fastest, then the block within the row, then the row, so that the threads of a warp
walk the target in its storage order: on a row-major target consecutive threads write
consecutive 16-byte pieces of a row (one vector store each, where the block lies inside the
row and is aligned: 8 bytes for the 16-bit formats), on an F-ordered one consecutive elements
of a column (each of a thread's four stores is one coalesced warp-wide store). The counter of
every element is still its logical global index, so every layout gets the same bits.

Each thread splits its first unit and the grid's stride into those digits once and then
advances by adding digits with carries: the loop divides only to split a row number over
the dimensions of a target of three or more (collapsed) dimensions. Those divisions, and the
ones at the start, run in the integer type of the ``index`` argument, which the caller picks
per launch: uint32 when every count of the launch fits (the GPU divides 32-bit integers
several times faster), uint64 otherwise.

Threads per block and the grid size are launch parameters chosen by the caller at call time,
never globals frozen into a kernel. No signatures are given: kernels compile on first use, so
importing costs nothing, and are filed on disk by numba-cuda's cache (``cache=True``) in the
directory of the CPU kernels, under the same stamp of every source of this folder (see
``cache.py``; numba-cuda adds its version, the CUDA version and the compute capability to
each entry's key): a later process loads them instead of compiling.
"""
from types import FunctionType

import numpy as np
from numba import config, cuda

from . import cache, philox
from .philox import f32, f64, u64

from .codes import OUT_BF16

i64 = np.int64


def _install_cache_locator():
    """File the CUDA kernels where ``cache`` files the CPU's: numba-cuda keeps its own list of
    cache locators (recent versions; older ones share Numba's, where ``cache`` already is)."""
    try:
        from numba.cuda.dispatcher import CUDACacheImpl
    except ImportError:  # the simulator, or a numba-cuda without kernel caching
        return
    classes = CUDACacheImpl._locator_classes
    if cache.SourcesLocator not in classes:
        classes.insert(0, cache.SourcesLocator)


if not config.ENABLE_CUDASIM:
    _install_cache_locator()


def _device(func):
    return cuda.jit(device=True)(func)


def _kernel(func):
    return cuda.jit(func, cache=True)


def _fmul_rn(a, b):
    return cuda.libdevice.fmul_rn(a, b)


def _dmul_rn(a, b):
    return cuda.libdevice.dmul_rn(a, b)


def _fma_f32(a, b, c):
    return cuda.fma(f32(a), f32(b), f32(c))


def _fma_f64(a, b, c):
    return cuda.fma(f64(a), f64(b), f64(c))


def _philox_word(x):
    return np.uint32(x)


# The simulator runs plain Python (no contraction to avoid, no libdevice, no FMA instruction):
# it keeps the source, with the FMA emulations (20 calls per normal pair) and the Philox
# helpers (60 calls per block) as plain functions, because a simulated device function call
# swaps the module's globals, which costs more than the arithmetic it calls.
if config.ENABLE_CUDASIM:
    _S = philox.for_target(_device, unwrapped=("fma_f32", "fma_f64", "philox_word",
                                                "philox_mulhilo"))
else:
    _S = philox.for_target(_device, {"mul_rn_f32": _fmul_rn, "mul_rn_f64": _dmul_rn,
                                     "fma_f32": _fma_f32, "fma_f64": _fma_f64,
                                     "philox_word": _philox_word})
philox_block = _S["philox_block"]
join64 = _S["join64"]
uniform_affine_f32 = _S["uniform_affine_f32"]
uniform_affine_f64 = _S["uniform_affine_f64"]
box_muller_f32 = _S["box_muller_f32"]
normal_affine_f32 = _S["normal_affine_f32"]
box_muller_f64 = _S["box_muller_f64"]
normal_affine_f64 = _S["normal_affine_f64"]
polar_f32 = _S["polar_f32"]
polar_f64 = _S["polar_f64"]
open_uniform_pair_u32 = _S["open_uniform_pair_u32"]
open_uniform_pair_u64 = _S["open_uniform_pair_u64"]
truncated_normal = _S["truncated_normal"]
truncated_normal_f32 = _S["truncated_normal_f32"]
f32_to_bf16_bits = _S["f32_to_bf16_bits"]
f32_to_f16_bits = _S["f32_to_f16_bits"]


# --- index arithmetic ---------------------------------------------------------------------------

if config.ENABLE_CUDASIM:
    def _as_index(x, index):
        return type(index)(x)
else:
    from numba import types
    from numba.cuda.extending import intrinsic

    @intrinsic
    def _as_index(typingctx, x, index):
        """``x`` converted (truncated) to the integer type of ``index``."""
        if not isinstance(x, types.Integer) or not isinstance(index, types.Integer):
            return None

        def codegen(context, builder, sig, args):
            return context.cast(builder, args[0], sig.args[0], sig.return_type)
        return index(x, index), codegen


@_device
def _divmod_in(a, b, index):
    """``divmod(a, b)`` of non-negative integers, divided in the integer type of ``index``
    (both below ``2**32`` when it is uint32: NVVM then emits ``div.u32``)."""
    q = i64(_as_index(a, index) // _as_index(b, index))
    return q, a - q * b


@_device
def _rows(rshape):
    rows = 1
    for d in range(len(rshape) - 1):
        rows *= rshape[d]
    return rows


@_device
def _row_origin(row, base, ostride, rshape, rstart, gstride, index):
    """Global flat index and target offset of the first element of region row ``row``: the
    outermost dimension takes what the inner ones leave, without a division."""
    last = len(rshape) - 1
    g = rstart[last]
    o = base
    for k in range(last - 1):
        d = last - 1 - k
        row, i = _divmod_in(row, rshape[d], index)
        g += (rstart[d] + i) * gstride[d]
        o += i * ostride[d]
    if last > 0:
        g += (rstart[0] + row) * gstride[0]
        o += row * ostride[0]
    return g, o


@_device
def _walk_start(fn, per_row, index):
    """This thread's first unit as digits ``(f, j, row)`` (``f`` along the fast dimension of
    extent ``fn``, ``j`` the block within the row), and the grid's stride in the same digits."""
    q, f = _divmod_in(i64(cuda.grid(1)), fn, index)
    row, j = _divmod_in(q, per_row, index)
    q, df = _divmod_in(i64(cuda.gridsize(1)), fn, index)
    drow, dj = _divmod_in(q, per_row, index)
    return f, j, row, df, dj, drow


@_device
def _walk_next(f, j, row, df, dj, drow, fn, per_row):
    """The unit ``(df, dj, drow)`` further on: each digit sum is below twice its base, so one
    subtraction carries it."""
    f += df
    j += dj
    row += drow
    if f >= fn:
        f -= fn
        j += 1
    if j >= per_row:
        j -= per_row
        row += 1
    return f, j, row


# --- stores -------------------------------------------------------------------------------------

if config.ENABLE_CUDASIM:
    # The simulator has no pointers: every position counts as aligned, so its runs go through
    # the vector branches' indexing (and the scalar branch at row ends and for strided rows).
    @_device
    def _address(array, index):
        return u64(0)

    def _itemsize(array):
        return array.dtype.itemsize

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
    from numba.cuda import cgutils

    def _element_pointer(context, builder, array_type, array, index):
        ary = context.make_array(array_type)(context, builder, value=array)
        return cgutils.get_item_pointer(context, builder, array_type, ary, [index],
                                        wraparound=False)

    @intrinsic
    def _itemsize(typingctx, array):
        """The item size of ``array``'s type: a constant when the kernel compiles (the
        array's own ``itemsize`` is read from memory at run time)."""
        def codegen(context, builder, sig, args):
            return context.get_constant(types.int64, sig.args[0].dtype.bitwidth // 8)
        return types.int64(array), codegen

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
def _aligned(out, i, count):
    """Whether ``out[i]`` starts a vector of ``count`` elements aligned to its whole width."""
    return (_address(out, i) & u64(count * _itemsize(out) - 1)) == u64(0)


@_device
def _put(out, i, li, n, v):
    """Element ``li`` of a row of ``n`` (at ``out[i]``), if it is in the row."""
    if 0 <= li < n:
        out[i] = v


@_device
def _put4(out, o, step, li, n, v0, v1, v2, v3):
    """Elements ``li .. li + 3`` of the row at ``o`` (``n`` elements ``step`` apart), those
    inside it: one vector store where all four are, contiguous (in either direction) and
    aligned, else one store each."""
    i = o + li * step
    if li >= 0 and li + 4 <= n:
        if step == 1 and _aligned(out, i, 4):
            _store4(out, i, v0, v1, v2, v3)
            return
        if step == -1 and _aligned(out, i - 3, 4):
            _store4(out, i - 3, v3, v2, v1, v0)
            return
    _put(out, i, li, n, v0)
    _put(out, i + step, li + 1, n, v1)
    _put(out, i + 2 * step, li + 2, n, v2)
    _put(out, i + 3 * step, li + 3, n, v3)


@_device
def _put2(out, o, step, li, n, v0, v1):
    """Elements ``li`` and ``li + 1`` of the row, as ``_put4``."""
    i = o + li * step
    if li >= 0 and li + 2 <= n:
        if step == 1 and _aligned(out, i, 2):
            _store2(out, i, v0, v1)
            return
        if step == -1 and _aligned(out, i - 1, 2):
            _store2(out, i - 1, v1, v0)
            return
    _put(out, i, li, n, v0)
    _put(out, i + step, li + 1, n, v1)


@_device
def _store_f32(out, o, step, li, n, v, outcode):
    """Four float32 values into a float32 target, or rounded into bfloat16 or float16 bits
    (the item size is known when the kernel compiles: the other branches fold away)."""
    v0, v1, v2, v3 = v
    if _itemsize(out) == 4:
        _put4(out, o, step, li, n, v0, v1, v2, v3)
    elif outcode == OUT_BF16:
        _put4(out, o, step, li, n, f32_to_bf16_bits(v0), f32_to_bf16_bits(v1),
              f32_to_bf16_bits(v2), f32_to_bf16_bits(v3))
    else:
        _put4(out, o, step, li, n, f32_to_f16_bits(v0), f32_to_f16_bits(v1),
              f32_to_f16_bits(v2), f32_to_f16_bits(v3))


@_device
def _store_words(out, o, step, li, n, v, outcode):
    v0, v1, v2, v3 = v
    _put4(out, o, step, li, n, v0, v1, v2, v3)


@_device
def _store_f64(out, o, step, li, n, v, outcode):
    v0, v1 = v
    _put2(out, o, step, li, n, v0, v1)


# --- the fill kernels ---------------------------------------------------------------------------

def _fill(out, base, ostride, rshape, rstart, gstride, fast, k0, k1, s0, s1, params, outcode,
          index):
    """The walk every fill kernel runs (see the module's docstring): ``PER`` elements per
    Philox block, generated by ``GEN(block, s0, s1, k0, k1, params)`` and written by
    ``STORE``; :func:`_fill_kernel` binds the three."""
    last = len(rshape) - 1
    n = rshape[last]
    step = ostride[last]
    fn, fstride, fgstride = fast
    per_row = (n + 2 * PER - 2) // PER  # a row of n elements touches at most this many blocks
    rows = _rows(rshape)
    f, j, row, df, dj, drow = _walk_start(fn, per_row, index)
    while row < rows:
        g, o = _row_origin(row, base, ostride, rshape, rstart, gstride, index)
        g += f * fgstride
        o += f * fstride
        b = g // PER + j
        li = b * PER - g  # local index in the row of the block's first element
        if li < n:
            STORE(out, o, step, li, n, GEN(u64(b), s0, s1, k0, k1, params), outcode)
        f, j, row = _walk_next(f, j, row, df, dj, drow, fn, per_row)


def _fill_kernel(name, per, gen, store):
    """The kernel ``name``: :func:`_fill`'s code over this module's globals with ``PER``,
    ``GEN`` and ``STORE`` bound, as a function of its own (its own name: its own entry in
    the disk cache, which files kernels by name and code)."""
    namespace = dict(globals(), PER=per, GEN=gen, STORE=store)
    func = FunctionType(_fill.__code__, namespace, name)
    func.__qualname__ = name
    func.__doc__ = _fill.__doc__
    return _kernel(func)


@_device
def _bits4(b, s0, s1, k0, k1, params):
    return philox_block(b, s0, s1, k0, k1)


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
    return normal_affine_f64(z0, mean, std), normal_affine_f64(z1, mean, std)


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


# The raw Philox4x32-10 words into a uint32 target (``random_bits``; params and outcode unused).
fill_bits = _fill_kernel("fill_bits", 4, _bits4, _store_words)
# float32, float16 and bfloat16 targets: four values per block
fill_constant_f32 = _fill_kernel("fill_constant_f32", 4, _constant4, _store_f32)
fill_uniform_f32 = _fill_kernel("fill_uniform_f32", 4, _uniform4, _store_f32)
fill_normal_f32 = _fill_kernel("fill_normal_f32", 4, _normal4, _store_f32)
fill_trunc_normal_f32 = _fill_kernel("fill_trunc_normal_f32", 4, _trunc_normal4, _store_f32)
fill_polar_f32 = _fill_kernel("fill_polar_f32", 4, _polar4, _store_f32)
fill_trunc_normal_f32_f32 = _fill_kernel("fill_trunc_normal_f32_f32", 4, _trunc_normal_f32_4,
                                         _store_f32)
# float64 targets: two values (two 64-bit draws) per block
fill_constant_f64 = _fill_kernel("fill_constant_f64", 2, _constant2, _store_f64)
fill_uniform_f64 = _fill_kernel("fill_uniform_f64", 2, _uniform2, _store_f64)
fill_normal_f64 = _fill_kernel("fill_normal_f64", 2, _normal2, _store_f64)
fill_trunc_normal_f64 = _fill_kernel("fill_trunc_normal_f64", 2, _trunc_normal2, _store_f64)
fill_polar_f64 = _fill_kernel("fill_polar_f64", 2, _polar2, _store_f64)

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


@_device
def _zero(out, base, ostride, rbounds, r, c):
    """Zero element ``(r, c)`` of the global tensor if it lies in the region ``rbounds``."""
    r0, r1, c0, c1 = rbounds
    if r0 <= r < r1:
        out[base + (r - r0) * ostride[0] + (c - c0) * ostride[1]] = 0


@_kernel
def zero_sparse(out, base, ostride, rbounds, rows, cols, k0, k1, s0, s1, num_zeros, first):
    """Zero ``num_zeros`` rows per column of a ``(rows, cols)`` tensor (region ``rbounds``),
    one thread per column: for short columns, many of them.

    The same rows as ``cpu.zero_sparse``, which sorts the keys ``word << 32 | row``: each
    thread finds the ``num_zeros``-th smallest word by bisection over its 32 bits (33 passes
    over the column, no per-thread sort buffer), zeroes the rows whose word is smaller, and of
    the rows whose word ties with it the first ones in row order.
    """
    c0, c1 = rbounds[2], rbounds[3]
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
            if zero:
                _zero(out, base, ostride, rbounds, r, c)


@_device
def _sparse_key(r, c, first, cols, k0, k1, s0, s1):
    """The sort key of row ``r`` in column ``c``: ``word << 32 | r`` (the CPU's; unique)."""
    return (u64(_mask_word(r, c, first, cols, k0, k1, s0, s1)) << u64(32)) | u64(r)


@_device
def _digit_shift(p, row_digits):
    """The bit position of the ``p``-th 8-bit digit the selection fixes: the word's four
    (bits 32-63, highest first), then the row's (bits ``8 * row_digits - 1`` to 0); the bits
    between are zero in every key."""
    if p < 4:
        return 56 - 8 * p
    return 8 * (row_digits - 1 - (p - 4))


@_kernel
def zero_sparse_tall(out, base, ostride, rbounds, rows, cols, k0, k1, s0, s1, num_zeros, first,
                     row_digits):
    """Zero ``num_zeros`` rows per column, as :func:`zero_sparse`, with one thread block per
    column, its threads over the rows: for tall columns.

    The ``num_zeros``-th smallest key ``word << 32 | row`` of the column is found by radix
    selection, 8 bits a pass (``4 + row_digits`` passes, ``row_digits`` the bytes of the
    largest row): a histogram in shared memory of the next digit of the keys that agree with
    the digits chosen so far, in which thread 0 finds the digit holding the sought rank. The
    rows whose key is at most that one are zeroed: the same rows as the CPU's.
    """
    hist = cuda.shared.array(256, np.int32)
    chosen = cuda.shared.array(1, np.uint64)
    left = cuda.shared.array(1, np.int64)
    c0, c1 = rbounds[2], rbounds[3]
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    passes = 4 + row_digits
    if num_zeros <= 0:
        return
    for c in range(c0 + cuda.blockIdx.x, c1, cuda.gridDim.x):
        prefix = u64(0)
        rank = i64(num_zeros)  # the rank sought among the keys that agree with prefix
        for p in range(passes):
            shift = _digit_shift(p, row_digits)
            for t in range(tid, 256, nt):
                hist[t] = 0
            cuda.syncthreads()
            for r in range(tid, rows, nt):
                key = _sparse_key(r, c, first, cols, k0, k1, s0, s1)
                if p == 0 or ((key ^ prefix) >> u64(shift + 8)) == u64(0):
                    cuda.atomic.add(hist, i64((key >> u64(shift)) & u64(255)), 1)
            cuda.syncthreads()
            if tid == 0:
                below = i64(0)
                d = 0
                while below + hist[d] < rank:
                    below += hist[d]
                    d += 1
                chosen[0] = prefix | (u64(d) << u64(shift))
                left[0] = rank - below
            cuda.syncthreads()
            prefix = chosen[0]
            rank = left[0]
            cuda.syncthreads()  # read by all before the next pass rewrites them
        for r in range(rbounds[0] + tid, rbounds[1], nt):
            if _sparse_key(r, c, first, cols, k0, k1, s0, s1) <= prefix:
                _zero(out, base, ostride, rbounds, r, c)


# --- eye and dirac: ones at given points --------------------------------------------------------

@_kernel
def put_value(out, offsets, value):
    """``out[offsets[i]] = value`` for every ``i`` (the ones of ``eye`` and ``dirac``, written
    after the zero fill; ``value`` holds the bits of 1 in the target's format)."""
    for i in range(cuda.grid(1), offsets.size, cuda.gridsize(1)):
        out[offsets[i]] = value
