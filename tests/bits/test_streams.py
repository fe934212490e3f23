"""``fastinit.stream_of``: the one rule from a tensor's name to its stream, pinned by known
answers (computed here with hashlib, and two literals so that a change of rule fails), and the
same bits for the same name from ``fastinit generate --spec``, ``fastinit.torch.materialize``
and ``fastinit.<init>(..., stream=fastinit.stream_of(name))``."""
import hashlib
import json
import subprocess
import sys

import numpy as np
import pytest

import fastinit as fi
from fastinit import cli

NAMES = [
    "",
    "lin.weight",
    "model.layers.0.self_attn.q_proj.weight",
    "décodeur.層.weight",             # non-ASCII: UTF-8 bytes, 1 to 3 per character
    "emoji.\N{ROCKET}.bias",          # a 4-byte UTF-8 character (outside the BMP)
    "a" * 10_000,                     # long: longer than any hash block
    "blocks." + ".".join(str(i) for i in range(2_000)) + ".weight",
]


def sha256_rule(name):
    """The documented rule, written out: the first 8 bytes of SHA-256 of the UTF-8 name,
    little-endian."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return sum(digest[i] << (8 * i) for i in range(8))


@pytest.mark.parametrize("name", NAMES)
def test_stream_of_is_the_first_8_bytes_of_sha256_little_endian(name):
    s = fi.stream_of(name)
    assert type(s) is int and 0 <= s < 2**64
    assert s == sha256_rule(name)


def test_stream_of_known_answers():
    # literals computed once; if one of these fails, the rule changed: that changes the bits of
    # every materialized model and spec file, and needs a version bump and a changelog entry
    assert fi.stream_of("") == 1449310910991872227           # SHA-256("") = e3b0c442 98fc1c14...
    assert fi.stream_of("lin.weight") == 5939475752701131842
    assert fi.stream_of("décodeur.層.weight") == 17287082408765242205
    assert fi.stream_of("") == int.from_bytes(bytes.fromhex("e3b0c44298fc1c14"), "little")


def test_stream_of_uses_the_name_exactly():
    # no normalization: case, whitespace and Unicode composition give other streams
    names = ["lin.weight", "Lin.weight", " lin.weight", "lin.weight ", "e\u0301", "\u00e9"]
    assert len({fi.stream_of(n) for n in names}) == len(names)


def test_stream_of_takes_str_subclasses():
    class Name(str):
        pass
    assert fi.stream_of(Name("lin.weight")) == fi.stream_of("lin.weight")


@pytest.mark.parametrize("bad", [b"lin.weight", 7, None, ["lin.weight"], 1.5])
def test_stream_of_rejects_non_str(bad):
    with pytest.raises(TypeError, match="name") as e:
        fi.stream_of(bad)
    assert repr(bad) in str(e.value)


def test_stream_of_rejects_a_name_without_utf8():
    with pytest.raises(ValueError, match="name") as e:
        fi.stream_of("lin.\ud800")
    assert repr("lin.\ud800") in str(e.value)


def test_stream_of_is_public_and_not_an_initializer():
    assert "stream_of" in fi.__all__
    assert fi.stream_of.__module__ == "fastinit.streams"
    assert "stream_of" not in cli.initializers()


def test_one_function_everywhere():
    torch = pytest.importorskip("torch")  # noqa: F841
    import importlib

    import fastinit.torch as ft
    materialize_module = importlib.import_module("fastinit.torch.materialize")
    assert ft.stream_of is fi.stream_of
    assert materialize_module.stream_of is fi.stream_of
    assert cli.stream_of is fi.stream_of


# --- the same bits for the same name, whoever makes them ------------------------------------

TENSORS = {"lin.weight": (16, 32), "décodeur.層.weight": (8, 12)}


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_spec_materialize_and_core_give_the_same_bits(tmp_path, dtype):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file
    from torch import nn

    import fastinit.torch as ft

    spec = {"seed": 5, "dtype": dtype, "tensors": {
        name: {"init": "normal", "std": 0.02, "shape": list(shape)}
        for name, shape in TENSORS.items()}}
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "model.safetensors"
    r = subprocess.run([sys.executable, "-m", "fastinit", "generate", "--spec", str(spec_path),
                        "-o", str(out), "-q"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    written = load_file(out)

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(32, 16)
            self.add_module("décodeur", nn.Module())
            getattr(self, "décodeur").add_module("層", nn.Linear(12, 8))

    with torch.device("meta"):
        model = Model()
    tdtype = getattr(torch, dtype)
    ft.materialize(model, seed=5, dtype=tdtype, rules={"*": ("normal_", {"std": 0.02})})
    params = dict(model.named_parameters())

    int_view = {"float32": torch.int32, "bfloat16": torch.int16}[dtype]
    for name, shape in TENSORS.items():
        core = fi.normal(shape, std=0.02, dtype=dtype, seed=5, stream=fi.stream_of(name))
        core = torch.from_numpy(core.view({"float32": np.int32, "bfloat16": np.int16}[dtype]))
        got_file = written[name]
        got_model = params[name].detach()
        assert got_file.dtype == got_model.dtype == tdtype, name
        assert torch.equal(got_file.view(int_view), core), name
        assert torch.equal(got_model.view(int_view), core), name


def test_spec_name_without_utf8_is_a_usage_error(tmp_path):
    # JSON can spell a lone surrogate ("\ud800"); the spec reports it in one line, no traceback
    spec = tmp_path / "spec.json"
    spec.write_text('{"seed": 5, "tensors": {"lin.\\ud800": {"init": "normal", "shape": [2]}}}')
    with pytest.raises(cli.UsageError, match="UTF-8"):
        cli.load_spec(str(spec), 5, None)
