"""Any parallelism, one init: under intercept_init, a model sharded with FSDP2, with tensor
parallelism, with both on a 2-d mesh, or split into pipeline stages that keep the full model's
names, gets bit for bit the single-process initialization (the full_tensor() of every
parameter), for a torchtitan-style model and for a transformers model. Four gloo ranks on
loopback, one spawn for every layout."""
import importlib.util
import socket
import subprocess
import sys

import pytest
import torch
from torch import nn

SEED = 3
WORLD = 4
HERE = __file__


def _titan_module():
    """tests/adapters/test_intercept.py (its Titan model), loaded by path (importlib mode)."""
    spec = importlib.util.spec_from_file_location(
        "_intercept_models", HERE.replace("test_intercept_distributed.py", "test_intercept.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def _llama_config():
    import transformers
    return transformers.LlamaConfig(hidden_size=64, intermediate_size=96, num_hidden_layers=2,
                                    num_attention_heads=4, num_key_value_heads=4,
                                    vocab_size=128)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _full(model):
    """Every parameter's full tensor (a DTensor gathered), by name, and under ``"placements"``
    the set of placements the parameters had (so a test sees that sharding happened)."""
    out, placements = {}, set()
    for name, p in model.named_parameters():
        if hasattr(p, "full_tensor"):
            placements.add(str(tuple(p.placements)))
            out[name] = p.full_tensor().detach().clone()
        else:
            out[name] = p.detach().clone()
    return out, placements


def _titan_layouts(Titan, mesh1, mesh2):
    """(layout name, meta model, how to shard it) for the torchtitan-style model."""
    from torch.distributed.fsdp import fully_shard
    from torch.distributed.tensor.parallel import (ColwiseParallel, RowwiseParallel,
                                                   parallelize_module)

    def tp_plan(model):
        plan = {}
        for k in model.layers:
            plan[f"layers.{k}.wq"] = ColwiseParallel()
            plan[f"layers.{k}.w1"] = ColwiseParallel()
            plan[f"layers.{k}.w2"] = RowwiseParallel()
        return plan

    def fsdp(model):
        for block in model.layers.values():
            fully_shard(block, mesh=mesh1)
        fully_shard(model, mesh=mesh1)

    def tp(model):
        parallelize_module(model, mesh1, tp_plan(model))

    def fsdp_tp(model):
        parallelize_module(model, mesh2["tp"], tp_plan(model))
        for block in model.layers.values():
            fully_shard(block, mesh=mesh2["dp"])
        fully_shard(model, mesh=mesh2["dp"])
    return [("fsdp", fsdp), ("tp", tp), ("fsdp+tp", fsdp_tp)]


def _pipeline_stage(model, rank):
    """Stage ``rank`` of the model: its share of the layers, names kept (torchtitan's way)."""
    keys = list(model.layers)
    for k in keys:
        if int(k) % WORLD != rank:
            del model.layers[k]
    if rank != 0:
        model.tok = None
    if rank != WORLD - 1:
        model.out = None
    return model


def _worker(rank, port, out_path):
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh

    from fastinit.torch import intercept_init
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=WORLD)
    results = {}
    try:
        mesh1 = init_device_mesh("cpu", (WORLD,))
        mesh2 = init_device_mesh("cpu", (2, 2), mesh_dim_names=("dp", "tp"))
        Titan = _titan_module().Titan
        for name, shard in _titan_layouts(Titan, mesh1, mesh2):
            with torch.device("meta"):
                model = Titan(layers=4)
            shard(model)
            model.to_empty(device="cpu")
            with intercept_init(model, seed=SEED):
                model.init_weights()
            results[f"titan/{name}"] = _full(model)
        # pipeline: each rank its stage, the names of the whole model
        with torch.device("meta"):
            stage = _pipeline_stage(Titan(layers=4), rank)
        stage.to_empty(device="cpu")
        with intercept_init(stage, seed=SEED):
            for k in reversed(list(stage.layers)):
                stage.layers[k].init_weights(0.02 / (2 * (int(k) + 1)) ** 0.5)
            if stage.tok is not None:
                nn.init.normal_(stage.tok.weight)
            if stage.out is not None:
                std = 4 ** -0.5
                nn.init.trunc_normal_(stage.out.weight, std=std, a=-3 * std, b=3 * std)
        gathered = [None] * WORLD
        dist.all_gather_object(gathered, _full(stage)[0])
        results["titan/pipeline"] = ({k: v for part in gathered for k, v in part.items()},
                                     {f"{len(part)} tensors" for part in gathered})
        # a transformers model, FSDP2 over its decoder layers and the whole
        results.update(_transformers_layouts(mesh1, mesh2))
        if rank == 0:
            torch.save(results, out_path)
    finally:
        dist.destroy_process_group()


def _transformers_layouts(mesh1, mesh2):
    import transformers
    from torch.distributed.fsdp import fully_shard
    from torch.distributed.tensor.parallel import (ColwiseParallel, RowwiseParallel,
                                                   parallelize_module)

    from fastinit.transformers.model import run_own_init

    def build():
        with torch.device("meta"):
            return transformers.AutoModelForCausalLM.from_config(_llama_config())

    def tp_plan(model):
        plan = {}
        for i in range(len(model.model.layers)):
            for p in ("q_proj", "k_proj", "v_proj", "gate_proj", "up_proj"):
                part = "self_attn" if p.endswith(("q_proj", "k_proj", "v_proj")) else "mlp"
                plan[f"model.layers.{i}.{part}.{p}"] = ColwiseParallel()
            plan[f"model.layers.{i}.self_attn.o_proj"] = RowwiseParallel()
            plan[f"model.layers.{i}.mlp.down_proj"] = RowwiseParallel()
        return plan

    results = {}
    for name in ("fsdp", "tp+fsdp"):
        model = build()
        if name == "tp+fsdp":
            parallelize_module(model, mesh2["tp"], tp_plan(model))
        mesh = mesh1 if name == "fsdp" else mesh2["dp"]
        for layer in model.model.layers:
            fully_shard(layer, mesh=mesh)
        fully_shard(model, mesh=mesh)
        model.to_empty(device="cpu")
        run_own_init(model, SEED)
        results[f"llama/{name}"] = _full(model)
    return results


def _spawn(tmp_path):
    """Run this file as a script in WORLD processes (a script's path, not the repository's,
    leads sys.path, so no checkout folder shadows an installed package)."""
    out = str(tmp_path / "full.pt")
    port = str(_free_port())
    procs = [subprocess.Popen([sys.executable, HERE, str(rank), port, out], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
             for rank in range(WORLD)]
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=300)[0].decode(errors="replace"))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    failed = [(r, log) for r, (p, log) in enumerate(zip(procs, logs)) if p.returncode]
    assert not failed, f"rank {failed[0][0]} failed:\n{failed[0][1][-4000:]}"
    return torch.load(out)


def test_every_parallel_layout_gets_the_single_process_init(tmp_path):
    pytest.importorskip("torch.distributed.fsdp")
    pytest.importorskip("transformers")
    from fastinit.torch import intercept_init
    got = _spawn(tmp_path)

    single = _titan_module().Titan(layers=4)
    with intercept_init(single, seed=SEED):
        single.init_weights()
    want = _full(single)[0]
    shown = {"fsdp": "Shard(dim=0),", "tp": "Shard(dim=1),", "fsdp+tp": "Shard(dim=0), Shard",
             "pipeline": "tensors"}
    for layout in ("fsdp", "tp", "fsdp+tp", "pipeline"):
        full, placements = got[f"titan/{layout}"]
        assert any(shown[layout] in p for p in placements), (layout, placements)
        assert sorted(full) == sorted(want), layout
        for name in want:
            assert torch.equal(full[name], want[name]), (layout, name)

    import fastinit.transformers as fit
    ref = _full(fit.from_config(_llama_config(), seed=SEED))[0]
    for layout in ("fsdp", "tp+fsdp"):
        full, placements = got[f"llama/{layout}"]
        assert any("Shard" in p for p in placements), (layout, placements)
        assert sorted(full) == sorted(ref), layout
        for name in ref:
            assert torch.equal(full[name], ref[name]), (layout, name)


if __name__ == "__main__":
    _worker(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
