"""CUDA versions of the Householder panel steps (the loops cuBLAS cannot do).

The twins of ``householder.py``'s kernels, with the same arguments and the same results up to
the order of the sums (block reductions here, sequential sums there); the blocked algorithm
(trailing updates and the forming of Q as cuBLAS products through CuPy) runs on the host in
``fastinit.linalg``, driven by ``fastinit._backend.cuda``.

- ``reflectors_from_columns``: one thread block per column (grid-stride over the columns),
  LAPACK ``larfg`` on ``src[j:, j]`` with block reductions for ``max |x|`` and the scaled sum
  of squares; the explicit unit lower trapezoidal ``V`` into ``v``.
- ``panel_qr``: the unblocked QR of a panel (LAPACK ``geqr2``) in one thread block: the
  columns one after the other (each depends on all before it), the rows of each column spread
  over the threads. Launch it with one block.
- ``unit_lower``: the explicit ``V`` of a factored panel, one element per thread (grid-stride).
- ``larft_from_gram``: ``T`` of ``H_1 ... H_b = I - V T V^T`` from ``V^T V``, one block,
  column by column (column ``j`` needs the columns before it), rows over the threads.

The scalar ``larfg`` is ``householder._larfg``'s Python source compiled as a device function:
one source for both targets. Sums accumulate in float64 for float32 data. Threads per block
are a launch parameter, a power of two up to ``MAX_THREADS`` (the size of the shared arrays of
the reductions). No signatures: the kernels compile on first use, and are filed on disk with
the fill kernels (``cuda.py``: numba-cuda's cache in the directory ``cache.py`` picks).

References
----------
R. Schreiber and C. Van Loan, "A storage-efficient WY representation for products of
Householder transformations", SIAM J. Sci. Stat. Comput. 10 (1989). LAPACK 3.12, ``xLARFG``,
``xGEQR2``, ``xLARFT``.
"""
from numba import cuda, float64

from . import cuda as _fills  # noqa: F401  (files these kernels where the fills are filed)
from .householder import _larfg as _larfg_cpu

# the shared arrays of the block reductions hold one value per thread
MAX_THREADS = 256

_larfg = cuda.jit(device=True)(_larfg_cpu.py_func)


@cuda.jit(device=True)
def _block_sum(shared, value):
    """The sum of ``value`` over the threads of the block (a power of two), seen by all."""
    tid = cuda.threadIdx.x
    shared[tid] = value
    cuda.syncthreads()
    half = cuda.blockDim.x // 2
    while half > 0:
        if tid < half:
            shared[tid] += shared[tid + half]
        cuda.syncthreads()
        half //= 2
    total = shared[0]
    cuda.syncthreads()  # everyone has read it before the next reduction overwrites it
    return total


@cuda.jit(device=True)
def _block_max(shared, value):
    """The maximum of ``value`` over the threads of the block (a power of two), seen by all."""
    tid = cuda.threadIdx.x
    shared[tid] = value
    cuda.syncthreads()
    half = cuda.blockDim.x // 2
    while half > 0:
        if tid < half:
            shared[tid] = max(shared[tid], shared[tid + half])
        cuda.syncthreads()
        half //= 2
    total = shared[0]
    cuda.syncthreads()
    return total


@cuda.jit(cache=True)
def reflectors_from_columns(src, v, tau, beta):
    """Reflector ``j`` from ``src[j:, j]`` for every column ``j`` of ``src`` (m x b), each
    column on its own, one block per column: ``v`` (m x b) gets the explicit unit lower
    trapezoidal ``V``, ``tau`` and ``beta`` (``H_j src[j:, j] = beta_j e_1``) the scalars.
    ``src`` is only read."""
    shared = cuda.shared.array(MAX_THREADS, float64)
    params = cuda.shared.array(2, float64)  # scale, factor of the current column
    m, b = src.shape
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    for j in range(cuda.blockIdx.x, b, cuda.gridDim.x):
        part = 0.0
        for r in range(j + tid, m, nt):
            part = max(part, abs(float64(src[r, j])))
        scale = _block_max(shared, part)
        part = 0.0
        if scale > 0.0:
            for r in range(j + 1 + tid, m, nt):
                x = float64(src[r, j]) / scale
                part += x * x
        sumsq = _block_sum(shared, part)
        if tid == 0:
            if scale == 0.0:
                beta[j], tau[j] = 0.0, 0.0
                params[0], params[1] = 1.0, 0.0
            else:
                bj, tj, f = _larfg(float64(src[j, j]), scale, sumsq)
                beta[j], tau[j] = bj, tj
                params[0], params[1] = scale, f
        cuda.syncthreads()
        scale, f = params[0], params[1]
        for r in range(tid, m, nt):
            if r > j:
                v[r, j] = float64(src[r, j]) / scale * f
            elif r == j:
                v[r, j] = 1.0
            else:
                v[r, j] = 0.0
        cuda.syncthreads()  # params are rewritten for the next column


@cuda.jit(device=True)
def _cell(e, b):
    """Row and column of the ``e``-th element, row by row, of a matrix of ``b`` columns."""
    r = e // b
    return r, e - r * b


@cuda.jit(device=True)
def _next_cell(r, j, dr, dj, b):
    """The cell ``dr`` rows and ``dj < b`` columns on (row by row): no division."""
    r += dr
    j += dj
    if j >= b:
        j -= b
        r += 1
    return r, j


@cuda.jit(cache=True)
def unit_lower(panel, v):
    """The explicit unit lower trapezoidal ``V`` of a factored panel (V below its diagonal),
    element by element, row by row (consecutive threads on a row's neighbouring elements)."""
    m, b = panel.shape
    r, j = _cell(cuda.grid(1), b)
    dr, dj = _cell(cuda.gridsize(1), b)
    while r < m:
        if r > j:
            v[r, j] = panel[r, j]
        elif r == j:
            v[r, j] = 1.0
        else:
            v[r, j] = 0.0
        r, j = _next_cell(r, j, dr, dj, b)


@cuda.jit(cache=True)
def panel_qr(panel, v, tau, beta):
    """Unblocked Householder QR of ``panel`` (m x b, m >= b) in place (LAPACK ``geqr2``), in
    one thread block.

    Afterwards ``panel`` holds R on and above the diagonal and the reflectors below it
    (LAPACK's layout), ``tau`` the reflector scalars, ``beta`` the diagonal of R, and ``v``
    (m x b) the explicit unit lower trapezoidal V. The work runs in ``v``, as on the CPU.
    """
    shared = cuda.shared.array(MAX_THREADS, float64)
    params = cuda.shared.array(3, float64)  # scale, tau, factor of the current column
    m, b = panel.shape
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    dr, dj = _cell(nt, b)
    r, j = _cell(tid, b)
    while r < m:
        v[r, j] = panel[r, j]
        r, j = _next_cell(r, j, dr, dj, b)
    cuda.syncthreads()
    for j in range(b):
        part = 0.0
        for r in range(j + tid, m, nt):
            part = max(part, abs(float64(v[r, j])))
        scale = _block_max(shared, part)
        part = 0.0
        if scale > 0.0:
            for r in range(j + 1 + tid, m, nt):
                x = float64(v[r, j]) / scale
                part += x * x
        sumsq = _block_sum(shared, part)
        if tid == 0:
            if sumsq == 0.0:
                beta[j], tau[j] = v[j, j], 0.0
                params[0], params[1], params[2] = 1.0, 0.0, 0.0
            else:
                bj, tj, f = _larfg(float64(v[j, j]), scale, sumsq)
                beta[j], tau[j] = bj, tj
                params[0], params[1], params[2] = scale, tj, f
        cuda.syncthreads()
        scale, tj, f = params[0], params[1], params[2]
        if tj == 0.0:
            cuda.syncthreads()  # params are rewritten for the next column
            continue
        for r in range(j + 1 + tid, m, nt):
            v[r, j] = float64(v[r, j]) / scale * f
        cuda.syncthreads()
        # H_j = I - tau v v^T on every column right of j, one column per iteration
        for col in range(j + 1, b):
            part = 0.0
            for r in range(j + 1 + tid, m, nt):
                part += float64(v[r, j]) * float64(v[r, col])
            acc = (float64(v[j, col]) + _block_sum(shared, part)) * tj
            # _block_sum ends with a barrier: v[j, col] has been read by every thread
            if tid == 0:
                v[j, col] = v[j, col] - acc
            for r in range(j + 1 + tid, m, nt):
                v[r, col] = v[r, col] - acc * float64(v[r, j])
            cuda.syncthreads()
    r, j = _cell(tid, b)
    while r < m:
        if r > j:
            panel[r, j] = v[r, j]
        elif r == j:
            panel[r, j] = beta[j]
            v[r, j] = 1.0
        else:
            panel[r, j] = v[r, j]
            v[r, j] = 0.0
        r, j = _next_cell(r, j, dr, dj, b)


@cuda.jit(cache=True)
def larft_from_gram(gram, tau, t):
    """Upper triangular ``T`` with ``H_1 H_2 ... H_b = I - V T V^T`` (LAPACK ``larft``,
    forward, columnwise), from the Gram matrix ``gram = V^T V``, in one thread block.

    .. math:: T_{jj} = \\tau_j,\\quad T_{0:j,\\,j} = -\\tau_j\\, T_{0:j,\\,0:j}\\, (V^T V)_{0:j,\\,j}
    """
    b = tau.size
    tid = cuda.threadIdx.x
    nt = cuda.blockDim.x
    for j in range(b):
        for r in range(tid, b, nt):
            if r > j:
                t[r, j] = 0.0
            elif r == j:
                t[r, j] = tau[j]
            else:
                acc = 0.0
                for c in range(r, j):
                    acc += float64(t[r, c]) * float64(gram[c, j])
                t[r, j] = -float64(tau[j]) * acc
        cuda.syncthreads()  # column j is read by the next columns
