"""Tensor-parallel init with torch.distributed: two gloo ranks on loopback each generate their
shard of one weight with region= (and of DTensors, through their placements), and the gathered
weight equals the single-process one, bit for bit."""
import math
import socket

import numpy as np
import pytest
import torch

import fastinit as fi

SHAPE = (96, 80)
ODD = (37, 23)  # shards of unequal size


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank(rank, world, port, out_path):
    import torch.distributed as dist

    import fastinit.torch as ft
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world)
    try:
        rows = SHAPE[0] // world
        mine = slice(rank * rows, (rank + 1) * rows)
        # row-parallel shard (e.g. a column-parallel Linear's weight), fans from the global shape
        w = torch.empty(rows, SHAPE[1])
        ft.kaiming_uniform_(w, a=math.sqrt(5), seed=42, stream=7, shape=SHAPE, region=(mine,))
        # a column shard of a bfloat16 embedding
        cols = SHAPE[1] // world
        e = torch.empty(SHAPE[0], cols, dtype=torch.bfloat16)
        ft.normal_(e, std=0.02, seed=42, stream=8, shape=SHAPE,
                   region=(slice(None), slice(rank * cols, (rank + 1) * cols)))
        gathered_w = [torch.empty_like(w) for _ in range(world)]
        gathered_e = [torch.empty_like(e) for _ in range(world)]
        dist.all_gather(gathered_w, w)
        dist.all_gather(gathered_e, e)
        # DTensors: each rank fills its own shard (uneven, Shard(0) / Shard(1) / Replicate)
        from torch.distributed.tensor import DeviceMesh, Replicate, Shard, distribute_tensor
        mesh = DeviceMesh("cpu", list(range(world)))
        d0 = distribute_tensor(torch.zeros(ODD), mesh, [Shard(0)])
        ft.kaiming_uniform_(d0, a=math.sqrt(5), seed=42, stream=9)
        d1 = distribute_tensor(torch.zeros(ODD, dtype=torch.bfloat16), mesh, [Shard(1)])
        ft.trunc_normal_(d1, std=0.02, a=-0.04, b=0.04, seed=42, stream=10)
        d2 = distribute_tensor(torch.zeros(ODD), mesh, [Replicate()])
        ft.normal_(d2, seed=42, stream=11)
        d3 = distribute_tensor(torch.zeros(ODD), mesh, [Shard(0)])
        ft.ones_(d3)
        full = [d.full_tensor() for d in (d0, d1, d2, d3)]
        if rank == 0:
            torch.save({"w": torch.cat(gathered_w, 0), "e": torch.cat(gathered_e, 1),
                        "dtensors": full, "local_rows": d0.to_local().shape[0]}, out_path)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_ranks_gather_equals_single_process(tmp_path):
    import torch.multiprocessing as mp
    out = str(tmp_path / "gathered.pt")
    mp.spawn(_rank, args=(2, _free_port(), out), nprocs=2, join=True)
    got = torch.load(out)
    np.testing.assert_array_equal(
        got["w"].numpy(), fi.kaiming_uniform(SHAPE, a=math.sqrt(5), seed=42, stream=7))
    want_e = fi.normal(SHAPE, std=0.02, seed=42, stream=8, dtype="bfloat16")
    np.testing.assert_array_equal(got["e"].view(torch.int16).numpy(), want_e.view(np.int16))
    d0, d1, d2, d3 = got["dtensors"]
    assert got["local_rows"] == 19  # rank 0 held 19 of 37 rows
    np.testing.assert_array_equal(d0.numpy(), fi.kaiming_uniform(ODD, a=math.sqrt(5), seed=42,
                                                                 stream=9))
    want_d1 = fi.trunc_normal(ODD, std=0.02, a=-0.04, b=0.04, seed=42, stream=10,
                              dtype="bfloat16")
    np.testing.assert_array_equal(d1.view(torch.int16).numpy(), want_d1.view(np.int16))
    np.testing.assert_array_equal(d2.numpy(), fi.normal(ODD, seed=42, stream=11))
    assert torch.equal(d3, torch.ones(ODD))
