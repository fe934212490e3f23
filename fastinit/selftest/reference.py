"""A slow, obvious reference of fastinit's counter contract, in NumPy and plain Python.

Written from the contract (``fastinit.kernels`` docstring, DESIGN.md, the Random123 paper)
and not from the package's kernels: nothing here imports ``fastinit``. Every function works on
whole NumPy arrays (or loops over Python floats), trading speed for being easy to read.
``fastinit selftest`` checks the kernels against it on the user's machine; the test suite's
``tests/reference.py`` re-exports it.

float32 arithmetic is done on NumPy float32 arrays, one operation at a time, in the same order
as the contract's formulas, so results are bit-exact (NumPy never fuses a multiply-add; where
the contract fuses one, ``fma_f32`` below rounds it once).
"""
import math
from fractions import Fraction

import ml_dtypes
import numpy as np

BFLOAT16 = np.dtype(ml_dtypes.bfloat16)
MASK32 = np.uint64(0xFFFFFFFF)
M0, M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
W0, W1 = np.uint64(0x9E3779B9), np.uint64(0xBB67AE85)
F32 = np.float32


# --- Philox4x32 ----------------------------------------------------------------------------

def _mulhilo(a, b):
    """(hi, lo) 32-bit halves of the 64-bit product of two 32-bit values held in uint64."""
    p = a * b  # < 2**64: exact in uint64
    return p >> np.uint64(32), p & MASK32


def philox4x32_ref(ctr, key, rounds=10):
    """Philox4x32-``rounds``: ``ctr`` a tuple of four, ``key`` of two uint32 arrays/ints.

    Returns four uint32 arrays (broadcast shape of the inputs).
    """
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) for c in ctr)
    k0, k1 = (np.asarray(k, dtype=np.uint64) for k in key)
    c0, c1, c2, c3, k0, k1 = np.broadcast_arrays(c0, c1, c2, c3, k0, k1)
    for r in range(rounds):
        if r:  # the key schedule: bump before every round but the first
            k0 = (k0 + W0) & MASK32
            k1 = (k1 + W1) & MASK32
        hi0, lo0 = _mulhilo(M0, c0)
        hi1, lo1 = _mulhilo(M1, c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return tuple(c.astype(np.uint32) for c in (c0, c1, c2, c3))


# --- seeds, streams, indices -------------------------------------------------------------------

def key_of(seed):
    """The Philox key (k0, k1) for an int seed or a numpy SeedSequence."""
    if isinstance(seed, np.random.SeedSequence):
        s = seed.generate_state(2, np.uint32)
        return int(s[0]), int(s[1])
    seed = int(seed)
    return seed % 2**32, seed // 2**32


def stream_words(stream):
    stream = int(stream)
    return stream % 2**32, stream // 2**32


def flat_indices(shape, region=None):
    """uint64 global row-major flat indices of the region's elements, in the region's shape.

    ``region`` is a tuple of slices (step 1, non-negative, inside ``shape``) or None. Works
    for global shapes far above 2**32 elements (Python ints for the strides).
    """
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    region = () if region is None else (region if isinstance(region, tuple) else (region,))
    idx = np.zeros((), dtype=np.uint64)
    stride = 1
    axes = []
    for d in range(len(shape) - 1, -1, -1):
        s = region[d] if d < len(region) else slice(None)
        start = 0 if s.start is None else s.start
        stop = shape[d] if s.stop is None else s.stop
        axes.append((np.arange(stop - start, dtype=np.uint64) + np.uint64(start))
                    * np.uint64(stride))
        stride *= shape[d]
    axes.reverse()
    for d, a in enumerate(axes):
        idx = idx[..., None] + a if d else a
    return np.asarray(idx, dtype=np.uint64).reshape([len(a) for a in axes])


def blocks(b, seed, stream):
    """The four words of counter blocks ``b`` (uint64 array) in ``stream`` under ``seed``."""
    b = np.asarray(b, dtype=np.uint64)
    s0, s1 = stream_words(stream)
    return philox4x32_ref((b & MASK32, b >> np.uint64(32), s0, s1), key_of(seed))


def words32(idx, seed, stream):
    """The 32-bit draw of each flat index: word ``i % 4`` of block ``i // 4``."""
    w = np.stack(blocks(idx // np.uint64(4), seed, stream))
    return np.take_along_axis(w, (idx % np.uint64(4)).astype(np.intp)[None], 0)[0]


# 32-bit words one value takes, where it is not one
WORDS_PER_VALUE = {np.dtype(np.float64): 2, np.dtype(np.complex64): 2,
                   np.dtype(np.complex128): 4}


def sparse_zeros_ref(shape, sparsity, dtype, seed, stream=0):
    """The zero pattern of ``sparse``: in column ``c``, the ``ceil(sparsity * rows)`` rows with
    the smallest ``(word, row)``, the word of ``(r, c)`` being the raw 32-bit word
    ``F + r * cols + c``, ``F`` past the words the values use (``rows * cols``; float64 and
    complex64 values take two words each, complex128 values four)."""
    rows, cols = shape
    first = rows * cols * WORDS_PER_VALUE.get(np.dtype(dtype), 1)
    idx = (np.uint64(first) + np.arange(rows * cols, dtype=np.uint64)).reshape(rows, cols)
    words = words32(idx, seed, stream)
    zeros = np.zeros(shape, bool)
    k = math.ceil(sparsity * rows)
    for c in range(cols):
        order = sorted(range(rows), key=lambda r: (int(words[r, c]), r))
        zeros[order[:k], c] = True
    return zeros


def pair32(idx, seed, stream):
    """For Box-Muller (float32): the two words (w0, w1) or (w2, w3) of element ``i``'s pair."""
    w = np.stack(blocks(idx // np.uint64(4), seed, stream))
    first = ((idx % np.uint64(4)) // np.uint64(2) * np.uint64(2)).astype(np.intp)
    return (np.take_along_axis(w, first[None], 0)[0],
            np.take_along_axis(w, first[None] + 1, 0)[0])


def _join(lo, hi):
    return lo.astype(np.uint64) | (hi.astype(np.uint64) << np.uint64(32))


def draws64(b, seed, stream):
    """The two 64-bit draws ``(w0 | w1 << 32, w2 | w3 << 32)`` of blocks ``b``."""
    w0, w1, w2, w3 = blocks(b, seed, stream)
    return _join(w0, w1), _join(w2, w3)


def words64(idx, seed, stream):
    """The 64-bit draw of each flat index: draw ``i % 2`` of block ``i // 2``."""
    x0, x1 = draws64(idx // np.uint64(2), seed, stream)
    return np.where(idx % np.uint64(2) == 0, x0, x1)


def random_bits_ref(shape, seed, stream=0, region=None):
    return words32(flat_indices(shape, region), seed, stream)


# --- dtype rounding ---------------------------------------------------------------------------

def round_to(x32, dtype):
    """float32 (or float64 for float64 output) values rounded into ``dtype`` by NumPy/ml_dtypes."""
    return np.asarray(x32).astype(np.dtype(dtype))


def bits(a):
    """The raw bits of a float array, as unsigned ints of the same width."""
    a = np.asarray(a)
    return a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


# --- uniform ----------------------------------------------------------------------------------

def uniform01_f32(w):
    return (w >> np.uint32(8)).astype(F32) * F32(2.0**-24)


def uniform01_f64(x):
    return (x >> np.uint64(11)).astype(np.float64) * 2.0**-53


def _ordered(x32):
    """A signed int64 key of float32 values that orders them like the values."""
    b = np.asarray(x32, F32).view(np.uint32).astype(np.int64)
    return np.where(b >= 2**31, -(b - 2**31), b)


def _from_ordered(k):
    k = np.asarray(k, np.int64)
    b = np.where(k < 0, (-k) + 2**31, k).astype(np.uint32)
    return b.view(F32)


def uniform_threshold(high, dtype):
    """The smallest float32 whose rounding into ``dtype`` is >= ``high`` (brute force)."""
    dtype = np.dtype(dtype)
    if dtype == np.float32:
        x = F32(high)
        return x if float(x) >= high else np.nextafter(x, F32(np.inf))
    # the dtype's largest value below high: every float32 from there up is a candidate
    d = np.array(high).astype(dtype)
    while float(d) >= high:
        d = np.nextafter(d, np.array(-np.inf, dtype))
    start = int(_ordered(F32(float(d)))[()])
    while True:  # scan the float32s upward, 2**20 at a time
        cand = _from_ordered(np.arange(start, start + 2**20))
        with np.errstate(over="ignore"):  # float32s above the dtype's range round to inf
            ok = cand.astype(dtype).astype(np.float64) >= high
        if ok.any():
            return cand[np.argmax(ok)]
        start += 2**20


def uniform_ref(shape, low, high, dtype, seed, stream=0, region=None):
    """``u * span + low`` in float32 (float64 for float64), values reaching high -> low."""
    dtype = np.dtype(dtype)
    idx = flat_indices(shape, region)
    if dtype == np.float64:
        v = uniform01_f64(words64(idx, seed, stream)) * (high - low) + low
        return np.where(v >= high, low, v)
    span, lo32 = F32(high - low), F32(low)
    v = uniform01_f32(words32(idx, seed, stream)) * span + lo32
    v = np.where(v >= uniform_threshold(high, dtype), lo32, v).astype(F32)
    return round_to(v, dtype)


# --- constant ---------------------------------------------------------------------------------

def constant_ref(shape, value, dtype, region=None):
    idx = flat_indices(shape, region)
    return np.full(idx.shape, np.array(float(value)).astype(np.dtype(dtype)))


# --- float32 Box-Muller --------------------------------------------------------------------------

def fma_f32(a, b, c):
    """``a * b + c`` rounded once to float32 (nearest even), elementwise.

    ``a * b`` is exact in float64; the sum is rounded to odd in float64 (rounded to nearest,
    then moved one unit toward the exact error when that is nonzero and the last bit is even);
    rounding that to float32 is then correct (Boldo and Melquiond, IEEE Trans. Computers 2008).
    """
    a, b, c = (np.asarray(v, F32).astype(np.float64) for v in (a, b, c))
    p = a * b
    s = p + c
    t = s - p
    err = (p - (s - t)) + (c - t)  # TwoSum: p + c = s + err exactly
    even = (np.asarray(s).view(np.uint64) & np.uint64(1)) == 0
    s = np.where((err != 0) & even, np.nextafter(s, np.copysign(np.inf, err)), s)
    return s.astype(F32)


def log_f32_ref(x):
    """Cephes logf, on float32 arrays: the exponent read off the bits, Horner's rule in FMAs."""
    x = np.asarray(x, F32)
    b = x.view(np.uint32)
    e = ((b >> np.uint32(23)).astype(np.int32) - np.int32(126)).astype(F32)
    m = ((b & np.uint32(0x007FFFFF)) | np.uint32(0x3F000000)).view(F32)
    low = (m < F32(0.70710677)).astype(F32)
    m = m + m * low  # exact
    fe = e - low
    t = m - F32(1.0)
    z = t * t
    p = np.full_like(t, F32(7.0376836292e-2))
    for c in (-1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
              -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1):
        p = fma_f32(p, t, c)
    y = p * t * z
    y = fma_f32(fe, F32(-2.12194440e-4), y)
    y = fma_f32(F32(-0.5), z, y)
    return fma_f32(fe, F32(0.693359375), t + y)


def radius_f32(w):
    """``sqrt(-2 log u)``, ``u = fl(fl(w) + 1/2) 2**-32`` (``fl``: rounded to float32)."""
    u = (w.astype(F32) + F32(0.5)) * F32(2.0**-32)  # scaling by 2**-32 is exact
    return np.sqrt(F32(-2.0) * log_f32_ref(u))


def sincos_f32(f):
    z = f * f
    s = fma_f32(F32(-1.9515295891e-4), z, F32(8.3321608736e-3))
    s = fma_f32(s, z, F32(-1.6666654611e-1))
    s = fma_f32(s * z, f, f)
    c = fma_f32(F32(2.443315711809948e-05), z, F32(-1.388731625493765e-03))
    c = fma_f32(c, z, F32(4.166664568298827e-02))
    c = fma_f32(c, z, F32(-0.5))
    c = fma_f32(c, z, F32(1.0))
    return s, c


def angle_f32(w):
    """(cos t, sin t) from one word: quadrant, half-quadrant swap, 24-bit octant angle."""
    quadrant = w >> np.uint32(30)
    swap = ((w >> np.uint32(29)) & np.uint32(1)).astype(bool)
    frac = (w >> np.uint32(5)) & np.uint32(0xFFFFFF)
    c0 = F32(math.pi / 4 * 2.0**-24)
    phi = fma_f32(frac.astype(F32), c0, c0 / F32(2))  # (f + 1/2) c0, rounded once
    s, c = sincos_f32(phi)
    x, y = np.where(swap, c, s), np.where(swap, s, c)
    odd = (quadrant & np.uint32(1)).astype(bool)
    cos_t, sin_t = np.where(odd, x, y), np.where(odd, y, x)
    flip_c = (quadrant ^ (quadrant >> np.uint32(1))) & np.uint32(1)
    sign_c = F32(1.0) - F32(2.0) * flip_c.astype(F32)
    sign_s = F32(1.0) - F32(2.0) * (quadrant >> np.uint32(1)).astype(F32)
    return cos_t * sign_c, sin_t * sign_s


def std_normal_f32(idx, seed, stream):
    """Standard normals in float32: r(first word) times cos/sin(second word)."""
    wr, wa = pair32(idx, seed, stream)
    r = radius_f32(wr)
    c, s = angle_f32(wa)
    return np.where(idx % np.uint64(2) == 0, r * c, r * s)


# --- float64 Box-Muller (per element, Python floats and exact-rational FMAs) ----------------------

def log_f64_ref(x):
    """ln x for a positive normal float: frexp, then ``ln(1 + f) = f - s (f - R)`` with
    ``R`` the atanh series, each multiply-add rounded once (``fma64``).

    Not libm's log: the contract fixes this arithmetic so both backends give the same bits.
    """
    m, e = math.frexp(x)  # x = m 2**e, m in [0.5, 1)
    e = float(e)
    if m < 0.7071067811865476:
        m, e = m + m, e - 1.0
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    p = fma64(1.0 / 23, z, 1.0 / 21)
    for k in range(9, 0, -1):
        p = fma64(p, z, 1.0 / (2 * k + 1))
    small = fma64(-s, fma64(-(z + z), p, f), e * 1.90821492927058770002e-10)
    return fma64(e, 6.93147180369123816490e-01, small + f)


def sincos_f64_ref(x):
    """(sin x, cos x) on [0, pi/4] by Taylor series to x**17 / x**18, Horner's rule with one
    rounding per multiply-add (``fma64``)."""
    z = x * x
    s = fma64(-1.0 / math.factorial(17), z, 1.0 / math.factorial(15))
    for n, sign in ((13, -1), (11, 1), (9, -1), (7, 1), (5, -1), (3, 1)):
        s = fma64(s, z, sign * (1.0 / math.factorial(n)))
    c = fma64(1.0 / math.factorial(18), z, -1.0 / math.factorial(16))
    for n, sign in ((14, 1), (12, -1), (10, 1), (8, -1), (6, 1), (4, -1)):
        c = fma64(c, z, sign * (1.0 / math.factorial(n)))
    return fma64(-(x * z), s, x), fma64(fma64(-c, z, -0.5), z, 1.0)


def box_muller_f64_ref(xr, xa):
    xr = int(xr)
    u = (float(xr >> 11) + 0.5) * 2.0**-53  # (j + 1/2) 2**-53 rounded once, as the FMA's
    r = math.sqrt(-2.0 * log_f64_ref(u))
    c, s = angle_f64_ref(xa)
    return r * c, r * s


def angle_f64_ref(xa):
    """(cos t, sin t) of one 64-bit draw: octant from the top three bits, 53-bit angle
    ``(f + 1/2) 2**-53 pi/4`` rounded once."""
    xa = int(xa)
    quadrant, swap = xa >> 62, (xa >> 61) & 1
    c_ = math.pi / 4 * 2.0**-53
    phi = fma64(float((xa >> 8) & (2**53 - 1)), c_, 0.5 * c_)
    s, c = sincos_f64_ref(phi)
    if swap:
        s, c = c, s
    # rotate by quadrant * pi/2
    if quadrant == 1:
        s, c = c, -s
    elif quadrant == 2:
        s, c = -s, -c
    elif quadrant == 3:
        s, c = -c, s
    return c, s


def std_normal_f64(idx, seed, stream):
    x0, x1 = draws64(idx // np.uint64(2), seed, stream)
    out = np.empty(idx.shape, np.float64)
    for k in np.ndindex(idx.shape):
        z0, z1 = box_muller_f64_ref(x0[k], x1[k])
        out[k] = z0 if int(idx[k]) % 2 == 0 else z1
    return out


def normal_ref(shape, mean, std, dtype, seed, stream=0, region=None):
    dtype = np.dtype(dtype)
    idx = flat_indices(shape, region)
    if dtype == np.float64:
        z = std_normal_f64(idx, seed, stream)
        return np.array([fma64(v, std, mean) for v in z.ravel()]).reshape(z.shape)
    z = std_normal_f32(idx, seed, stream)
    return round_to(fma_f32(z, std, mean), dtype)


# --- JAX's complex laws: modulus from one draw, angle from the other ---------------------------

def polar_radius_ref(u, rayleigh, c):
    """sqrt(2 u) (disk) or sqrt(-log(1 - c u)) (truncated Rayleigh), plain float64."""
    if rayleigh:
        return math.sqrt(-log_f64_ref(fma64(-c, u, 1.0)))
    return math.sqrt(u + u)


def polar_ref(shape, scale, rayleigh, c, dtype, seed, stream=0):
    """JAX's complex uniform (``rayleigh`` false) or truncated normal of ``shape``: element
    ``k``'s parts are the pair ``2k, 2k + 1`` of the real view, as the normal's."""
    n = math.prod(shape)
    out = np.empty(n, np.dtype(dtype))
    k = np.arange(n, dtype=np.uint64)
    if np.dtype(dtype) == np.complex64:
        wr, wa = pair32(2 * k, seed, stream)
        u = ((wr >> np.uint32(8)).astype(np.float64) * 2.0**-24)
        cos_t, sin_t = angle_f32(wa)
        for j in range(n):
            r = F32(polar_radius_ref(float(u[j]), rayleigh, c) * scale)
            out[j] = complex(r * cos_t[j], r * sin_t[j])
        return out.reshape(shape)
    xr, xa = draws64(k, seed, stream)
    for j in range(n):
        r = polar_radius_ref(float(int(xr[j]) >> 11) * 2.0**-53, rayleigh, c) * scale
        cos_t, sin_t = angle_f64_ref(xa[j])
        out[j] = complex(r * cos_t, r * sin_t)
    return out.reshape(shape)


# --- truncated normal -------------------------------------------------------------------------

A = (3.3871328727963666080e+00, 1.3314166789178437745e+02, 1.9715909503065514427e+03,
     1.3731693765509461125e+04, 4.5921953931549871457e+04, 6.7265770927008700853e+04,
     3.3430575583588128105e+04, 2.5090809287301226727e+03)
B = (1.0, 4.2313330701600911252e+01, 6.8718700749205790830e+02, 5.3941960214247511077e+03,
     2.1213794301586595867e+04, 3.9307895800092710610e+04, 2.8729085735721942674e+04,
     5.2264952788528545610e+03)
C = (1.42343711074968357734e+00, 4.63033784615654529590e+00, 5.76949722146069140550e+00,
     3.64784832476320460504e+00, 1.27045825245236838258e+00, 2.41780725177450611770e-01,
     2.27238449892691845833e-02, 7.74545014278341407640e-04)
D = (1.0, 2.05319162663775882187e+00, 1.67638483018380384940e+00, 6.89767334985100004550e-01,
     1.48103976427480074590e-01, 1.51986665636164571966e-02, 5.47593808499534494600e-04,
     1.05075007164441684324e-09)
E = (6.65790464350110377720e+00, 5.46378491116411436990e+00, 1.78482653991729133580e+00,
     2.96560571828504891230e-01, 2.65321895265761230930e-02, 1.24266094738807843860e-03,
     2.71155556874348757815e-05, 2.01033439929228813265e-07)
F = (1.0, 5.99832206555887937690e-01, 1.36929880922735805310e-01, 1.48753612908506148525e-02,
     7.86869131145613259100e-04, 1.84631831751005468180e-05, 1.42151175831644588870e-07,
     2.04426310338993978564e-15)


def fma64(a, b, c):
    """``a * b + c`` rounded once to float64: exact rationals, rounded by ``float``."""
    return float(Fraction(a) * Fraction(b) + Fraction(c))


def _horner(coef, x):
    """coef[0] + coef[1] x + ... by Horner from the top, each step one fused multiply-add:
    fma(fma(c7, x, c6), x, c5) ... c0."""
    acc = fma64(coef[-1], x, coef[-2])
    for c in coef[-3::-1]:
        acc = fma64(acc, x, c)
    return acc


def ppnd16_lower(p):
    """AS 241 PPND16: Phi^-1(p) for 0 < p <= 0.5 (Wichura 1988), plain Python floats."""
    q = p - 0.5
    if q >= -0.425:
        r = fma64(-q, q, 0.180625)
        return q * _horner(A, r) / _horner(B, r)
    r = math.sqrt(-log_f64_ref(p))
    if r <= 5.0:
        r = r - 1.6
        return -(_horner(C, r) / _horner(D, r))
    r = r - 5.0
    return -(_horner(E, r) / _horner(F, r))


def _phi(x):
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def trunc_params(mean, std, a, b):
    """(p_lo, q_hi, mass): Phi(alpha), Phi(-beta) and the interval's mass from its smaller tails."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    p_lo, q_hi = _phi(alpha), _phi(-beta)
    if beta <= 0.0:
        mass = _phi(beta) - p_lo
    elif alpha >= 0.0:
        mass = _phi(-alpha) - q_hi
    else:
        mass = 1.0 - p_lo - q_hi
    return p_lo, q_hi, mass


def trunc_value(u, v, mean, std, lo, hi, params):
    p_lo, q_hi, mass = params
    p = fma64(u, mass, p_lo)
    q = fma64(v, mass, q_hi)
    z = ppnd16_lower(p) if p <= q else -ppnd16_lower(q)
    return min(max(fma64(std, z, mean), lo), hi)


def trunc_normal_f64(shape, mean, std, a, b, bits64, seed, stream=0, region=None, clamp=None):
    """The float64 values (before any rounding) from 32-bit (``bits64=False``) or 64-bit draws,
    clamped to ``[a, b]`` (or to ``clamp``)."""
    idx = flat_indices(shape, region)
    lo, hi = (a, b) if clamp is None else clamp
    if std == 0.0:
        return np.full(idx.shape, min(max(mean, lo), hi))
    params = trunc_params(mean, std, a, b)
    out = np.empty(idx.shape, np.float64)
    if bits64:
        k = words64(idx, seed, stream) >> np.uint64(11)
        for j in np.ndindex(idx.shape):
            kk = int(k[j])
            u = (float(kk) + 0.5) * 2.0**-53
            v = (float(2**53 - 1 - kk) + 0.5) * 2.0**-53
            out[j] = trunc_value(u, v, mean, std, lo, hi, params)
    else:
        w = words32(idx, seed, stream)
        for j in np.ndindex(idx.shape):
            ww = int(w[j])
            u = (float(ww) + 0.5) * 2.0**-32
            v = (float(2**32 - 1 - ww) + 0.5) * 2.0**-32
            out[j] = trunc_value(u, v, mean, std, lo, hi, params)
    return out


def inward_bounds(a, b, dtype):
    """The smallest value of ``dtype`` >= ``a`` and the largest <= ``b`` (both the value nearest
    the midpoint when none lies in ``[a, b]``)."""
    lo, hi = np.array(a).astype(dtype), np.array(b).astype(dtype)
    if float(lo) < a:
        lo = np.nextafter(lo, np.array(np.inf, dtype))
    if float(hi) > b:
        hi = np.nextafter(hi, np.array(-np.inf, dtype))
    if float(lo) > float(hi):
        lo = hi = np.array(a / 2 + b / 2).astype(dtype)
    return float(lo), float(hi)


def _two_f32(x):
    hi = F32(x)
    return hi, F32(x - float(hi))


def _horner_f32(coef, x):
    """``coef[0] x**n + ... + coef[n]`` by Horner's rule in fused multiply-adds (float32)."""
    r = np.full_like(x, F32(coef[0]))
    for c in coef[1:]:
        r = fma_f32(r, x, F32(c))
    return r


PPND7_A = (59.109374720, 159.29113202, 50.434271938, 3.3871327179)
PPND7_B = (67.187563600, 78.757757664, 17.895169469, 1.0)
PPND7_C = (0.17023821103, 1.3067284816, 2.7568153900, 1.4234372777)
PPND7_D = (0.12021132975, 0.73700164250, 1.0)
PPND7_E = (0.017337203997, 0.42868294337, 3.0812263860, 6.6579051150)
PPND7_F = (0.012258202635, 0.24197894225, 1.0)


def trunc_f32_uses_float32(mean, std, a, b):
    """Whether a float32/16-bit truncated normal takes the float32 path: interval probability
    >= 2**-100 and its draws' tail probabilities at most 2**6 coarser than the uniforms'."""
    p_lo, q_hi, mass = trunc_params(mean, std, a, b)
    alpha, beta = (a - mean) / std, (b - mean) / std
    if beta <= 0.0:
        coarsening = (p_lo + mass) / mass if mass > 0 else math.inf
    elif alpha >= 0.0:
        coarsening = (q_hi + mass) / mass if mass > 0 else math.inf
    else:
        coarsening = 1.0
    return mass >= 2.0**-100 and coarsening <= 2.0**6


def trunc_normal_f32_values(w, mean, std, a, b, lo, hi):
    """The float32 truncated normal of the words ``w``: PPND7 in float32 arithmetic (every
    multiply-add fused), ``p - 1/2`` from two-float constants, the tail from the smaller
    tail probability, clamped to ``[lo, hi]``."""
    p_lo, q_hi, mass = trunc_params(mean, std, a, b)
    m1, m2 = _two_f32(mass)
    c1, c2 = _two_f32(p_lo - 0.5)
    k = (np.asarray(w, np.uint32) >> np.uint32(9)).astype(np.float64)
    u = ((k + 0.5) * 2.0**-23).astype(F32)  # exact
    v = F32(1.0) - u
    c = fma_f32(u, m1, c1) + fma_f32(u, m2, c2)
    r = fma_f32(-c, c, F32(0.180625))
    central = c * _horner_f32(PPND7_A, r) / _horner_f32(PPND7_B, r)
    lower = c <= 0
    t = np.where(lower, fma_f32(u, m1, F32(p_lo)), fma_f32(v, m1, F32(q_hi)))
    rr = np.sqrt(-log_f32_ref(t))
    near = rr <= F32(5.0)
    s = np.where(near, rr - F32(1.6), rr - F32(5.0))
    num = np.where(near, _horner_f32(PPND7_C, s), _horner_f32(PPND7_E, s))
    den = np.where(near, _horner_f32(PPND7_D, s), _horner_f32(PPND7_F, s))
    tail = -(num / den)
    tail = np.where(lower, tail, -tail)
    z = np.where(np.abs(c) <= F32(0.425), central, tail)
    x = fma_f32(F32(std), z, F32(mean))
    x = np.where(x < F32(lo), F32(lo), x)
    return np.where(x > F32(hi), F32(hi), x)


def trunc_normal_ref(shape, mean, std, a, b, dtype, seed, stream=0, region=None):
    """float64 output: AS 241 in float64 from 64-bit draws. Other dtypes: the float32 path
    (PPND7) where the interval allows it, else AS 241 in float64 from 32-bit draws rounded to
    float32; clamped to the bounds rounded inward into ``dtype``, then rounded into it."""
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        return trunc_normal_f64(shape, mean, std, a, b, True, seed, stream, region)
    lo, hi = inward_bounds(a, b, dtype)
    idx = flat_indices(shape, region)
    if std == 0.0:
        return round_to(np.full(idx.shape, F32(min(max(mean, lo), hi))), dtype)
    if trunc_f32_uses_float32(mean, std, a, b):
        x = trunc_normal_f32_values(words32(idx, seed, stream), mean, std, a, b, lo, hi)
    else:
        x = trunc_normal_f64(shape, mean, std, a, b, False, seed, stream, region,
                             clamp=(lo, hi)).astype(F32)
    return round_to(x, dtype)


def truncated_normal_ref(shape, stddev, lower, upper, dtype, seed, stream=0, region=None):
    if stddev == 0.0:
        return constant_ref(shape, 0.0, dtype, region)
    return trunc_normal_ref(shape, 0.0, stddev, lower * stddev, upper * stddev, dtype, seed,
                            stream, region)
