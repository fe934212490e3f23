"""fastinit.transformers.from_config and init_weights against transformers' own from_config:
class, names, shapes, dtypes, ties, buffers, flags and training mode equal; constants equal;
random tensors with the same law (std per tensor); fastinit's bits, seed by seed."""
import copy

import numpy as np
import pytest

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

import fastinit as fi  # noqa: E402
import fastinit.transformers as fit  # noqa: E402

from ..helpers import tiny_gpt2 as gpt2, tiny_llama as llama  # noqa: E402

SEED = 5


def bert():
    return transformers.BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                   intermediate_size=96, vocab_size=320,
                                   max_position_embeddings=128)


CASES = {
    "llama": (llama, None),
    "llama-tied": (lambda: llama(tied=True), None),
    "gpt2": (gpt2, None),
    "bert-encoder": (bert, "AutoModel"),
}


def _cls(name):
    return None if name is None else getattr(transformers, name)


def _ties(model):
    """Groups of names sharing one tensor."""
    groups = {}
    for n, p in model.named_parameters(remove_duplicate=False):
        groups.setdefault(id(p), []).append(n)
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)


def _flags(model):
    return {n: getattr(m, "_is_hf_initialized", None) for n, m in model.named_modules()}


def assert_like_transformers(ours, ref):
    assert type(ours) is type(ref)
    assert ours.training == ref.training
    p_ours = dict(ours.named_parameters(remove_duplicate=False))
    p_ref = dict(ref.named_parameters(remove_duplicate=False))
    assert list(p_ours) == list(p_ref)
    b_ours, b_ref = dict(ours.named_buffers()), dict(ref.named_buffers())
    assert list(b_ours) == list(b_ref)
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert _ties(ours) == _ties(ref)
    assert _flags(ours) == _flags(ref)
    for n in b_ref:
        assert b_ours[n].dtype == b_ref[n].dtype and torch.equal(b_ours[n], b_ref[n]), n
    for n in p_ref:
        a, b = p_ours[n].detach(), p_ref[n].detach()
        assert (a.shape, a.dtype, p_ours[n].requires_grad) == (b.shape, b.dtype,
                                                               p_ref[n].requires_grad)
        a, b = a.double(), b.double()
        if b.std() == 0:
            assert torch.equal(a, b), n  # constants (norm weights, biases) equal
        elif b.numel() < 500:  # too few samples for a tight bound
            assert abs(a.std() / b.std() - 1) < 0.3, (n, a.std(), b.std())
        else:
            assert abs(a.std() / b.std() - 1) < 0.08, (n, a.std(), b.std())
            assert abs(a.mean() - b.mean()) < 0.2 * b.std(), n


@pytest.mark.parametrize("case", list(CASES))
def test_from_config_is_transformers_from_config_with_fastinit_values(case):
    make, cls_name = CASES[case]
    cls = _cls(cls_name)
    config = make()
    before = config.to_dict()
    ref = (cls or transformers.AutoModelForCausalLM).from_config(make())
    ours = fit.from_config(config, seed=SEED, model_class=cls)
    assert config.to_dict() == before  # the caller's config is left alone
    assert_like_transformers(ours, ref)


@pytest.mark.parametrize("case", ["llama-tied", "gpt2"])
def test_bfloat16(case):
    make, _ = CASES[case]
    ref = transformers.AutoModelForCausalLM.from_config(make(), dtype=torch.bfloat16)
    ours = fit.from_config(make(), seed=SEED, dtype=torch.bfloat16)
    assert_like_transformers(ours, ref)
    assert fit.from_config(make(), seed=SEED, dtype="bfloat16").dtype == torch.bfloat16


def test_values_are_the_streams_of_the_names():
    model = fit.from_config(llama(tied=True), seed=SEED)
    name = "model.embed_tokens.weight"
    want = fi.normal((320, 64), std=0.02, seed=SEED, stream=fi.stream_of(name))
    np.testing.assert_array_equal(model.model.embed_tokens.weight.detach().numpy(), want)
    assert model.lm_head.weight is model.model.embed_tokens.weight
    q = "model.layers.1.self_attn.q_proj.weight"
    want = fi.normal((64, 64), std=0.02, seed=SEED, stream=fi.stream_of(q))
    np.testing.assert_array_equal(model.get_parameter(q).detach().numpy(), want)


def test_padding_row_is_zero_and_the_rest_is_the_stream():
    model = fit.from_config(bert(), seed=SEED, model_class=transformers.AutoModel)
    w = model.embeddings.word_embeddings.weight.detach().numpy()
    want = fi.normal((320, 64), std=0.02, seed=SEED,
                     stream=fi.stream_of("embeddings.word_embeddings.weight"))
    want[0] = 0  # pad_token_id
    np.testing.assert_array_equal(w, want)


def test_same_seed_same_bits_other_seed_other_bits():
    a = fit.from_config(gpt2(), seed=SEED).state_dict()
    b = fit.from_config(gpt2(), seed=SEED).state_dict()
    c = fit.from_config(gpt2(), seed=SEED + 1).state_dict()
    for n in a:
        assert torch.equal(a[n], b[n]), n
    assert not torch.equal(a["transformer.wte.weight"], c["transformer.wte.weight"])


def test_init_weights_of_an_existing_model_equals_from_config():
    model = transformers.AutoModelForCausalLM.from_config(llama())
    fit.init_weights(model, seed=SEED)
    ours = fit.from_config(llama(), seed=SEED).state_dict()
    for n, t in model.state_dict().items():
        assert torch.equal(t, ours[n]), n


def test_model_class_a_model_class():
    model = fit.from_config(llama(), seed=SEED, model_class=transformers.LlamaForCausalLM)
    assert type(model) is transformers.LlamaForCausalLM


def test_init_weights_refuses_meta_and_non_models():
    with torch.device("meta"):
        model = transformers.AutoModelForCausalLM.from_config(llama())
    with pytest.raises(ValueError, match="meta"):
        fit.init_weights(model)
    with pytest.raises(TypeError, match="PreTrainedModel"):
        fit.init_weights(torch.nn.Linear(2, 2))


def test_bad_seed_and_dtype():
    with pytest.raises(ValueError, match="seed"):
        fit.from_config(llama(), seed=-1)
    with pytest.raises(ValueError, match="dtype"):
        fit.from_config(llama(), dtype="float33")


def test_config_copy_is_used():
    config = llama()
    model = fit.from_config(config, seed=SEED, dtype=torch.bfloat16)
    assert model.config is not config
    assert copy.deepcopy(config).to_dict() == config.to_dict()
