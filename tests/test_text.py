"""The offline text encoder: real MiniLM embeddings, meaning-aware, cached."""

import torch

from portraitist.text import TextEncoder, token_count


def test_embeddings_are_unit_length_and_meaningful():
    enc = TextEncoder()
    e = enc.encode(["portrait of a smiling woman", "photo of a happy woman", "a bald man with a beard"])
    assert e.shape == (3, 384)
    assert torch.allclose(e.norm(dim=1), torch.ones(3), atol=1e-4)
    assert e[0] @ e[1] > e[0] @ e[2] + 0.1


def test_cache_returns_the_same_vector_and_is_bounded():
    enc = TextEncoder(capacity=2)
    a = enc.encode(["a"])
    enc.encode(["b", "c"])
    assert list(enc.memory) == ["b", "c"]
    assert torch.allclose(enc.encode(["a"]), a)
    assert token_count("portrait of a woman") < 10
