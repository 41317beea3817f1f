"""Comparison grids (A1111's X/Y plot): one setting along x, another along y, one face per cell.

    portraitist grid "portrait of a smiling woman" --x steps=4,8,16 --y guidance=1.5,3,5
    portraitist grid "portrait of a smiling woman" --x prompt=smiling,serious,laughing --y model=face-diffusion,face-gan

Any request setting can be an axis (AXES); `prompt=A,B,C` is search and replace: the first value must
appear in the prompt and each cell replaces it by that column's value. Every cell goes through the
same request check as any generation: a cell its model cannot honour (steps for the GAN, a sampler
a model lacks) is drawn as a marked cell with the reason, never dropped. The sheet carries every
cell's settings in its metadata, and each cell is also saved as its own PNG.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from PIL import Image, ImageDraw

from .engines import Request
from .errors import InvalidInput

AXES = {"seed": int, "steps": int, "guidance": float, "sampler": str, "truncation": float, "model": str,
        "prompt": str, "negative_prompt": str, "identity_guidance": float, "variation_strength": float}  # fmt: skip
MAX_CELLS = 64
CELL = 128
HEADER = 22


@dataclass(frozen=True)
class Axis:
    name: str
    values: tuple


def parse_axis(text: str) -> Axis:
    """ "steps=4,8,16" -> Axis("steps", (4, 8, 16)), each value of the setting's type."""
    name, sep, values = str(text).partition("=")
    name = name.strip().replace("-", "_")
    if not sep or name not in AXES:
        raise InvalidInput(
            f"an axis is SETTING=V1,V2,... with SETTING one of {', '.join(AXES)}; got {text!r}"
        )
    items = [v.strip() for v in values.split(",") if v.strip()]
    if not items:
        raise InvalidInput(f"the axis {name} has no values")
    try:
        return Axis(name, tuple(AXES[name](v) for v in items))
    except ValueError:
        raise InvalidInput(f"the values of {name} must be {AXES[name].__name__}s; got {values!r}") from None


@dataclass
class Cell:
    x: object
    y: object
    request: Request
    model: str
    image: Image.Image | None = None
    error: str | None = None  # why the model cannot honour this cell


def plan(prompt: str, x: Axis, y: Axis | None, base: Request, model: str) -> list[Cell]:
    """The cells, row by row: the base request with the row's and the column's setting."""
    cells = []
    for yv in y.values if y else (None,):
        for xv in x.values:
            request, cell_model = base, model
            for axis, value in ((x, xv), (y, yv)):
                if axis is None:
                    continue
                if axis.name == "model":
                    cell_model = value
                elif axis.name == "prompt":
                    search = axis.values[0]
                    if search not in prompt:
                        raise InvalidInput(
                            f"prompt search and replace: {search!r} is not in the prompt {prompt!r}"
                        )
                    request = replace(request, prompt=request.prompt.replace(search, value))
                else:
                    request = replace(request, **{axis.name: value})
            cells.append(Cell(xv, yv, request, cell_model))
    if len(cells) > MAX_CELLS:
        raise InvalidInput(f"the grid has {len(cells)} cells; the limit is {MAX_CELLS}")
    return cells


def run(cells: list[Cell], engine_for, progress=None) -> list[Cell]:
    """Generate each cell with its model's engine (`engine_for(model)`); a cell a model cannot
    honour keeps the reason instead of an image."""
    for k, cell in enumerate(cells):
        try:
            cell.image = engine_for(cell.model).generate(cell.request)[0]
        except ValueError as e:  # InvalidInput and Unsupported: this cell's settings, not the grid's
            cell.error = str(e)
        if progress:
            progress(k + 1, len(cells))
    return cells


def sheet(cells: list[Cell], x: Axis, y: Axis | None) -> Image.Image:
    """The labelled grid: column headers are x's values, row headers y's; a cell that could not be
    made is grey with its reason."""
    cols, rows = len(x.values), len(y.values) if y else 1
    left = 120 if y else 0
    header = HEADER * (1 if y else 2)  # without rows, the axis name gets its own line
    img = Image.new("RGB", (left + cols * CELL, header + rows * (CELL + 4)), "white")
    draw = ImageDraw.Draw(img)
    draw.text((4, 5), f"x: {x.name}" + (f"   y: {y.name}" if y else ""), fill="#555")
    for i, xv in enumerate(x.values):
        draw.text((left + i * CELL + 4, header - HEADER + 5), _fit(str(xv), CELL - 8), fill="black")
    for j in range(rows):
        top = header + j * (CELL + 4)
        if y:
            for k, line in enumerate(_wrap(str(y.values[j]), left - 8, 8)):
                draw.text((4, top + 4 + 12 * k), line, fill="black")
        for i in range(cols):
            cell, box = cells[j * cols + i], (left + i * CELL, top)
            if cell.image is not None:
                img.paste(cell.image.convert("RGB").resize((CELL, CELL), Image.Resampling.LANCZOS), box)
            else:
                draw.rectangle([box, (box[0] + CELL - 2, box[1] + CELL - 2)], fill="#d9d9d9")
                for k, line in enumerate(_wrap("n/a: " + (cell.error or ""), CELL - 8, 9)):
                    draw.text((box[0] + 4, box[1] + 4 + 12 * k), line, fill="#7a0000")
    return img


def _fit(text: str, width: int) -> str:
    return text if len(text) * 6 <= width else text[: max(1, width // 6 - 1)] + "…"


def _wrap(text: str, width: int, lines: int) -> list[str]:
    """Lines of at most `width` px (about 6 px a character), broken at spaces, else anywhere."""
    import textwrap

    return textwrap.wrap(text, max(4, width // 6), break_long_words=True)[:lines]


def cell_settings(cells: list[Cell]) -> list[dict]:
    """Every cell's settings (or why it is missing), for the sheet's metadata."""
    out = []
    for c in cells:
        row = {"x": c.x, "y": c.y, "model": c.model}
        if c.image is not None:
            row |= {k: v for k, v in c.image.info.items() if k not in ("qa", "reference_embedding")}
        else:
            row["error"] = c.error
        out.append(row)
    return out
