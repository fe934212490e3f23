"""Zero-element tensors: every initializer allocates them quietly (kaiming warns as torch does),
in-place forms on empty NumPy arrays and torch tensors are a no-op, and an empty region of a
non-empty tensor is empty.
"""
import warnings

import numpy as np
import pytest

import fastinit as fi

from ..helpers import INITS, NPDT, small_shape


ZERO_SHAPES = {"any": [(0,), (3, 0), (0, 4, 2)], "fan": [(0, 4), (3, 0), (2, 0, 3)],
               "2d": [(0, 4), (3, 0)], "dirac": [(0, 2, 3), (2, 0, 3, 3)],
               "dirac2": [(0, 2, 3), (2, 0, 3, 3)]}


@pytest.mark.parametrize("name", list(INITS))
def test_zero_element_allocating(name):
    alloc, _, rule = INITS[name]
    for shape in ZERO_SHAPES[rule]:
        for dtype in ("float32", "bfloat16"):
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                x = alloc(shape, dtype=dtype)
            assert isinstance(x, np.ndarray) and x.shape == shape and x.dtype == NPDT[dtype]
            msgs = [str(m.message) for m in w]
            if name.startswith("kaiming"):
                assert "Initializing zero-element tensors is a no-op" in msgs
            else:
                assert msgs == []
    # an empty region of a non-empty tensor is empty too
    x = alloc(small_shape(rule), region=(slice(2, 2),))
    assert x.size == 0 and x.shape[0] == 0


def test_kaiming_warns_like_torch():
    import torch

    for f_t, f_fi in ((torch.nn.init.kaiming_uniform_, fi.kaiming_uniform),
                      (torch.nn.init.kaiming_normal_, fi.kaiming_normal)):
        with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
            f_t(torch.empty(0, 3))
        with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
            f_fi((0, 3), seed=0)
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        fi.he_uniform((4, 0, 3), convention="jax", seed=0)


@pytest.mark.parametrize("shape", [(0,), (0, 3), (3, 0), (2, 0, 4)])
def test_zero_element_in_place(shape):
    """In-place forms on an empty NumPy array are a no-op and return it.

    NumPy >= 2 gives zero-size arrays zero strides (np.empty((0, 3)).strides == (0, 0)),
    which must not be mistaken for a broadcast view.
    """
    out = np.empty(shape, np.float32)
    assert fi.normal_(out, seed=0) is out
    assert fi.uniform_(out, seed=0) is out
    assert fi.zeros_(out) is out
    if len(shape) >= 2:
        with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
            assert fi.kaiming_uniform_(out, seed=0) is out
        assert fi.xavier_normal_(out, seed=0) is out


def test_zero_element_torch_in_place():
    import torch

    t = torch.empty(0, 3)
    assert fi.normal_(t, seed=0) is t
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        fi.kaiming_normal_(t, seed=0)

