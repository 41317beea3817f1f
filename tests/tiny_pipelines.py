"""Tiny, randomly initialised diffusers pipelines of the real classes, built from configs with no
download (tokenizers too), and saved with `save_pretrained` so the engine's real loading path runs."""

from __future__ import annotations

import string
from pathlib import Path

import torch


def clip_tokenizer(folder: Path):
    """A byte-level BPE CLIP tokenizer over single characters (no merges), written to `folder`."""
    import json

    from transformers import CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    chars = string.ascii_lowercase + string.digits + string.punctuation
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for c in chars:
        vocab.setdefault(c, len(vocab))
        vocab.setdefault(c + "</w>", len(vocab))
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(
        vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt"), model_max_length=77
    )


def t5_tokenizer():
    from transformers import T5Tokenizer

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -1.0)]
    pieces += [(c, -2.0) for c in string.ascii_lowercase + string.digits + string.punctuation]
    pieces += [("▁" + c, -1.5) for c in string.ascii_lowercase]
    return T5Tokenizer(vocab=pieces, extra_ids=0, model_max_length=77)


def clip_config(**kw):
    from transformers import CLIPTextConfig

    return CLIPTextConfig(bos_token_id=0, eos_token_id=1, pad_token_id=1, hidden_size=32, intermediate_size=37,
                          num_attention_heads=4, num_hidden_layers=2, vocab_size=200, projection_dim=32, **kw)  # fmt: skip


def t5_encoder():
    from transformers import T5Config, T5EncoderModel

    return T5EncoderModel(T5Config(vocab_size=200, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                                   pad_token_id=0, eos_token_id=1, decoder_start_token_id=0))  # fmt: skip


def tiny_vae(latent: int = 4, blocks=(8,), **kw):
    from diffusers import AutoencoderKL

    return AutoencoderKL(in_channels=3, out_channels=3, block_out_channels=blocks, layers_per_block=1,
                         latent_channels=latent, norm_num_groups=1, sample_size=32,
                         down_block_types=["DownEncoderBlock2D"] * len(blocks),
                         up_block_types=["UpDecoderBlock2D"] * len(blocks), **kw)  # fmt: skip


def build(kind: str, folder: Path) -> Path:
    """Save a tiny pipeline of `kind` ('sd3', 'flux', 'sdxl', 'sd15') under `folder`."""
    import diffusers
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(0)
    tok = clip_tokenizer(folder / "_tok")
    if kind == "sd3":
        pipe = diffusers.StableDiffusion3Pipeline(
            transformer=diffusers.SD3Transformer2DModel(
                sample_size=32, patch_size=1, in_channels=4, num_layers=1, attention_head_dim=8,
                num_attention_heads=4, caption_projection_dim=32, joint_attention_dim=32,
                pooled_projection_dim=64, out_channels=4),
            scheduler=diffusers.FlowMatchEulerDiscreteScheduler(),
            vae=tiny_vae(shift_factor=0.0609, scaling_factor=1.5035), text_encoder=CLIPTextModelWithProjection(clip_config()), tokenizer=tok,
            text_encoder_2=CLIPTextModelWithProjection(clip_config()), tokenizer_2=tok,
            text_encoder_3=t5_encoder(), tokenizer_3=t5_tokenizer(),
        )  # fmt: skip
    elif kind == "flux":
        pipe = diffusers.FluxPipeline(
            transformer=diffusers.FluxTransformer2DModel(
                patch_size=1, in_channels=4, num_layers=1, num_single_layers=1, attention_head_dim=16,
                num_attention_heads=2, joint_attention_dim=32, pooled_projection_dim=32,
                axes_dims_rope=[4, 4, 8]),
            scheduler=diffusers.FlowMatchEulerDiscreteScheduler(  # FLUX.1-dev's scheduler config
                shift=3.0, use_dynamic_shifting=True, base_shift=0.5, max_shift=1.15,
                base_image_seq_len=256, max_image_seq_len=4096),
            vae=tiny_vae(latent=1, shift_factor=0.0609, scaling_factor=1.5035), text_encoder=CLIPTextModel(clip_config()), tokenizer=tok,
            text_encoder_2=t5_encoder(), tokenizer_2=t5_tokenizer(),
        )  # fmt: skip
    elif kind == "sdxl":
        pipe = diffusers.StableDiffusionXLPipeline(
            unet=diffusers.UNet2DConditionModel(
                block_out_channels=(4, 8), layers_per_block=1, sample_size=16, in_channels=4,
                out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), attention_head_dim=(2, 4),
                use_linear_projection=True, addition_embed_type="text_time", addition_time_embed_dim=8,
                transformer_layers_per_block=(1, 1), projection_class_embeddings_input_dim=80,
                cross_attention_dim=64, norm_num_groups=1),
            scheduler=diffusers.EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012,
                                                       beta_schedule="scaled_linear", timestep_spacing="leading"),
            vae=tiny_vae(blocks=(4, 8)), text_encoder=CLIPTextModel(clip_config()), tokenizer=tok,
            text_encoder_2=CLIPTextModelWithProjection(clip_config()), tokenizer_2=tok,
        )  # fmt: skip
    elif kind == "sd15":
        pipe = diffusers.StableDiffusionPipeline(
            unet=diffusers.UNet2DConditionModel(
                block_out_channels=(4, 8), layers_per_block=1, sample_size=16, in_channels=4,
                out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
                up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=32,
                attention_head_dim=2, norm_num_groups=2),
            scheduler=diffusers.DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear"),
            vae=tiny_vae(blocks=(4, 8)), text_encoder=CLIPTextModel(clip_config()), tokenizer=tok,
            safety_checker=None, feature_extractor=None, requires_safety_checker=False,
        )  # fmt: skip
    else:
        raise ValueError(kind)
    out = folder / kind
    pipe.save_pretrained(out)
    return out
