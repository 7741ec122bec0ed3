"""The evaluation prompt store (``--prompt_store_mb``): later evaluation passes reuse the prompt
keys/values of the batches they saw, with exactly the outputs of a model without the store."""
from __future__ import annotations

import pytest
import torch

from layers.fast.prompt_cache import PassStore, batch_key
from layers.fast.stamp import Stamp
from models.TimeLLM import Model
from tests.helpers.timellm import tiny_configs

pytestmark = pytest.mark.usefixtures("one_thread")


def _batches(n=3, B=3, T=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(B, T, 1, generator=g).cumsum(dim=1) * 3 + 10 for _ in range(n)]


def _model(tiny_dirs, store_mb, name="LLAMA"):
    torch.manual_seed(0)
    return Model(tiny_configs(name, tiny_dirs[name], prompt_store_mb=store_mb, dropout=0.1))


def _eval_pass(model, batches):
    model.train()  # a new pass, as the trainer starts each validation
    model.eval()
    with torch.no_grad():
        return [model(x, None, None, None) for x in batches]


@pytest.mark.parametrize("name", ["LLAMA", "GPT2"])  # the lean runner and transformers' own
def test_later_passes_hit_the_store_with_the_same_outputs(tiny_dirs, name):
    batches = _batches()
    stored, plain = _model(tiny_dirs, 64, name), _model(tiny_dirs, 0, name)
    want = _eval_pass(plain, batches)
    stored.train()
    with torch.no_grad():  # training settles the run-wide shared prefix, as it does in a run
        stored(torch.cat(batches), None, None, None)
    first = _eval_pass(stored, batches)
    stats = stored._kv_cache.stats
    assert stats["stored_misses"] == 3 and stats["stored_hits"] == 0
    tokens_after_first = stats["prompt_tokens"]
    second = _eval_pass(stored, batches)
    assert stats["stored_hits"] == 3 and stats["prompt_tokens"] == tokens_after_first  # no pass
    for a, b, c in zip(want, first, second):
        assert torch.equal(b, c) and torch.allclose(a, c, atol=1e-6, rtol=1e-6)
    assert plain._kv_cache.stats["stored_hits"] == plain._kv_cache.stats["stored_misses"] == 0


def test_training_neither_reads_nor_fills_the_store(tiny_dirs):
    model = _model(tiny_dirs, 64)
    model.train()
    for x in _batches():
        model(x, None, None, None).sum().backward()
    with torch.no_grad():  # training mode without grad (no evaluation): still not stored
        model(_batches(1)[0], None, None, None)
    stats = model._kv_cache.stats
    assert stats["stored_hits"] == stats["stored_misses"] == 0 and model._kv_cache.store.bytes == 0


def test_a_changed_backbone_empties_the_store(tiny_dirs):
    batches = _batches()
    model, reference = _model(tiny_dirs, 64), _model(tiny_dirs, 0)
    _eval_pass(model, batches)
    assert model._kv_cache.store.bytes > 0
    for m in (model, reference):  # an in-place edit of a frozen weight (e.g. a reload)
        with torch.no_grad():
            m.llm_model.layers[0].self_attn.k_proj.weight.mul_(1.5)
    got, want = _eval_pass(model, batches), _eval_pass(reference, batches)
    assert model._kv_cache.stats["stored_hits"] == 0  # every batch recomputed
    for a, b in zip(got, want):
        assert torch.allclose(a, b, atol=1e-6, rtol=1e-6)


def test_the_store_fills_up_to_its_budget_then_keeps_what_it_holds():
    context = Stamp([torch.zeros(2)])
    kv = [(torch.zeros(2, 1, 4, 8), torch.zeros(2, 1, 4, 8))]  # 512 bytes
    store = PassStore(max_bytes=1100)
    keys = [batch_key(torch.full((2, 6), i).numpy(), 3) for i in range(3)]
    assert [store.put(context, k, kv) for k in keys] == [True, True, False]
    assert store.bytes == 1024 and store.get(context, keys[2]) is None
    got = store.get(context, keys[0])
    assert got is not None and got[0][0] is not kv[0][0]  # a copy, not the caller's tensor
    assert batch_key(torch.full((2, 6), 0).numpy(), 2) != keys[0]  # another prefix length
    assert store.get(Stamp([torch.ones(2)]), keys[0]) is None and store.bytes == 0  # stale
