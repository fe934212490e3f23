"""Checkpoint sources for ``materialize(..., pretrained=...)``: safetensors files (opened with
``safetensors.safe_open``, memory-mapped, read one tensor at a time) or a dict of tensors."""
import os

import torch

# safetensors' dtype names (``get_slice(name).get_dtype()``)
_ST_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}
for _name, _attr in (("F8_E4M3", "float8_e4m3fn"), ("F8_E5M2", "float8_e5m2"),
                     ("U16", "uint16"), ("U32", "uint32"), ("U64", "uint64")):
    if hasattr(torch, _attr):
        _ST_DTYPES[_name] = getattr(torch, _attr)


class Checkpoint:
    """Names, shapes and dtypes of a checkpoint without reading its data; ``load(name)``
    reads one tensor."""

    def __init__(self, source):
        self._files = []   # open safe_open handles, closed by close()
        self._where = {}   # name -> handle or tensor
        if isinstance(source, dict):
            for name, t in source.items():
                if not isinstance(name, str):
                    raise TypeError(f"pretrained dict keys must be parameter names (str), got "
                                    f"{name!r}")
                self._where[name] = t if isinstance(t, torch.Tensor) else torch.as_tensor(t)
            return
        paths = [source] if isinstance(source, (str, os.PathLike)) else list(source)
        try:
            from safetensors import safe_open
        except ImportError:
            raise ImportError("pretrained= with a file needs safetensors: pip install "
                              "'fastinit-kernels[torch]'") from None
        for path in paths:
            if not isinstance(path, (str, os.PathLike)):
                raise TypeError(f"pretrained must be a safetensors path, a list of paths or a "
                                f"dict of tensors, got {source!r}")
            handle = safe_open(os.fspath(path), framework="pt", device="cpu")
            self._files.append(handle.__enter__())
            for name in handle.keys():
                if name in self._where:
                    raise ValueError(f"pretrained: tensor {name!r} appears in more than one "
                                     f"file ({path})")
                self._where[name] = self._files[-1]

    def names(self):
        return list(self._where)

    def __contains__(self, name):
        return name in self._where

    def shape_dtype(self, name):
        src = self._where[name]
        if isinstance(src, torch.Tensor):
            return tuple(src.shape), src.dtype
        sl = src.get_slice(name)
        code = sl.get_dtype()
        return tuple(sl.get_shape()), _ST_DTYPES.get(code, code)

    def load(self, name):
        src = self._where[name]
        return src if isinstance(src, torch.Tensor) else src.get_tensor(name)

    def close(self):
        for handle in self._files:
            handle.__exit__(None, None, None)
        self._files = []
