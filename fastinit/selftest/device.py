"""The GPU the ``--gpu`` battery runs on: finding it, describing it, and moving arrays to it.

:func:`find_device` looks for numba-cuda, a CUDA driver and a device, in that order, and
raises :class:`NoDevice` naming all three when one is missing. The battery then runs on the
targets this machine has: CuPy arrays when CuPy is installed, torch CUDA tensors when torch
has CUDA (the only bfloat16 GPU arrays on a real device), Numba device arrays otherwise and
always under the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``), where CuPy and torch's CUDA
are never used.
"""
import importlib.metadata
import statistics
import time

import numpy as np

from .laws import dtype_of
from .report import NotRun

BF16 = dtype_of("bfloat16")


class NoDevice(Exception):
    """``--gpu`` found no CUDA device; the message says what was looked for."""


def _version(dist):
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _one_line(e):
    return " ".join(str(e).split()).rstrip(" :")


def find_device():
    """The :class:`Gpu` to run on, or :class:`NoDevice`: numba-cuda, then the driver, then
    the number of devices."""
    try:
        from numba import cuda
        cuda.jit  # noqa: B018  (numba without numba-cuda has a stub without the target)
    except (ImportError, AttributeError) as e:
        raise NoDevice(f"no CUDA device: numba-cuda is not installed ({_one_line(e)}); looked "
                       f"for numba-cuda (missing), a CUDA driver (not checked), the device "
                       f"count (not checked)") from None
    from numba import config
    found = f"numba-cuda {_version('numba-cuda') or '(built into numba)'}"
    if config.ENABLE_CUDASIM:
        return Gpu(cuda, simulating=True)
    try:
        driver = cuda.cudadrv.driver.driver.get_version()
    except Exception as e:  # the driver's own error types
        raise NoDevice(f"no CUDA device: looked for numba-cuda (found: {found}), a CUDA driver "
                       f"(not usable: {_one_line(e)}), the device count (0)") from None
    try:
        count = len(cuda.gpus)
    except Exception as e:
        raise NoDevice(f"no CUDA device: looked for numba-cuda (found: {found}), a CUDA driver "
                       f"(found: {driver}), the device count (0: {_one_line(e)})") from None
    if count == 0:
        raise NoDevice(f"no CUDA device: looked for numba-cuda (found: {found}), a CUDA driver "
                       f"(found: {driver}), the device count (0; CUDA_VISIBLE_DEVICES?)")
    return Gpu(cuda, simulating=False)


class Gpu:
    """The device and the array libraries the battery can use on it.

    Attributes
    ----------
    cuda : module
        ``numba.cuda``.
    simulating : bool
    cupy, torch : module or None
        CuPy with a device; torch whose CUDA is available (never under the simulator).
    quick : bool
        Set by the battery: smaller sizes.
    """

    def __init__(self, cuda, simulating):
        self.cuda, self.simulating, self.quick = cuda, simulating, False
        self.cupy = self.torch = None
        if not simulating:
            try:
                import cupy
                if cupy.cuda.runtime.getDeviceCount() > 0:
                    self.cupy = cupy
            except Exception:  # not installed, or no driver for it: the battery says so
                pass
            try:
                import torch
                if torch.cuda.is_available():
                    self.torch = torch
            except Exception:
                pass

    # --- what it is ---

    def describe(self):
        """Name, memory, driver and runtime versions, compute capability, device count."""
        if self.simulating:
            return {"name": "CUDA simulator (NUMBA_ENABLE_CUDASIM=1)", "devices": 1,
                    "compute_capability": None, "memory_bytes": None, "driver": None,
                    "runtime": None}
        dev = self.cuda.get_current_device()
        name = dev.name.decode() if isinstance(dev.name, bytes) else dev.name
        free, total = self.cuda.current_context().get_memory_info()
        try:
            runtime = ".".join(map(str, self.cuda.runtime.get_version()))
        except Exception:
            runtime = None
        return {"name": name, "devices": len(self.cuda.gpus),
                "compute_capability": ".".join(map(str, dev.compute_capability)),
                "memory_bytes": int(total), "free_bytes": int(free),
                "driver": ".".join(map(str, self.cuda.cudadrv.driver.driver.get_version())),
                "runtime": runtime,
                "cupy": getattr(self.cupy, "__version__", None),
                "torch_cuda": None if self.torch is None else self.torch.version.cuda}

    def free_bytes(self):
        if self.simulating:
            return 2**30
        return int(self.cuda.current_context().get_memory_info()[0])

    def synchronize(self):
        """Wait for all work on the device (every stream, every library's)."""
        if not self.simulating:
            self.cuda.synchronize()

    # --- targets ---

    def kinds(self):
        """The target kinds this machine has: ``numba`` always, ``cupy`` and ``torch`` when
        installed with a device."""
        return ["numba"] + (["cupy"] if self.cupy else []) + (["torch"] if self.torch else [])

    def kind_for(self, dtype):
        """The target kind the battery fills for ``dtype``: CuPy where it can hold it, torch
        for bfloat16 on a real device, Numba device arrays otherwise."""
        dt = None if dtype is None else dtype_of(dtype)
        if self.simulating:
            return "numba"
        if dt == BF16:
            if self.torch is None:
                raise NotRun("bfloat16 on a GPU needs a torch CUDA tensor (CuPy and Numba "
                             "device arrays have no bfloat16), and torch has no CUDA here")
            return "torch"
        return "cupy" if self.cupy else "numba"

    def to_device(self, host, kind):
        """A new device array of ``kind`` holding ``host`` (C order)."""
        host = np.ascontiguousarray(host)
        if kind == "cupy":
            return self.cupy.asarray(host)
        if kind == "torch":
            bits = host.view(np.int16) if host.dtype == BF16 else host
            t = self.torch.from_numpy(bits.copy()).to("cuda")
            return t.view(self.torch.bfloat16) if host.dtype == BF16 else t
        return self.cuda.to_device(host)

    def to_host(self, dev, kind, dtype):
        """The contents of the C-ordered device array ``dev`` as a NumPy array of ``dtype``."""
        if kind == "cupy":
            return self.cupy.asnumpy(dev)
        if kind == "torch":
            t = dev.detach()
            if np.dtype(dtype) == BF16:
                return t.view(self.torch.int16).cpu().numpy().view(BF16)
            return t.cpu().numpy()
        return dev.copy_to_host()

    def zeros(self, shape, dtype, kind):
        """A new device array of zeros, made on the device (no host copy)."""
        dt = dtype_of(dtype) if isinstance(dtype, str) else np.dtype(dtype)
        if kind == "cupy":
            return self.cupy.zeros(shape, dt)
        if kind == "torch":
            th = self.torch
            tdt = {np.dtype(np.float32): th.float32, np.dtype(np.float64): th.float64,
                   np.dtype(np.float16): th.float16, BF16: th.bfloat16,
                   np.dtype(np.complex64): th.complex64}[dt]
            return th.zeros(shape, dtype=tdt, device="cuda")
        return self.cuda.to_device(np.zeros(shape, dt))

    def copier(self, dst, src, kind):
        """``copy()``: a device-to-device copy of ``src`` into ``dst`` (same shape, kind)."""
        if kind == "cupy":
            return lambda: self.cupy.copyto(dst, src)
        if kind == "torch":
            return lambda: dst.copy_(src)
        if self.simulating:  # its device arrays wrap NumPy arrays (and lose bfloat16 in copies)
            return lambda: np.copyto(dst._ary, src._ary)
        return lambda: dst.copy_to_device(src)

    def release(self):
        """Hand the memory CuPy's pool and torch's cache keep back to the device."""
        if self.cupy is not None:
            self.cupy.get_default_memory_pool().free_all_blocks()
        if self.torch is not None:
            self.torch.cuda.empty_cache()

    def seconds(self, fns, repeat):
        """Median wall-clock seconds of each callable, the device synchronized before and
        after each call, repeats interleaved after one warm-up call each."""
        for fn in fns.values():
            fn()
        self.synchronize()
        times = {k: [] for k in fns}
        for _ in range(repeat):
            for k, fn in fns.items():
                self.synchronize()
                t0 = time.perf_counter()
                fn()
                self.synchronize()
                times[k].append(time.perf_counter() - t0)
        return {k: statistics.median(v) for k, v in times.items()}


# layouts of a 2-D target: the parent's shape from the target's, and the view of the parent
LAYOUTS = {
    "contiguous": (lambda s: s, lambda a: a),
    "F": (lambda s: s[::-1], lambda a: a.T),
    "column_slice": (lambda s: (s[0], 2 * s[1]), lambda a: a[:, ::2]),
    "reversed_rows": (lambda s: s, lambda a: a[::-1]),  # a negative stride: not in torch
}


def layout_target(gpu, kind, layout, shape, dtype):
    """``(parent, target, read)``: a device parent filled with a sentinel, the ``layout`` view
    of it the battery fills, and ``read()`` giving the view's contents on the host (read
    through the parent, which is contiguous, so every library can copy it)."""
    parent_shape, view = LAYOUTS[layout]
    dt = np.dtype(np.uint32) if dtype is None else dtype_of(dtype)
    host = np.full(parent_shape(tuple(shape)), 7 + 7j if dt.kind == "c" else 7, dt)
    parent = gpu.to_device(host, kind)
    return parent, view(parent), lambda: view(gpu.to_host(parent, kind, dt))
