"""``fastinit hf-checkpoint CONFIG -o DIR``: the command's options and its run.

Importing this module imports neither torch nor transformers (the parser is built for every
``fastinit`` command); running the command does.
"""
import json
import os
import sys
import time

DTYPES = ("float32", "bfloat16", "float16", "float64")


class BadInput(Exception):
    """A bad config, size or option: one line, exit code 2."""


def add_arguments(parser, seed_type):
    """The options of ``fastinit hf-checkpoint`` on ``parser``."""
    parser.add_argument("config", metavar="CONFIG",
                        help="a config.json, or a directory holding one")
    parser.add_argument("-o", "--output", required=True, metavar="DIR",
                        help="the checkpoint directory to write (must not exist)")
    parser.add_argument("--seed", type=seed_type, default=0, help="int in [0, 2**64) (default 0)")
    parser.add_argument("--dtype", choices=DTYPES, default=None,
                        help="dtype of the weights (default: the config's, else float32)")
    parser.add_argument("--max-shard-size", default="50GB", metavar="SIZE",
                        help="largest shard, as save_pretrained takes it: 5GB, 500MB, 2GiB or "
                             "bytes (default 50GB)")
    parser.add_argument("--force", action="store_true", help="replace an existing DIR")
    parser.add_argument("--progress", action="store_true", default=None,
                        help="progress bar on stderr (default: when stderr is a terminal)")
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary line")


def load_config(path):
    """The transformers config at ``path`` (a config.json or a directory holding one)."""
    from .model import import_transformers
    transformers = import_transformers()
    file = os.path.join(path, "config.json") if os.path.isdir(path) else path
    if not os.path.isfile(file):
        raise BadInput(f"no config file at {file}")
    try:
        with open(file, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BadInput(f"{file} is not a JSON config: {e}") from None
    if not isinstance(data, dict) or "model_type" not in data:
        raise BadInput(f"{file} has no \"model_type\": not a transformers config")
    model_type = data.pop("model_type")
    try:
        return transformers.AutoConfig.for_model(model_type, **data)
    except Exception as e:  # noqa: BLE001 - any refusal of the config class is a bad config
        raise BadInput(f"{file}: {_first_line(e)}") from None


def _first_line(error, limit=300):
    """An exception's message on one short line (transformers lists every model type)."""
    cause = error.__cause__ if error.__cause__ is not None else error
    text = " ".join(str(cause).split())
    return text if len(text) <= limit else text[:limit] + " ..."


def run(args, progress_bar):
    """Run ``fastinit hf-checkpoint``; ``progress_bar(total, enabled, desc)`` makes the bar.
    Bad input raises :class:`BadInput`; an existing DIR ``FileExistsError``."""
    output = args.output
    if os.path.lexists(output) and not args.force:
        raise FileExistsError(f"{os.path.abspath(output)} exists (use --force to overwrite)")
    config = load_config(args.config)
    from . import checkpoint
    size = _size(args.max_shard_size)
    try:
        plan = checkpoint.plan_checkpoint(config, dtype=args.dtype, max_shard_size=size)
    except Exception as e:  # noqa: BLE001 - the model class refused the config
        raise BadInput(f"{args.config}: {_first_line(e)}") from None
    total = checkpoint.total_bytes(plan[1])
    enabled = sys.stderr.isatty() if args.progress is None else args.progress
    bar = progress_bar(total, enabled, "hf-checkpoint")
    start = time.perf_counter()
    try:
        files = checkpoint.write_planned(plan, output, seed=args.seed, force=args.force,
                                         progress=None if bar is None else bar.update)
    finally:
        if bar is not None:
            bar.close()
    if not args.quiet:
        print(f"wrote {output}: {len(files)} files, {total / 2**30:.2f} GiB of tensors in "
              f"{time.perf_counter() - start:.1f} s (seed {args.seed})")
    return 0


def _size(text):
    from .checkpoint import parse_size
    try:
        value = int(text)
    except ValueError:
        value = text
    try:
        return parse_size(value)
    except ValueError as e:
        raise BadInput(f"--max-shard-size: {e}") from None
