"""Philox4x32 and every bits-to-value transform: the one scalar source.

Each function here is plain scalar code with explicit ``uint32``/``uint64``/``float32``/``float64``
casts, compiled for the CPU with ``njit(inline="always")`` (the module-level names) and, by
``for_target``, for CUDA as device functions (``kernels/cuda.py``) from the same code objects. Casts are explicit so that NumPy-scalar execution (the CUDA simulator) computes the
same bits as compiled code, and float32 transforms avoid ``math.*`` calls whose float32 result
could differ between the two: ``log``, ``sin`` and ``cos`` are polynomials written out below.

References
----------
J. K. Salmon, M. A. Moraes, R. O. Dror and D. E. Shaw, "Parallel random numbers: as easy as
1, 2, 3", SC'11 (Philox). G. E. P. Box and M. E. Muller, "A note on the generation of random
normal deviates", Ann. Math. Statist. 29 (1958). M. J. Wichura, "Algorithm AS 241: the
percentage points of the normal distribution", Applied Statistics 37 (1988). S. L. Moshier,
Cephes Math Library (the float32 ``log``, ``sin`` and ``cos`` polynomials). The float64 ``log``,
``sin`` and ``cos`` are their plain series, written out.
"""
import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core.extending import intrinsic

# error_model="numpy": no zero-division checks, whose branches would stop vectorization.
# (The disk cache is keyed on every source of kernels/, this file included: see cache.py.)
_cpu_scalar = njit(inline="always", cache=True, error_model="numpy")

# The plain Python functions, by name, in definition order: ``for_target`` compiles them again
# for another target (CUDA device functions, or the CUDA simulator's Python).
SOURCES = {}


def scalar(func):
    """Register ``func`` as part of the one scalar source and compile it for the CPU.

    The module-level name is the CPU compilation (what ``cpu.py`` calls); the plain function is
    kept in ``SOURCES`` so that :func:`for_target` can compile the very same code elsewhere.
    """
    SOURCES[func.__name__] = func
    return _cpu_scalar(func)


def for_target(wrap, overrides=None, unwrapped=()):
    """Every scalar function compiled by ``wrap`` (e.g. ``cuda.jit(device=True)``).

    Each function is rebuilt from its own code object over a copy of this module's globals in
    which the names of the other scalar functions point at their ``wrap``-compiled twins, so
    calls between them stay inside the target. ``overrides`` maps a name to a plain function
    that replaces the source for this target only: used for primitives with no portable
    spelling (see ``mul_rn_f32``). The names in ``unwrapped`` keep their plain function, not
    wrapped (the CUDA simulator, whose device functions cost microseconds a call). Returns a
    dict name -> compiled function.
    """
    import types
    namespace = dict(globals())
    compiled = {}
    overrides = overrides or {}
    for name, func in SOURCES.items():
        if name in unwrapped:
            compiled[name] = func
            continue
        if name in overrides:  # a target's own primitive keeps its own globals
            compiled[name] = wrap(overrides[name])
            continue
        clone = types.FunctionType(func.__code__, namespace, name, func.__defaults__,
                                   func.__closure__)
        clone.__doc__ = func.__doc__
        compiled[name] = wrap(clone)
    namespace.update(compiled)
    return compiled

u32 = np.uint32
u64 = np.uint64
f32 = np.float32
f64 = np.float64

MASK32 = u64(0xFFFFFFFF)
SHIFT32 = u64(32)
PHILOX_M0 = u64(0xD2511F53)
PHILOX_M1 = u64(0xCD9E8D57)
PHILOX_W0 = u64(0x9E3779B9)
PHILOX_W1 = u64(0xBB67AE85)


# --- Philox4x32 -------------------------------------------------------------------------------

@scalar
def philox_word(x):
    """The low 32 bits of the integer ``x``: a word of the Philox state.

    Here a uint64 holding them (the CPU's vector lanes are 64 bits wide, and its 32x32->64
    multiply reads the low half of each); the CUDA kernels override it with a uint32 cast,
    so that NVVM sees 32-bit operands widened into each product and emits one
    ``mul.wide.u32`` for it instead of a 64-bit multiply. The same value either way.
    """
    return u64(x) & MASK32


@scalar
def philox_mulhilo(a, m):
    """The high and low words of the product of the words ``a`` and ``m`` (one 32x32->64
    multiply)."""
    p = u64(u32(a)) * m
    return philox_word(p >> SHIFT32), philox_word(p)


@scalar
def philox4x32(c0, c1, c2, c3, k0, k1, rounds):
    """Philox4x32-``rounds`` of the counter ``(c0, c1, c2, c3)`` under the key ``(k0, k1)``.

    All inputs are uint32; returns four uint32 words. ``rounds`` is 10 for the generator
    (7 only for the known-answer tests); as a compile-time constant it unrolls the loop.
    """
    x0 = philox_word(c0)
    x1 = philox_word(c1)
    x2 = philox_word(c2)
    x3 = philox_word(c3)
    y0 = philox_word(k0)
    y1 = philox_word(k1)
    for _ in range(rounds):
        hi0, lo0 = philox_mulhilo(x0, PHILOX_M0)
        hi1, lo1 = philox_mulhilo(x2, PHILOX_M1)
        x0 = philox_word(hi1 ^ x1 ^ y0)
        x1 = lo1
        x2 = philox_word(hi0 ^ x3 ^ y1)
        x3 = lo0
        y0 = philox_word(y0 + PHILOX_W0)
        y1 = philox_word(y1 + PHILOX_W1)
    return u32(x0), u32(x1), u32(x2), u32(x3)


@scalar
def philox_block(block, s0, s1, k0, k1):
    """The four words of counter block ``block`` (uint64) in stream ``(s0, s1)``: Philox4x32-10."""
    b = u64(block)
    return philox4x32(u32(b & MASK32), u32(b >> SHIFT32), s0, s1, k0, k1, 10)


@scalar
def join64(lo, hi):
    """A 64-bit draw from two words: ``lo | hi << 32``."""
    return u64(lo) | (u64(hi) << SHIFT32)


# --- bit casts --------------------------------------------------------------------------------

@scalar
def f32_as_u32(x):
    return f32(x).view(np.uint32)


@scalar
def u32_as_f32(x):
    return u32(x).view(np.float32)


@scalar
def f64_as_u64(x):
    return f64(x).view(np.uint64)


@scalar
def u64_as_f64(x):
    return u64(x).view(np.float64)


# --- uniforms ---------------------------------------------------------------------------------

@scalar
def uniform_f32(w):
    """[0, 1) from the top 24 bits of a uint32 word: ``(w >> 8) * 2**-24``."""
    return f32(u32(w) >> u32(8)) * f32(5.9604644775390625e-08)


@scalar
def uniform_f64(x):
    """[0, 1) from the top 53 bits of a uint64 draw: ``(x >> 11) * 2**-53``."""
    return f64(u64(x) >> u64(11)) * f64(1.1102230246251565e-16)


# --- affine maps of uniforms, with the product rounded on its own ----------------------------

@scalar
def mul_rn_f32(a, b):
    """``a * b`` in float32, rounded on its own: never fused into a multiply-add.

    Plain IEEE arithmetic on the CPU and in the simulator; the CUDA target swaps in
    ``__fmul_rn``, because NVVM contracts ``a * b + c`` into one FMA by default, which would
    change the uniform outputs that are promised bit-identical across backends.
    """
    return f32(a) * f32(b)


@scalar
def mul_rn_f64(a, b):
    """``a * b`` in float64, never fused into a multiply-add (CUDA: ``__dmul_rn``)."""
    return f64(a) * f64(b)


@scalar
def uniform_affine_f32(w, low, span):
    """``low + span * u`` for the float32 uniform ``u`` of word ``w``, without FMA."""
    return mul_rn_f32(uniform_f32(w), span) + f32(low)


@scalar
def uniform_affine_f64(x, low, span):
    """``low + span * u`` for the float64 uniform ``u`` of the 64-bit draw ``x``, without FMA."""
    return mul_rn_f64(uniform_f64(x), span) + f64(low)


# --- fused multiply-add: one rounding, the same on every target ---------------------------------

def _llvm_fma(ty, irty):
    """An intrinsic for LLVM's ``llvm.fma`` on ``ty`` (the FMA instruction; a correctly rounded
    libm call on a CPU without one): never split or re-associated by the optimizer, unlike a
    contracted ``a * b + c``."""
    @intrinsic
    def fma(typingctx, a, b, c):
        def codegen(context, builder, signature, args):
            decl = builder.module.declare_intrinsic("llvm.fma", [irty],
                                                    ir.FunctionType(irty, [irty] * 3))
            return builder.call(decl, [context.cast(builder, v, t, ty)
                                       for v, t in zip(args, signature.args)])
        return ty(a, b, c), codegen
    return fma


_llvm_fma_f32 = _llvm_fma(types.float32, ir.FloatType())
_llvm_fma_f64 = _llvm_fma(types.float64, ir.DoubleType())


@_cpu_scalar
def _fma_f32_cpu(a, b, c):
    return _llvm_fma_f32(a, b, c)


@_cpu_scalar
def _fma_f64_cpu(a, b, c):
    return _llvm_fma_f64(a, b, c)


def primitive(cpu):
    """Register a scalar function whose CPU compilation is ``cpu`` rather than its own code.

    For primitives with no portable spelling (see ``fma_f32``): the plain function stays the
    source for other targets (the CUDA simulator runs it as Python on NumPy scalars, and
    ``cuda.py`` overrides it with the device's own instruction).
    """
    def register(func):
        SOURCES[func.__name__] = func
        return cpu
    return register


@primitive(_fma_f32_cpu)
def fma_f32(a, b, c):
    """``a * b + c`` on float32 values with one rounding (to nearest even): IEEE 754 fusedMultiplyAdd.

    Compiled: the CPU's FMA instruction (``llvm.fma.f32``), CUDA's ``fma.rn.f32``. As plain
    Python (the CUDA simulator): ``a * b`` is exact in float64 (24 + 24 bits), the sum is
    rounded to odd in float64 (the rounded sum, moved one unit toward the exact error term
    when that is nonzero and the last bit is even), and rounding that to float32 is correctly
    rounded because float64 carries more than 24 + 2 bits (S. Boldo and G. Melquiond,
    "Emulation of FMA and correctly rounded sums: proved algorithms using rounding to odd",
    IEEE Trans. Computers 57, 2008).
    """
    # Python floats rather than NumPy scalars, for speed in the simulator (``f64`` first:
    # Numba's ``float`` of a float32 stays float32)
    p = float(f64(a)) * float(f64(b))
    cc = float(f64(c))
    s = p + cc
    t = s - p  # TwoSum (Knuth): err is the exact p + cc - s
    err = (p - (s - t)) + (cc - t)
    if err != 0.0 and int(math.frexp(s)[0] * 9007199254740992.0) % 2 == 0:  # s's last bit
        s = np.nextafter(s, math.copysign(math.inf, err))
    return f32(s)


@primitive(_fma_f64_cpu)
def fma_f64(a, b, c):
    """``a * b + c`` on float64 values with one rounding (to nearest even).

    Compiled: the CPU's FMA instruction (``llvm.fma.f64``), CUDA's ``fma.rn.f64``. As plain
    Python (the CUDA simulator): the exact sum of integers, ``a = A 2**ea`` etc. with 53-bit
    ``A``, ``B``, ``C``, aligned to the smaller exponent and cut to 64 bits and a sticky bit,
    then one rounding in ``float`` (CPython converts integers with correct rounding; the
    scaling by ``ldexp`` is exact for results in the normal range). Much faster than
    fractions, which the tests compare it with. An exact zero sum takes the sign IEEE 754
    gives it, from the float sum of the (then exact) terms.
    """
    a, b, c = float(f64(a)), float(f64(b)), float(f64(c))
    ma, ea = math.frexp(a)
    mb, eb = math.frexp(b)
    mc, ec = math.frexp(c)
    p = int(ma * 9007199254740992.0) * int(mb * 9007199254740992.0)  # a b = p 2**(ea + eb - 106)
    ep = ea + eb - 106
    cm = int(mc * 9007199254740992.0)  # c = cm 2**(ec - 53)
    ec = ec - 53
    if ep >= ec:
        total, e = (p << (ep - ec)) + cm, ec
    else:
        total, e = p + (cm << (ec - ep)), ep
    if total == 0:
        return f64(a * b + c)
    mag = abs(total)
    excess = mag.bit_length() - 64  # keep 64 bits and a sticky bit: float() rounds them once
    if excess > 0:
        mag = (mag >> excess) | int(mag & ((1 << excess) - 1) != 0)
        e += excess
    try:
        x = math.ldexp(float(mag), e)
    except OverflowError:  # beyond the largest float64: IEEE 754 rounds to infinity
        x = math.inf
    return f64(-x if total < 0 else x)


# --- float32 log and sincos (Cephes polynomials, evaluated in float32 with fused multiply-adds) --

SQRT_HALF_F32 = f32(0.70710677)
LN2_HI_F32 = f32(0.693359375)
LN2_LO_F32 = f32(-2.12194440e-4)
EXP_BIAS_F32 = f32(8388608.0 + 126.0)  # 2**23 + 126: the biased exponent's offset, for ``e``


@scalar
def log_f32(x):
    """Natural log of a positive normal float32, in float32 (the Cephes ``logf`` polynomial).

    ``x = m * 2**e`` with ``m`` in [sqrt(1/2), sqrt(2)) is read off the bits, and
    ``ln x = e ln 2 + t - t**2/2 + t**3 P(t)`` with ``t = m - 1``, Horner's rule in fused
    multiply-adds. The biased exponent becomes a float by the bits of ``2**23 + k`` (exact,
    and in 32-bit lanes, unlike an integer conversion that Numba widens to 64 bits). Within one
    unit in the last place.
    """
    b = f32_as_u32(x)
    e = u32_as_f32(u32(0x4B000000) | (b >> u32(23))) - EXP_BIAS_F32  # exact: the exponent + 1
    m = u32_as_f32((b & u32(0x007FFFFF)) | u32(0x3F000000))  # in [0.5, 1)
    low = m < SQRT_HALF_F32  # masked adds: no branches, nor a 0/1 float product
    m = m + m if low else m
    fe = e - f32(1.0) if low else e
    t = m - f32(1.0)
    z = t * t
    p = fma_f32(f32(7.0376836292e-2), t, f32(-1.1514610310e-1))
    p = fma_f32(p, t, f32(1.1676998740e-1))
    p = fma_f32(p, t, f32(-1.2420140846e-1))
    p = fma_f32(p, t, f32(1.4249322787e-1))
    p = fma_f32(p, t, f32(-1.6668057665e-1))
    p = fma_f32(p, t, f32(2.0000714765e-1))
    p = fma_f32(p, t, f32(-2.4999993993e-1))
    p = fma_f32(p, t, f32(3.3333331174e-1))
    y = p * t * z
    y = fma_f32(fe, LN2_LO_F32, y)
    y = fma_f32(f32(-0.5), z, y)
    return fma_f32(fe, LN2_HI_F32, t + y)


@scalar
def neg2log_u32(w):
    """``-2 log(u)`` in float32 for ``u = fl(fl(w) + 1/2) * 2**-32``, in (0, 1]; ``fl`` rounds
    to float32 (nearest even). ``fl(w)`` is one 32-bit conversion; the ``+ 1/2`` keeps u above
    zero (at least ``2**-33``, a radius of at most 6.77) and rides in the same FMA as the scale."""
    u = fma_f32(f32(u32(w)), f32(2.0**-32), f32(2.0**-33))
    return f32(-2.0) * log_f32(u)


@scalar
def sincos_octant_f32(f):
    """``(sin(phi), cos(phi))`` in float32 for ``phi`` in [0, pi/4] (Cephes ``sinf``/``cosf``,
    Horner's rule in fused multiply-adds)."""
    z = f * f
    s = fma_f32(f32(-1.9515295891e-4), z, f32(8.3321608736e-3))
    s = fma_f32(s, z, f32(-1.6666654611e-1))
    s = fma_f32(s * z, f, f)
    c = fma_f32(f32(2.443315711809948e-05), z, f32(-1.388731625493765e-03))
    c = fma_f32(c, z, f32(4.166664568298827e-02))
    c = fma_f32(c, z, f32(-0.5))
    c = fma_f32(c, z, f32(1.0))  # Horner to the end: within 0.87 ulp, Cephes's order 0.97
    return s, c


PI_4_2M29_F32 = f32(math.pi / 4 * 2.0**-29)  # c / 32, exactly
PI_4_2M25_F32 = f32(math.pi / 4 * 2.0**-25)  # c / 2, exactly


@scalar
def unit_circle_u32(w):
    """A uniformly distributed angle's ``(cos, sin)`` from one uint32 word.

    Bits 31-30 pick the quadrant, bit 29 the half of the quadrant, bits 28-5 the angle
    ``phi = fl(f * c + c / 2)``, ``c = fl(2**-24 pi/4)``, inside the octant (one FMA); the
    other octants follow by exact swaps and sign changes, so no argument reduction is needed.
    """
    w = u32(w)
    # f read in place, as 32 f (exact as an int32 and as a float32): (32 f)(c / 32) is the
    # product f c itself, so the FMA is the same and a shift is saved
    phi = fma_f32(f32(np.int32(w & u32(0x1FFFFFE0))), PI_4_2M29_F32, PI_4_2M25_F32)
    s, c = sincos_octant_f32(phi)
    # The half of the quadrant swaps sin and cos and so does an odd quadrant: they trade
    # places when bit 29 xor bit 30 is set. The signs are flipped by the sign bit (the same
    # as a product by -1, with no float work): cos's when the quadrant is 1 or 2 (bit 30 xor
    # bit 31), sin's when it is 2 or 3 (bit 31). Selects, not data-dependent branches, and
    # tests of 32-bit values (Numba widens ``&`` to 64 bits, and a test of the wide value
    # would run in 64-bit lanes, half as many per vector).
    turn = u32(w ^ (w << u32(1)))  # bit k: bit k xor bit k - 1 of w
    swapped = u32(turn & u32(0x40000000))
    cos_t = s if swapped else c
    sin_t = c if swapped else s
    flip_c = turn & u32(0x80000000)
    flip_s = w & u32(0x80000000)
    return u32_as_f32(f32_as_u32(cos_t) ^ flip_c), u32_as_f32(f32_as_u32(sin_t) ^ flip_s)


@scalar
def box_muller_f32(wr, wa):
    """Two standard normals (float32) from two words: radius from ``wr``, angle from ``wa``."""
    r = f32(math.sqrt(neg2log_u32(wr)))
    c, s = unit_circle_u32(wa)
    return r * c, r * s


@scalar
def normal_affine_f32(z, mean, std):
    """``z * std + mean`` in one rounding (exactly ``z`` for the standard normal)."""
    return fma_f32(z, std, mean)


# --- float64 log and sincos: series in float64 fused multiply-adds (``fma_f64``), so that they
# vectorize and give the same bits on every target (libm's would do neither, and a compiler
# that contracts ``a * b + c`` finds nothing left to fuse) -----------------------------------

SQRT_HALF = 0.7071067811865476
LN2_HI = 6.93147180369123816490e-01  # 0x3FE62E42FEE00000: e * LN2_HI is exact
LN2_LO = 1.90821492927058770002e-10
# 2 atanh(s) = 2 s (1 + s**2/3 + s**4/5 + ...): 1/(2k+1) for k = 1..11
ATANH = (1.0 / 3, 1.0 / 5, 1.0 / 7, 1.0 / 9, 1.0 / 11, 1.0 / 13, 1.0 / 15, 1.0 / 17, 1.0 / 19,
         1.0 / 21, 1.0 / 23)
ATANH_1, ATANH_2, ATANH_3, ATANH_4, ATANH_5, ATANH_6, ATANH_7, ATANH_8, ATANH_9, ATANH_10, \
    ATANH_11 = ATANH
MANTISSA_F64 = u64(0x000FFFFFFFFFFFFF)
HALF_F64 = u64(0x3FE0000000000000)  # the bits of 0.5: a mantissa's exponent for [0.5, 1)


@scalar
def log_f64(x):
    """Natural log of a positive normal float64, in float64 fused multiply-adds.

    ``x = (1 + f) * 2**e`` with ``1 + f`` in [sqrt(1/2), sqrt(2)) read off the bits (``f``
    exact), then ``ln(1 + f) = 2 atanh(s) = f - s (f - R)``, ``s = f / (2 + f)``,
    ``|s| <= 0.172``, ``R = 2 s**2 (1/3 + s**2/5 + ... + s**20/23)`` (the series' first term
    left out is below 1e-18 of the result), Horner's rule in FMAs, and ``ln x = e ln 2 +
    ln(1 + f)`` with ``ln 2`` in two parts, the small terms first (fdlibm's order). Within 1 ulp
    (``tests/bits/test_float64_transforms.py``, against ``decimal``).
    """
    b = f64_as_u64(x)
    e = f64(np.int64(b >> u64(52)) - np.int64(1022))
    m = u64_as_f64((b & MANTISSA_F64) | HALF_F64)  # in [0.5, 1)
    low = m < SQRT_HALF  # selects, not branches
    m = m + m if low else m
    e = e - 1.0 if low else e
    f = m - 1.0  # exact (Sterbenz)
    s = f / (2.0 + f)
    z = s * s
    p = fma_f64(ATANH_11, z, ATANH_10)
    p = fma_f64(p, z, ATANH_9)
    p = fma_f64(p, z, ATANH_8)
    p = fma_f64(p, z, ATANH_7)
    p = fma_f64(p, z, ATANH_6)
    p = fma_f64(p, z, ATANH_5)
    p = fma_f64(p, z, ATANH_4)
    p = fma_f64(p, z, ATANH_3)
    p = fma_f64(p, z, ATANH_2)
    p = fma_f64(p, z, ATANH_1)
    f_r = fma_f64(-(z + z), p, f)  # f - R
    small = fma_f64(-s, f_r, e * LN2_LO)
    return fma_f64(e, LN2_HI, small + f)  # e * LN2_HI is exact: the FMA only saves a rounding


# sin x = x - x**3 (1/3! - x**2/5! + ...), cos x = 1 - x**2/2 + x**4 (1/4! - ...): Taylor
SIN_TAYLOR = tuple(1.0 / math.factorial(n) for n in (3, 5, 7, 9, 11, 13, 15, 17))
COS_TAYLOR = tuple(1.0 / math.factorial(n) for n in (4, 6, 8, 10, 12, 14, 16, 18))
S3, S5, S7, S9, S11, S13, S15, S17 = SIN_TAYLOR
C4, C6, C8, C10, C12, C14, C16, C18 = COS_TAYLOR


@scalar
def sincos_octant_f64(x):
    """``(sin(x), cos(x))`` in float64 for ``x`` in [0, pi/4] by their Taylor series (to
    ``x**17`` and ``x**18``: the first terms left out are below 1e-18), Horner's rule in fused
    multiply-adds. Within 1 ulp (``tests/bits/test_float64_transforms.py``)."""
    z = x * x
    s = fma_f64(-S17, z, S15)
    s = fma_f64(s, z, -S13)
    s = fma_f64(s, z, S11)
    s = fma_f64(s, z, -S9)
    s = fma_f64(s, z, S7)
    s = fma_f64(s, z, -S5)
    s = fma_f64(s, z, S3)
    sin_x = fma_f64(-(x * z), s, x)
    c = fma_f64(C18, z, -C16)
    c = fma_f64(c, z, C14)
    c = fma_f64(c, z, -C12)
    c = fma_f64(c, z, C10)
    c = fma_f64(c, z, -C8)
    c = fma_f64(c, z, C6)
    c = fma_f64(c, z, -C4)
    cos_x = fma_f64(fma_f64(-c, z, -0.5), z, 1.0)  # Horner to the end
    return sin_x, cos_x


PI_4_2M53 = math.pi / 4 * 2.0**-53
SIGN_F64 = u64(0x8000000000000000)


@scalar
def unit_circle_u64(xa):
    """A uniformly distributed angle's ``(cos, sin)`` in float64 from one 64-bit draw: the top
    three bits pick the octant, the next 53 bits the angle ``phi = (f + 1/2) 2**-53 pi/4``
    inside it (one FMA, one rounding); the other octants follow by exact swaps and sign flips
    (as ``unit_circle_u32``)."""
    xa = u64(xa)
    phi = fma_f64(f64((xa >> u64(8)) & u64(0x1FFFFFFFFFFFFF)), PI_4_2M53, 0.5 * PI_4_2M53)
    s, c = sincos_octant_f64(phi)
    turn = xa ^ (xa << u64(1))  # bit k: bit k xor bit k - 1 of xa
    swapped = (turn & u64(0x4000000000000000)) != u64(0)
    cos_t = s if swapped else c
    sin_t = c if swapped else s
    return (u64_as_f64(f64_as_u64(cos_t) ^ (turn & SIGN_F64)),
            u64_as_f64(f64_as_u64(sin_t) ^ (xa & SIGN_F64)))


@scalar
def box_muller_f64(xr, xa):
    """Two standard normals (float64) from two 64-bit draws: radius from ``xr``, angle ``xa``.

    Same layout as the float32 form: ``u = ((xr >> 11) + 1/2) * 2**-53`` (one FMA, one
    rounding); the angle from :func:`unit_circle_u64`.
    """
    u = fma_f64(f64(u64(xr) >> u64(11)), 1.1102230246251565e-16, 5.551115123125783e-17)
    r = math.sqrt(-2.0 * log_f64(u))
    c, s = unit_circle_u64(xa)
    return r * c, r * s


@scalar
def normal_affine_f64(z, mean, std):
    """``z * std + mean`` in one rounding (exactly ``z`` for the standard normal)."""
    return fma_f64(z, std, mean)


# --- JAX's complex laws: a radius from one draw, the angle from the other -----------------------

@scalar
def polar_radius(u, rayleigh, c):
    """The modulus of JAX's complex uniform and complex truncated normal, in float64, from a
    uniform ``u`` in [0, 1).

    ``rayleigh`` false: ``sqrt(2 u)``, uniform on the disk of radius ``sqrt(2)`` (unit
    variance). ``rayleigh`` true: ``sqrt(-log(1 - c u))`` with ``c = 1 - exp(-upper**2)``: a
    standard complex normal's modulus (a Rayleigh law) truncated to ``upper``. Both are
    computed and one selected, so that a loop over elements vectorizes.
    """
    t = fma_f64(-c, u, 1.0)  # in (1 - c, 1]: a normal float64 for c < 1
    r2 = -log_f64(t) if rayleigh else u + u
    return math.sqrt(r2)


@scalar
def polar_f32(wr, wa, scale, rayleigh, c):
    """``(re, im)`` in float32 of JAX's complex uniform or truncated normal (``polar_radius``)
    times ``scale``: the radius from the word ``wr`` (``u = (wr >> 8) 2**-24``, rounded once
    to float32 after the scale), the angle from ``wa`` (:func:`unit_circle_u32`)."""
    r = f32(polar_radius(f64(uniform_f32(wr)), rayleigh, c) * scale)
    cos_t, sin_t = unit_circle_u32(wa)
    return r * cos_t, r * sin_t


@scalar
def polar_f64(xr, xa, scale, rayleigh, c):
    """``(re, im)`` in float64 as :func:`polar_f32`, from two 64-bit draws (``u = (xr >> 11)
    2**-53``, the angle from :func:`unit_circle_u64`)."""
    r = polar_radius(uniform_f64(xr), rayleigh, c) * scale
    cos_t, sin_t = unit_circle_u64(xa)
    return r * cos_t, r * sin_t


# --- normal quantile (AS 241, PPND16) and the truncated normal ---------------------------------

CENTRAL_LIMIT = -0.425  # AS 241's central region: p - 1/2 >= -0.425 (for p <= 1/2)


@scalar
def quantile_is_central(p):
    """Whether AS 241 takes its central branch for ``p``."""
    return p - 0.5 >= CENTRAL_LIMIT


@scalar
def normal_quantile_central(p):
    """AS 241's central branch: ``Phi^-1(p)`` for ``|p - 1/2| <= 0.425``, Horner's rule in
    fused multiply-adds."""
    q = p - 0.5
    r = fma_f64(-q, q, 0.180625)
    num = fma_f64(2.5090809287301226727e+03, r, 3.3430575583588128105e+04)
    num = fma_f64(num, r, 6.7265770927008700853e+04)
    num = fma_f64(num, r, 4.5921953931549871457e+04)
    num = fma_f64(num, r, 1.3731693765509461125e+04)
    num = fma_f64(num, r, 1.9715909503065514427e+03)
    num = fma_f64(num, r, 1.3314166789178437745e+02)
    num = fma_f64(num, r, 3.3871328727963666080e+00)
    den = fma_f64(5.2264952788528545610e+03, r, 2.8729085735721942674e+04)
    den = fma_f64(den, r, 3.9307895800092710610e+04)
    den = fma_f64(den, r, 2.1213794301586595867e+04)
    den = fma_f64(den, r, 5.3941960214247511077e+03)
    den = fma_f64(den, r, 6.8718700749205790830e+02)
    den = fma_f64(den, r, 4.2313330701600911252e+01)
    den = fma_f64(den, r, 1.0)
    return q * num / den


TAIL_NEAR_LIMIT = 5.0  # AS 241's near tail: r = sqrt(-log p) <= 5


@scalar
def quantile_tail_r(p):
    """``r = sqrt(-log p)``, the variable of AS 241's tail branches."""
    return math.sqrt(-log_f64(p))


@scalar
def quantile_tail_from_r(r, near):
    """AS 241's tail branches in ``r`` (:func:`quantile_tail_r`): ``Phi^-1(p)``, with
    ``near = r <= TAIL_NEAR_LIMIT``.

    The two branches share one Horner pass over selected coefficients, so that a loop over
    elements vectorizes; with ``near`` a constant the selections fold away (the CPU driver's
    loop when every element is in the near tail).
    """
    t = r - (1.6 if near else 5.0)
    num = 7.74545014278341407640e-04 if near else 2.01033439929228813265e-07
    num = fma_f64(num, t, 2.27238449892691845833e-02 if near else 2.71155556874348757815e-05)
    num = fma_f64(num, t, 2.41780725177450611770e-01 if near else 1.24266094738807843860e-03)
    num = fma_f64(num, t, 1.27045825245236838258e+00 if near else 2.65321895265761230930e-02)
    num = fma_f64(num, t, 3.64784832476320460504e+00 if near else 2.96560571828504891230e-01)
    num = fma_f64(num, t, 5.76949722146069140550e+00 if near else 1.78482653991729133580e+00)
    num = fma_f64(num, t, 4.63033784615654529590e+00 if near else 5.46378491116411436990e+00)
    num = fma_f64(num, t, 1.42343711074968357734e+00 if near else 6.65790464350110377720e+00)
    den = 1.05075007164441684324e-09 if near else 2.04426310338993978564e-15
    den = fma_f64(den, t, 5.47593808499534494600e-04 if near else 1.42151175831644588870e-07)
    den = fma_f64(den, t, 1.51986665636164571966e-02 if near else 1.84631831751005468180e-05)
    den = fma_f64(den, t, 1.48103976427480074590e-01 if near else 7.86869131145613259100e-04)
    den = fma_f64(den, t, 6.89767334985100004550e-01 if near else 1.48753612908506148525e-02)
    den = fma_f64(den, t, 1.67638483018380384940e+00 if near else 1.36929880922735805310e-01)
    den = fma_f64(den, t, 2.05319162663775882187e+00 if near else 5.99832206555887937690e-01)
    den = fma_f64(den, t, 1.0)
    return -(num / den)


@scalar
def normal_quantile_tail(p):
    """AS 241's tail branches: ``Phi^-1(p)`` for ``p < 0.075`` (``p`` a normal float64)."""
    r = quantile_tail_r(p)
    return quantile_tail_from_r(r, r <= TAIL_NEAR_LIMIT)


@scalar
def normal_quantile_lower(p):
    """``Phi^-1(p)`` in float64 for ``0 < p <= 0.5`` (Wichura's AS 241, about 1e-16 relative).

    ``p`` must be a normal float64 (>= 2.2e-308). Both branches are evaluated and one selected
    (no data-dependent branch, so that a loop over elements vectorizes); the CPU drivers
    instead take the central branch for all and redo the few tail elements.
    """
    central = normal_quantile_central(p)
    tail = normal_quantile_tail(p)
    return central if quantile_is_central(p) else tail


@scalar
def trunc_tail_prob(u, v, p_lo, q_hi, mass):
    """The smaller tail probability of a truncated-normal draw and whether it is the lower.

    ``u`` and ``v = 1 - u`` are given separately, each exact, so that both tails keep their
    precision: ``p = Phi(alpha) + u * mass`` and ``q = Phi(-beta) + v * mass`` are the lower and
    upper tail probabilities of the same point (``mass = Phi(beta) - Phi(alpha)``).
    """
    p = fma_f64(u, mass, p_lo)
    q = fma_f64(v, mass, q_hi)
    lower = p <= q
    return (p if lower else q), lower


@scalar
def trunc_from_quantile(z, lower, mean, std, lo, hi):
    """``mean + std * z`` (``z`` negated for an upper tail), clamped to [lo, hi] against
    rounding."""
    z = z if lower else -z
    x = fma_f64(std, z, mean)
    return min(max(x, lo), hi)


@scalar
def truncated_normal(u, v, mean, std, lo, hi, p_lo, q_hi, mass):
    """A normal(mean, std) truncated to [lo, hi] by inverse CDF, in float64.

    The quantile is taken from the smaller tail probability (:func:`trunc_tail_prob`).
    """
    pp, lower = trunc_tail_prob(u, v, p_lo, q_hi, mass)
    return trunc_from_quantile(normal_quantile_lower(pp), lower, mean, std, lo, hi)


# --- the float32 truncated normal: AS 241's single-precision form (PPND7) in float32 ------------

PPND7_CENTRAL_EDGE_F32 = f32(0.425)  # PPND7's central rational for |p - 1/2| <= 0.425
PPND7_NEAR_LIMIT_F32 = f32(5.0)      # its near tail rational for r = sqrt(-log t) <= 5


@scalar
def trunc_uniforms_f32(w):
    """``(u, 1 - u)`` in float32 with ``u = ((w >> 9) + 1/2) 2**-23``: both exact (24
    significant bits at most), symmetric about 1/2, never 0 or 1."""
    k = f32(u32(w) >> u32(9))
    u = fma_f32(k, f32(2.0**-23), f32(2.0**-24))
    return u, f32(1.0) - u


@scalar
def trunc_centred_f32(u, mass, mass2, c_lo, c_lo2):
    """``p - 1/2`` of a draw, ``p = Phi(alpha) + u mass`` its lower tail probability, from the
    constants as sums of two float32 (``mass + mass2``; ``c_lo + c_lo2 = Phi(alpha) - 1/2``):
    it keeps its relative precision where it crosses zero, so the values near the mean of any
    interval are as exact as the others."""
    return fma_f32(u, mass, c_lo) + fma_f32(u, mass2, c_lo2)


@scalar
def trunc_tail_prob_f32(u, v, lower, p_lo, q_hi, mass):
    """The smaller tail probability of a draw: ``p = Phi(alpha) + u mass`` when ``lower``,
    else ``q = Phi(-beta) + v mass`` (each exact but for one rounding, however small)."""
    return fma_f32(u, mass, p_lo) if lower else fma_f32(v, mass, q_hi)


@scalar
def ppnd7_central_f32(centred):
    """``Phi^-1(1/2 + centred)`` for ``|centred| <= 0.425`` in float32: the central rational of
    PPND7 (Wichura 1988, AS 241's single-precision form), odd in ``centred``, in fused
    multiply-adds."""
    r = fma_f32(-centred, centred, f32(0.180625))
    num = fma_f32(f32(59.109374720), r, f32(159.29113202))
    num = fma_f32(num, r, f32(50.434271938))
    num = fma_f32(num, r, f32(3.3871327179))
    den = fma_f32(f32(67.187563600), r, f32(78.757757664))
    den = fma_f32(den, r, f32(17.895169469))
    den = fma_f32(den, r, f32(1.0))
    return centred * num / den


@scalar
def ppnd7_tail_r_f32(t):
    """``r = sqrt(-log t)``, the variable of PPND7's tails, in float32 (``t`` a normal
    float32 below 1/2)."""
    return f32(math.sqrt(-log_f32(t)))


@scalar
def ppnd7_tail_f32(r, near):
    """``Phi^-1(t)`` for a small ``t`` from ``r = sqrt(-log t)``: PPND7's (Wichura 1988, AS
    241's single-precision form) near (``r <= 5``) or far rational, chosen by ``near``, as one
    Horner pass over selected coefficients."""
    s = r - (f32(1.6) if near else f32(5.0))
    num = f32(0.17023821103) if near else f32(0.017337203997)
    num = fma_f32(num, s, f32(1.3067284816) if near else f32(0.42868294337))
    num = fma_f32(num, s, f32(2.7568153900) if near else f32(3.0812263860))
    num = fma_f32(num, s, f32(1.4234372777) if near else f32(6.6579051150))
    den = f32(0.12021132975) if near else f32(0.012258202635)
    den = fma_f32(den, s, f32(0.73700164250) if near else f32(0.24197894225))
    den = fma_f32(den, s, f32(1.0))
    return -(num / den)


@scalar
def trunc_value_f32(z, mean, std, lo, hi):
    """``mean + std z`` in one rounding, clamped to ``[lo, hi]`` (the bounds rounded inward into
    the output dtype) by two selects, whose result, signed zeros included, is the same on
    every target."""
    x = fma_f32(std, z, mean)
    x = lo if x < lo else x
    return hi if x > hi else x


@scalar
def trunc_tail_r_f32(u, v, centred, p_lo, q_hi, mass):
    """``r = sqrt(-log t)`` of a draw's smaller tail probability ``t``."""
    return ppnd7_tail_r_f32(trunc_tail_prob_f32(u, v, centred <= f32(0.0), p_lo, q_hi, mass))


@scalar
def trunc_tail_from_r_f32(r, near, centred):
    """PPND7's tail quantile from ``r`` (:func:`trunc_tail_r_f32`) with ``near = r <=
    PPND7_NEAR_LIMIT_F32``, negated for the upper tail (``centred > 0``)."""
    z = ppnd7_tail_f32(r, near)
    return z if centred <= f32(0.0) else -z


@scalar
def trunc_tail_z_f32(u, v, centred, p_lo, q_hi, mass):
    """PPND7's tail quantile of a draw from its smaller tail probability, negated for the
    upper tail."""
    r = trunc_tail_r_f32(u, v, centred, p_lo, q_hi, mass)
    return trunc_tail_from_r_f32(r, r <= PPND7_NEAR_LIMIT_F32, centred)


@scalar
def truncated_normal_f32(w, mean, std, lo, hi, p_lo, q_hi, mass, mass2, c_lo, c_lo2):
    """A normal(mean, std) truncated to ``[lo, hi]`` from the word ``w``, by inverse CDF in
    float32: PPND7's central rational for ``|p - 1/2| <= 0.425``, its tail rationals from the
    smaller tail probability beyond (down to the smallest normal float32). Both branches are
    evaluated and one selected: what a GPU thread does; the CPU driver runs the central branch
    for every draw and the tail branch for those that need it, with the same bits."""
    u, v = trunc_uniforms_f32(w)
    centred = trunc_centred_f32(u, mass, mass2, c_lo, c_lo2)
    central = ppnd7_central_f32(centred)
    tail = trunc_tail_z_f32(u, v, centred, p_lo, q_hi, mass)
    z = central if abs(centred) <= PPND7_CENTRAL_EDGE_F32 else tail
    return trunc_value_f32(z, mean, std, lo, hi)


@scalar
def open_uniform_pair_u32(w):
    """``(u, 1 - u)`` in float64 with ``u = (w + 1/2) * 2**-32``, both exact.

    ``u`` has at most 33 significant bits, so ``1 - u`` is exact too (equal, for all 2**32
    words, to ``(2**32 - 1 - w + 1/2) * 2**-32``, checked once over every word).
    """
    u = (f64(u32(w)) + 0.5) * 2.3283064365386963e-10
    return u, 1.0 - u


@scalar
def open_uniform_pair_u64(x):
    """``(u, 1 - u)`` in float64 with ``u = ((x >> 11) + 1/2) * 2**-53``, each within half
    an ulp (exact below 2**52; the tail that matters takes the smaller, exact one)."""
    k = u64(x) >> u64(11)
    return ((f64(k) + 0.5) * 1.1102230246251565e-16,
            (f64(u64(0x1FFFFFFFFFFFFF) - k) + 0.5) * 1.1102230246251565e-16)


# --- rounding float32 into 16-bit formats -------------------------------------------------------

@scalar
def f32_to_bf16_bits(x):
    """bfloat16 bits of a float32, round to nearest even (NaN stays a quiet NaN).

    Both outcomes are computed and one selected: no branch, so the store loop vectorizes.
    """
    b = f32_as_u32(x)
    # in uint32 (Numba widens integer arithmetic to 64 bits, and 64-bit lanes halve the
    # vector width): the sum wraps only for a NaN, which the select replaces
    rounded = u32(u32(b + u32(0x7FFF)) + u32(u32(b >> u32(16)) & u32(1))) >> u32(16)
    quiet_nan = u32(u32(b >> u32(16)) | u32(0x40))
    is_nan = u32(b & u32(0x7FFFFFFF)) > u32(0x7F800000)
    return np.uint16(quiet_nan if is_nan else rounded)


F16_DENORM_MAGIC = f32(0.5)  # bits (126 << 23): adding it rounds a tiny value into the last bits


@scalar
def f32_to_f16_bits(x):
    """float16 bits of a float32, round to nearest even, overflow to inf, subnormals kept.

    The three cases (inf/nan, subnormal, normal) are all computed and one selected.
    """
    b = f32_as_u32(x)
    # every step in uint32, as in f32_to_bf16_bits
    sign = u32(u32(b >> u32(16)) & u32(0x8000))
    a = u32(b & u32(0x7FFFFFFF))
    special = u32(0x7E00) if a > u32(0x7F800000) else u32(0x7C00)  # >= 65536: inf or nan
    # below the smallest normal half, float addition does the rounding into the last bits
    tiny = u32(f32_as_u32(u32_as_f32(a) + F16_DENORM_MAGIC) - f32_as_u32(F16_DENORM_MAGIC))
    odd = u32(u32(a >> u32(13)) & u32(1))
    a_normal = a if a > u32(0x38000000) else u32(0x38000000)  # no unsigned wrap when unused
    normal = u32(u32(a_normal - u32(0x38000000 - 0xFFF)) + odd) >> u32(13)
    h = normal
    h = tiny if a < u32(0x38800000) else h
    h = special if a >= u32(0x47800000) else h
    return np.uint16(h | sign)
