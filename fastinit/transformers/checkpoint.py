"""``write_checkpoint`` (``fastinit hf-checkpoint``): the directory ``save_pretrained`` writes
for ``from_config(config, seed=...)``, without the model.

The model is built on the meta device only. Its tensors are then produced a group at a time:
the group's tensors get storage (the others stay on the meta device), the model's own init code
runs under :func:`fastinit.torch.intercept_init` (calls on meta tensors write nothing), and
the group is written into its shard file at the offsets the safetensors format gives it. Every
tensor thus gets exactly the calls, seed and stream it gets in :func:`from_config`, so the files
hold its bits, and memory stays near one group (or the largest tensor), whatever the model's
size. The directory is assembled under a temporary name next to its target and renamed into
place when complete.
"""
import json
import os
import shutil
import tempfile

import numpy as np
import torch

from .. import _io
from ..torch.materialize import _check_seed
from .model import build_meta, clear_init_flags, import_transformers
from ..torch.intercept import intercept_init

SAFE_WEIGHTS_NAME = "model.safetensors"
SAFE_WEIGHTS_INDEX_NAME = "model.safetensors.index.json"
DEFAULT_MAX_SHARD_SIZE = "50GB"  # save_pretrained's default
DEFAULT_GROUP_BYTES = 512 * 2**20

_NUMPY_OF = {torch.float64: np.dtype(np.float64), torch.float32: np.dtype(np.float32),
             torch.bfloat16: _io.BFLOAT16, torch.float16: np.dtype(np.float16)}

_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def parse_size(size):
    """Bytes of a size as transformers writes it: an int, or ``"5GB"``, ``"500MiB"``, ...
    (decimal units for ``KB``/``MB``/``GB``, binary for ``KiB``/``MiB``/``GiB``)."""
    if isinstance(size, int) and not isinstance(size, bool):
        value = size
    elif isinstance(size, str):
        text = size.strip().upper()
        number = text.rstrip("KMGTIB")
        unit = text[len(number):].strip()
        try:
            value = int(float(number) * _UNITS[unit])
        except (KeyError, ValueError):
            raise ValueError(f"a size must be a number of bytes or a number with a unit "
                             f"(B, KB, MB, GB, TB, KiB, MiB, GiB, TiB), got {size!r}") from None
    else:
        raise ValueError(f"a size must be an int or a str such as '5GB', got {size!r}")
    if value <= 0:
        raise ValueError(f"a size must be positive, got {size!r}")
    return value


# --- what save_pretrained would write ------------------------------------------------------------

def saved_state(model):
    """``{name: meta tensor}`` that ``save_pretrained`` writes: the persistent state, less the
    keys ignored on save and the tied duplicates (the name transformers keeps)."""
    from transformers.modeling_utils import remove_tied_weights_from_state_dict
    state = model.state_dict()
    for key in getattr(model, "_keys_to_ignore_on_save", None) or ():
        state.pop(key, None)
    state = remove_tied_weights_from_state_dict(state, model)
    try:
        from transformers.core_model_loading import revert_weight_conversion
    except ImportError:
        return state
    reverted = revert_weight_conversion(model, dict(state))
    if list(reverted) != list(state):
        raise ValueError(f"{type(model).__name__} saves its weights converted (renamed, split or "
                         f"fused by transformers' weight conversions), which hf-checkpoint does "
                         f"not reproduce: build it with from_config and call save_pretrained")
    return state


def shard_plan(state, max_shard_size):
    """transformers' split of ``state`` into shard files (huggingface_hub's, as
    ``save_pretrained`` calls it)."""
    from huggingface_hub import split_torch_state_dict_into_shards
    pattern = SAFE_WEIGHTS_NAME.replace(".safetensors", "{suffix}.safetensors")
    return split_torch_state_dict_into_shards(state, filename_pattern=pattern,
                                              max_shard_size=max_shard_size)


def _write_configs(model, directory):
    """config.json (and generation_config.json) as ``save_pretrained`` writes them."""
    model.config.dtype = str(model.dtype).split(".")[1]
    model.config.architectures = [type(model).__name__]
    model.config.save_pretrained(directory)
    if model.can_generate():
        model.generation_config.save_pretrained(directory)


# --- producing the tensors, a group at a time ----------------------------------------------------

class _Slots:
    """Where each saved tensor lives in the model: every (module, leaf) holding it."""

    def __init__(self, model, names):
        self.model = model
        where = {}
        for mod_name, mod in model.named_modules(remove_duplicate=False):
            for table in (mod._parameters, mod._buffers):
                for leaf, t in table.items():
                    if t is not None:
                        where.setdefault(id(t), []).append((table, leaf))
        self.slots = {}
        for name in names:
            t = model.get_parameter_or_buffer(name)
            self.slots[name] = (t, where[id(t)])

    def materialize(self, names):
        """Give ``names`` storage in every slot; returns what to put back."""
        undo = []
        for name in names:
            meta, places = self.slots[name]
            real = torch.empty(meta.shape, dtype=meta.dtype)
            if isinstance(meta, torch.nn.Parameter):
                real = torch.nn.Parameter(real, requires_grad=meta.requires_grad)
            for table, leaf in places:
                undo.append((table, leaf, table[leaf]))
                table[leaf] = real
        return undo

    @staticmethod
    def restore(undo):
        for table, leaf, meta in reversed(undo):
            table[leaf] = meta


def _groups(names, state, budget):
    """``names`` cut into consecutive groups of at most ``budget`` bytes (a larger tensor
    alone)."""
    group, size = [], 0
    for name in names:
        n = state[name].numel() * state[name].element_size()
        if group and size + n > budget:
            yield group
            group, size = [], 0
        group.append(name)
        size += n
    if group:
        yield group


def _generate(model, slots, names, seed):
    """Run the model's init with ``names`` materialized; returns them as real tensors."""
    undo = slots.materialize(names)
    try:
        clear_init_flags(model)
        with intercept_init(model, seed=seed, strict=True) as filled:
            model.initialize_weights()
        missing = [n for n in names if n not in filled and not _filled_as_alias(model, n, filled)]
        if missing:
            raise ValueError(f"{type(model).__name__}'s init code does not initialize "
                             f"{', '.join(missing[:5])} through torch.nn.init or "
                             f"transformers.initialization: hf-checkpoint cannot reproduce it")
        return {n: model.get_parameter_or_buffer(n).detach() for n in names}
    finally:
        _Slots.restore(undo)


def _filled_as_alias(model, name, filled):
    t = model.get_parameter_or_buffer(name)
    return any(model.get_parameter_or_buffer(f) is t for f in filled if _has(model, f))


def _has(model, name):
    try:
        model.get_parameter_or_buffer(name)
    except AttributeError:
        return False
    return True


def _bytes_of(t):
    return t.contiguous().reshape(-1).view(torch.uint8).numpy()


def _write_shard(path, model, slots, state, names, seed, budget, progress):
    """One shard file: the header, then each group generated and written at its offsets."""
    tensors = {}
    for n in names:
        if state[n].dtype not in _NUMPY_OF:
            raise ValueError(f"tensor {n!r} has dtype {state[n].dtype}, which hf-checkpoint "
                             f"does not write (float64, float32, bfloat16, float16)")
        tensors[n] = (tuple(state[n].shape), _NUMPY_OF[state[n].dtype])
    header, order, offsets = _io.safetensors_layout(tensors, {"format": "pt"})
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        _io._pwrite_all(fd, header, 0)
        for group in _groups(order, state, budget):
            for name, t in _generate(model, slots, group, seed).items():
                if t.numel():
                    _io._pwrite_all(fd, _bytes_of(t), offsets[name])
                if progress is not None:
                    progress(t.numel() * t.element_size())
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_index(directory, model, split):
    index = {"metadata": {"total_parameters": model.num_parameters(), **split.metadata},
             "weight_map": split.tensor_to_filename}
    with open(os.path.join(directory, SAFE_WEIGHTS_INDEX_NAME), "w", encoding="utf-8") as f:
        f.write(json.dumps(index, indent=2, sort_keys=True) + "\n")


# --- the directory, atomically ---------------------------------------------------------------

def _temp_dir(target):
    parent, tail = os.path.split(os.path.abspath(target))
    os.makedirs(parent, exist_ok=True)
    prefix = f".{tail}.{_io.writer_token()}.{os.getpid()}."
    path = tempfile.mkdtemp(prefix=prefix, suffix=_io.TEMP_SUFFIX, dir=parent)
    os.chmod(path, 0o777 & ~_io._umask())  # mkdtemp makes 0700; a saved directory is not
    return path


def _commit(tmp, target, force):
    """Rename the finished ``tmp`` onto ``target`` (with ``force``, the old one goes after)."""
    target = os.path.abspath(target)
    if os.path.lexists(target):
        if not force:
            raise FileExistsError(f"{target} exists (use --force to overwrite)")
        old = tempfile.mkdtemp(prefix=f".{os.path.basename(target)}.old.", dir=os.path.dirname(
            target))
        os.rename(target, os.path.join(old, "old"))
        os.rename(tmp, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, target)
    _io._fsync_dir(os.path.dirname(target))


def plan_checkpoint(config, *, dtype=None, max_shard_size=DEFAULT_MAX_SHARD_SIZE,
                    model_class=None):
    """The meta model, its saved state and its shard split (checks everything, writes
    nothing)."""
    import_transformers()
    max_shard_size = parse_size(max_shard_size)
    model = build_meta(config, dtype, model_class)
    state = saved_state(model)
    return model, state, shard_plan(state, max_shard_size)


def write_checkpoint(config, directory, *, seed=0, dtype=None,
                     max_shard_size=DEFAULT_MAX_SHARD_SIZE, force=False, model_class=None,
                     progress=None, group_bytes=DEFAULT_GROUP_BYTES):
    """Write the checkpoint directory of ``from_config(config, seed=seed, dtype=dtype)``.

    The directory is what ``model.save_pretrained(directory, max_shard_size=...)`` writes
    for that model: ``config.json`` (and ``generation_config.json`` for generative models),
    ``model.safetensors`` or the shards ``model-0000i-of-0000n.safetensors`` with
    ``model.safetensors.index.json``, tied tensors stored once under the name transformers
    keeps, ``{"format": "pt"}`` metadata. The tensors equal those of :func:`from_config` bit for
    bit; ``AutoModelForCausalLM.from_pretrained(directory)`` loads them.

    The model is never built: tensors are produced ``group_bytes`` at a time (at least one
    tensor) by the model's own init code and streamed into their shard, so peak memory stays
    near one group whatever the model's size. Nothing appears at ``directory`` until it is
    complete.

    Parameters
    ----------
    config : transformers.PretrainedConfig
    directory : str or os.PathLike
    seed : int
        In [0, 2**64).
    dtype : torch.dtype or str, optional
        As for :func:`from_config`.
    max_shard_size : int or str
        As ``save_pretrained``'s (default ``"50GB"``).
    force : bool
        Replace an existing ``directory`` (else ``FileExistsError``).
    model_class : class, optional
        As for :func:`from_config`.
    progress : callable, optional
        ``progress(nbytes)`` after each tensor is written.
    group_bytes : int
        The memory budget of one group of tensors.

    Returns
    -------
    list of str
        The files written, relative to ``directory``.
    """
    seed = _check_seed(seed)
    if os.path.lexists(os.fspath(directory)) and not force:
        raise FileExistsError(f"{os.path.abspath(directory)} exists (use --force to overwrite)")
    plan = plan_checkpoint(config, dtype=dtype, max_shard_size=max_shard_size,
                           model_class=model_class)
    return write_planned(plan, directory, seed=seed, force=force, progress=progress,
                         group_bytes=group_bytes)


def write_planned(plan, directory, *, seed, force, progress=None,
                  group_bytes=DEFAULT_GROUP_BYTES):
    """:func:`write_checkpoint` of a :func:`plan_checkpoint` result."""
    model, state, split = plan
    directory = os.fspath(directory)
    slots = _Slots(model, list(state))
    tmp = _temp_dir(directory)
    try:
        _write_configs(model, tmp)
        for filename, names in split.filename_to_tensors.items():
            _write_shard(os.path.join(tmp, filename), model, slots, state, names, seed,
                         group_bytes, progress)
        if split.is_sharded:
            _write_index(tmp, model, split)
        files = sorted(os.listdir(tmp))
        _commit(tmp, directory, force)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return files


def total_bytes(state):
    """Bytes of tensor data a checkpoint of ``state`` holds."""
    return sum(t.numel() * t.element_size() for t in state.values())
