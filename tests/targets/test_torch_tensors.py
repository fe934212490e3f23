"""torch CPU tensors as in-place targets, zero copy: float32 and bfloat16, transposed
(non-contiguous) views of every dtype, parameters, sliced views and shards.
"""
import pytest

import fastinit as fi

from ..helpers import BF16, SENTINEL, assert_same_bits


def test_torch_float32_in_place_zero_copy():
    import torch

    t = torch.empty(64, 48)
    ptr = t.data_ptr()
    ret = fi.normal_(t, std=0.02, seed=0, stream=9)
    assert ret is t and t.data_ptr() == ptr
    assert_same_bits(t.numpy(), fi.normal((64, 48), std=0.02, seed=0, stream=9))
    fi.kaiming_uniform_(t, a=5 ** 0.5, seed=1)
    assert t.data_ptr() == ptr
    assert_same_bits(t.numpy(), fi.kaiming_uniform((64, 48), a=5 ** 0.5, seed=1))
    fi.xavier_normal_(t, convention="jax", seed=1)
    assert_same_bits(t.numpy(), fi.xavier_normal((64, 48), convention="jax", seed=1))


def test_torch_bfloat16_in_place_zero_copy():
    import torch

    t = torch.empty(33, 65, dtype=torch.bfloat16)
    ptr = t.data_ptr()
    fi.normal_(t, std=0.02, seed=2)
    assert t.data_ptr() == ptr and t.dtype == torch.bfloat16
    got = t.view(torch.int16).numpy().view(BF16)
    assert_same_bits(got, fi.normal((33, 65), std=0.02, dtype="bfloat16", seed=2))
    # torch's own cast of the float32 result agrees (round to nearest even)
    f32 = torch.from_numpy(fi.normal((33, 65), std=0.02, seed=2)).to(torch.bfloat16)
    assert torch.equal(f32.view(torch.int16), t.view(torch.int16))
    fi.uniform_(t, -1.0, 1.0, seed=3)
    assert_same_bits(t.view(torch.int16).numpy().view(BF16),
                     fi.uniform((33, 65), -1.0, 1.0, dtype="bfloat16", seed=3))


@pytest.mark.parametrize("tdtype", ["float32", "bfloat16", "float64", "float16"])
def test_torch_non_contiguous_transpose(tdtype):
    import torch

    dt = getattr(torch, tdtype)
    base = torch.zeros(40, 24, dtype=dt)
    t = base.T
    assert not t.is_contiguous()
    ptr = t.data_ptr()
    fi.trunc_normal_(t, std=0.5, a=-0.4, b=1.0, seed=4)
    assert t.data_ptr() == ptr
    expected = fi.trunc_normal((24, 40), std=0.5, a=-0.4, b=1.0, dtype=tdtype, seed=4)
    got = t.contiguous()
    got = (got.view(torch.int16).numpy().view(BF16) if tdtype == "bfloat16" else got.numpy())
    assert_same_bits(got, expected)
    # the base was written, not a copy
    assert torch.equal(base.T, t)


def test_torch_parameter_and_sliced_views():
    import torch

    p = torch.nn.Parameter(torch.empty(20, 30))
    fi.xavier_uniform_(p, seed=5)
    assert p.requires_grad
    assert_same_bits(p.detach().numpy(), fi.xavier_uniform((20, 30), seed=5))
    base = torch.full((40, 60), SENTINEL)
    v = base[::2, 1::2]
    fi.normal_(v, seed=6)
    assert_same_bits(v.numpy(), fi.normal((20, 30), seed=6))
    assert torch.all(base[1::2] == SENTINEL) and torch.all(base[:, 0::2] == SENTINEL)


def test_torch_shard_in_place():
    import torch

    shard = torch.empty(16, 48)
    fi.kaiming_normal_(shard, shape=(64, 48), region=(slice(16, 32),), seed=7)
    assert_same_bits(shard.numpy(), fi.kaiming_normal((64, 48), seed=7)[16:32])

