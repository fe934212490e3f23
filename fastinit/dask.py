"""fastinit for Dask: every region-capable initializer as a lazy ``dask.array.Array``.

``fastinit.dask.<name>(shape, *args, chunks="auto", dtype="float32", seed=None, stream=0,
**kwargs)`` builds an array of any shape and chunking whose blocks are generated
independently, each by ``fastinit.<name>(shape, *args, region=<the block's slices>, ...)``
(``dask.array.map_blocks`` with ``block_info``), so the computed array equals
``fastinit.<name>(shape, *args, ...)`` bit for bit, on any scheduler, cluster and chunking.
Fans always come from the global ``shape``. Nothing is generated before ``compute``; a block
is a pure function of ``(seed, stream, its slices)`` and can be recomputed anywhere.

``seed=None`` draws one seed from OS entropy when the array is *built* (so all its blocks
share it). Arguments are checked when the array is built, before any block runs.

Importing this module imports dask; ``import fastinit`` alone never does.
"""
import functools

import numpy as np

import dask.array as da

import fastinit as _fi

RANDOM = ("uniform", "normal", "trunc_normal", "truncated_normal", "xavier_uniform",
          "xavier_normal", "glorot_uniform", "glorot_normal", "kaiming_uniform",
          "kaiming_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
          "variance_scaling", "sparse")
DETERMINISTIC = ("constant", "zeros", "ones", "eye", "dirac")

__all__ = list(RANDOM) + list(DETERMINISTIC) + ["random_bits"]


def _block(spec, block_info=None):
    """One block: the allocating form with the block's region."""
    name, shape, args, kwargs = spec
    region = tuple(slice(a, b) for a, b in block_info[None]["array-location"])
    return getattr(_fi, name)(shape, *args, region=region, **kwargs)


def _build(name, shape, args, kwargs, chunks, dtype):
    shape = _fi._checks.check_shape(shape)
    # every argument checked now, on an empty region (or the single element of a 0-d shape)
    probe = (slice(0, 0),) if shape else None
    getattr(_fi, name)(shape, *args, region=probe, **kwargs)
    chunks = da.core.normalize_chunks(chunks, shape, dtype=dtype)
    meta = np.empty((0,) * len(shape), dtype)
    return da.map_blocks(_block, (name, shape, tuple(args), kwargs), chunks=chunks,
                         dtype=dtype, meta=meta)


def _entropy_seed():
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0])


def _random(name):
    target = getattr(_fi, name)

    @functools.wraps(target)
    def build(shape, *args, chunks="auto", dtype="float32", seed=None, stream=0, **kwargs):
        dt = _fi._checks.check_dtype(dtype)
        seed = _entropy_seed() if seed is None else seed
        kwargs = dict(kwargs, dtype=dt, seed=seed, stream=stream)
        return _build(name, shape, args, kwargs, chunks, dt)
    build.__doc__ = (f"Dask version of :func:`fastinit.{name}`: a lazy ``dask.array.Array``, "
                     f"``chunks=`` as in Dask, equal to ``fastinit.{name}(shape, ...)`` bit for "
                     f"bit.\n\n" + (target.__doc__ or ""))
    return build


def _deterministic(name):
    target = getattr(_fi, name)

    @functools.wraps(target)
    def build(shape, *args, chunks="auto", dtype="float32", **kwargs):
        dt = _fi._checks.check_dtype(dtype)
        return _build(name, shape, args, dict(kwargs, dtype=dt), chunks, dt)
    build.__doc__ = (f"Dask version of :func:`fastinit.{name}` (``chunks=`` as in Dask).\n\n"
                     + (target.__doc__ or ""))
    return build


def random_bits(shape, *, chunks="auto", seed=None, stream=0):
    """Dask version of :func:`fastinit.random_bits`: the raw uint32 Philox words."""
    seed = _entropy_seed() if seed is None else seed
    return _build("random_bits", shape, (), {"seed": seed, "stream": stream}, chunks,
                  np.dtype(np.uint32))


for _name in RANDOM:
    globals()[_name] = _random(_name)
for _name in DETERMINISTIC:
    globals()[_name] = _deterministic(_name)
del _name
