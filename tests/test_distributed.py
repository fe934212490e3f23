"""Tensor-parallel init with torch.distributed: two gloo ranks on loopback each generate their
shard of one weight with region=, and the gathered weight equals the single-process one."""
import math
import socket

import numpy as np
import pytest
import torch

import fastinit as fi

SHAPE = (96, 80)


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
        if rank == 0:
            torch.save({"w": torch.cat(gathered_w, 0), "e": torch.cat(gathered_e, 1)}, out_path)
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
