"""fastinit for Hugging Face transformers: build any model from its config on fastinit's kernels.

- :func:`from_config`: ``AutoModelForCausalLM.from_config`` (or another auto or model class)
  built on the meta device, materialized once, and initialized by the model's own code
  (``_init_weights``, ties, non-persistent buffers) under
  :func:`fastinit.torch.intercept_init`: one stream per tensor name, no rules to write.
- :func:`init_weights`: the same initialization for a model that already exists.
- :func:`write_checkpoint` (the ``fastinit hf-checkpoint`` command): the checkpoint directory
  ``save_pretrained`` would write for ``from_config(config, seed=...)``, without the model,
  tensor group by tensor group in bounded memory.

Install with ``pip install fastinit[transformers]``. Importing this subpackage imports neither
torch nor transformers; the first call does.
"""

__all__ = ["from_config", "init_weights", "write_checkpoint"]


def __getattr__(name):
    if name in ("from_config", "init_weights"):
        from . import model
        return getattr(model, name)
    if name == "write_checkpoint":
        from . import checkpoint
        return checkpoint.write_checkpoint
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + __all__)
