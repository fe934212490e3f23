"""Arrays of other libraries: which backend an object belongs to, and torch's bfloat16.

Answered without importing numba.cuda, CuPy or torch: the library of an array that arrives
has been imported already, so ``sys.modules`` tells.
"""
import sys


def is_device_array(obj):
    """Whether ``obj`` lives on a GPU: a Numba device array (the simulator's too), a CUDA
    torch tensor, or anything else whose ``__cuda_array_interface__`` works."""
    t = type(obj)
    if getattr(t, "__cuda_ndarray__", False):
        return True
    if not hasattr(t, "__cuda_array_interface__"):
        return False
    is_cuda = getattr(obj, "is_cuda", None)  # torch.Tensor has the property on CPU tensors too
    if is_cuda is not None:
        return bool(is_cuda)
    try:
        obj.__cuda_array_interface__
    except AttributeError:
        return False
    return True


def is_torch_bfloat16(obj):
    """Whether ``obj`` is a torch tensor of dtype bfloat16."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.Tensor) and obj.dtype == torch.bfloat16


def torch_bits(obj):
    """``obj`` as the array protocols can take it: a torch tensor detached (same storage; the
    protocols refuse tensors that require grad), a bfloat16 one viewed as int16 bits (neither
    NumPy's DLPack nor the CUDA array interface knows bfloat16); anything else as it is.

    A torch view with the negative or conjugate bit set reads its memory negated (or
    conjugated): writing values there would read back as other values, so it is refused
    (``fastinit.torch`` fills such views through a copy)."""
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(obj, torch.Tensor):
        return obj
    if obj.is_neg() or obj.is_conj():
        raise TypeError("out is a torch view with the negative or conjugate bit set (its memory "
                        "reads back negated); pass out.resolve_neg() or a tensor of its own")
    obj = obj.detach()
    return obj.view(torch.int16) if obj.dtype == torch.bfloat16 else obj
