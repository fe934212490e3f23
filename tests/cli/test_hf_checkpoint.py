"""fastinit hf-checkpoint: the directory save_pretrained writes for fastinit.transformers
.from_config, byte for byte, loadable by from_pretrained, written group by group in bounded
memory, atomically; one-line errors."""
import os

import pytest

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

import fastinit.transformers as fit  # noqa: E402
from fastinit import cli  # noqa: E402
from fastinit.transformers import checkpoint  # noqa: E402

from ..helpers import tiny_gpt2 as gpt2, tiny_llama as llama  # noqa: E402


def files(directory):
    return {f: open(os.path.join(directory, f), "rb").read() for f in os.listdir(directory)}


def run(*argv):
    return cli.main(["hf-checkpoint", *map(str, argv), "--no-progress", "-q"])


@pytest.mark.parametrize("make,dtype,shard", [
    (llama, None, "50GB"),
    (lambda: llama(tied=True), "bfloat16", "60KB"),
    (gpt2, "float32", "100000"),
])
def test_equals_save_pretrained_of_from_config_byte_for_byte(tmp_path, make, dtype, shard):
    make().save_pretrained(tmp_path / "cfg")
    assert run(tmp_path / "cfg", "-o", tmp_path / "ck", "--seed", 9, "--max-shard-size", shard,
               *(["--dtype", dtype] if dtype else [])) == 0
    model = fit.from_config(make(), seed=9, dtype=dtype)
    model.save_pretrained(tmp_path / "ref", max_shard_size=int(checkpoint.parse_size(shard)))
    ours, ref = files(tmp_path / "ck"), files(tmp_path / "ref")
    assert sorted(ours) == sorted(ref)
    assert ("model.safetensors.index.json" in ours) == (shard != "50GB")
    for name in ref:
        assert ours[name] == ref[name], name
    loaded = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "ck")
    state = model.state_dict()
    for name, t in loaded.state_dict().items():
        assert torch.equal(t, state[name]), name
    tied = make().tie_word_embeddings
    assert (loaded.lm_head.weight is loaded.get_input_embeddings().weight) == tied


def test_config_json_file_and_python_api(tmp_path):
    llama().save_pretrained(tmp_path / "cfg")
    assert run(tmp_path / "cfg" / "config.json", "-o", tmp_path / "a") == 0
    written = fit.write_checkpoint(llama(), tmp_path / "b")
    assert sorted(written) == sorted(os.listdir(tmp_path / "b"))
    assert files(tmp_path / "a") == files(tmp_path / "b")


def test_memory_stays_within_one_group(tmp_path, monkeypatch):
    """Never more than one group of tensors (or the largest tensor) has storage at once."""
    peak = {"now": 0, "max": 0}
    real = checkpoint._Slots.materialize

    def counting(self, names):
        undo = real(self, names)
        peak["now"] = sum(self.slots[n][0].numel() * 4 for n in names)
        peak["max"] = max(peak["max"], peak["now"])
        return undo
    monkeypatch.setattr(checkpoint._Slots, "materialize", counting)
    budget = 40_000
    fit.write_checkpoint(llama(), tmp_path / "ck", seed=1, group_bytes=budget)
    largest = 320 * 64 * 4
    assert 0 < peak["max"] <= max(budget, largest)
    assert checkpoint.total_bytes(checkpoint.plan_checkpoint(llama())[1]) > 4 * budget
    ref = fit.from_config(llama(), seed=1)
    ref.save_pretrained(tmp_path / "ref")
    assert files(tmp_path / "ck") == files(tmp_path / "ref")


def test_existing_directory_exit_2_unless_force(tmp_path, capsys):
    llama().save_pretrained(tmp_path / "cfg")
    out = tmp_path / "ck"
    out.mkdir()
    (out / "keep").write_text("x")
    assert run(tmp_path / "cfg", "-o", out) == 2
    err = capsys.readouterr().err
    assert "exists" in err and "--force" in err and len(err.strip().splitlines()) == 1
    assert os.listdir(out) == ["keep"]
    assert run(tmp_path / "cfg", "-o", out, "--force") == 0
    assert "keep" not in os.listdir(out) and "config.json" in os.listdir(out)
    assert [p for p in os.listdir(tmp_path) if p.startswith(".")] == []


def test_nothing_at_the_target_until_complete(tmp_path, monkeypatch):
    real = checkpoint._write_shard
    calls = []

    def failing(path, *args):
        calls.append(path)
        if len(calls) == 2:
            assert not os.path.exists(tmp_path / "ck")
            raise OSError("disk full")
        return real(path, *args)
    monkeypatch.setattr(checkpoint, "_write_shard", failing)
    llama().save_pretrained(tmp_path / "cfg")
    assert run(tmp_path / "cfg", "-o", tmp_path / "ck", "--max-shard-size", "60KB") == 1
    assert sorted(os.listdir(tmp_path)) == ["cfg"]  # no target, no temporary left


@pytest.mark.parametrize("content,message", [
    (None, "no config file"),
    ("{not json", "not a JSON config"),
    ('{"hidden_size": 8}', "model_type"),
    ('{"model_type": "no-such-model"}', "no-such-model"),
    ('{"model_type": "llama", "hidden_size": "wide"}', "config.json: "),
])
def test_bad_config_one_line_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "config.json"
    if content is not None:
        path.write_text(content)
    assert run(path, "-o", tmp_path / "ck") == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not os.path.exists(tmp_path / "ck")


@pytest.mark.parametrize("size", ["5XB", "-3", "0", "GB"])
def test_bad_size_one_line_exit_2(tmp_path, capsys, size):
    llama().save_pretrained(tmp_path / "cfg")
    assert run(tmp_path / "cfg", "-o", tmp_path / "ck", "--max-shard-size", size) == 2
    err = capsys.readouterr().err
    assert "max-shard-size" in err and len(err.strip().splitlines()) == 1


def test_parse_size():
    assert checkpoint.parse_size("5GB") == 5 * 10**9
    assert checkpoint.parse_size("2GiB") == 2 * 2**30
    assert checkpoint.parse_size("500mb") == 500 * 10**6
    assert checkpoint.parse_size(1234) == 1234


def test_progress_bar_counts_every_byte(tmp_path):
    seen = []
    fit.write_checkpoint(llama(tied=True), tmp_path / "ck", progress=seen.append)
    state = checkpoint.plan_checkpoint(llama(tied=True))[1]
    assert sum(seen) == checkpoint.total_bytes(state) > 0
    assert "lm_head.weight" not in state  # tied: stored once, under transformers' name
