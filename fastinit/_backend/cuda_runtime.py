"""What the CUDA backend needs of numba-cuda and CuPy, imported only when a GPU call arrives:
the modules, whether the simulator runs, and where a target's work goes.

Where: every launch for a target runs in the context of the GPU that holds the target's
memory (not the current one), on the stream that the target's own framework considers
current, so that it is ordered after the work queued before the call and before the work
queued after it, with no synchronization of the host:

- a torch tensor: ``torch.cuda.current_stream(device)`` of its device;
- a CuPy array: ``cupy.cuda.get_current_stream(device)`` of its device;
- a Numba device array: the stream it is bound to (``array.stream``; 0: Numba's default);
- anything else with ``__cuda_array_interface__``: the stream the interface names (version
  3), else the default stream, and then the call waits for its launches to finish before it
  returns (nobody said which stream later reads go on).

Allocating calls (``device="cuda"``) make a CuPy array on the current CuPy device (``cuda:N``:
on device N) and fill it on CuPy's current stream there.
"""
import contextlib
import sys
from typing import NamedTuple

INSTALL = "pip install 'fastinit-kernels[cuda13]' (CUDA 13 driver) or [cuda12] (CUDA 12 driver)"


class Placement(NamedTuple):
    """Where a target's work goes: the ordinal of the GPU that holds it, the stream (a
    ``cudaStream_t`` as an int; 0, or None when nobody named one: the default stream), whose
    notion of "current" picked it (``torch``, ``cupy``, ``numba``, ``interface`` or
    ``simulator``), and whether the call must wait for its launches before returning."""
    device: int
    stream: object
    owner: str
    sync: bool = False


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


def _imported(name):
    """The module ``name`` if the caller has imported it (a target of its kind can only come
    from a program that did), else None."""
    return sys.modules.get(name)


def pointer_device(ptr):
    """The ordinal of the GPU whose memory ``ptr`` points into (unified addressing), or None
    when the driver cannot say."""
    try:
        from cuda.bindings import driver as cu
    except ImportError:
        return None
    try:
        attr = cu.CUpointer_attribute.CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL
        err, device = cu.cuPointerGetAttribute(attr, ptr)
    except Exception:  # an old binding, or no driver
        return None
    return int(device) if err == cu.CUresult.CUDA_SUCCESS else None


def current_device():
    """The ordinal of Numba's current device (the one the caller's context is on)."""
    if simulating():
        return 0
    return int(numba_cuda().get_current_device().id)


def placement(obj):
    """The :class:`Placement` of the work on the GPU array ``obj``."""
    if getattr(type(obj), "__cuda_ndarray__", False) and simulating():
        return Placement(0, None, "simulator")
    torch = _imported("torch")
    if torch is not None and isinstance(obj, torch.Tensor):
        device = obj.device.index
        device = torch.cuda.current_device() if device is None else int(device)
        return Placement(device, int(torch.cuda.current_stream(device).cuda_stream), "torch")
    cupy = _imported("cupy")
    ndarray = getattr(cupy, "ndarray", None)
    if ndarray is not None and isinstance(obj, ndarray):
        device = int(obj.device.id)
        return Placement(device, int(cupy.cuda.get_current_stream(device).ptr), "cupy")
    desc = obj.__cuda_array_interface__
    device = pointer_device(desc["data"][0]) if desc["data"][0] else None
    device = current_device() if device is None else device
    if getattr(type(obj), "__cuda_ndarray__", False):
        stream = obj.stream
        return Placement(device, int(stream) if stream else 0, "numba")
    stream = desc.get("stream")
    return Placement(device, stream, "interface", sync=stream is None)


@contextlib.contextmanager
def on_device(device):
    """Inside the block, Numba's current device (and CuPy's, when the program imported it)
    is ``device``: launches, allocations and streams made there belong to its context."""
    if simulating():  # one simulated device, which every array is on
        yield
        return
    with contextlib.ExitStack() as stack:
        stack.enter_context(numba_cuda().gpus[device])
        cupy = _imported("cupy")
        if cupy is not None and hasattr(cupy, "cuda"):
            stack.enter_context(cupy.cuda.Device(device))
        yield


def numba_stream(where):
    """The stream of the :class:`Placement` ``where`` as Numba takes it in a launch, in the
    current context (call inside :func:`on_device`): 0 for the default stream, the legacy
    and per-thread default streams for the interface's 1 and 2, else an external stream."""
    handle = where.stream
    if simulating() or not handle:
        return 0
    cuda = numba_cuda()
    if handle == 1:
        return cuda.legacy_default_stream()
    if handle == 2:
        return cuda.per_thread_default_stream()
    return cuda.external_stream(handle)


def finish(where, stream):
    """Wait for the launches on ``stream`` when ``where`` asks for it (see the module)."""
    if where.sync and not simulating():
        if stream:
            stream.synchronize()
        else:
            numba_cuda().synchronize()


def kernel_cache_dir():
    """The directory the CUDA kernels are filed in on disk (``fastinit.kernels.cuda``), or None
    when numba-cuda is missing or no writable directory was found."""
    try:
        if simulating():  # the simulator runs Python: nothing compiled, nothing filed
            return None
        from ..kernels import cache, cuda as kernels  # noqa: F401  (files them on import)
    except Exception:  # numba-cuda missing or broken: no CUDA cache to name
        return None
    path = getattr(getattr(kernels.fill_bits, "_cache", None), "cache_path", None)
    return path or (cache.locations() or [None])[0]
