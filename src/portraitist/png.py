"""PNG files that carry the settings that made them.

The `parameters` text chunk follows the convention other studios read (prompt, then
"Negative prompt: ...", then "Key: value, ..." settings); the `portraitist` chunk holds the same
and more as JSON for exact round trips.

Every image a model made also says so in the standard place: an XMP packet (iTXt chunk
"XML:com.adobe.xmp") with IPTC's DigitalSourceType `trainedAlgorithmicMedia` (or
`compositeWithTrainedAlgorithmicMedia` where a real photo is part of it), the model and its version,
and, where one was used, the reference face it was made from.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from xml.sax.saxutils import escape

from PIL import Image, PngImagePlugin

from . import __version__
from .files import atomic_write


def parameters_text(settings: dict) -> str:
    prompt = str(settings.get("prompt", ""))
    negative = settings.get("negative_prompt")
    rest = {k: v for k, v in settings.items() if k not in ("prompt", "negative_prompt") and v is not None}
    lines = [prompt]
    if negative:
        lines.append(f"Negative prompt: {negative}")
    lines.append(", ".join(f"{k.replace('_', ' ').capitalize()}: {v}" for k, v in rest.items()))
    return "\n".join(lines)


IPTC_SOURCE = "http://cv.iptc.org/newscodes/digitalsourcetype/"
SYNTHETIC = "trainedAlgorithmicMedia"
COMPOSITE = "compositeWithTrainedAlgorithmicMedia"
XMP_KEY = "XML:com.adobe.xmp"


def xmp_packet(source_type: str, settings: dict) -> str:
    """An XMP packet naming the image's digital source type (IPTC) and the model that made it."""
    model = escape(str(settings.get("model", "")))
    weights = escape(str(settings.get("weights", "")))
    reference = settings.get("reference_face")
    ref = (
        f"\n   <portraitist:referenceFace>{escape(str(reference))}</portraitist:referenceFace>"
        if reference
        else ""
    )
    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:portraitist="https://github.com/portraitist/ns/1.0/">
   <Iptc4xmpExt:DigitalSourceType>{IPTC_SOURCE}{source_type}</Iptc4xmpExt:DigitalSourceType>
   <xmp:CreatorTool>portraitist {__version__}</xmp:CreatorTool>
   <portraitist:model>{model}</portraitist:model>
   <portraitist:weights>{weights}</portraitist:weights>{ref}
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="r"?>"""


def save_png(
    image: Image.Image, path: str | os.PathLike, settings: dict, source_type: str | None = None
) -> Path:
    """Write `image` with `settings` in its text chunks, atomically (no half-written file on a crash).
    An image whose settings name a model is marked synthetic (`source_type` overrides: COMPOSITE
    where a real photo is part of it)."""
    path = Path(path)
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", parameters_text(settings))
    info.add_text("portraitist", json.dumps({"version": __version__, **settings}, default=str))
    if settings.get("init_image"):  # made from a real photo: a composite with a model's work
        source_type = source_type or COMPOSITE
    source_type = source_type or (SYNTHETIC if settings.get("model") else None)
    if source_type:
        info.add_itxt(XMP_KEY, xmp_packet(source_type, settings))
    atomic_write(path, lambda tmp: image.save(tmp, format="PNG", pnginfo=info))
    return path


def read_marks(path: str | os.PathLike) -> dict:
    """What an image says of its origin: {"digital_source_type", "model", "weights", "reference_face",
    "creator_tool"} for the fields it carries; {} for an image without an XMP packet."""
    with Image.open(path) as img:
        xmp = (img.text if hasattr(img, "text") else {}).get(XMP_KEY, "")
    fields = {
        "digital_source_type": r"<Iptc4xmpExt:DigitalSourceType>(?:[^<]*/)?([^</]+)</",
        "creator_tool": r"<xmp:CreatorTool>([^<]*)</",
        "model": r"<portraitist:model>([^<]*)</",
        "weights": r"<portraitist:weights>([^<]*)</",
        "reference_face": r"<portraitist:referenceFace>([^<]*)</",
    }
    return {k: m.group(1) for k, pattern in fields.items() if (m := re.search(pattern, xmp)) and m.group(1)}


def read_settings(path: str | os.PathLike) -> dict:
    """The settings saved by `save_png`, or {} for a PNG without them."""
    with Image.open(path) as img:
        text = img.text.get("portraitist") if hasattr(img, "text") else None
    return json.loads(text) if text else {}
