"""Numba kernels of fastinit (installed as ``fastinit.kernels``): no argument checking here.

``philox.py`` holds the one scalar source (Philox4x32-10 and every bits-to-value transform),
``cpu.py`` the parallel CPU drivers, ``cuda.py`` the CUDA kernels (compiled from the same
source by ``philox.for_target``; imported only when a GPU call arrives), ``codes.py`` the codes
both take, ``householder.py`` and ``householder_cuda.py`` the panel steps of the blocked QR,
``cache.py`` where the compiled kernels are filed on disk.

Counter layout
--------------
Every random value is a pure function of ``(key, stream, global flat index i)``. A counter
block is ``(b mod 2**32, b >> 32, stream mod 2**32, stream >> 32)``, encrypted by
Philox4x32-10 under ``key = (seed mod 2**32, seed >> 32)``, giving four uint32 words
``w0..w3``. Indices are row-major over the *global* tensor, so a region, a shard, a tile
order or a thread count never changes a value.

- 32-bit draws (``random_bits`` and every float32, float16 and bfloat16 output): element
  ``i`` uses word ``i % 4`` of block ``b = i // 4``.
- 64-bit draws (float64 output): element ``i`` uses the draw ``w0 | w1 << 32`` (``i`` even)
  or ``w2 | w3 << 32`` (``i`` odd) of block ``b = i // 2``.
- uniform: float32 ``u = (w >> 8) * 2**-24``; float64 ``u = (x >> 11) * 2**-53``.
- normal (Box-Muller): elements ``2j`` and ``2j + 1`` are ``r cos(t)`` and ``r sin(t)`` of
  one pair of draws: in float32, the pair is words (w0, w1) or (w2, w3) of block ``i // 4``;
  in float64 the two 64-bit draws of block ``i // 2``. The first draw gives
  ``r = sqrt(-2 ln u)`` with ``u = fl(fl(w) + 1/2) 2**-32`` (``fl``: rounded to float32;
  float64: ``((x >> 11) + 1/2) 2**-53``); the second the angle: its top two bits the
  quadrant, the next bit the half of the quadrant, the next 24 (float64: 53) bits
  ``phi = (f + 1/2) 2**-24 pi/4`` in the octant (float32: ``fl(f c + c/2)``,
  ``c = fl(2**-24 pi/4)``; float64: ``fl(f c + c/2)``, ``c = fl(2**-53 pi/4)``). The value
  is then ``fl(z std + mean)``, one rounding. The transforms' polynomials run in fused
  multiply-adds (``philox.fma_f32``, ``fma_f64``), so their bits are fixed on every target
  (float32 since 0.3.0, float64 since 0.6.0).
- truncated normal (inverse CDF): element ``i`` uses its own draw. float64 output: ``u =
  ((x >> 11) + 1/2) 2**-53`` and AS 241 in float64. float32, float16 and bfloat16 outputs
  (since 0.5.0): ``u = ((w >> 9) + 1/2) 2**-23`` and PPND7 in float32 arithmetic (its central
  rational in ``p - 1/2`` for ``|p - 1/2| <= 0.425``, else its tail rationals in ``sqrt(-log
  t)`` of the smaller tail probability ``t``), every multiply-add fused; intervals of
  probability below 2**-100, or narrow ones far in a tail (``fastinit._plans``), take
  ``u = (w + 1/2) 2**-32`` and AS 241 in float64, rounded to float32. Values are clamped to
  the bounds rounded inward into the output dtype, then rounded into it.
- complex64 and complex128: the target's real view, of shape ``(*shape, 2)`` (element ``i``'s
  real part at real index ``2i``, its imaginary part at ``2i + 1``), float32 and float64
  respectively, so the parts of one element are the two values of one Box-Muller pair. JAX's
  complex uniform and truncated normal (kind ``POLAR``) take the same pairs: the first draw
  gives the modulus (``u = (w >> 8) 2**-24``; float64: ``(x >> 11) 2**-53``), in float64,
  the second the angle, as the normal's.
- sparse: the zeros of column ``c`` are the rows with the smallest raw words ``F + r * cols +
  c`` of the stream (ties: the smaller row), ``F`` the first word past those the values use:
  ``rows * cols`` for 32-bit draws, ``2 * rows * cols`` for float64 output (since 0.4.0).

A change of any output bit is a breaking change: it needs a version bump and a changelog line.

Compiled kernels are cached on disk under a stamp of every source of this folder (``cache``),
so an edit of any of them is never served stale code.
"""
from . import cache

cache.install()
