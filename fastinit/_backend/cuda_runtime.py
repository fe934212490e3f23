"""What the CUDA backend needs of numba-cuda and CuPy, imported only when a GPU call arrives:
the modules, whether the simulator runs, and the caller's current stream."""

INSTALL = "pip install 'fastinit-kernels[cuda13]' (CUDA 13 driver) or [cuda12] (CUDA 12 driver)"


def numba_cuda():
    """``numba.cuda``, or a RuntimeError that says how to install it."""
    try:
        from numba import cuda
        cuda.jit  # noqa: B018  (numba without numba-cuda has a stub that lacks the target)
    except (ImportError, AttributeError) as e:
        raise RuntimeError(f"the CUDA backend needs numba-cuda, which is not installed ({e}): "
                           f"{INSTALL}") from None
    return cuda


def simulating():
    """Whether numba runs CUDA kernels in its simulator (``NUMBA_ENABLE_CUDASIM=1``)."""
    from numba import config
    return bool(config.ENABLE_CUDASIM)


def check_available():
    """CuPy, after raising an error that names what is missing for ``device='cuda'``: CuPy,
    numba-cuda, a GPU."""
    try:
        import cupy
    except ImportError:
        raise RuntimeError(f"device='cuda' needs CuPy, which is not installed: {INSTALL}") \
            from None
    cuda = numba_cuda()
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CuPy raises its own error types when there is no driver
        raise RuntimeError(f"device='cuda': CuPy is installed but found no CUDA driver or GPU "
                           f"({e})") from None
    if count == 0:
        raise RuntimeError("device='cuda': CuPy is installed but found no GPU")
    if not cuda.is_available():
        raise RuntimeError("device='cuda': numba-cuda found no usable GPU or driver "
                           "(see numba.cuda.detect())")
    return cupy


def current_stream():
    """The caller's current CuPy stream, as a Numba stream (0: Numba's default stream)."""
    try:
        import cupy
    except ImportError:
        return 0
    ptr = cupy.cuda.get_current_stream().ptr
    return numba_cuda().external_stream(ptr) if ptr else 0
