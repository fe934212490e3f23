"""Orthogonal initialization (Saxe et al. 2013), Haar-distributed, by blocked Householder
reflections: ``orthogonal``, ``delta_orthogonal`` and their in-place forms.

Both methods start from the counter-contract Gaussian ``G`` of the weight's matrix shape
``(rows, cols)`` (``fastinit.normal((rows, cols), seed=seed, stream=stream)`` in the compute
precision), taken as the tall ``m x n`` matrix ``A = G`` (``rows >= cols``) or ``A = G^T``
(``rows < cols``), so the result is semi-orthogonal along the smaller side; the output is ``Q``
(or ``Q^T``) times ``gain``.

- ``method="reflectors"`` (Stewart 1980): reflector ``j`` is the Householder reflection
  ``H_j`` (LAPACK ``larfg``) of the Gaussian vector ``A[j:, j]`` itself, each column on its own,
  and only ``Q = H_0 H_1 \\cdots H_{n-1} [I; 0] D`` is formed. Householder QR of a Gaussian
  matrix reflects column ``j`` after ``H_0 ... H_{j-1}`` have been applied to it, which leaves it
  a standard Gaussian vector independent of them (the Gaussian law is invariant under
  orthogonal maps); drawing it fresh gives reflectors with the same joint law, so ``Q`` has the
  law of the QR method: exactly Haar. ``D = diag(sign(beta_j))``, ``beta_j = H_j``'s image of
  ``A[j:, j]`` on ``e_1`` (the ``R[j, j]`` the QR would have), is the sign correction that
  makes it so (Mezzadri 2007); with ``m = n`` the last reflector is the identity and its sign
  is that of the last Gaussian entry, so ``det Q = +1`` and ``-1`` are equally likely.
- ``method="qr"``: the blocked QR of ``A`` (``fastinit.linalg``), then ``Q sign(diag R)``
  (Mezzadri 2007), what ``torch.nn.init.orthogonal_`` and ``jax.nn.initializers.orthogonal``
  do.

References
----------
A. M. Saxe, J. L. McClelland and S. Ganguli, "Exact solutions to the nonlinear dynamics of
learning in deep linear neural networks", arXiv:1312.6120 (2013). G. W. Stewart, "The
efficient generation of random orthogonal matrices with an application to condition
estimators", SIAM J. Numer. Anal. 17 (1980). F. Mezzadri, "How to generate random matrices
from the classical compact groups", Notices of the AMS 54 (2007). L. Xiao et al., "Dynamical
isometry and a mean field theory of CNNs", ICML 2018 (delta orthogonal).
"""
import numbers

from ._api import allocating, in_place
from ._checks import INEXACT_DTYPES, check_choice, check_number
from .fans import CONVENTIONS

METHODS = ("reflectors", "qr")
# The default: half the floating-point work of "qr" (4/3 n^3 against 8/3 n^3 for a square
# matrix) and no unblocked panel factorization (the level-2 part of "qr", which BLAS cannot
# speed up). The documentation's performance page has the figures.
DEFAULT_METHOD = "reflectors"

COMMON = """method : {None, "reflectors", "qr"}
        ``None`` picks ``"reflectors"``, the faster: half the floating-point work of ``"qr"``
        (only Q is formed, no factorization, so no level-2 panel QR either). Both are exactly
        Haar; they give different matrices for the same seed.
    convention : {"torch", "jax"}
        torch: rows ``shape[0]``, columns ``prod(shape[1:])``. jax: columns
        ``shape[column_axis]``, rows the product of the other dimensions (in order), the result
        moved back so the columns lie along ``column_axis``.
    column_axis : int
        The columns' axis for ``convention="jax"`` (default -1); ignored by ``"torch"``.
    seed, stream
        As for :func:`fastinit.normal`: the Gaussian matrix is the counter-contract one of shape
        ``(rows, cols)``. Same seed, same bits on the same machine and thread count (the
        products go through the BLAS, whose rounding may depend on the CPU and thread count).
"""


def _check_column_axis(column_axis, ndim):
    if isinstance(column_axis, bool) or not isinstance(column_axis, numbers.Integral):
        raise TypeError(f"column_axis must be an int, got {column_axis!r}")
    if not -ndim <= column_axis < ndim:
        raise ValueError(f"column_axis {column_axis!r} is out of range for a shape with "
                         f"{ndim} dimensions")
    return int(column_axis) % ndim


def _resolve(shape, gain, method, convention, column_axis, name="gain"):
    """Every check of an orthogonal call; ``(gain, method, col)`` with ``col`` the columns'
    axis (None for torch's flattening)."""
    if len(shape) < 2:
        raise ValueError(f"orthogonal needs a shape with at least 2 dimensions, got {shape}")
    gain = check_number(gain, name)
    method = DEFAULT_METHOD if method is None else check_choice(method, "method", METHODS)
    check_choice(convention, "convention", CONVENTIONS)
    col = _check_column_axis(column_axis, len(shape))
    return gain, method, (None if convention == "torch" else col)


def _orthogonal(req, gain, method, convention, column_axis, nb=None):
    gain, method, col = _resolve(req.shape, gain, method, convention, column_axis)
    if req.empty:  # a zero-element tensor: a no-op (torch and JAX return it as it is)
        return req.out
    return req.orthogonal(gain, method, col, nb)


def orthogonal(shape, gain=1.0, *, method=None, convention="torch", column_axis=-1,
               dtype="float32", seed=None, stream=0, device="cpu"):
    """A (semi-)orthogonal matrix, Haar-distributed, times ``gain`` (Saxe et al. 2013).

    .. math:: W = \\text{gain}\\cdot Q,\\quad Q^T Q = I \\text{ (rows >= cols)},\\ Q Q^T = I
              \\text{ (rows < cols)},\\quad Q \\sim \\text{Haar}

    with ``Q`` from the counter-contract Gaussian matrix of shape ``(rows, cols)`` by blocked
    Householder reflections (see the module docstring): ``method="reflectors"`` draws the
    reflectors directly from Gaussian vectors (Stewart 1980) and forms only Q; ``method="qr"``
    factors the Gaussian and folds in ``sign(diag(R))`` (Mezzadri 2007), as torch and JAX do.
    Computed in float32 (float64 for float64 output) and rounded once into ``dtype``.

    ``region=`` is not supported: every element of Q depends on the whole Gaussian matrix, so a
    block costs the whole computation.

    Parameters
    ----------
    shape : tuple of int
        At least 2 dimensions; a zero-size shape gives an empty array (a no-op in place).
    gain : float
        Finite.
    {common}
    dtype : {"float32", "float64", "float16", "bfloat16", "complex64", "complex128"}
        Complex: a Haar (semi-)unitary matrix, as JAX's ``orthogonal`` gives (torch's
        ``orthogonal_`` refuses complex): Q of the QR factorization of the complex Gaussian
        (:func:`fastinit.normal`'s), with the phases of ``diag(R)`` folded in (Mezzadri 2007),
        in the complex dtype itself. ``method`` is checked but unused: the factorization is
        LAPACK's (NumPy's ``linalg.qr``; cuSOLVER's through CuPy on the GPU).
    device : {"cpu", "cuda", "cuda:N"}
        ``"cuda"`` returns a ``cupy.ndarray`` computed on the GPU: the same Gaussian (the CUDA
        normal kernel, same counter contract), the panel steps as CUDA kernels and the
        products through cuBLAS; equal to the CPU result up to the rounding of the products.
        Needs CuPy, numba-cuda and a GPU (the error says which is missing).

    Examples
    --------
    >>> w = fastinit.orthogonal((512, 256), gain=2 ** 0.5, seed=0)
    >>> np.allclose(w.T @ w, 2 * np.eye(256), atol=1e-5)
    True
    """
    req = allocating(shape, dtype, seed, stream, None, device, INEXACT_DTYPES)
    return _orthogonal(req, gain, method, convention, column_axis)


def orthogonal_(out, gain=1.0, *, method=None, convention="torch", column_axis=-1, seed=None,
                stream=0):
    """In-place :func:`orthogonal`: fills ``out`` (any writable float array; a torch CPU
    tensor zero copy; on the GPU a CuPy array, a Numba device array or anything with
    ``__cuda_array_interface__``, computed there) and returns it. ``out`` is untouched by a
    call that fails its checks.
    """
    req = in_place(out, seed, stream, None, None, INEXACT_DTYPES)
    return _orthogonal(req, gain, method, convention, column_axis)


def _delta(req, scale, column_axis, method):
    shape = req.shape
    if len(shape) not in (3, 4, 5):
        raise ValueError(f"delta_orthogonal needs a shape with 3, 4 or 5 dimensions, "
                         f"got {shape}")
    if shape[-1] < shape[-2]:
        raise ValueError(f"delta_orthogonal needs fan_in <= fan_out (shape[-2] <= shape[-1]), "
                         f"got shape {shape}")
    gain, method, col = _resolve(shape[-2:], scale, method, "jax", column_axis, name="scale")
    if req.empty:  # a zero-element tensor: a no-op
        return req.out
    return req.delta(gain, method, col, tuple((k - 1) // 2 for k in shape[:-2]))


def delta_orthogonal(shape, scale=1.0, column_axis=-1, *, method=None, dtype="float32",
                     seed=None, stream=0, device="cpu"):
    """Delta orthogonal convolution kernel (Xiao et al. 2018), JAX's semantics.

    .. math:: W[c_1, \\ldots, c_d, :, :] = \\text{scale}\\cdot Q,\\quad c_i = (k_i - 1) // 2,
              \\quad W = 0 \\text{ elsewhere}

    with ``Q`` = :func:`orthogonal` of shape ``(in, out) = shape[-2:]`` (jax convention,
    ``column_axis`` an axis of that 2-D shape): a kernel ``(*spatial, in, out)`` that, at
    initialization, maps its input isometrically.

    Parameters
    ----------
    shape : tuple of int
        3, 4 or 5 dimensions ``(*spatial, in, out)`` with ``in <= out`` (zero-size: empty).
    scale : float
        Finite.
    column_axis : int
        -1 (default) or -2, as JAX.
    method, dtype, seed, stream, device
        As for :func:`orthogonal`.

    Examples
    --------
    >>> w = fastinit.delta_orthogonal((3, 3, 64, 128), seed=0)
    """
    req = allocating(shape, dtype, seed, stream, None, device, INEXACT_DTYPES)
    return _delta(req, scale, column_axis, method)


def delta_orthogonal_(out, scale=1.0, column_axis=-1, *, method=None, seed=None, stream=0):
    """In-place :func:`delta_orthogonal`."""
    req = in_place(out, seed, stream, None, None, INEXACT_DTYPES)
    return _delta(req, scale, column_axis, method)


for _fn in (orthogonal, orthogonal_):
    _fn.__doc__ = _fn.__doc__.replace("{common}", COMMON)
