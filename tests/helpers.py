"""Shared by the test groups: dtypes, every initializer in both forms with fixed arguments
(``INITS``), hypothesis strategies for shapes and regions, and bit-for-bit comparison.

From a group's folder: ``from ..helpers import INITS, assert_same_bits``.
"""
import ml_dtypes
import numpy as np
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

import fastinit as fi

BF16 = np.dtype(ml_dtypes.bfloat16)
DTYPES = ["float32", "float64", "float16", "bfloat16"]
NPDT = {"float32": np.dtype(np.float32), "float64": np.dtype(np.float64),
        "float16": np.dtype(np.float16), "bfloat16": BF16}
SENTINEL = 7.25  # exact in every dtype

# derandomized (fixed examples, no flakes); no shrinking, so that a failure stays cheap
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow])


# --- every initializer, in both forms, with fixed arguments -----------------------------------
# (allocating(shape, **kw), in_place(out, **kw), shape rule) where kw carries dtype/region for
# the allocating form and shape/region for the in-place form.

def _pair(name, *args, **fixed):
    alloc, inplace = getattr(fi, name), getattr(fi, name + "_")
    return (lambda shape, **kw: alloc(shape, *args, **fixed, **kw),
            lambda out, **kw: inplace(out, *args, **fixed, **kw))


INITS = {
    "uniform": _pair("uniform", -0.5, 2.0, seed=3, stream=1) + ("any",),
    "normal": _pair("normal", 0.1, 0.02, seed=4, stream=5) + ("any",),
    "trunc_normal": _pair("trunc_normal", 0.0, 1.0, -1.0, 3.0, seed=5) + ("any",),
    "truncated_normal": _pair("truncated_normal", 0.5, seed=6, stream=2**40) + ("any",),
    "xavier_uniform": _pair("xavier_uniform", 1.5, seed=7) + ("fan",),
    "xavier_normal": _pair("xavier_normal", seed=8) + ("fan",),
    "xavier_uniform_jax": _pair("xavier_uniform", convention="jax", seed=7) + ("fan",),
    "xavier_normal_jax": _pair("xavier_normal", convention="jax", seed=8) + ("fan",),
    "kaiming_uniform": _pair("kaiming_uniform", 5 ** 0.5, seed=9) + ("fan",),
    "kaiming_normal": _pair("kaiming_normal", mode="fan_out", nonlinearity="relu",
                            seed=10) + ("fan",),
    "kaiming_uniform_jax": _pair("kaiming_uniform", convention="jax", seed=9) + ("fan",),
    "kaiming_normal_jax": _pair("kaiming_normal", convention="jax", seed=10) + ("fan",),
    "lecun_uniform": _pair("lecun_uniform", seed=11) + ("fan",),
    "lecun_normal": _pair("lecun_normal", seed=12) + ("fan",),
    "lecun_uniform_jax": _pair("lecun_uniform", convention="jax", seed=11) + ("fan",),
    "lecun_normal_jax": _pair("lecun_normal", convention="jax", seed=12) + ("fan",),
    "variance_scaling_tn": _pair("variance_scaling", 2.0, "fan_avg", "truncated_normal",
                                 seed=13) + ("fan",),
    "variance_scaling_u_jax": _pair("variance_scaling", 0.5, "fan_geo_avg", "uniform",
                                    convention="jax", seed=14) + ("fan",),
    "variance_scaling_n_jax": _pair("variance_scaling", 1.0, "fan_out", "normal",
                                    convention="jax", seed=15) + ("fan",),
    "constant": _pair("constant", -0.3) + ("any",),
    "zeros": _pair("zeros") + ("any",),
    "ones": _pair("ones") + ("any",),
    "eye": _pair("eye") + ("2d",),
    "dirac": _pair("dirac") + ("dirac",),
    "dirac_groups": _pair("dirac", 2) + ("dirac2",),
    "sparse": _pair("sparse", 0.4, 0.1, seed=16, stream=3) + ("2d",),
}


def shapes_for(rule, min_dim=1, max_dim=6):
    dim = st.integers(min_dim, max_dim)
    if rule == "any":
        return st.lists(dim, min_size=0, max_size=4).map(tuple)
    if rule == "fan":
        return st.lists(dim, min_size=2, max_size=4).map(tuple)
    if rule == "2d":
        return st.lists(dim, min_size=2, max_size=2).map(tuple)
    if rule == "dirac":
        return st.lists(dim, min_size=3, max_size=5).map(tuple)
    # dirac2: shape[0] even
    return st.lists(dim, min_size=3, max_size=5).map(lambda s: (2 * s[0],) + tuple(s[1:]))


@st.composite
def region_of(draw, shape):
    """A tuple of step-1 slices inside ``shape`` (possibly fewer slices than dims, Nones)."""
    n = draw(st.integers(0, len(shape)))
    out = []
    for d in range(n):
        a = draw(st.integers(0, shape[d]))
        b = draw(st.integers(a, shape[d]))
        out.append(slice(draw(st.sampled_from([a, None] if a == 0 else [a])),
                         draw(st.sampled_from([b, None] if b == shape[d] else [b]))))
    return tuple(out)


def as_slices(region, shape):
    return tuple(region) + (slice(None),) * (len(shape) - len(region))


def small_shape(rule):
    """A small shape every initializer of the shape rule accepts (see ``INITS``)."""
    return {"any": (17, 9), "fan": (17, 9), "2d": (17, 9), "dirac": (6, 4, 3),
            "dirac2": (6, 4, 3)}[rule]


def bits(a):
    """The elements' bits as unsigned ints (a complex128 element as two uint64)."""
    a = np.ascontiguousarray(a)
    return a.view(np.dtype(f"u{min(a.itemsize, 8)}"))


def assert_same_bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    np.testing.assert_array_equal(bits(a), bits(b))


# --- tiny transformers configurations (transformers imported when called) --------------------

def tiny_llama(tied=False):
    """A two-layer Llama configuration, untied or tied embeddings."""
    import transformers
    return transformers.LlamaConfig(hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                    num_attention_heads=4, num_key_value_heads=2,
                                    vocab_size=320, tie_word_embeddings=tied)


def tiny_gpt2():
    """A two-layer GPT-2 configuration."""
    import transformers
    return transformers.GPT2Config(n_embd=64, n_layer=2, n_head=4, vocab_size=320,
                                   n_positions=128, bos_token_id=0, eos_token_id=0)
