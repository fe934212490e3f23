"""Keras: ``fastinit.keras`` against ``keras.initializers``, the same classes on the same shapes.

asv class ``KerasInit`` (lower is better, both warmed in ``setup``): ``HeNormal`` (a truncated
normal), ``GlorotUniform`` and ``RandomNormal`` on 4096 x 4096 float32, ``Orthogonal`` on
1024 x 1024, each a call that returns a new tensor of the backend (both sides allocate, so
both carry this machine's first-touch cost of fresh memory). The backend is
``KERAS_BACKEND`` (default jax); the class skips itself (``NotImplementedError`` in
``setup``) where keras or the backend's framework is missing.

Side by side in one process, with ratios::

    KERAS_BACKEND=torch python benchmarks/bench_keras.py [--repeat 7]
"""
import argparse
import importlib.util
import os
import statistics
import time

INITS = ["HeNormal", "GlorotUniform", "RandomNormal", "Orthogonal"]
SHAPES = {"Orthogonal": (1024, 1024)}
SHAPE = (4096, 4096)


def _keras():
    """keras on ``KERAS_BACKEND`` (jax unless set), or NotImplementedError (asv's skip)."""
    backend = os.environ.setdefault("KERAS_BACKEND", "jax")
    for module in ("keras", backend):
        if importlib.util.find_spec(module) is None:
            raise NotImplementedError(f"{module} is not installed")
    import keras
    return keras


def _ready(x):
    # JAX dispatches asynchronously: time the values, not the dispatch
    getattr(x, "block_until_ready", lambda: None)()
    return x


def pair(name):
    """``(ours, theirs, shape)``: the two initializers of ``name``, seeded alike."""
    keras = _keras()
    import fastinit.keras as fk
    return getattr(fk, name)(seed=0), getattr(keras.initializers, name)(seed=0), \
        SHAPES.get(name, SHAPE)


class KerasInit:
    params = INITS
    param_names = ["init"]
    number = 1
    repeat = (3, 7, 60.0)
    timeout = 300

    def setup(self, name):
        self.ours, self.theirs, self.shape = pair(name)
        _ready(self.ours(self.shape))
        _ready(self.theirs(self.shape))

    def time_fastinit(self, name):
        _ready(self.ours(self.shape))

    def time_keras(self, name):
        _ready(self.theirs(self.shape))


def _medians(fns, repeat):
    """The median time of each of ``fns``, their calls interleaved (a machine shared with
    other work then slows both sides alike)."""
    for fn in fns:
        _ready(fn())
    times = [[] for _ in fns]
    for _ in range(repeat):
        for fn, ts in zip(fns, times):
            t0 = time.perf_counter()
            _ready(fn())
            ts.append(time.perf_counter() - t0)
    return [statistics.median(ts) for ts in times]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    keras = _keras()
    print(f"backend {keras.backend.backend()}, median of {args.repeat}")
    for name in INITS:
        ours, theirs, shape = pair(name)
        a, b = _medians([lambda: ours(shape), lambda: theirs(shape)], args.repeat)
        print(f"{name:14s} {str(shape):14s} fastinit {a * 1e3:8.1f} ms  keras {b * 1e3:8.1f} ms"
              f"  keras / fastinit {b / a:5.1f}")


if __name__ == "__main__":
    main()
