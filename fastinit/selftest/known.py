"""Known values: a digest of the output bits of a few fixed calls, shipped with the package.

The bits of every elementwise initializer are a pure function of the arguments, on every
machine, thread count and backend (``fastinit.kernels``). So one table serves every machine of
one fastinit version: a user compares two machines by comparing their selftests (or their
``--json`` reports, which carry the digests computed there). A change of these bits is a
breaking change (a new version and a line in the changelog); then the table is remade with
``python -m fastinit.selftest.known`` and pasted below.

Orthogonal matrices are not here: their last bits depend on the BLAS that computes them.
"""
import hashlib

import numpy as np

HUGE = (2**20, 2**20)  # 2**40 elements: counter word 1 is used
HUGE_REGION = (slice(2**19 + 3, 2**19 + 11), slice(1000, 1061))

# (init, shape, positional arguments after the shape, keyword arguments)
CALLS = [
    ("random_bits", (64, 64), (), dict(seed=1, stream=2)),
    ("random_bits", HUGE, (), dict(seed=2**64 - 1, stream=2**63, region=HUGE_REGION)),
    *[("uniform", (64, 64), (-1.0, 0.5), dict(dtype=dt, seed=3, stream=1))
      for dt in ("float32", "float64", "float16", "bfloat16", "complex64", "complex128")],
    *[("normal", (64, 64), (0.25, 2.0), dict(dtype=dt, seed=4, stream=5))
      for dt in ("float32", "float64", "float16", "bfloat16", "complex64", "complex128")],
    ("normal", HUGE, (), dict(dtype="float32", seed=6, region=HUGE_REGION)),
    ("normal", HUGE, (), dict(dtype="float64", seed=6, region=HUGE_REGION)),
    *[("trunc_normal", (16, 16), (0.0, 1.0, -1.0, 3.0), dict(dtype=dt, seed=7))
      for dt in ("float32", "float64", "bfloat16")],
    ("kaiming_uniform", (32, 16, 3, 3), (5 ** 0.5,), dict(seed=8)),
    ("glorot_normal", (3, 3, 16, 32), (), dict(convention="jax", dtype="float32", seed=9)),
    ("he_uniform", (16, 32), (), dict(convention="jax", dtype="complex64", seed=10)),
    ("variance_scaling", (16, 32), (1.0, "fan_avg", "truncated_normal"),
     dict(convention="jax", dtype="complex128", seed=11)),
    ("sparse", (64, 32), (0.5, 0.1), dict(dtype="float32", seed=12, stream=3)),
]


def label(call):
    """The call as Python source: ``normal((64, 64), 0.25, 2.0, dtype='float32', ...)``."""
    init, shape, args, kwargs = call
    parts = [repr(tuple(shape))] + [repr(a) for a in args]
    for k, v in kwargs.items():
        if k == "region":
            v = "(" + ", ".join(f"slice({s.start}, {s.stop})" for s in v) + ")"
        else:
            v = repr(v)
        parts.append(f"{k}={v}")
    return f"{init}({', '.join(parts)})"


def digest(a):
    """The first 16 hex digits of the SHA-256 of ``a``'s elements as little-endian unsigned
    ints of their width (a complex element: its two parts), in row-major order."""
    a = np.ascontiguousarray(a)
    width = min(a.dtype.itemsize, 8)
    u = a.view(np.dtype(f"u{width}"))
    return hashlib.sha256(u.astype(u.dtype.newbyteorder("<")).tobytes()).hexdigest()[:16]


def compute():
    """``{label: digest}`` of every call, computed here."""
    import fastinit as fi
    return {label(c): digest(getattr(fi, c[0])(c[1], *c[2], **c[3])) for c in CALLS}


# label -> digest, as computed by this version of fastinit
TABLE = {
    'random_bits((64, 64), seed=1, stream=2)':
        '38a084437f679867',
    'random_bits((1048576, 1048576), seed=18446744073709551615, stream=92233720368547'
    '75808, region=(slice(524291, 524299), slice(1000, 1061)))':
        'b62d863409248893',
    "uniform((64, 64), -1.0, 0.5, dtype='float32', seed=3, stream=1)":
        '04374fef756c1a20',
    "uniform((64, 64), -1.0, 0.5, dtype='float64', seed=3, stream=1)":
        '663f2c65a48268d5',
    "uniform((64, 64), -1.0, 0.5, dtype='float16', seed=3, stream=1)":
        '73dc54bc3aa3ea05',
    "uniform((64, 64), -1.0, 0.5, dtype='bfloat16', seed=3, stream=1)":
        '25934ba0313af5cf',
    "uniform((64, 64), -1.0, 0.5, dtype='complex64', seed=3, stream=1)":
        '3de2cb42f83ad74e',
    "uniform((64, 64), -1.0, 0.5, dtype='complex128', seed=3, stream=1)":
        '23df6648f04ad34c',
    "normal((64, 64), 0.25, 2.0, dtype='float32', seed=4, stream=5)":
        '46b990f1412a561a',
    "normal((64, 64), 0.25, 2.0, dtype='float64', seed=4, stream=5)":
        'c5be8a1d2b1dbc85',
    "normal((64, 64), 0.25, 2.0, dtype='float16', seed=4, stream=5)":
        '769840150dd3fbf1',
    "normal((64, 64), 0.25, 2.0, dtype='bfloat16', seed=4, stream=5)":
        '2affe157e1ea6bd4',
    "normal((64, 64), 0.25, 2.0, dtype='complex64', seed=4, stream=5)":
        '6bfa532eb591d28c',
    "normal((64, 64), 0.25, 2.0, dtype='complex128', seed=4, stream=5)":
        'df46c66832fb9682',
    "normal((1048576, 1048576), dtype='float32', seed=6, region=(slice(524291, 524299"
    '), slice(1000, 1061)))':
        '4f4dd9c019996c03',
    "normal((1048576, 1048576), dtype='float64', seed=6, region=(slice(524291, 524299"
    '), slice(1000, 1061)))':
        '062608551fbd923f',
    "trunc_normal((16, 16), 0.0, 1.0, -1.0, 3.0, dtype='float32', seed=7)":
        '210e5efb78f2b997',
    "trunc_normal((16, 16), 0.0, 1.0, -1.0, 3.0, dtype='float64', seed=7)":
        '7623c598c454a3fe',
    "trunc_normal((16, 16), 0.0, 1.0, -1.0, 3.0, dtype='bfloat16', seed=7)":
        '79e93f88c5fd6d8e',
    'kaiming_uniform((32, 16, 3, 3), 2.23606797749979, seed=8)':
        '9d2d9412d8326ab0',
    "glorot_normal((3, 3, 16, 32), convention='jax', dtype='float32', seed=9)":
        '1e9910138a414a6c',
    "he_uniform((16, 32), convention='jax', dtype='complex64', seed=10)":
        'c7cd39fc972d7315',
    "variance_scaling((16, 32), 1.0, 'fan_avg', 'truncated_normal', convention='jax',"
    " dtype='complex128', seed=11)":
        '58c7656d8fedcf47',
    "sparse((64, 32), 0.5, 0.1, dtype='float32', seed=12, stream=3)":
        '6935c9feea530482',
}


def _source(table):
    """The table as Python source, lines within 100 characters (long labels split into
    adjacent string literals)."""
    lines = ["TABLE = {"]
    for key, value in table.items():
        parts = [key[i:i + 80] for i in range(0, len(key), 80)]
        lines += [f"    {p!r}" for p in parts]
        lines[-1] += ":"
        lines.append(f"        {value!r},")
    return "\n".join(lines + ["}"])


if __name__ == "__main__":
    print(_source(compute()))
