"""fastinit for Keras 3: a drop-in for ``keras.initializers`` on fastinit's kernels.

Swap the import (``from keras import initializers`` becomes ``from fastinit import keras as
initializers``): the same classes, lower-case aliases, compatible names, ``get``,
``serialize`` and ``deserialize``, on the jax and the torch backend. See
:mod:`fastinit.keras.initializers`.

Importing this subpackage imports keras (set ``KERAS_BACKEND`` first); ``import fastinit``
alone never does.
"""
from . import initializers
from .initializers import (
    STFT, Constant, GlorotNormal, GlorotUniform, HeNormal, HeUniform, Identity,
    IdentityInitializer, Initializer, LecunNormal, LecunUniform, Ones, Orthogonal,
    OrthogonalInitializer, RandomNormal, RandomUniform, STFTInitializer, TruncatedNormal,
    VarianceScaling, Zeros, constant, deserialize, get, glorot_normal, glorot_uniform, he_normal,
    he_uniform, identity, lecun_normal, lecun_uniform, ones, orthogonal, random_normal,
    random_uniform, serialize, stft, truncated_normal, variance_scaling, zeros,
)

__all__ = [
    "initializers", "Constant", "GlorotNormal", "GlorotUniform", "HeNormal", "HeUniform",
    "Identity", "IdentityInitializer", "Initializer", "LecunNormal", "LecunUniform", "Ones",
    "Orthogonal", "OrthogonalInitializer", "RandomNormal", "RandomUniform", "STFT",
    "STFTInitializer", "TruncatedNormal", "VarianceScaling", "Zeros", "constant", "deserialize",
    "get", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform", "identity",
    "lecun_normal", "lecun_uniform", "ones", "orthogonal", "random_normal", "random_uniform",
    "serialize", "stft", "truncated_normal", "variance_scaling", "zeros",
]
