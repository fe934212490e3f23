"""fastinit for JAX: :mod:`fastinit.jax.initializers`, a drop-in for ``jax.nn.initializers``.

Importing this subpackage imports jax; ``import fastinit`` alone never does.
"""
from . import initializers
from .initializers import key_to_seed_stream

__all__ = ["initializers", "key_to_seed_stream"]
