"""Hugging Face transformers: building a model from its config, and writing its checkpoint.

asv classes (lower is better, JIT warmed in ``setup``, peers in the same class; skipped where
transformers is not installed):

- ``FromConfigLlama``: TinyLlama-1.1B's shapes (hidden 2048, intermediate 5632, 22 layers, 32
  heads, 4 KV heads, vocabulary 32000) in float32 and bfloat16:
  ``fastinit.transformers.from_config`` against ``AutoModelForCausalLM.from_config``
  (torch on 2 threads). A float32 model is 4.4 GB: one build per repeat, few repeats.
- ``HfCheckpointLlama``: ``fastinit.transformers.write_checkpoint`` of the same model in
  bfloat16 (2.2 GB, 2 GB shards) to a temporary directory, with its peak memory
  (``peakmem_``: the process's maximum resident set, asv's measure) next to its time.

Side by side in one process, with ratios (what the report's figures come from)::

    python benchmarks/bench_transformers.py [--layers 22] [--repeat 3] [--checkpoint DIR]
"""
import argparse
import gc
import os
import shutil
import statistics
import tempfile
import time

N_LAYERS = 22
TORCH_THREADS = 2
SHARD = "2GB"


def _transformers():
    try:
        import torch
        import transformers
    except ImportError:
        raise NotImplementedError("transformers is not installed") from None
    torch.set_num_threads(TORCH_THREADS)
    return transformers


def tinyllama(layers=N_LAYERS):
    return _transformers().LlamaConfig(hidden_size=2048, intermediate_size=5632,
                                       num_hidden_layers=layers, num_attention_heads=32,
                                       num_key_value_heads=4, vocab_size=32000)


def llama2_7b():
    """Llama-2-7B's shapes (6.7B parameters, 13.5 GB in bfloat16)."""
    return _transformers().LlamaConfig(hidden_size=4096, intermediate_size=11008,
                                       num_hidden_layers=32, num_attention_heads=32,
                                       num_key_value_heads=32, vocab_size=32000)


def ours(config, dtype):
    import fastinit.transformers as fit
    return fit.from_config(config, seed=0, dtype=dtype)


def theirs(config, dtype):
    return _transformers().AutoModelForCausalLM.from_config(config, dtype=_dtype(dtype))


def _dtype(name):
    import torch
    return getattr(torch, name)


def _warm():
    for dtype in ("float32", "bfloat16"):
        ours(tinyllama(1), dtype)


class FromConfigLlama:
    params = ["float32", "bfloat16"]
    param_names = ["dtype"]
    number = 1
    repeat = (1, 3, 900.0)
    rounds = 1
    timeout = 1800
    warmup_time = 0

    def setup(self, dtype):
        _transformers()
        _warm()
        self.config = tinyllama()

    def time_fastinit_from_config(self, dtype):
        ours(self.config, dtype)

    def time_transformers_from_config(self, dtype):
        theirs(self.config, dtype)


class HfCheckpointLlama:
    number = 1
    repeat = (1, 3, 900.0)
    rounds = 1
    timeout = 1800
    warmup_time = 0

    def setup(self):
        _transformers()
        _warm()
        self.config = tinyllama()
        self.dir = tempfile.mkdtemp(prefix="fastinit-bench-")

    def teardown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def _write(self):
        import fastinit.transformers as fit
        target = os.path.join(self.dir, "ck")
        fit.write_checkpoint(self.config, target, seed=0, dtype="bfloat16",
                             max_shard_size=SHARD, force=True)

    def time_hf_checkpoint(self):
        self._write()

    def peakmem_hf_checkpoint(self):
        self._write()


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
        time.sleep(2)  # let the machine take freed memory back before the next build
    return statistics.median(times), times


def _max_rss_mib():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", type=int, default=N_LAYERS)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-from-config", action="store_true")
    ap.add_argument("--checkpoint", metavar="DIR",
                    help="also time hf-checkpoint of the 1.1B (bfloat16) into DIR/ck")
    ap.add_argument("--checkpoint-7b", action="store_true",
                    help="with --checkpoint: the Llama-2-7B shapes instead")
    args = ap.parse_args()
    _warm()
    config = tinyllama(args.layers)
    if not args.skip_from_config:
        print(f"TinyLlama shapes, {args.layers} layers; torch threads {TORCH_THREADS}; median "
              f"of {args.repeat}")
        for dtype in ("float32", "bfloat16"):
            a = _median_time(lambda: ours(config, dtype), args.repeat)
            b = _median_time(lambda: theirs(config, dtype), args.repeat)
            print(f"  {dtype:9s} fastinit.transformers.from_config {a[0]:6.2f} s "
                  f"{[round(t, 2) for t in a[1]]}   AutoModelForCausalLM.from_config "
                  f"{b[0]:6.2f} s {[round(t, 2) for t in b[1]]}   ratio x{b[0] / a[0]:.2f}")
    if args.checkpoint:
        import fastinit.transformers as fit
        from fastinit.transformers import checkpoint
        cfg = llama2_7b() if args.checkpoint_7b else config
        target = os.path.join(args.checkpoint, "ck")
        before = _max_rss_mib()
        t0 = time.perf_counter()
        fit.write_checkpoint(cfg, target, seed=0, dtype="bfloat16", max_shard_size=SHARD,
                             force=True)
        seconds = time.perf_counter() - t0
        size = checkpoint.total_bytes(checkpoint.plan_checkpoint(cfg, dtype="bfloat16")[1])
        print(f"  hf-checkpoint bfloat16 {size / 1e9:.2f} GB in {seconds:.1f} s "
              f"({size / seconds / 1e9:.2f} GB/s), shards of {SHARD}; max RSS before "
              f"{before:.0f} MiB, after {_max_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
