"""Face datasets: readers for packs and official layouts, a decoded cache, labels, sampling."""

from .cache import Decoded, decode
from .dataset import Balanced, FaceSet, Mixture, flip_horizontal, load, to_tensor
from .images import ImageDecodeError, decode_image
from .schema import LABEL_NAMES, FaceLabels
from .sources import DataError, Source, open_source

__all__ = [
    "Balanced",
    "DataError",
    "Decoded",
    "FaceLabels",
    "FaceSet",
    "ImageDecodeError",
    "LABEL_NAMES",
    "Mixture",
    "Source",
    "decode",
    "decode_image",
    "flip_horizontal",
    "load",
    "open_source",
    "to_tensor",
]
