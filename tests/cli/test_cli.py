"""The ``fastinit`` command end to end, in subprocesses: every initializer through ``generate``
equals the library's result in ``.npy`` and ``.safetensors`` (read back by NumPy, by the
safetensors library and by torch), memory stays bounded by the tile budget, a killed run leaves
no file under the target name and an existing file intact and its partial file is removed by
the next run (never a live writer's), bad arguments (a tensor name safetensors cannot hold, a
tensor defined twice included) give one line and exit code 2; ``bench`` and ``info`` run. The
tile and header helpers are tested in process.
"""
import inspect
import io
import json
import math
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time

import ml_dtypes
import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import fastinit as fi
from fastinit import _io, cli

BF16 = np.dtype(ml_dtypes.bfloat16)
FASTINIT = [sys.executable, "-m", "fastinit"]
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow])
TINY_TILE = ["--tile-mib", "0.0005"]  # 524 bytes: many tiles, cut inside the last axes too


def run(*args, cwd=None, timeout=300):
    return subprocess.run([*FASTINIT, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def ok(*args, **kw):
    r = run(*args, **kw)
    assert r.returncode == 0, r.stderr
    return r


def bits(a):
    """The raw bits, so NaN and -0.0 compare exactly and bfloat16 compares at all."""
    a = np.asarray(a)
    return a.view({1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


# name -> (CLI options, keyword arguments of fastinit.<name>, shape, dtype)
CASES = {
    "random_bits": ([], {}, (5, 7, 3), None),
    "uniform": (["--low", "-0.5", "--high", "2"], dict(low=-0.5, high=2.0), (37, 29), "float32"),
    "normal": (["--mean", "1", "--std=0.02"], dict(mean=1.0, std=0.02), (7, 9, 5), "bfloat16"),
    "trunc_normal": (["--std", "0.5", "--a", "-0.3", "--b", "1"],
                     dict(std=0.5, a=-0.3, b=1.0), (301,), "float64"),
    "truncated_normal": (["--stddev", "0.1", "--lower", "-1", "--upper", "1.5"],
                         dict(stddev=0.1, lower=-1.0, upper=1.5), (13, 17), "float16"),
    "xavier_uniform": (["--gain", "1.5"], dict(gain=1.5), (24, 16, 3), "float32"),
    "xavier_normal": (["--gain", "0.5"], dict(gain=0.5), (16, 24), "bfloat16"),
    "glorot_uniform": (["--convention", "jax"], dict(convention="jax"), (3, 3, 8, 16),
                       "float16"),
    "glorot_normal": (["--convention", "jax", "--in-axis", "0", "--out-axis", "1"],
                      dict(convention="jax", in_axis=0, out_axis=1), (16, 8, 3), "float64"),
    "kaiming_uniform": (["--a", "2.2360679", "--mode", "fan_out"],
                        dict(a=2.2360679, mode="fan_out"), (32, 16, 3, 3), "float32"),
    "kaiming_normal": (["--nonlinearity", "relu"], dict(nonlinearity="relu"), (20, 30),
                       "bfloat16"),
    "he_uniform": (["--convention", "jax", "--batch_axis", "0"],
                   dict(convention="jax", batch_axis=(0,)), (2, 12, 10), "float32"),
    "he_normal": (["--convention", "jax"], dict(convention="jax"), (3, 3, 4, 8), "float16"),
    "lecun_uniform": ([], {}, (40, 20), "float64"),
    "lecun_normal": (["--convention", "jax"], dict(convention="jax"), (20, 40), "bfloat16"),
    "variance_scaling": (["--scale", "2", "--mode", "fan_avg", "--distribution", "uniform",
                          "--convention", "jax"],
                         dict(scale=2, mode="fan_avg", distribution="uniform",
                              convention="jax"), (5, 11, 13), "float32"),
    "constant": (["--value", "0.1"], dict(value=0.1), (9, 11), "bfloat16"),
    "zeros": ([], {}, (33,), "float16"),
    "ones": ([], {}, (4, 5, 6), "float64"),
    "eye": ([], {}, (17, 23), "float32"),
    "dirac": (["--groups", "2"], dict(groups=2), (6, 3, 3, 5), "float32"),
    "sparse": (["--sparsity", "0.5", "--std", "0.1"], dict(sparsity=0.5, std=0.1), (31, 19),
               "bfloat16"),
    "orthogonal": (["--gain", "1.5", "--method", "qr"], dict(gain=1.5, method="qr"), (12, 5, 2),
                   "bfloat16"),
    "delta_orthogonal": (["--scale", "0.5"], dict(scale=0.5), (3, 3, 4, 6), "float32"),
}
SEED, STREAM = 12345, 2**40 + 7


def expected(name, shape, dtype, seed=SEED, stream=STREAM, **kw):
    opts, params, _, _ = CASES[name]
    kw = dict(params, **kw)
    if cli.takes(name, "seed"):
        kw.update(seed=seed, stream=stream)
    if dtype is not None:
        kw["dtype"] = dtype
    return getattr(fi, name)(shape, **kw)


def generate_args(name, out, *extra):
    opts, _, shape, dtype = CASES[name]
    args = ["generate", "--init", name, *opts, "--shape", "x".join(map(str, shape)),
            "-o", out, *TINY_TILE, *extra]
    if dtype is not None:
        args += ["--dtype", dtype]
    if cli.takes(name, "seed"):
        args += ["--seed", SEED, "--stream", STREAM]
    return args


# an initializer added later (orthogonal, ...) runs with its defaults until it gets a case
for _name in cli.initializers():
    CASES.setdefault(_name, ([], {}, (6, 4), "float32"))


@pytest.mark.parametrize("name", sorted(CASES))
def test_generate_npy_equals_library(tmp_path, name):
    _, _, shape, dtype = CASES[name]
    out = tmp_path / "w.npy"
    ok(*generate_args(name, out))
    want = expected(name, shape, dtype)
    got = np.load(out)
    assert got.shape == want.shape
    assert np.array_equal(bits(got), bits(want))
    saved = io.BytesIO()
    np.save(saved, want)
    assert out.read_bytes() == saved.getvalue()  # the very bytes numpy.save writes


def _safetensors_spec(fmt):
    tensors = {}
    for name, (_, params, shape, dtype) in CASES.items():
        entry = {"init": name, "shape": list(shape), **params}
        entry = {k: list(v) if isinstance(v, tuple) else v for k, v in entry.items()}
        if dtype is not None:
            entry["dtype"] = dtype
        tensors[f"layer.{name}"] = entry
    tensors["layer.normal"]["stream"] = 99  # an explicit stream; the rest hash their names
    spec = {"seed": SEED, "tensors": tensors}
    if fmt == "json":
        return json.dumps(spec)
    lines = [f"seed = {SEED}"]
    for tname, entry in tensors.items():
        lines.append(f'[tensors."{tname}"]')
        lines += [f"{k} = {json.dumps(v)}" for k, v in entry.items()]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("fmt", ["json", "toml"])
def test_generate_spec_safetensors_equals_library(tmp_path, fmt):
    from safetensors import safe_open
    from safetensors.numpy import load_file, save

    spec = tmp_path / f"model.{fmt}"
    spec.write_text(_safetensors_spec(fmt))
    out = tmp_path / "model.safetensors"
    ok("generate", "--spec", spec, "-o", out, *TINY_TILE)
    loaded = load_file(out)
    want = {}
    for name, (_, _, shape, dtype) in CASES.items():
        tname = f"layer.{name}"
        stream = 99 if name == "normal" else fi.stream_of(tname)
        want[tname] = expected(name, shape, dtype, stream=stream)
        assert loaded[tname].dtype == want[tname].dtype, tname
        assert np.array_equal(bits(loaded[tname]), bits(want[tname])), tname
    assert set(loaded) == set(want)
    with safe_open(out, "np") as f:
        metadata = f.metadata()
    recipe = json.loads(metadata["fastinit"])
    assert recipe["tensors"]["layer.normal"]["stream"] == 99
    assert metadata["format"] == "pt"
    # what the safetensors library writes for the same tensors and metadata: the same data,
    # byte for byte, after a header equal as JSON (the library orders metadata keys by hash)
    ours, theirs = out.read_bytes(), save(want, metadata=metadata)
    n = int.from_bytes(ours[:8], "little")
    assert ours[:8] == theirs[:8] and ours[8 + n:] == theirs[8 + n:]
    assert json.loads(ours[8:8 + n]) == json.loads(theirs[8:8 + n])


def test_generate_safetensors_read_by_torch(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    out = tmp_path / "w.safetensors"
    ok(*generate_args("normal", out, "--name", "model.embed.weight"))
    t = load_file(out)["model.embed.weight"]
    assert t.dtype == torch.bfloat16 and tuple(t.shape) == CASES["normal"][2]
    want = expected("normal", CASES["normal"][2], "bfloat16")
    assert np.array_equal(t.view(torch.int16).numpy(), want.view(np.int16))


def test_whole_tensor_initializer_is_computed_once(tmp_path, monkeypatch, capsys):
    # an initializer without region= (as a QR-based one may be) is generated once, whole,
    # and still written tile by tile; in process, with a stand-in initializer
    calls = []

    def fake_whole(shape, gain=1.0, *, dtype="float32", seed=None, stream=0, device="cpu"):
        calls.append(shape)
        return fi.normal(shape, std=gain, dtype=dtype, seed=seed, stream=stream)

    monkeypatch.setattr(fi, "fake_whole", fake_whole, raising=False)
    monkeypatch.setattr(fi, "__all__", [*fi.__all__, "fake_whole"])
    out = tmp_path / "w.npy"
    code = cli.main(["generate", "--init", "fake_whole", "--gain", "3", "--shape", "13x11",
                     "--dtype", "bfloat16", "--seed", "4", "-o", str(out), *TINY_TILE])
    assert code == 0, capsys.readouterr().err
    assert calls == [(13, 11)]  # once, for the check and the write
    want = fi.normal((13, 11), std=3.0, dtype="bfloat16", seed=4)
    assert np.array_equal(bits(np.load(out)), bits(want))


def test_console_script_and_drawn_seed(tmp_path):
    script = pathlib.Path(sys.executable).with_name("fastinit")
    assert script.exists(), "the fastinit console script is not installed"
    out = tmp_path / "w.npy"
    r = subprocess.run([script, "generate", "--init", "uniform", "--shape", "10x10", "-o", out],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    # no --seed: one is drawn and printed, and it reproduces the file
    seed = int(r.stderr.split("--seed ")[1].split()[0])
    assert np.array_equal(np.load(out), fi.uniform((10, 10), seed=seed))
    assert "wrote" in r.stderr and "elements/s" in r.stderr  # the throughput line


# --- memory -------------------------------------------------------------------------------

PEAK_RSS = """
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:])
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)  # KiB on Linux
sys.exit(r.returncode)
"""


def _peak_rss_mib(tmp_path, shape, tile_mib, name):
    out = tmp_path / name
    r = subprocess.run([sys.executable, "-c", PEAK_RSS, *FASTINIT, "generate", "--init",
                        "normal", "--shape", shape, "--seed", "0", "--tile-mib", str(tile_mib),
                        "-o", out], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    size = out.stat().st_size
    out.unlink()
    return int(r.stdout.split()[-1]) / 1024, size


@pytest.mark.slow
@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss units and semantics: Linux")
def test_generate_memory_bounded_by_tile_budget(tmp_path):
    tile_mib = 16
    base, _ = _peak_rss_mib(tmp_path, "1024", tile_mib, "small.npy")
    peak, size = _peak_rss_mib(tmp_path, "8192x8192", tile_mib, "big.npy")  # 256 MiB
    assert size >= 16 * tile_mib * 2**20  # 16 times the tile budget
    # the small run has the same interpreter, Numba and kernels; the large one adds at most
    # its tile buffer (tile_mib) and some slack for allocator noise
    assert peak - base < tile_mib + 24, (base, peak)


# --- atomic writes ------------------------------------------------------------------------

def _partials(directory):
    return sorted(p for p in directory.iterdir() if p.name.endswith(_io.TEMP_SUFFIX))


def _start_big_write(out, *extra):
    # 2**30 float32 = 4 GiB: far from done when the partial file has its first 16 MiB
    return subprocess.Popen([*FASTINIT, "generate", "--init", "normal", "--shape", "32768x32768",
                             "--seed", "0", "--tile-mib", "4", "-o", str(out), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_partial(proc, directory, nbytes=16 * 2**20, timeout=120):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        assert proc.poll() is None, proc.communicate()
        parts = _partials(directory)
        if parts and parts[0].stat().st_size >= nbytes:
            return parts[0]
        time.sleep(0.005)
    proc.kill()
    raise AssertionError("the partial file did not grow")


@pytest.mark.slow
def test_sigkill_mid_write_leaves_no_target(tmp_path):
    out = tmp_path / "w.npy"
    proc = _start_big_write(out)
    partial = _wait_for_partial(proc, tmp_path)
    proc.kill()
    proc.wait()
    assert not out.exists()
    # SIGKILL cannot clean up: the partial stays, under a recognisable name that is not the
    # target's and that the next run never mistakes for it
    assert partial.exists() and partial.name.startswith(".w.npy.") and partial != out
    partial.unlink()


@pytest.mark.slow
def test_sigkill_mid_overwrite_leaves_existing_file_intact(tmp_path):
    out = tmp_path / "w.npy"
    old = np.arange(10.0)
    np.save(out, old)
    before = out.read_bytes()
    proc = _start_big_write(out, "--force")
    _wait_for_partial(proc, tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert out.read_bytes() == before


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_mid_write_removes_partial(tmp_path, sig):
    out = tmp_path / "w.safetensors"
    out.write_bytes(b"keep me")
    proc = _start_big_write(out, "--force")
    _wait_for_partial(proc, tmp_path)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert out.read_bytes() == b"keep me"
    assert _partials(tmp_path) == []


def test_refuses_to_overwrite_without_force(tmp_path):
    out = tmp_path / "w.npy"
    out.write_bytes(b"precious")
    r = run("generate", "--init", "zeros", "--shape", "4", "-o", out)
    assert r.returncode == 2 and "--force" in r.stderr
    assert out.read_bytes() == b"precious"
    ok("generate", "--init", "zeros", "--shape", "4", "-o", out, "--force")
    assert np.array_equal(np.load(out), np.zeros(4, np.float32))
    assert _partials(tmp_path) == []


def test_failed_write_removes_partial(tmp_path):
    with pytest.raises(RuntimeError):
        with _io.AtomicFile(tmp_path / "w.npy") as f:
            os.write(f.fd, b"half a file")
            assert len(_partials(tmp_path)) == 1
            raise RuntimeError("disk on fire")
    assert list(tmp_path.iterdir()) == []


# --- stale partial files ------------------------------------------------------------------

def _gone_pid():
    """The pid of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _fake_partial(directory, host, pid, target="w.npy", random="abcd_123"):
    path = directory / f".{target}.{host}.{pid}.{random}{_io.TEMP_SUFFIX}"
    path.write_bytes(b"half a tensor")
    return path


def test_partial_name_records_host_and_pid(tmp_path, monkeypatch):
    # a host name with dots (and characters that are not in host names) is quoted: no dot is
    # left after the target name's own, so the name reads unambiguously from the right
    monkeypatch.setattr(_io.socket, "gethostname", lambda: "node-7.cluster_a.local")
    fd, path = _io.temp_path(tmp_path / "model.v2.safetensors")
    os.close(fd)
    name = os.path.basename(path)
    assert name.startswith(".model.v2.safetensors.node-7%2Ecluster%5Fa%2Elocal")
    assert name.endswith(_io.TEMP_SUFFIX)
    host, pid = _io.partial_writer(name)
    assert host == _io.writer_token() and pid == os.getpid()
    assert _io.host_of(host) == "node-7.cluster_a.local"
    # an older fastinit's name records no writer
    assert _io.partial_writer(f".w.npy.abcd_123{_io.TEMP_SUFFIX}") is None
    assert _io.partial_writer(f".model.v2.safetensors.x1_y2z3a{_io.TEMP_SUFFIX}") is None


def test_partial_name_of_a_long_target_fits_a_file_name(tmp_path):
    # the target's name is shortened in the partial's name, never the fields after it
    target = tmp_path / ("é" * 120 + ".npy")  # 244 bytes: a legal name
    with _io.AtomicFile(target) as f:
        name = os.path.basename(f.path)
        assert len(os.fsencode(name)) <= 255
        assert _io.partial_writer(name) == (_io.writer_token(), os.getpid())
        os.write(f.fd, b"x")
        f.commit()
    assert target.read_bytes() == b"x"


def test_sweep_removes_only_partials_whose_writer_is_gone(tmp_path):
    me, gone = _io.writer_token(), _gone_pid()
    live = _fake_partial(tmp_path, me, os.getpid())             # this very process: alive
    dead = _fake_partial(tmp_path, me, gone, target="m.safetensors")
    elsewhere = _fake_partial(tmp_path, "other-host%2Eexample", gone)  # a shared file system
    old = tmp_path / f".w.npy.k3j9_x2a{_io.TEMP_SUFFIX}"          # an older fastinit's name
    old.write_bytes(b"?")
    other = [elsewhere, old, tmp_path / "w.npy", tmp_path / f"visible.{gone}{_io.TEMP_SUFFIX}"]
    other[2].write_bytes(b"not a partial")
    other[3].write_bytes(b"not hidden: not ours")
    if "_" in me:  # Linux: the same host name in another pid namespace (another container)
        other.append(_fake_partial(tmp_path, me.rsplit("_", 1)[0] + "_1", gone))
    (tmp_path / f".d.npy.{me}.{gone}.abcd_123{_io.TEMP_SUFFIX}").mkdir()  # not a file
    removed, unknown = _io.sweep_partials(tmp_path)
    assert removed == [(str(dead), gone, socket.gethostname())]
    assert unknown == [str(old)]
    assert not dead.exists()
    assert live.exists() and all(p.exists() for p in other)
    assert _io.sweep_partials(tmp_path) == ([], [str(old)])  # nothing left to remove


def test_generate_reports_swept_partials(tmp_path, capsys):
    gone = _gone_pid()
    dead = _fake_partial(tmp_path, _io.writer_token(), gone)
    old = tmp_path / f".w.npy.k3j9_x2a{_io.TEMP_SUFFIX}"
    old.write_bytes(b"?")
    out = tmp_path / "z.npy"
    assert cli.main(["generate", "--init", "zeros", "--shape", "4", "-o", str(out)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (f"fastinit generate: removed stale partial file {dead} (its writer, pid "
                      f"{gone} on host {socket.gethostname()}, is gone)")
    assert err[1].startswith("fastinit generate: note: left 1 partial file of an older "
                             "fastinit") and old.name in err[1]
    assert err[2].startswith("wrote ") and len(err) == 3
    assert not dead.exists() and old.exists() and out.exists()
    # --quiet: the note about the older file goes too, a removal is always said
    dead = _fake_partial(tmp_path, _io.writer_token(), gone)
    out.unlink()
    assert cli.main(["generate", "--init", "zeros", "--shape", "4", "-o", str(out), "-q"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("fastinit generate: removed stale partial file")


def test_swept_partial_with_a_newline_in_its_name_is_one_line(tmp_path, capsys):
    dead = _fake_partial(tmp_path, _io.writer_token(), _gone_pid(), target="a\nb.npy")
    out = tmp_path / "z.npy"
    assert cli.main(["generate", "--init", "zeros", "--shape", "4", "-o", str(out), "-q"]) == 0
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and repr(str(dead)) in err, err
    assert not dead.exists()


@pytest.mark.skipif(not hasattr(signal, "SIGSTOP"), reason="POSIX signals")
def test_next_generate_removes_a_sigkilled_writers_partial(tmp_path, capsys):
    # a real writer: its partial is kept while it lives (stopped here, so that it neither
    # finishes nor fills the disk meanwhile), and removed by the next run once SIGKILLed
    out = tmp_path / "big.npy"
    proc = _start_big_write(out)
    try:
        partial = _wait_for_partial(proc, tmp_path, nbytes=1)
        proc.send_signal(signal.SIGSTOP)
        assert _io.partial_writer(partial.name) == (_io.writer_token(), proc.pid)
        code = cli.main(["generate", "--init", "zeros", "--shape", "4", "-q",
                         "-o", str(tmp_path / "a.npy")])
        err = capsys.readouterr().err
        assert code == 0 and err == "", err
        assert partial.exists()  # a live writer's file is never touched
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert partial.exists() and not out.exists()  # SIGKILL: nothing could clean up
    r = ok("generate", "--init", "zeros", "--shape", "4", "-o", tmp_path / "b.npy")
    lines = [line for line in r.stderr.splitlines() if "partial" in line]
    assert lines == [f"fastinit generate: removed stale partial file {partial} (its writer, "
                     f"pid {proc.pid} on host {socket.gethostname()}, is gone)"], r.stderr
    assert not partial.exists() and _partials(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy", "b.npy"]


# --- bad arguments ------------------------------------------------------------------------

BAD = {
    "unknown init": ["generate", "--init", "nrmal", "--shape", "4", "-o", "x.npy"],
    "unknown parameter": ["generate", "--init", "normal", "--sdt", "1", "--shape", "4",
                          "-o", "x.npy"],
    "parameter of the wrong type": ["generate", "--init", "normal", "--std", "wide",
                                    "--shape", "4", "-o", "x.npy"],
    "bad value": ["generate", "--init", "normal", "--std", "-1", "--shape", "4", "-o", "x.npy"],
    "bad mode": ["generate", "--init", "kaiming_uniform", "--mode", "fan_up", "--shape", "4x4",
                 "-o", "x.npy"],
    "missing required": ["generate", "--init", "constant", "--shape", "4", "-o", "x.npy"],
    "bad shape": ["generate", "--init", "normal", "--shape", "4xa", "-o", "x.npy"],
    "bad dtype": ["generate", "--init", "normal", "--shape", "4", "--dtype", "int8",
                  "-o", "x.npy"],
    "bad seed": ["generate", "--init", "normal", "--shape", "4", "--seed", "-1", "-o", "x.npy"],
    "bad extension": ["generate", "--init", "normal", "--shape", "4", "-o", "x.pt"],
    "seed for a constant": ["generate", "--init", "ones", "--shape", "4", "--seed", "1",
                            "-o", "x.npy"],
    "missing output": ["generate", "--init", "normal", "--shape", "4"],
    "unknown command": ["frobnicate"],
    "bench unknown init": ["bench", "--init", "orthogonal_ish"],
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_arguments_one_line_exit_2(tmp_path, case):
    r = run(*BAD[case], cwd=tmp_path)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0], r.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written, not even a partial


def test_bad_spec_one_line_exit_2(tmp_path):
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"tensors": {"w": {"init": "normal", "shape": [4], "sd": 1}}}))
    r = run("generate", "--spec", spec, "-o", tmp_path / "m.safetensors")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "'sd'" in r.stderr and "Traceback" not in r.stderr


# a spec or --name that the safetensors format cannot hold, or a tensor defined twice:
# one line naming the tensor, exit code 2, no output and no partial file
BAD_NAMES = {
    "reserved name in a spec": (
        "s.json", '{"tensors": {"__metadata__": {"init": "zeros", "shape": [2]}}}',
        [], "'__metadata__'"),
    "reserved --name": (None, None, ["--init", "zeros", "--shape", "2", "--name",
                                     "__metadata__"], "'__metadata__'"),
    "tensor twice in a JSON spec": (
        "s.json", '{"seed": 1, "tensors": {"w": {"init": "zeros", "shape": [2]}, '
                  '"v": {"init": "ones", "shape": [2]}, "w": {"init": "ones", "shape": [3]}}}',
        [], "tensor 'w' is defined twice"),
    "key twice in a JSON tensor": (
        "s.json", '{"tensors": {"w": {"init": "normal", "std": 1, "shape": [2], "std": 2}}}',
        [], "tensor 'w': key 'std' is given twice"),
    "top-level key twice in a JSON spec": (
        "s.json", '{"seed": 1, "tensors": {"w": {"init": "zeros", "shape": [2]}}, "seed": 2}',
        [], "key 'seed' is given twice"),
    # tomllib refuses a repeated table or key itself; its message names the tensor
    "tensor twice in a TOML spec": (
        "s.toml", '[tensors.w]\ninit = "zeros"\nshape = [2]\n'
                  '[tensors."w"]\ninit = "ones"\nshape = [3]\n', [], "'w'"),
    "tensor twice in a TOML spec, dotted": (
        "s.toml", 'tensors.w.init = "zeros"\ntensors.w.shape = [2]\n'
                  '[tensors.w]\ninit = "ones"\n', [], "'w'"),
    # no UTF-8: with an explicit stream the name's stream is not computed, the header is
    "lone surrogate in a spec": (
        "s.json", '{"tensors": {"a\\ud800": {"init": "zeros", "shape": [2], "stream": 1}}}',
        [], "UTF-8"),
}


@pytest.mark.parametrize("case", sorted(BAD_NAMES))
def test_bad_tensor_name_one_line_exit_2_no_file(tmp_path, case):
    spec_name, text, args, needle = BAD_NAMES[case]
    if spec_name is not None:
        (tmp_path / spec_name).write_text(text)
        args = ["--spec", spec_name]
    r = run("generate", *args, "-o", "m.safetensors", cwd=tmp_path)
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "error" in lines[0] and "Traceback" not in r.stderr, r.stderr
    assert needle in lines[0], lines[0]
    assert [p.name for p in tmp_path.iterdir()] == ([spec_name] if spec_name else [])


def test_name_without_utf8_one_line_exit_2_no_file(tmp_path):
    # argv bytes that are not UTF-8 reach Python as lone surrogates (surrogateescape)
    r = subprocess.run([*map(os.fsencode, FASTINIT), b"generate", b"--init", b"zeros",
                        b"--shape", b"2", b"--name", b"w\xff", b"-o", b"m.safetensors"],
                       capture_output=True, cwd=tmp_path, timeout=300)
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 2 and len(err.strip().splitlines()) == 1, err
    assert "--name 'w\\udcff'" in err and "UTF-8" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_unusual_names_safetensors_holds(tmp_path, capsys):
    # the empty name, NUL, quotes, backslashes and spaces are held and read back
    from safetensors.numpy import load_file
    spec = tmp_path / "s.json"
    names = ["", "a\x00b", 'q"\\ \n', "__metadata", "é"]
    spec.write_text(json.dumps({"seed": 3, "tensors": {
        n: {"init": "normal", "shape": [2, 3]} for n in names}}))
    out = tmp_path / "m.safetensors"
    assert cli.main(["generate", "--spec", str(spec), "-o", str(out), "-q"]) == 0, \
        capsys.readouterr().err
    loaded = load_file(out)
    assert sorted(loaded) == sorted(names)
    for n in names:
        assert np.array_equal(loaded[n], fi.normal((2, 3), seed=3, stream=fi.stream_of(n)))


def test_safetensors_layout_refuses_what_the_format_cannot_hold(monkeypatch, tmp_path, capsys):
    for metadata in (None, {"format": "pt"}):
        with pytest.raises(ValueError, match="__metadata__"):
            _io.safetensors_layout({"__metadata__": ((2,), np.float32)}, metadata)
    with pytest.raises(ValueError, match="UTF-8"):
        _io.safetensors_layout({"a\ud800": ((2,), np.float32)})
    # a header longer than the library reads (100 MB; here lowered) is refused before writing
    monkeypatch.setattr(_io, "SAFETENSORS_MAX_HEADER", 64)
    with pytest.raises(ValueError, match="header would be"):
        _io.safetensors_layout({"w": ((2,), np.float32)}, {"format": "pt"})
    out = tmp_path / "m.safetensors"
    assert cli.main(["generate", "--init", "zeros", "--shape", "2", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "header would be" in err
    assert list(tmp_path.iterdir()) == []


# --- bench and info -----------------------------------------------------------------------

def test_bench_prints_a_table_with_ratios():
    r = ok("bench", "--size", "64x64", "1000", "--dtype", "float32", "bfloat16", "--repeat", "2")
    out = r.stdout
    assert out.count(f"fastinit {fi.__version__} bench:") == 4  # one table per size and dtype
    ms, ratio = r"\d+\.\d+ ms", r"\d+\.\dx"
    for name in ("uniform", "normal", "constant"):  # every column: fastinit, numpy (+ torch)
        row = rf"^{name}\s+{ms}\s+{ms}\s+{ratio}(\s+{ms}\s+{ratio})?$"
        assert len(re.findall(row, out, re.M)) == 4, (name, out)
    # no truncated normal in NumPy: its column is empty
    assert len(re.findall(rf"^trunc_normal\s+{ms}\s+-\s+-", out, re.M)) == 4
    assert len(re.findall(rf"^kaiming_uniform\s+{ms}", out, re.M)) == 2  # 2-D sizes only
    assert "(needs 2+ dims)" in out  # the fan-based rows of the 1-D size


def test_bench_without_torch():
    out = ok("bench", "--size", "256", "--init", "uniform", "normal", "--repeat", "1",
             "--no-torch").stdout
    assert "torch" not in out
    assert len(re.findall(r"^(uniform|normal)\s+\d+\.\d+ ms\s+\d+\.\d+ ms\s+\d+\.\dx$",
                          out, re.M)) == 2, out


def test_generate_list_names_every_initializer_and_its_parameters():
    out = ok("generate", "--list").stdout
    names = [line.split()[0] for line in out.splitlines()]
    assert names == cli.initializers()
    assert "--sparsity VALUE" in out and "[--std 0.01]" in out


def test_info_reports_threads_and_cuda():
    out = ok("info").stdout
    assert f"fastinit {fi.__version__}" in out
    assert "numba threading layer:" in out and "threads:" in out
    assert re.search(r"^CUDA usable: (yes|no): \S", out, re.M), out  # and why not


def test_import_fastinit_does_not_import_the_cli():
    code = "import sys, fastinit; print(any(m.startswith('fastinit.cli') or m == 'tqdm' " \
           "for m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.stdout.strip() == "False", r.stderr


# --- tiles and headers, in process --------------------------------------------------------

@SETTINGS
@given(shape=st.lists(st.integers(0, 7), min_size=0, max_size=4),
       itemsize=st.sampled_from([2, 4, 8]), budget=st.integers(1, 400))
def test_tiles_cover_the_tensor_once_in_order(shape, itemsize, budget):
    shape = tuple(shape)
    n = math.prod(shape)
    seen = np.zeros(n, np.int64)
    at = 0
    big = _io.tile_shape(shape, itemsize, budget) if n else None
    for region, start, count in _io.tiles(shape, itemsize, budget):
        assert start == at  # contiguous, in file order
        idx = np.arange(n).reshape(shape)[region] if shape else np.arange(1)
        assert idx.size == count
        assert np.array_equal(idx.reshape(-1), np.arange(start, start + count))
        assert count * itemsize <= max(budget, itemsize)  # within budget (or one element)
        assert count <= math.prod(big)
        seen[start:start + count] += 1
        at += count
    assert at == n and (seen == 1).all()


@SETTINGS
@given(tensors=st.dictionaries(
    st.text("abcxyz._0", min_size=1, max_size=6),
    st.tuples(st.lists(st.integers(0, 5), max_size=3),
              st.sampled_from(["float64", "float32", "float16", "uint32", "bfloat16"])),
    min_size=1, max_size=5))
def test_safetensors_header_matches_the_library(tensors):
    from safetensors.numpy import save
    arrays = {k: np.arange(math.prod(s)).reshape(s).astype(np.dtype(d) if d != "bfloat16"
                                                           else BF16)
              for k, (s, d) in tensors.items()}
    header, order, offsets = _io.safetensors_layout(
        {k: (a.shape, a.dtype) for k, a in arrays.items()}, {"format": "pt"})
    body = b"".join(arrays[k].tobytes() for k in order)
    assert header + body == save(arrays, metadata={"format": "pt"})
    for k in order:
        assert offsets[k] >= len(header)


REQUIRED = inspect.Parameter.empty


@pytest.mark.parametrize("text, default, want", [
    ("0.02", 1.0, 0.02), ("2.2360679", 0, 2.2360679), ("3", 0, 3),
    ("fan_out", "fan_in", "fan_out"), ("-2", None, -2), ("0,1", None, (0, 1)), ("0", (), (0,)),
    ("none", None, None), ("2", REQUIRED, 2), ("0.5", REQUIRED, 0.5),
    ("fan_in", REQUIRED, "fan_in"),
])
def test_convert_by_signature_default(text, default, want):
    got = cli.convert("x", "p", text, default)
    assert got == want and type(got) is type(want)


def test_convert_rejects_a_wrong_type():
    with pytest.raises(cli.UsageError, match="--std of normal expects a number"):
        cli.convert("normal", "std", "wide", 1.0)


def test_parse_shape():
    assert cli.parse_shape("32768x32768") == (32768, 32768)
    assert cli.parse_shape("3,4,5") == (3, 4, 5)
    assert cli.parse_shape("7") == (7,)
    assert cli.parse_shape("") == ()
    with pytest.raises(cli.UsageError):
        cli.parse_shape("3x-1")


# --- first contact: a machine's first run says that it compiles -----------------------------

def test_first_run_announces_the_compile(monkeypatch, tmp_path, capsys):
    from fastinit import cli
    from fastinit.kernels import cache
    monkeypatch.setattr(cache, "_locations", {str(tmp_path)})
    assert not cache.compiled()  # an empty cache directory: the kernels will compile
    cli.announce_compile()
    err = capsys.readouterr().err
    assert "compiling the kernels" in err and str(tmp_path) in err
    (tmp_path / "cpu.fill_f32-401.py311.nbi").write_bytes(b"")
    assert cache.compiled()
    cli.announce_compile()
    assert capsys.readouterr().err == ""


def test_this_process_kernels_are_cached_somewhere():
    import fastinit as fi
    from fastinit.kernels import cache
    fi.normal((8,), seed=0)
    assert cache.locations() and cache.compiled()
