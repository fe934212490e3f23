"""fastinit: fast, reproducible neural-network weight initialization.

Counter-based Philox4x32-10 kernels compiled by Numba fill huge weight tensors in parallel,
straight into their final dtype. The same seed gives the same bits on any thread count, for any
``region=`` (shard) of the tensor and any memory layout of the target.

State and Seeding
-----------------
An int seed in [0, 2**64) is the Philox key itself (``key = (seed & 0xFFFFFFFF, seed >> 32)``,
the cuRAND and PyTorch convention); a ``numpy.random.SeedSequence`` is hashed to a key;
``seed=None`` draws OS entropy. ``stream`` (an int in [0, 2**64)) selects independent streams
under one seed, for example one per parameter of a model: :func:`stream_of` maps a tensor's
name to its stream, the one rule that ``fastinit generate --spec`` and
``fastinit.torch.materialize`` follow.

Parallel Features
-----------------
Every value is a pure function of ``(seed, stream, flat index)``: ``region=`` generates any
block of the global tensor, bit-identical to the same slice of the full result, which is what
sharded and out-of-core generation stand on. See ``fastinit.kernels`` for the bit layout.

Compatibility Guarantee
-----------------------
A change of any output bit for the same arguments is a breaking change, made only with a
version bump and a line in the changelog.

References
----------
J. K. Salmon, M. A. Moraes, R. O. Dror and D. E. Shaw, "Parallel random numbers: as easy as
1, 2, 3", SC'11.
"""
# first: an unsupported Numba is refused here, before any kernel is imported
from . import _requirements  # noqa: F401
from ._version import __version__
from .distributions import (
    normal, normal_, random_bits, trunc_normal, trunc_normal_, truncated_normal,
    truncated_normal_, uniform, uniform_,
)
from .fans import calculate_gain, compute_fans
from . import linalg
from .orthogonal import delta_orthogonal, delta_orthogonal_, orthogonal, orthogonal_
from .scaled import (
    glorot_normal, glorot_normal_, glorot_uniform, glorot_uniform_, he_normal, he_normal_,
    he_uniform, he_uniform_, kaiming_normal, kaiming_normal_, kaiming_uniform, kaiming_uniform_,
    lecun_normal, lecun_normal_, lecun_uniform, lecun_uniform_, variance_scaling,
    variance_scaling_, xavier_normal, xavier_normal_, xavier_uniform, xavier_uniform_,
)
from .streams import stream_of
from .structured import (
    constant, constant_, dirac, dirac_, eye, eye_, ones, ones_, sparse, sparse_, zeros, zeros_,
)

__all__ = [
    "__version__", "calculate_gain", "compute_fans", "random_bits",
    "uniform", "uniform_", "normal", "normal_", "trunc_normal", "trunc_normal_",
    "truncated_normal", "truncated_normal_",
    "xavier_uniform", "xavier_uniform_", "xavier_normal", "xavier_normal_",
    "glorot_uniform", "glorot_uniform_", "glorot_normal", "glorot_normal_",
    "kaiming_uniform", "kaiming_uniform_", "kaiming_normal", "kaiming_normal_",
    "he_uniform", "he_uniform_", "he_normal", "he_normal_",
    "lecun_uniform", "lecun_uniform_", "lecun_normal", "lecun_normal_",
    "variance_scaling", "variance_scaling_",
    "constant", "constant_", "zeros", "zeros_", "ones", "ones_",
    "eye", "eye_", "dirac", "dirac_", "sparse", "sparse_",
    "orthogonal", "orthogonal_", "delta_orthogonal", "delta_orthogonal_", "linalg",
    "stream_of",
]
