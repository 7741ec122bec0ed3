"""bench/bench_roofline.py: the FLOP count of each part, on cases counted by hand."""
from __future__ import annotations

from dataclasses import replace

import pytest

from bench.bench_roofline import Shapes, part_flops

BASE = Shapes(n=10, patches=4, d_model=3, heads=2, d_keys=5, prototypes=7, vocab=11, d_llm=6,
              intermediate=8, kv_dim=2, layers=1, prefix=0, remainder=0, pred_len=9, d_ff=5,
              score_maps=True)


def test_mapping_layer_is_two_gemms_in_training_and_none_per_evaluation_batch():
    assert part_flops(BASE, training=True)["mapping layer"] == 2 * (2 * 11 * 6 * 7)
    assert part_flops(BASE, training=False)["mapping layer"] == 0


def test_one_layer_over_the_patches_alone_counted_by_hand():
    # one layer, no prompt: per token q (6x6), k and v (6x2 each), o (6x6), MLP 3 x (6x8), each a
    # multiply-add (2 FLOPs); attention: token i of 4 attends to i keys, scores and weighted
    # values 2 x 2 x 6 FLOPs a key: mean keys (4 + 1) / 2 = 2.5
    linear = 2 * (6 * 6 + 6 * 2 + 6 * 2 + 6 * 6) + 2 * 3 * 6 * 8
    attention = 4 * 6 * 2.5
    got = part_flops(BASE, training=False)
    assert got["LLM patch part"] == 10 * 4 * (linear + attention)
    assert got["LLM prompt part"] == 0  # no prompt tokens
    # backward through frozen weights: input gradients, 1x the products and 2x the attention
    assert part_flops(BASE, training=True)["LLM patch part"] == 10 * 4 * (2 * linear + 3 * attention)


def test_reprogramming_with_score_maps_counted_by_hand():
    # scores: per head, each of n x P patches against 7 prototypes over d_model + 1 = 4 columns,
    # weighted values over d_keys = 5; the output projection (2 x 5 -> 6) per patch
    attend = 2 * 2 * 40 * 7 * (4 + 5) + 2 * 40 * 10 * 6
    assert part_flops(BASE, training=False)["reprogramming"] == attend
    keys = replace(BASE, score_maps=False)  # plus the query projection (3 -> 2 x 5) per patch
    assert part_flops(keys, training=False)["reprogramming"] == (
        2 * 2 * 40 * 7 * (5 + 5) + 2 * 40 * 10 * 6 + 2 * 40 * 3 * 10)


@pytest.mark.parametrize("training", [False, True])
def test_every_per_batch_part_grows_linearly_with_the_batch(training):
    one = part_flops(replace(BASE, layers=3, prefix=5, remainder=6), training)
    two = part_flops(replace(BASE, layers=3, prefix=5, remainder=6, n=20), training)
    for part in ("LLM prompt part", "LLM patch part", "head"):
        assert two[part] == pytest.approx(2 * one[part]) and one[part] > 0
    # the prompt part stops after the last layer's keys and values: less than a full layer
    full = replace(BASE, layers=3, prefix=5, remainder=6)
    per_token = one["LLM prompt part"] / (full.n * full.remainder)
    assert per_token < 3 * (2 * (6 * 6 + 6 * 2 + 6 * 2 + 6 * 6) + 2 * 3 * 6 * 8 + 4 * 6 * 8)
