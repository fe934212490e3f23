"""The codes the CPU drivers and the CUDA kernels share: what to generate, how to store it.

Plain ints, read by both backends' drivers (Numba freezes them at compile time) and by
``fastinit._plans``, which builds ``(kind, params)`` from checked arguments.
"""

# what a driver generates (``kind``) and the meaning of ``params`` for each
BITS = -1         # the raw uint32 words (random_bits); no params
CONSTANT = 0      # params[0] = value (filled without a tile)
UNIFORM = 1       # params = low, high - low, threshold (a value >= threshold becomes low)
NORMAL = 2        # params = mean, std
TRUNC_NORMAL = 3  # params = mean, std, a, b, Phi(alpha), Phi(-beta), Phi(beta) - Phi(alpha)
# JAX's complex laws, into the real view of a complex target (real and imaginary parts in
# pairs, as the normal's): params = scale, rayleigh (1.0: truncated normal, 0.0: disk), c
POLAR = 4
# the truncated normal in float32 arithmetic (float32, float16 and bfloat16 outputs): params =
# mean, std, lo, hi (the bounds rounded inward into the output dtype), Phi(alpha), Phi(-beta),
# then mass and Phi(alpha) - 1/2 each as a sum of two float32
TRUNC_NORMAL_F32 = 5

# how a float32 value is stored (``outcode``): as is, or rounded into a 16-bit format
OUT_F32 = 0
OUT_F16 = 1
OUT_BF16 = 2
