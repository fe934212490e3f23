"""Framework adapters: materializing a Llama-style decoder, and JAX initializers.

asv classes (lower is better, JIT warmed in ``setup``, peers in the same class):

- ``MaterializeLlama``: a ~1.04B-parameter Llama-style decoder (TinyLlama's shape: 22 layers,
  d_model 2048, MLP 5632, 4 KV heads, vocabulary 32000, tied head) in float32 and bfloat16,
  built three ways: ``fastinit.torch.materialize`` of the meta model; torch's default init
  (eager construction, torch on 2 threads); ``to_empty`` plus every module's
  ``reset_parameters``. A float32 model is 4.1 GiB: the class runs each method once per
  repeat, few repeats.
- ``ReinitLlama``: the same initialization into storage that already exists and has been
  touched (``materialize(device=None)`` against ``reset_parameters``), which leaves out this
  machine's page-fault cost of fresh memory (0.3-0.6 GB/s, see DESIGN.md).
- ``JaxInit``: 8192 x 8192 float32 through ``fastinit.jax.initializers`` against
  ``jax.nn.initializers`` (``glorot_normal``: a truncated normal; ``normal``;
  ``he_uniform``).

Side by side in one process, with ratios (what the issue's figures come from)::

    python benchmarks/bench_frameworks.py [--layers 22] [--repeat 3] [--jax-repeat 7]
"""
import argparse
import gc
import statistics
import time

from fastinit import _peers

N_LAYERS = 22
D_MODEL, D_MLP, N_HEADS, N_KV, VOCAB = 2048, 5632, 32, 4, 32000
TORCH_THREADS = 2


def _torch():
    import torch
    torch.set_num_threads(TORCH_THREADS)
    return torch


def llama_class():
    """A Llama-style decoder made of standard torch layers only (so that ``materialize``
    covers it without rules): Embedding, per layer q/k/v/o and gate/up/down Linear without bias
    and two RMSNorms, a final RMSNorm, an lm_head tied to the embedding."""
    torch = _torch()
    from torch import nn

    class Block(nn.Module):
        def __init__(self, dtype):
            super().__init__()
            kv = D_MODEL // N_HEADS * N_KV
            kw = {"bias": False, "dtype": dtype}
            self.q_proj = nn.Linear(D_MODEL, D_MODEL, **kw)
            self.k_proj = nn.Linear(D_MODEL, kv, **kw)
            self.v_proj = nn.Linear(D_MODEL, kv, **kw)
            self.o_proj = nn.Linear(D_MODEL, D_MODEL, **kw)
            self.gate_proj = nn.Linear(D_MODEL, D_MLP, **kw)
            self.up_proj = nn.Linear(D_MODEL, D_MLP, **kw)
            self.down_proj = nn.Linear(D_MLP, D_MODEL, **kw)
            self.input_norm = nn.RMSNorm(D_MODEL, dtype=dtype)
            self.post_norm = nn.RMSNorm(D_MODEL, dtype=dtype)

    class Llama(nn.Module):
        def __init__(self, layers=N_LAYERS, dtype=torch.float32):
            super().__init__()
            self.embed_tokens = nn.Embedding(VOCAB, D_MODEL, dtype=dtype)
            self.layers = nn.ModuleList(Block(dtype) for _ in range(layers))
            self.norm = nn.RMSNorm(D_MODEL, dtype=dtype)
            self.lm_head = nn.Linear(D_MODEL, VOCAB, bias=False, dtype=dtype)
            self.lm_head.weight = self.embed_tokens.weight

    return Llama


def build_materialize(layers, dtype):
    torch = _torch()
    import fastinit.torch as ft
    with torch.device("meta"):
        model = llama_class()(layers, dtype)
    ft.materialize(model, seed=0)
    return model


def build_torch_default(layers, dtype):
    return llama_class()(layers, dtype)


def build_to_empty_reset(layers, dtype):
    torch = _torch()
    with torch.device("meta"):
        model = llama_class()(layers, dtype)
    model.to_empty(device="cpu")
    model.lm_head.weight = model.embed_tokens.weight  # to_empty unties
    reset_all(model)
    return model


def reset_all(model):
    for m in model.modules():
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()


def _dtype(name):
    return getattr(_torch(), name)


def _warm():
    build_materialize(1, _dtype("float32"))
    build_materialize(1, _dtype("bfloat16"))


class MaterializeLlama:
    params = ["float32", "bfloat16"]
    param_names = ["dtype"]
    number = 1
    repeat = (1, 3, 900.0)
    rounds = 1
    timeout = 1800
    warmup_time = 0

    def setup(self, dtype):
        _warm()
        self.dtype = _dtype(dtype)

    def time_materialize(self, dtype):
        build_materialize(N_LAYERS, self.dtype)

    def time_torch_default(self, dtype):
        build_torch_default(N_LAYERS, self.dtype)

    def time_to_empty_reset_parameters(self, dtype):
        build_to_empty_reset(N_LAYERS, self.dtype)


class ReinitLlama:
    params = ["float32", "bfloat16"]
    param_names = ["dtype"]
    number = 1
    repeat = (1, 3, 900.0)
    rounds = 1
    timeout = 1800
    warmup_time = 0

    def setup(self, dtype):
        _warm()
        self.model = build_materialize(N_LAYERS, _dtype(dtype))

    def teardown(self, dtype):
        del self.model
        gc.collect()

    def time_materialize_in_place(self, dtype):
        import fastinit.torch as ft
        ft.materialize(self.model, seed=1, device=None)

    def time_reset_parameters(self, dtype):
        reset_all(self.model)


class JaxInit:
    params = _peers.JAX_INITS
    param_names = ["init"]
    shape = _peers.JAX_SHAPE
    number = 1
    repeat = (3, 7, 120.0)

    def setup(self, name):
        import jax
        import jax.nn.initializers as jinit

        from fastinit.jax import initializers as fjinit
        self.key = jax.random.key(0)
        args = () if name != "normal" else (0.02,)
        self.ours = getattr(fjinit, name)(*args)
        self.theirs = getattr(jinit, name)(*args)
        self.ours(self.key, self.shape).block_until_ready()
        self.theirs(self.key, self.shape).block_until_ready()

    def time_fastinit(self, name):
        self.ours(self.key, self.shape).block_until_ready()

    def time_jax(self, name):
        self.theirs(self.key, self.shape).block_until_ready()


# --- side by side in one process ---------------------------------------------------------------

def _median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        del out
        gc.collect()
    return statistics.median(times), times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", type=int, default=N_LAYERS)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jax-repeat", type=int, default=7)
    ap.add_argument("--skip-torch", action="store_true")
    ap.add_argument("--skip-jax", action="store_true")
    args = ap.parse_args()
    if not args.skip_torch:
        torch = _torch()
        _warm()
        with torch.device("meta"):
            nparams = sum(p.numel() for p in llama_class()(args.layers).parameters())
        print(f"Llama-style decoder: {args.layers} layers, {nparams / 1e9:.3f}B parameters, "
              f"torch threads {torch.get_num_threads()}, repeat {args.repeat} (median)")
        for dname in ("float32", "bfloat16"):
            dt = getattr(torch, dname)
            res = {}
            # interleaved, so that slow drift of the machine hits every method alike
            for name, fn in (("materialize", build_materialize),
                             ("torch default", build_torch_default),
                             ("to_empty+reset", build_to_empty_reset)):
                res[name] = _median_time(lambda: fn(args.layers, dt), args.repeat)
            base = res["materialize"][0]
            for name, (med, times) in res.items():
                print(f"  {dname:9s} {name:15s} median {med:7.2f} s  (x{med / base:5.2f} of "
                      f"materialize)  runs {[round(t, 2) for t in times]}")
            model = build_materialize(args.layers, dt)
            import fastinit.torch as ft
            ours = _median_time(lambda: ft.materialize(model, seed=1, device=None), args.repeat)
            theirs = _median_time(lambda: reset_all(model), args.repeat)
            print(f"  {dname:9s} in place (touched memory): materialize(device=None) "
                  f"{ours[0]:.2f} s, reset_parameters {theirs[0]:.2f} s, "
                  f"ratio x{theirs[0] / ours[0]:.2f}")
            del model
            gc.collect()
    if not args.skip_jax:
        for name in JaxInit.params:
            b = JaxInit()
            b.setup(name)
            ours = _median_time(lambda: b.ours(b.key, b.shape).block_until_ready(),
                                args.jax_repeat)
            theirs = _median_time(lambda: b.theirs(b.key, b.shape).block_until_ready(),
                                  args.jax_repeat)
            print(f"  jax 8192x8192 float32 {name:14s} fastinit {ours[0] * 1e3:8.1f} ms, "
                  f"jax.nn.initializers {theirs[0] * 1e3:8.1f} ms, ratio "
                  f"x{theirs[0] / ours[0]:.2f}")


if __name__ == "__main__":
    main()
