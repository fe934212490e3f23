"""fastinit for PyTorch: drop-ins for ``torch.nn.init`` and ``materialize`` for meta models.

``fastinit.torch.<name>_`` fills a torch tensor in place, zero copy, in its own dtype, with the
same names, arguments, warnings and errors as ``torch.nn.init`` (plus ``seed=``, ``stream=``,
``shape=``, ``region=``). ``materialize(model)`` gives a model built on the meta device real
storage and initializes it as its layers' ``reset_parameters`` would, by rules, or from a
safetensors checkpoint. ``intercept_init(model)`` runs a model's own init code
(``init_weights``, ``_init_weights``) on fastinit's kernels, one stream per tensor name. See
:mod:`fastinit.torch.init` for the seed rule and :func:`fastinit.stream_of` for the per-tensor
streams (re-exported here as ``stream_of``).

Importing this subpackage imports torch; ``import fastinit`` alone never does.
"""
from .init import *  # noqa: F401,F403  (torch.nn.init's names)
from .init import __all__ as _init_all
from .init import (InitAttributeError, InitNotImplementedError, InitOverflowError,
                   InitValueError, InitZeroDivisionError, draw_seed)
from ..streams import stream_of
from .materialize import MaterializeReport, materialize
from .intercept import intercept_init

__all__ = list(_init_all) + [
    "InitAttributeError", "InitNotImplementedError", "InitOverflowError", "InitValueError",
    "InitZeroDivisionError", "MaterializeReport", "intercept_init", "materialize", "stream_of"]
