"""Every kind of target an in-place initializer may meet: filled right, or refused untouched.

ndarray subclasses (np.matrix, np.memmap) are filled through their base ndarray view;
self-overlapping views, torch views with the negative bit and read-only arrays are refused
before anything is written. The property test at the end runs every in-place initializer over
the whole range of target kinds: afterwards the target equals the allocating function's values
at the same logical indices, or a ValueError/TypeError was raised and every byte is as it was.
"""
import itertools
import random
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastinit as fi
from fastinit._backend.geometry import self_overlaps

from ..helpers import DTYPES, INITS, NPDT, SENTINEL, SETTINGS, assert_same_bits, shapes_for


def test_np_matrix_targets_are_filled_through_their_base_view():
    """In a child process: a wrong write through np.matrix's indexing corrupts the heap, and
    the crash comes later, at garbage collection."""
    code = textwrap.dedent("""
        import gc
        import numpy as np
        import fastinit as fi
        shape = (300, 200)
        for fill, expect in [
                (lambda m: fi.normal_(m, seed=0), fi.normal(shape, seed=0)),
                (lambda m: fi.eye_(m), fi.eye(shape)),
                (lambda m: fi.constant_(m, 0.5), fi.constant(shape, 0.5)),
                (lambda m: fi.orthogonal_(m, seed=1), fi.orthogonal(shape, seed=1))]:
            m = np.asmatrix(np.zeros(shape, np.float32))
            assert fill(m) is m and type(m) is np.matrix
            assert np.array_equal(np.asarray(m), expect)
            del m
            gc.collect()
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_memmap_targets(tmp_path):
    m = np.memmap(tmp_path / "w.bin", np.float32, "w+", shape=(64, 48))
    assert fi.kaiming_uniform_(m, seed=3) is m
    m.flush()
    back = np.fromfile(tmp_path / "w.bin", np.float32).reshape(64, 48)
    assert_same_bits(back, fi.kaiming_uniform((64, 48), seed=3))


def test_self_overlapping_view_is_refused_untouched():
    buf = np.full(4096 * 4000, SENTINEL, np.float32)
    view = np.lib.stride_tricks.as_strided(buf, (3906, 2048), (4096, 4))
    with pytest.raises(ValueError, match="overlapping"):
        fi.normal_(view, seed=0)
    assert (buf == SENTINEL).all()


def _overlaps_by_enumeration(shape, strides):
    offsets = [sum(i * s for i, s in zip(idx, strides))
               for idx in itertools.product(*(range(n) for n in shape))]
    return len(set(offsets)) != len(offsets)


def test_overlap_rule_equals_enumeration():
    rng = random.Random(0)
    for _ in range(3000):
        nd = rng.randint(1, 4)
        shape = tuple(rng.randint(1, 6) for _ in range(nd))
        strides = tuple(rng.choice([-1, 1]) * rng.randint(1, 30) for _ in range(nd))
        assert self_overlaps(shape, strides) == _overlaps_by_enumeration(shape, strides), \
            (shape, strides)


def test_distinct_strided_views_are_filled():
    """Layouts whose strides interleave (no stride passes the others' reach) but whose
    elements are all distinct."""
    buf = np.full(64, SENTINEL, np.float32)
    view = np.lib.stride_tricks.as_strided(buf, (2, 3), (12, 8))  # offsets 0 2 4 3 5 7
    fi.normal_(view, seed=4)
    assert_same_bits(view.copy(), fi.normal((2, 3), seed=4))


def test_torch_negative_view_is_refused_untouched():
    torch = pytest.importorskip("torch")
    z = torch.full((4, 3), complex(SENTINEL, SENTINEL), dtype=torch.complex64)
    view = z.conj().imag
    assert view.is_neg()
    with pytest.raises(TypeError, match="negative"):
        fi.normal_(view, seed=0)
    assert (z.real == SENTINEL).all() and (z.imag == SENTINEL).all()


@pytest.mark.parametrize("method", ["reflectors", "qr"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(40, 24), (24, 40)])
def test_orthogonal_bits_do_not_depend_on_the_layout(method, dtype, shape):
    expect = fi.orthogonal(shape, method=method, dtype=np.dtype(dtype).name, seed=2)
    for out in (np.zeros(shape, dtype, order="F"), np.zeros(shape[::-1], dtype).T,
                np.zeros((shape[0], 2 * shape[1]), dtype)[:, ::2]):
        fi.orthogonal_(out, method=method, seed=2)
        assert_same_bits(np.ascontiguousarray(out), expect)


# --- the property: every target kind, every in-place initializer ----------------------------

INPLACE = dict(INITS, orthogonal=(lambda shape, **kw: fi.orthogonal(shape, seed=17, **kw),
                                  lambda out, **kw: fi.orthogonal_(out, seed=17, **kw), "fan"))
KINDS = ["C", "F", "transposed", "steps", "negative", "offset", "read_only", "matrix",
         "memmap", "overlap", "torch", "torch_transposed", "torch_steps", "torch_negative"]
MUST_REFUSE = {"read_only", "overlap", "torch_negative"}
TORCH_DTYPES = {"float32": "float32", "float64": "float64", "float16": "float16",
                "bfloat16": "bfloat16"}


def _numpy_target(kind, shape, dt, tmp):
    """(target, the buffer whose bytes must stay put on refusal, the logical values after)."""
    if kind in ("C", "read_only", "matrix"):
        buf = np.full(shape, SENTINEL, dt)
        if kind == "read_only":
            buf.flags.writeable = False
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PendingDeprecationWarning)
            target = np.matrix(buf, copy=False) if kind == "matrix" else buf
        return target, buf, lambda: buf
    if kind == "F":
        buf = np.full(shape, SENTINEL, dt, order="F")
        return buf, buf, lambda: buf
    if kind == "transposed":
        buf = np.full(shape[::-1], SENTINEL, dt)
        return buf.T, buf, lambda: buf.T
    if kind == "steps":
        buf = np.full(tuple(2 * n for n in shape), SENTINEL, dt)
        view = buf[tuple(slice(None, None, 2) for _ in shape)]
        return view, buf, lambda: view
    if kind == "negative":
        buf = np.full(shape, SENTINEL, dt)
        view = buf[tuple(slice(None, None, -1) for _ in shape)]
        return view, buf, lambda: view
    if kind == "offset":
        buf = np.full(int(np.prod(shape)) + 3, SENTINEL, dt)
        view = buf[3:].reshape(shape)
        return view, buf, lambda: view
    if kind == "memmap":
        buf = np.memmap(tmp, dt, "w+", shape=shape)
        buf[...] = SENTINEL
        return buf, buf, lambda: buf
    # overlap: every row starts one element after the previous one
    buf = np.full(shape[0] + int(np.prod(shape[1:])), SENTINEL, dt)
    strides = (dt.itemsize,) + tuple(np.full(shape[1:], 0, dt).strides)
    return np.lib.stride_tricks.as_strided(buf, shape, strides), buf, None


def _torch_target(kind, shape, dt):
    torch = pytest.importorskip("torch")
    tdt = getattr(torch, TORCH_DTYPES[dt.name])
    if kind == "torch_negative":
        if dt.name not in ("float32", "float64"):
            return None
        ct = torch.complex64 if dt.name == "float32" else torch.complex128
        buf = torch.full(shape, complex(SENTINEL, SENTINEL), dtype=ct)
        return buf.conj().imag, buf, None
    if kind == "torch":
        buf = torch.full(shape, SENTINEL, dtype=tdt)
        return buf, buf, lambda: buf
    if kind == "torch_transposed":
        buf = torch.full(shape[::-1], SENTINEL, dtype=tdt)
        view = buf.permute(*reversed(range(len(shape))))
        return view, buf, lambda: view
    buf = torch.full(tuple(2 * n for n in shape), SENTINEL, dtype=tdt)
    view = buf[tuple(slice(None, None, 2) for _ in shape)]
    return view, buf, lambda: view


def _as_numpy(x, dt):
    if isinstance(x, np.ndarray):
        return np.ascontiguousarray(np.asarray(x))
    import torch
    x = x.detach().contiguous()
    if x.dtype == torch.bfloat16:
        return x.view(torch.int16).numpy().view(dt)
    return x.numpy()


def _snapshot(buf):
    if isinstance(buf, np.ndarray):
        return np.asarray(buf).tobytes()
    import torch
    return buf.view(torch.uint8).clone() if buf.dtype != torch.bool else buf.clone()


@settings(SETTINGS, max_examples=120)
@given(data=st.data())
def test_every_target_kind_is_filled_right_or_left_untouched(data, tmp_path_factory):
    name = data.draw(st.sampled_from(sorted(INPLACE)), label="init")
    alloc, in_place, rule = INPLACE[name]
    shape = data.draw(shapes_for(rule, min_dim=2, max_dim=5), label="shape")
    if rule == "any" and not shape:
        shape = (3, 4)
    if rule == "any" and len(shape) < 2:
        shape = shape + (3,)
    dtype = data.draw(st.sampled_from(DTYPES), label="dtype")
    dt = NPDT[dtype]
    kind = data.draw(st.sampled_from(KINDS), label="kind")
    if kind == "matrix" and len(shape) != 2:
        kind = "C"  # np.matrix is 2-D only
    if kind.startswith("torch"):
        made = _torch_target(kind, shape, dt)
        if made is None:
            return
    else:
        made = _numpy_target(kind, shape, dt, tmp_path_factory.mktemp("m") / "t.bin")
    target, buf, read = made
    before = _snapshot(buf)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expect = alloc(shape, dtype=dtype)
        try:
            in_place(target)
        except (ValueError, TypeError):
            after = _snapshot(buf)
            same = (before == after) if isinstance(before, bytes) else bool((before == after).all())
            assert same, f"{name} on a {kind} target raised but wrote to it"
            assert kind in MUST_REFUSE, f"{name} refused a {kind} target"
            return
    assert kind not in MUST_REFUSE, f"{name} accepted a {kind} target"
    assert_same_bits(_as_numpy(read(), dt), expect)
