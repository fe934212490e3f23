"""``fastinit.jax.initializers`` against ``jax.nn.initializers``: the same call, side by side.

Peers, in the same classes: ``fastinit`` (the adapter: checks, the key's seed, a host fill on
every core, the DLPack hand-over) and ``jax`` (``jax.nn.initializers`` of the same name, the
same arguments and key). Each timed call waits for its result (``block_until_ready``); both
allocate their result, so both carry this machine's first-touch cost of fresh memory.

- ``JaxAdapter``: the random initializers at ``SHAPE`` in float32, bfloat16 and complex64
  (where JAX takes the dtype: ``uniform`` and ``truncated_normal`` are real only);
- ``JaxAdapterOrthogonal``: ``orthogonal`` of an ``n x n`` matrix, float32 and complex64;
- ``JaxAdapterSmall``: a 64 x 64 ``glorot_uniform``, the per-call cost (the adapter's checks
  and hand-over against JAX's dispatch of its compiled sampler);
- ``JaxAdapterJit``: ``he_normal`` inside ``jax.jit`` with the key traced (the adapter runs
  through ``jax.pure_callback``).

``JaxInit`` in ``bench_frameworks.py`` times three of these at 8192 x 8192 float32.
"""
SHAPE = (2048, 2048)
INITS = ["uniform", "normal", "truncated_normal", "glorot_uniform", "glorot_normal",
         "lecun_normal", "he_uniform"]
DTYPES = ["float32", "bfloat16", "complex64"]
ORTHOGONAL_SIZES = [512, 1024]
REAL_ONLY = ("uniform", "truncated_normal")


def _modules():
    import jax
    import jax.nn.initializers as theirs

    from fastinit.jax import initializers as ours
    return jax, {"fastinit": ours, "jax": theirs}


def _dtype(name):
    import jax.numpy as jnp
    return getattr(jnp, name)


class JaxAdapter:
    params = (INITS, DTYPES)
    param_names = ["init", "dtype"]
    number = 1
    repeat = (3, 7, 60.0)

    def setup(self, name, dtype):
        if dtype == "complex64" and name in REAL_ONLY:
            raise NotImplementedError("JAX takes real dtypes only here")
        jax, mods = _modules()
        self.key = jax.random.key(0)
        self.dtype = _dtype(dtype)
        self.inits = {impl: getattr(m, name)() for impl, m in mods.items()}
        for init in self.inits.values():  # JIT and XLA compilation, paid here
            init(self.key, SHAPE, self.dtype).block_until_ready()

    def time_fastinit(self, name, dtype):
        self.inits["fastinit"](self.key, SHAPE, self.dtype).block_until_ready()

    def time_jax(self, name, dtype):
        self.inits["jax"](self.key, SHAPE, self.dtype).block_until_ready()


class JaxAdapterOrthogonal:
    params = (ORTHOGONAL_SIZES, ["float32", "complex64"])
    param_names = ["n", "dtype"]
    number = 1
    repeat = (3, 7, 60.0)

    def setup(self, n, dtype):
        jax, mods = _modules()
        self.key = jax.random.key(0)
        self.dtype = _dtype(dtype)
        self.inits = {impl: m.orthogonal() for impl, m in mods.items()}
        for init in self.inits.values():
            init(self.key, (n, n), self.dtype).block_until_ready()

    def time_fastinit(self, n, dtype):
        self.inits["fastinit"](self.key, (n, n), self.dtype).block_until_ready()

    def time_jax(self, n, dtype):
        self.inits["jax"](self.key, (n, n), self.dtype).block_until_ready()


class JaxAdapterSmall:
    number = 100
    repeat = (3, 7, 30.0)

    def setup(self):
        jax, mods = _modules()
        self.key = jax.random.key(0)
        self.inits = {impl: m.glorot_uniform() for impl, m in mods.items()}
        for init in self.inits.values():
            init(self.key, (64, 64)).block_until_ready()

    def time_fastinit(self):
        self.inits["fastinit"](self.key, (64, 64)).block_until_ready()

    def time_jax(self):
        self.inits["jax"](self.key, (64, 64)).block_until_ready()


class JaxAdapterJit:
    number = 1
    repeat = (3, 7, 60.0)

    def setup(self):
        jax, mods = _modules()
        self.key = jax.random.key(0)
        self.fns = {impl: jax.jit(lambda k, m=m: m.he_normal()(k, SHAPE))
                    for impl, m in mods.items()}
        for fn in self.fns.values():
            fn(self.key).block_until_ready()

    def time_fastinit(self):
        self.fns["fastinit"](self.key).block_until_ready()

    def time_jax(self):
        self.fns["jax"](self.key).block_until_ready()


if __name__ == "__main__":  # side by side in one process: the medians and their ratio
    import statistics
    import time

    def _median(fn, repeat=7):
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    for cls, cases in ((JaxAdapter, [(i, d) for i in INITS for d in DTYPES]),
                       (JaxAdapterOrthogonal, [(n, d) for n in ORTHOGONAL_SIZES
                                               for d in ("float32", "complex64")]),
                       (JaxAdapterSmall, [()]), (JaxAdapterJit, [()])):
        for args in cases:
            bench = cls()
            try:
                bench.setup(*args)
            except NotImplementedError:
                continue
            ours = _median(lambda: bench.time_fastinit(*args))
            theirs = _median(lambda: bench.time_jax(*args))
            print(f"{cls.__name__:22s} {str(args):32s} fastinit {ours * 1e3:9.3f} ms  "
                  f"jax {theirs * 1e3:9.3f} ms  jax/fastinit {theirs / ours:6.2f}")
