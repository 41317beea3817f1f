"""Train the text-to-face latent diffusion model: a UNet denoiser in the autoencoder's latent space,
conditioned on the caption builder's text through MiniLM, EDM formulation, EMA weights.

    portraitist train diffusion --autoencoder runs/ae/ae.safetensors --minutes 60 --out runs/diffusion

Before the first step, the training faces are encoded once into latents and their captions once
into MiniLM embeddings, kept in the cache for every later run with the same autoencoder file and
faces (so a second or resumed run starts at once). The encoding counts against `--minutes`: a
budget spent before training begins ends the run with the packs encoded so far cached. Each step draws a
pack uniformly, then (for packs with race labels) a race group uniformly, then a face; flips the
latent left-right half the time (and the caption's light side with it); drops the caption 10% of
the time so the model also learns "no prompt" for classifier-free guidance.

`--boost eyeglasses=0.05,blond=0.05` draws that share of each batch from the faces labelled with
an attribute the mixture rarely shows (CelebA: glasses on 7% of faces, blond hair on 13%), so
prompts asking for it are followed; `--lr-final F` decays the learning rate along a cosine to F
times `--lr` over the run's minutes; `--formulation flow` trains rectified flow instead of EDM
(diffusion/edm.py), for the comparison in docs/diffusion.md.

`--sparse-captions P` captions a share P of the draws with a sparser true caption of the face
(each group of its labels kept with a probability drawn per face, down to "portrait of a person";
two such captions per face are embedded once into the cache): a model trained only on detailed
captions maps a vague prompt onto the nearest detailed caption's one look, and one trained with
sparse captions learns that a vague prompt leaves open every face it fits.

`--identity` gives the denoiser a reference-face input (issue: same person, new portrait): for
each CelebA face drawn, the SFace embedding of *another* photo of the same person (so pose,
expression and light come from the caption, the person from the reference), dropped
`--identity-drop` of the time, and always absent for faces without identity labels; one model then
serves prompts with and without a face. The embeddings are computed once into the cache. A model
trained without the input (`--init-from`) continues with it from exactly the function it had.

`--bf16` computes the forward and backward passes under bfloat16 autocast (the weights, AdamW and
the EMAs stay float32; a run may switch it on or off when resumed): on a CPU with AVX512-BF16 or
AMX, or a GPU, it trains more faces per second (bench/profile_denoiser.py: 1.55x here).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from ..captions import caption, forget
from ..checkpoints import load_weights
from ..contact_sheet import contact_sheet
from ..data import Balanced, Mixture, load, to_tensor
from ..diffusion.edm import FORMULATIONS, Denoiser, edm_loss, flow_loss, karras_sigmas
from ..diffusion.guidance import guided
from ..diffusion.samplers import sample_dpmpp_2m
from ..errors import InvalidInput
from ..files import atomic_write
from ..nets.autoencoder import Autoencoder
from ..nets.unet import IDENTITY_PARAMETERS, UNet
from ..paths import cache_dir
from ..pipelines.face_diffusion import FaceDiffusion
from ..text import TextEncoder
from ..vocabulary import OLD_MIN
from .autoencoder import to_uint8
from .loop import (
    EMA,
    EXPORTED_STATE,
    Budget,
    TrainingRun,
    barrier,
    check_arguments,
    cosine_lr,
    init_distributed,
    seed_everything,
    start_budget,
    trainer_arguments,
    wrap_ddp,
)
from .posthoc_ema import SNAPSHOT_SIGMAS, PowerEMA, save_snapshot

PREVIEW_PROMPTS = (
    "close-up portrait of a smiling woman with blond hair",
    "portrait of a serious man with a beard",
    "photo of an elderly East Asian woman",
    "headshot of a young Black man wearing glasses",
    "portrait of a Latino man in his thirties, light from camera left",
    "black and white portrait of a woman with black hair",
    "photo of a little girl, warm light",
    "studio portrait of a middle-aged Indian woman",
)
DROP_CAPTION = 0.1
IDENTITY_DIM = 128  # SFace
IDENTITY_VERSION = 1  # bump when reference embeddings change
CAPTIONS_VERSION = 2  # bump when captions change: cached caption embeddings are then re-made
SPARSE_VARIANTS = 2  # sparser captions embedded per face for --sparse-captions
# attributes `--boost` can ask for: which faces carry each
BOOSTABLE = {
    "eyeglasses": lambda lab: bool(lab.eyeglasses),
    "blond": lambda lab: lab.hair_colour == "blond",
    "old": lambda lab: lab.age_low is not None and lab.age_low >= OLD_MIN,
}


def select_faces(packs: list[str], per_pack: int, seed: int, limit: int | None):
    """(pack name, its train split, the chosen rows) per pack: the same faces for the same seed."""
    rng = np.random.default_rng(seed)
    for name in packs:
        train = load(name, limit=limit).filter(split="train")
        yield name, train, np.sort(rng.choice(train.index, min(per_pack, len(train)), replace=False))


def attribute_flags(labels: list) -> dict[str, np.ndarray]:
    """Per face, whether it carries each BOOSTABLE attribute (False where unknown); read from the
    labels at every start, not cached, so a new boostable attribute works with old caches."""
    return {f"has_{k}": np.array([has(lab) for lab in labels], bool) for k, has in BOOSTABLE.items()}


def latent_cache_key(ae_file: Path, pack: str, per_pack: int, seed: int, limit: int | None) -> str:
    """Encoded faces depend on the autoencoder's bytes and on which faces were chosen."""
    h = hashlib.sha1(Path(ae_file).read_bytes())
    h.update(json.dumps([pack, per_pack, seed, limit, CAPTIONS_VERSION]).encode())
    return h.hexdigest()[:16]


def encode_pack(ae: Autoencoder, enc: TextEncoder, name: str, train, rows: np.ndarray, seed: int,
                budget: Budget | None) -> dict | None:  # fmt: skip
    """One pack's latents and caption embeddings (both mirrored variants of each caption); None when
    the budget ran out first."""
    latents = []
    with torch.inference_mode():
        for s in tqdm(range(0, len(rows), 256), desc=f"encoding {name}", mininterval=5):
            if budget is not None and budget.out_of_time():
                return None
            latents.append(ae.encode(to_tensor(train.images[rows[s : s + 256]])).half().numpy())
    return {"latents": np.concatenate(latents)} | caption_part(enc, name, train, rows, seed)


def caption_part(enc: TextEncoder, name: str, train, rows: np.ndarray, seed: int) -> dict:
    """The chosen faces' caption embeddings (and their mirrored twins) and race groups: what a trainer
    conditioned on captions needs besides the faces."""
    text_rng = random.Random(f"{seed}-{name}")
    labels = [train.labels[r] for r in rows]
    text, flipped = encode_captions(enc, labels, [caption(lab, text_rng) for lab in labels], text_rng)
    races = sorted({lab.race for lab in labels if lab.race})
    return {
        "text": text,
        "text_flipped": flipped,
        "group": np.array([races.index(lab.race) if lab.race else -1 for lab in labels]),
    }


def encode_captions(enc: TextEncoder, labels: list, caps: list[str], rng: random.Random):
    """MiniLM embeddings (float16) of the captions and of the mirrored faces' captions: a mirrored
    face needs its own caption only when its light comes from a side."""
    text = torch.cat([enc.encode(caps[s : s + 512]) for s in range(0, len(caps), 512)])
    sided = [i for i, lab in enumerate(labels) if lab.light in ("left", "right")]
    flipped = text.clone()
    if sided:
        flipped[sided] = enc.encode([caption(labels[i].mirrored(), rng) for i in sided])
    return text.half().numpy(), flipped.half().numpy()


def sparse_captions(packs: list[str], data: dict, seed: int, limit: int | None,
                    budget: Budget | None = None) -> dict | None:  # fmt: skip
    """For every latent row, SPARSE_VARIANTS sparser captions of the same face embedded (each forgets
    a random share of the face's labels: `captions.forget`), with their mirrored twins: arrays of
    (variants, rows, 384). Cached like the latents; None when the budget ran out."""
    enc, text, flipped = TextEncoder(capacity=0), [], []
    for i, name in enumerate(packs):
        rows = data["row"][data["pack"] == i]
        key = hashlib.sha1(
            json.dumps([name, rows.tolist(), seed, CAPTIONS_VERSION, SPARSE_VARIANTS]).encode()
        )

        def embed(name=name, rows=rows) -> dict | None:
            print(
                f"embedding {SPARSE_VARIANTS} sparse captions of {len(rows)} faces of {name} (cached after)"
            )
            train = load(name, limit=limit).filter(split="train")
            part = {"text": [], "text_flipped": []}
            for v in range(SPARSE_VARIANTS):
                if budget is not None and budget.out_of_time():
                    return None
                rng = random.Random(f"{seed}-{name}-sparse{v}")
                labels = [forget(train.labels[r], rng.random(), rng) for r in rows]
                t, f = encode_captions(enc, labels, [caption(lab, rng) for lab in labels], rng)
                part["text"].append(t)
                part["text_flipped"].append(f)
            return {k: np.stack(v) for k, v in part.items()}

        part = cached_npz("captions", name, key.hexdigest()[:16], embed)
        if part is None:
            return None
        text.append(part["text"])
        flipped.append(part["text_flipped"])
    return {"text": np.concatenate(text, axis=1), "text_flipped": np.concatenate(flipped, axis=1)}


def save_npz(path: str, arrays: dict) -> None:
    with open(path, "wb") as f:  # a file object: np.savez would add ".npz" to a name
        np.savez(f, **arrays)


def cached_npz(folder: str, pack: str, key: str, make: Callable[[], dict | None]) -> dict | None:
    """A pack's arrays cached under `folder` by `key`, else those `make()` returns, written there
    atomically; None (making ran out of budget) is passed on and nothing is written."""
    path = cache_dir() / folder / f"{pack.replace('/', '_')}-{key}.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    arrays = make()
    if arrays is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp: save_npz(tmp, arrays))
    return arrays


def build_latent_pack(ae: Autoencoder, ae_file: Path, packs: list[str], per_pack: int, seed: int,
                      limit: int | None, budget: Budget | None = None) -> dict | None:  # fmt: skip
    """Encode each pack's faces and captions once, into the cache (shared by every run with the same
    autoencoder file and faces, so a second run, or a resumed one, starts at once). Preparation
    counts against the run's budget: None when the budget ran out (packs finished so far are kept)."""
    enc, parts = TextEncoder(capacity=0), []
    for name, train, rows in select_faces(packs, per_pack, seed, limit):

        def encode(name=name, train=train, rows=rows) -> dict | None:
            print(
                f"encoding {len(rows)} faces of {name} (about {len(rows) / 150 / 60:.0f} min here; cached after)"
            )
            return encode_pack(ae, enc, name, train, rows, seed, budget)

        part = cached_npz("latents", name, latent_cache_key(ae_file, name, per_pack, seed, limit), encode)
        if part is None:
            return None
        person = np.array([train.identities[r] or "" for r in rows])
        parts.append(
            part | {"row": rows, "person": person} | attribute_flags([train.labels[r] for r in rows])
        )
    pack = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    pack["pack"] = np.concatenate([np.full(len(p["latents"]), k) for k, p in enumerate(parts)])
    return pack


def identity_references(
    packs: list[str], data: dict, limit: int | None, budget: Budget | None = None
) -> dict | None:
    """For every latent row: its SFace reference embedding (N, 128) and where the same person's other
    photos among the encoded faces lie (`reference_pool`); faces of packs without identity labels
    have none. None when the budget ran out while embedding (the packs done so far stay cached)."""
    from ..quality.identity import reference_embedding

    n = len(data["pack"])
    embedding = np.zeros((n, IDENTITY_DIM), np.float16)
    person = np.full(n, -1, np.int64)
    names: dict[str, int] = {}
    for k, name in enumerate(packs):
        at = np.flatnonzero(data["pack"] == k)
        rows, ids = data["row"][at], data["person"][at]
        if not (ids != "").any():
            continue
        key = hashlib.sha1(json.dumps([name, rows.tolist(), IDENTITY_VERSION]).encode()).hexdigest()[:16]

        def embed(name=name, rows=rows) -> dict | None:
            print(f"embedding {len(rows)} faces of {name} as reference faces (SFace; cached after)")
            train, chunks = load(name, limit=limit), []
            for s in tqdm(range(0, len(rows), 256), desc=f"identities {name}", mininterval=5):
                if budget is not None and budget.out_of_time():
                    return None
                chunks.append(
                    reference_embedding(np.asarray(train.images[rows[s : s + 256]])).astype(np.float16)
                )
            return {"embedding": np.concatenate(chunks)}

        cached = cached_npz("identity", name, key, embed)
        if cached is None:
            return None
        embedding[at] = cached["embedding"]
        person[at] = [names.setdefault(f"{name}/{i}", len(names)) if i else -1 for i in ids.tolist()]
    return reference_pool(person) | {"embedding": embedding}


def reference_pool(person: np.ndarray) -> dict:
    """Where each row's references lie, given each row's person (-1: unknown): rows sorted by person
    (`order`), and per row the `start` of its person's run in that order, the `count` of *other*
    rows of the person, and its own position `self` (to skip)."""
    n = len(person)
    order = np.argsort(person, kind="stable")
    sorted_person = person[order]
    first = np.searchsorted(sorted_person, person, side="left")
    last = np.searchsorted(sorted_person, person, side="right")
    where = np.empty(n, np.int64)
    where[order] = np.arange(n)
    return {
        "order": order,
        "start": first,
        "count": np.where(person >= 0, last - first - 1, 0),
        "self": where,
    }


def draw_references(refs: dict, idx: np.ndarray, keep: float) -> tuple[torch.Tensor, torch.Tensor]:
    """For the drawn rows: another photo's embedding of the same person, and whether one is used
    (rows with references, kept with probability `keep`). Torch's generator draws, so a resumed
    run draws alike."""
    count = refs["count"][idx]
    has = torch.from_numpy(count > 0) & (torch.rand(len(idx)) < keep)
    pick = (torch.rand(len(idx)).numpy() * np.maximum(count, 1)).astype(np.int64)
    pos = refs["start"][idx] + pick
    pos = pos + (pos >= refs["self"][idx])  # skip the face itself
    pos = np.minimum(pos, len(refs["order"]) - 1)
    ref = torch.from_numpy(refs["embedding"][refs["order"][pos]].astype(np.float32))
    return ref, has


class LatentRows:
    """Row numbers of the latent pack, in the shape the data layer's samplers draw from (`groups`,
    `_take`, `sample`), so the diffusion trainer balances its draws with the same `Balanced` and
    `Mixture` as the trainers that draw images: a draw returns row numbers instead of faces."""

    def __init__(self, name: str, rows: np.ndarray, group: np.ndarray | None = None) -> None:
        self.name, self.rows, self.group = name, rows, group

    def groups(self, by: str) -> dict[int, np.ndarray]:
        known = self.group is not None and (self.group[self.rows] >= 0).any()
        return (
            {int(g): self.rows[self.group[self.rows] == g] for g in np.unique(self.group[self.rows])}
            if known
            else {}
        )

    def _take(self, rows: np.ndarray, rng, flip: bool) -> tuple[np.ndarray, list]:
        return np.asarray(rows, np.int64), [None] * len(rows)

    def sample(self, n: int, rng: np.random.Generator, flip: bool = False) -> tuple[np.ndarray, list]:
        return self._take(self.rows[rng.integers(0, len(self.rows), size=n)], rng, flip)


def latent_draw(
    data: dict, boost: dict[str, float], verbose: bool = True, pack_weights: list[float] | None = None
) -> Mixture:
    """Pack uniformly (or in proportion to `pack_weights`), then race group uniformly where known,
    then a face; except that a share of draws goes to the faces of each boosted attribute."""
    parts, weights = [], []
    boosted = []
    for name, share in boost.items():
        rows = np.flatnonzero(data[f"has_{name}"])
        if verbose:
            print(
                f"--boost {name}: {len(rows)} of {len(data['pack'])} faces"
                + ("" if len(rows) else ", ignored")
            )
        if len(rows):
            boosted.append((LatentRows(f"boost {name}", rows), share))
    rest = 1 - sum(share for _, share in boosted)
    packs = np.unique(data["pack"])
    share = np.ones(len(packs)) if pack_weights is None else np.asarray(pack_weights, float)[packs]
    for p, s in zip(packs, share / share.sum(), strict=True):
        rows = LatentRows(f"pack {p}", np.flatnonzero(data["pack"] == p), data["group"])
        parts.append(Balanced(rows, "race") if len(rows.groups("race")) > 1 else rows)
        weights.append(rest * s)
    for part, share in boosted:
        parts.append(part)
        weights.append(share)
    return Mixture(parts, weights)


def parse_boost(text: str) -> dict[str, float]:
    """Parse "eyeglasses=0.05,blond=0.05" into {"eyeglasses": 0.05, "blond": 0.05}."""
    boost = {}
    for item in filter(None, text.split(",")):
        name, _, share = item.partition("=")
        if name not in BOOSTABLE:
            raise InvalidInput(f"--boost: unknown attribute {name!r}; known: {', '.join(BOOSTABLE)}")
        try:
            boost[name] = float(share)
        except ValueError:
            raise InvalidInput(f"--boost: {item!r} is not NAME=SHARE") from None
        if not 0 < boost[name] < 1:
            raise InvalidInput(f"--boost: the share of {name} must be between 0 and 1, got {share}")
    if sum(boost.values()) >= 0.5:
        raise InvalidInput(
            "--boost: the shares must add up to under 0.5 (the rest keeps the balanced mixture)"
        )
    return boost


@torch.no_grad()
def preview(ae: Autoencoder, denoiser: Denoiser, seed: int = 0) -> np.ndarray:
    net = denoiser.net
    cond = net.condition(TextEncoder().encode(list(PREVIEW_PROMPTS)))
    null = net.condition(net.null_text.expand(len(cond), -1))
    g = torch.Generator().manual_seed(seed)
    sigmas = karras_sigmas(16)
    x = torch.randn(len(cond), *ae.latent_shape(), generator=g) * sigmas[0]
    z = sample_dpmpp_2m(guided(denoiser, cond, null, 3.0), x, sigmas)
    return to_uint8(ae.decode(z))


def initial_denoiser(path: Path) -> tuple[dict[str, torch.Tensor], dict]:
    """The UNet weights and training record to start from: an exported model file, or a run folder
    whose checkpoint's EMA weights are taken (to change a running campaign's setup without waiting
    for its export)."""
    if Path(path).is_dir():
        folder = path / "ckpt" if (path / "ckpt" / "state.json").exists() else path / "ckpt.old"
        if not (folder / "state.json").exists():
            raise InvalidInput(f"--init-from {path}: neither a model file nor a run folder with a checkpoint")
        tensors, _ = load_weights(folder / "weights.safetensors")
        state = json.loads((folder / "state.json").read_text())
        return {k[8:]: v.float() for k, v in tensors.items() if k.startswith("ema.net.")}, {
            k: state[k] for k in EXPORTED_STATE
        }
    tensors, meta = load_weights(path)
    return {k[5:]: v.float() for k, v in tensors.items() if k.startswith("unet.")}, {
        k: meta["train"][k] for k in EXPORTED_STATE
    }


def parse(argv=None) -> argparse.Namespace:
    ap = trainer_arguments("portraitist train diffusion", __doc__, "runs/diffusion", 60, 64, 4e-4, 10)
    ap.add_argument(
        "--autoencoder", type=Path, required=True, help="safetensors from `train autoencoder --export`"
    )
    ap.add_argument("--per-pack", type=int, default=20000, help="faces encoded from each pack's train split")
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--channels", type=int, default=64, help="UNet base width")
    ap.add_argument(
        "--init-from",
        type=Path,
        help="start from an exported model's denoiser (e.g. the shipped one), or a run folder's checkpoint (its EMA)",
    )
    ap.add_argument("--formulation", choices=FORMULATIONS, default="edm", help="what the UNet learns")
    ap.add_argument("--boost", default="", help="NAME=SHARE,...: draw a share of each batch from faces with "
                    f"a rare attribute ({', '.join(BOOSTABLE)})")  # fmt: skip
    ap.add_argument("--lr-final", type=float, default=1.0,
                    help="learning rate at the end of the run, as a fraction of --lr (cosine decay; 1: constant)")  # fmt: skip
    ap.add_argument("--sparse-captions", type=float, default=0.0,
                    help="share of draws captioned with a sparser true caption of the face (a random share of "
                         "its labels forgotten, down to 'portrait of a person'), so vague prompts keep the variety "
                         "of faces they fit")  # fmt: skip
    ap.add_argument("--identity", action="store_true",
                    help="give the denoiser a reference-face input, trained on other photos of the same CelebA person")  # fmt: skip
    ap.add_argument("--posthoc-ema", action="store_true",
                    help="also keep power-function EMAs (sigma_rel 0.05 and 0.10) and snapshot them at every "
                         "checkpoint into OUT/ema-snapshots, to choose the EMA length after training "
                         "(python -m portraitist.training.posthoc_ema)")  # fmt: skip
    ap.add_argument("--bf16", action="store_true",
                    help="compute the loss under bfloat16 autocast (weights, optimizer and EMAs stay float32): "
                         "1.55x the faces per second on this AVX512-BF16 CPU (bench/profile_denoiser.py)")  # fmt: skip
    ap.add_argument("--identity-drop", type=float, default=0.3,
                    help="share of faces with a reference trained without it (so prompts alone still work)")  # fmt: skip
    ap.add_argument("--identity-lr-mult", type=float, default=1.0,
                    help="the identity input's learning rate as a multiple of --lr: the reference recurs "
                         "rarely per person, so its branch learns slowly (docs/identity.md)")  # fmt: skip
    args = ap.parse_args(argv)
    if args.identity_lr_mult != 1.0 and not args.identity:
        ap.error("--identity-lr-mult needs --identity")
    if not 0 < args.identity_lr_mult <= 100:
        ap.error(f"--identity-lr-mult must be in (0, 100], got {args.identity_lr_mult}")
    if not 0 <= args.sparse_captions < 1:
        ap.error(f"--sparse-captions must be in [0, 1), got {args.sparse_captions}")
    if not 0 <= args.identity_drop < 1:
        ap.error(f"--identity-drop must be in [0, 1), got {args.identity_drop}")
    try:
        args.boost = parse_boost(args.boost)
    except ValueError as e:
        ap.error(str(e))
    if not 0 <= args.lr_final <= 1:
        ap.error(f"--lr-final must be between 0 and 1, got {args.lr_final}")
    return args


def parameter_groups(unet: UNet, identity_lr_mult: float) -> list[dict]:
    """One group, or the identity input's parameters apart with their own learning-rate multiple
    (a run keeps its number of groups, so resuming one made without the option is unchanged)."""
    if identity_lr_mult == 1.0:
        return [{"params": list(unet.parameters())}]
    named = list(unet.named_parameters())
    mine = [p for n, p in named if n.startswith(IDENTITY_PARAMETERS)]
    rest = [p for n, p in named if not n.startswith(IDENTITY_PARAMETERS)]
    return [{"params": rest}, {"params": mine, "lr_mult": identity_lr_mult}]


def main(argv=None) -> dict:
    args = parse(argv)
    check_arguments(args)
    if not 0 < args.ema < 1:
        raise InvalidInput(f"--ema must be between 0 and 1, got {args.ema}")
    budget = start_budget(args)  # counted from here: encoding the faces is part of the run
    dist = init_distributed()
    rng = seed_everything(args.seed, dist.rank)
    args.out.mkdir(parents=True, exist_ok=True)
    ae, ae_meta = Autoencoder.from_file(args.autoencoder)
    ae.eval().requires_grad_(False)
    packs = [p for p in args.data.split(",") if p]
    if not dist.main:  # rank 0 encodes the faces once; the others read its cache
        barrier(dist)
    data = build_latent_pack(ae, args.autoencoder, packs, args.per_pack, args.seed, args.limit, budget)
    if dist.main:
        barrier(dist)
    if data is None:
        print(f"the budget ({args.minutes} min) ran out while encoding the faces; the packs encoded so far "
              "are cached: run again to continue")  # fmt: skip
        return {"step": 0, "images": 0, "train_seconds": 0.0, "prepared": False}
    refs = None
    if args.identity:
        refs = identity_references(packs, data, args.limit, budget)
        if refs is None:
            print(f"the budget ({args.minutes} min) ran out while embedding reference faces; those done "
                  "are cached: run again to continue")  # fmt: skip
            return {"step": 0, "images": 0, "train_seconds": 0.0, "prepared": False}
        print(
            f"reference faces: {int((refs['count'] > 0).sum())} of {len(refs['count'])} faces have another photo"
        )
    sparse = None
    if args.sparse_captions:
        sparse = sparse_captions(packs, data, args.seed, args.limit, budget)
        if sparse is None:
            print(f"the budget ({args.minutes} min) ran out while embedding sparse captions; those done "
                  "are cached: run again to continue")  # fmt: skip
            return {"step": 0, "images": 0, "train_seconds": 0.0, "prepared": False}
        sparse = {k: torch.from_numpy(v) for k, v in sparse.items()}  # float16; a batch is cast
    draw = latent_draw(data, args.boost, verbose=dist.main)
    latents = torch.from_numpy(data["latents"].astype(np.float32))
    text = torch.from_numpy(data["text"].astype(np.float32))
    text_flipped = torch.from_numpy(data["text_flipped"].astype(np.float32))
    unet = UNet(in_ch=ae.config["latent"], ch=args.channels, id_dim=IDENTITY_DIM if args.identity else 0)
    denoiser = Denoiser(unet, formulation=args.formulation)
    ema = EMA(denoiser, args.ema)
    opt = torch.optim.AdamW(parameter_groups(unet, args.identity_lr_mult), lr=args.lr, weight_decay=0.0)
    modules = {"model": denoiser, "ema": ema.module}
    power = {f"power_ema_{s:.2f}": PowerEMA(denoiser, s) for s in SNAPSHOT_SIGMAS} if args.posthoc_ema else {}
    power_emas = list(power.values())
    modules |= {name: e.module for name, e in power.items()}
    run = TrainingRun("diffusion", args, dist, modules, opt, rng, images_per_step=args.batch, budget=budget,
                      optional=tuple(modules)[2:])  # fmt: skip
    if power_emas and dist.main:
        run.on_checkpoint = lambda: save_snapshot(args.out / "ema-snapshots", run.state["step"], power_emas)
    if args.init_from and not args.resume:
        own, trained = initial_denoiser(args.init_from)
        missing, unexpected = unet.load_state_dict(own, strict=False)
        new = [k for k in missing if not k.startswith(IDENTITY_PARAMETERS)]
        if new or unexpected:
            raise InvalidInput(
                f"{args.init_from} does not fit this denoiser: missing {new}, unexpected {unexpected}"
            )
        ema.module.net.load_state_dict(unet.state_dict())
        run.state |= trained
        print(f"starting from {args.init_from} (step {run.state['step']}, {run.state['images']} images)")
    run.resume_if_asked()
    for name, e in power.items():
        if not args.resume or name in run.absent:  # new to this run: from its EMA so far
            e.module.load_state_dict(ema.module.state_dict())
    model = wrap_ddp(denoiser, dist)

    def step(progress: float) -> dict:
        for group in opt.param_groups:
            group["lr"] = cosine_lr(args.lr * group.get("lr_mult", 1.0), args.lr_final, progress)
        idx = torch.from_numpy(draw.sample(args.batch, rng)[0])
        flip = torch.rand(args.batch) < 0.5
        x0 = latents[idx]
        x0 = torch.where(flip[:, None, None, None], x0.flip(3), x0)
        cond = torch.where(flip[:, None], text_flipped[idx], text[idx])
        if sparse is not None:
            use = torch.rand(args.batch) < args.sparse_captions
            v = torch.randint(SPARSE_VARIANTS, (args.batch,))
            alt = torch.where(flip[:, None], sparse["text_flipped"][v, idx], sparse["text"][v, idx]).float()
            cond = torch.where(use[:, None], alt, cond)
        drop = torch.rand(args.batch) < DROP_CAPTION
        cond = torch.where(drop[:, None], unet.null_text.expand(args.batch, -1), cond)
        if refs is not None:
            ref, has = draw_references(refs, idx.numpy(), 1 - args.identity_drop)
            cond = unet.condition(
                cond, torch.where(has[:, None], ref, unet.null_identity.expand(args.batch, -1))
            )
        with torch.autocast(x0.device.type, dtype=torch.bfloat16, enabled=args.bf16):
            if args.formulation == "flow":
                loss = flow_loss(model, x0, cond)
            else:
                loss = edm_loss(model, x0, cond, denoiser.sigma_data)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"loss became {loss.item()} at step {run.state['step']}; lower --lr")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
        opt.step()
        ema.update(denoiser, run.state["step"])
        for e in power_emas:
            e.update(denoiser, run.state["step"])
        return {"loss": loss.item()}

    def write_preview() -> None:
        grid = preview(ae, ema.module)
        contact_sheet(grid, list(PREVIEW_PROMPTS), cell=96, columns=8, caption_lines=4).save(
            args.out / f"samples-{run.state['step']:07d}.png"
        )

    state = run.loop(step, write_preview)
    if dist.main:
        if args.export:
            export(args.export, ae, ema.module, state, args, ae_meta)
        print(
            f"diffusion: {state['step']} steps, {state['images']} images in {state['train_seconds'] / 60:.1f} min"
        )
    return state


def export(path: Path, ae: Autoencoder, denoiser: Denoiser, state: dict, args, ae_meta: dict) -> Path:
    """The trained model in the pipeline's format (every constructor argument saved beside the weights)."""
    pipe = FaceDiffusion(ae, denoiser, {})
    return pipe.save_pretrained(
        path,
        train={k: state[k] for k in EXPORTED_STATE},
        autoencoder_train={k: ae_meta.get(k) for k in ("step", "images", "psnr_fixed")},
        args={k: str(v) for k, v in vars(args).items()},
    )


if __name__ == "__main__":
    main()
