"""End to end in a real browser: headless Chromium (Debian's) driven by Playwright fills the brief,
generates, sees the faces arrive in the gallery with QA badges, and moves a latent slider.

Screenshots go to $PORTRAITIST_SCREENSHOTS when set (docs/studio/ was made that way, with the
shipped model: PORTRAITIST_STUDIO_WEIGHTS=src/portraitist/weights/face_diffusion.safetensors)."""

from __future__ import annotations

import os
import shutil
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urljoin

import pytest
from test_studio import Server

from portraitist.png import read_settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
    ),
]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


def screenshots(tmp_path: Path) -> Path:
    """Where screenshots go: $PORTRAITIST_SCREENSHOTS (docs/studio/ was made so), else the test's folder."""
    shots = Path(os.environ.get("PORTRAITIST_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    return shots


@contextmanager
def studio(weights: Path, tmp_path: Path, viewport=(1400, 1100), before=None):
    """A studio server on `weights` and a page open on it in Debian's Chromium (`before(page, server)`
    runs first, e.g. to route requests); no script error may happen on the page meanwhile."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    server = Server(tmp_path / "gallery", weights)
    errors: list[str] = []
    try:
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            page.on("pageerror", lambda e: errors.append(str(e)))
            if before:
                before(page, server)
            page.goto(server.base)
            page.wait_for_selector("#card b")  # the models are listed: the page is up
            yield page, server
            browser.close()
    finally:
        server.stop()
    assert errors == []


def test_studio_in_a_browser(model_file, tmp_path):
    shots = screenshots(tmp_path)
    with studio(Path(os.environ.get("PORTRAITIST_STUDIO_WEIGHTS", model_file)), tmp_path) as (page, server):
        assert "ready" in page.inner_text("#card")
        page.select_option("select[name=gender]", "woman")
        page.fill("input[name=age]", "in her thirties")
        page.fill("input[name=hair_colour]", "blond")
        page.fill("input[name=expression]", "smiling")
        page.select_option("select[name=light_direction]", "from the left")
        page.fill("input[name=focal_length_mm]", "85")
        page.wait_for_function("document.getElementById('prompt').value.includes('blond hair')")
        prompt = page.input_value("#prompt")
        assert prompt.startswith("close-up portrait photo of a woman in her thirties with blond hair")
        page.wait_for_function("document.getElementById('coverage').innerText.includes('focal_length_mm')")
        page.check("#presets input[value=blurry]")
        page.fill("#n", "3")
        page.fill("#steps", "6")
        page.fill("#seed", "21")
        assert page.is_checked("#reroll")  # the built-in models re-roll failed faces by default
        page.check("#reroll")
        page.screenshot(path=str(shots / "studio-brief.png"))
        page.click("#generate")
        page.wait_for_function("document.querySelectorAll('#gallery .tile').length >= 3", timeout=120_000)
        page.wait_for_function(
            "document.getElementById('progress-text').innerText.startsWith('done')", timeout=120_000
        )
        tiles = page.locator("#gallery .tile")
        assert tiles.count() == 3
        assert page.locator("#gallery .badge", has_text="face").count() == 3  # QA badges on every face
        page.screenshot(path=str(shots / "studio-gallery.png"))
        tiles.nth(0).click()
        page.wait_for_selector("#detail:not([hidden])")
        assert '"seed"' in page.inner_text("#detail-settings") and "blurry" in page.inner_text(
            "#detail-settings"
        )
        before = page.get_attribute("#detail-image", "src")
        page.locator("#sliders input[name=age]").fill("1.5")
        page.wait_for_function(
            "document.getElementById('detail-image').src.startsWith('data:image/png')", timeout=60_000
        )
        assert page.get_attribute("#detail-image", "src") != before
        page.screenshot(path=str(shots / "studio-edit.png"))
        page.fill("#search", "no such prompt")
        page.wait_for_function("document.querySelectorAll('#gallery .tile').length === 0")


BROKEN_OR_OVERFLOWING = """() => {
  const visible = (el) => el.offsetParent !== null && getComputedStyle(el).visibility !== "hidden";
  const broken = [...document.images].filter((i) => visible(i) && (!i.complete || i.naturalWidth === 0)).map((i) => i.id || i.alt);
  return {broken, width: document.documentElement.scrollWidth, view: window.innerWidth,
          cancel: visible(document.getElementById("cancel")), preview: visible(document.getElementById("preview"))};
}"""


def test_the_studio_holds_on_a_phone_before_and_after_a_job_and_its_docs_work_offline(model_file, tmp_path):
    """No broken image, nothing wider than a 390 px screen, no Cancel without a job; /docs renders
    with no network (Swagger UI served by the studio) and /favicon.ico exists."""
    outside: list[str] = []

    def offline(page, server) -> None:
        page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(server.base)
                   else (outside.append(route.request.url), route.abort()))  # fmt: skip

    with studio(model_file, tmp_path, viewport=(390, 844), before=offline) as (page, server):
        # the style previews are rendered on demand: wait until the style list has put them on the
        # page (before that, "every image is complete" holds of none), then until each has loaded
        page.wait_for_selector("#styles .style img")
        page.wait_for_function("[...document.images].every((i) => i.complete)", timeout=600_000)
        before = page.evaluate(BROKEN_OR_OVERFLOWING)
        assert before["broken"] == [] and not before["cancel"] and not before["preview"], before
        assert before["width"] <= before["view"], before
        page.fill("#prompt", "portrait of a smiling woman")
        page.fill("#n", "1")
        page.fill("#steps", "2")
        page.click("#generate")
        page.wait_for_function("document.getElementById('progress-text').innerText.startsWith('done')",
                               timeout=600_000)  # a hang guard, not a speed test  # fmt: skip
        page.wait_for_selector("#gallery .tile img")
        page.wait_for_function("[...document.querySelectorAll('#gallery img')].every((i) => i.complete)")
        after = page.evaluate(BROKEN_OR_OVERFLOWING)
        assert after["broken"] == [] and not after["cancel"] and after["width"] <= after["view"], after
        page.goto(server.base + "/docs")
        page.wait_for_selector(".swagger-ui .opblock", timeout=120_000)
        assert page.locator(".opblock-summary-path", has_text="/api/jobs").count() >= 1
        assert outside == []  # nothing was fetched from beyond the studio
        assert page.request.get(server.base + "/favicon.ico").status == 200


def test_a_reference_face_and_a_series_in_the_studio(identity_model_file, tmp_path):
    """Upload a photo as the reference face, make a series of one person from it, then "use this
    face" on a gallery image; every image that comes back loads, and names its reference."""
    import numpy as np
    from PIL import Image

    shots = screenshots(tmp_path)
    photo = tmp_path / "me.png"
    Image.fromarray(np.load("tests/data/reference_faces.npz")["gan"][0]).resize((256, 256)).save(photo)
    with studio(identity_model_file, tmp_path) as (page, server):
        assert page.is_visible("#person") and page.is_visible("#reference-slot")
        page.set_input_files("#reference-file", str(photo))
        page.wait_for_selector("#reference-face:not([hidden])")
        page.wait_for_function(
            "document.getElementById('reference-face').naturalWidth === 128 || document.getElementById('error').innerText"
        )
        assert page.inner_text("#error") == ""
        assert page.inner_text("#reference-name") == "me.png"
        page.fill("#steps", "4")
        page.fill("#series", "smiling\nserious\nwearing glasses")
        page.screenshot(path=str(shots / "studio-reference.png"))
        page.click("#make-series")
        page.wait_for_selector("#series-view:not([hidden])", timeout=600_000)  # a hang guard only
        page.wait_for_function(
            "[...document.querySelectorAll('#series-strip img')].every((i) => i.complete && i.naturalWidth > 0)"
        )
        assert page.locator("#series-strip figure").count() == 3
        assert page.inner_text("#series-strip").split("\n") == ["smiling", "serious", "wearing glasses"]
        assert "reference: uploaded photo" in page.inner_text("#series-title")
        page.screenshot(path=str(shots / "studio-series.png"))
        # "use this face": a generated face becomes the reference of the next job
        page.locator("#gallery .tile").first.click()
        page.wait_for_selector("#use-face:not([hidden])")
        page.click("#use-face")
        assert page.inner_text("#reference-name").startswith("gallery image ")
        page.fill("#prompt", "portrait photo of an elderly person")
        page.fill("#n", "1")
        page.click("#generate")
        page.wait_for_function("document.querySelectorAll('#gallery .tile').length === 4", timeout=600_000)
        page.locator("#gallery .tile").first.click()
        page.wait_for_function(
            "document.getElementById('detail-settings').innerText.includes('gallery image')"
        )
        # a photo without a face: one clear line, no reference kept
        Image.new("RGB", (128, 128), "grey").save(tmp_path / "grey.png")
        page.set_input_files("#reference-file", str(tmp_path / "grey.png"))
        page.wait_for_function("document.getElementById('error').innerText.includes('no face found')")
        assert page.is_hidden("#reference-face")
        # a model without references hides the slot
        page.select_option("#model", "face-gan")
        assert page.is_hidden("#reference-slot") and page.is_visible("#person")


DROP_PNG = """async (url) => {
  const blob = await (await fetch(url)).blob();
  const data = new DataTransfer();
  data.items.add(new File([blob], "dropped.png", { type: "image/png" }));
  document.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
}"""


def test_the_creators_loops_in_the_studio(tmp_path):
    """Styles with rendered previews, variations of a gallery face, a comparison grid, a photo to
    start from, and a PNG dropped on the page restoring its settings; every image loads."""
    import numpy as np
    from PIL import Image

    from portraitist.pipelines.face_diffusion import WEIGHTS

    shots = screenshots(tmp_path)
    photo = tmp_path / "me.png"
    Image.fromarray(np.load("tests/data/reference_faces.npz")["gan"][1]).resize((200, 200)).save(photo)
    loaded = "(sel) => [...document.querySelectorAll(sel)].every((i) => i.complete && i.naturalWidth > 0)"
    with studio(WEIGHTS, tmp_path) as (page, server):
        page.wait_for_selector("#styles .style img")
        assert page.locator("#styles .style").count() >= 7  # "none" and the shipped styles
        page.wait_for_function(loaded, arg="#styles img", timeout=300_000)
        page.click("#styles .style[data-name=film-noir]")
        page.fill("#prompt", "portrait of a man")
        page.fill("#n", "2")
        page.fill("#steps", "4")
        page.screenshot(path=str(shots / "studio-styles.png"))
        page.click("#generate")
        page.wait_for_function(
            "document.getElementById('progress-text').innerText.startsWith('done')", timeout=600_000
        )
        page.wait_for_function("document.querySelectorAll('#gallery .tile').length === 2")
        page.locator("#gallery .tile").first.click()
        assert '"style": "film-noir"' in page.inner_text("#detail-settings")
        # variations of the selected face
        page.fill("#variation-strength", "0.3")
        page.click("#variations")
        page.wait_for_function("document.querySelectorAll('#gallery .tile').length === 6", timeout=600_000)
        page.wait_for_function(loaded, arg="#gallery img")
        page.locator("#gallery .tile").first.click()
        assert '"variation_strength": 0.3' in page.inner_text("#detail-settings")
        page.screenshot(path=str(shots / "studio-variations.png"))
        # a comparison grid
        page.click("#grid-panel summary")
        page.fill("#grid-x", "steps=2,6")
        page.fill("#grid-y", "model=face-diffusion,face-gan")
        page.click("#make-grid")
        page.wait_for_selector("#grid-sheet:not([hidden])", timeout=600_000)
        page.wait_for_function(loaded, arg="#grid-sheet")
        assert page.inner_text("#grid-notes").startswith(
            "2 of 4 cells made; marked n/a: face-gan does not take"
        )
        page.locator("#grid-panel").screenshot(path=str(shots / "studio-grid.png"))
        # a photo to start from
        page.set_input_files("#init-file", str(photo))
        page.wait_for_selector("#init-face:not([hidden])")
        page.fill("#strength", "0.4")
        page.check("#invert")  # keep the person: the photo inverted, not noised
        page.fill("#n", "1")
        before = page.locator("#gallery .tile").count()  # the grid's made cells joined the gallery
        page.click("#generate")
        page.wait_for_function(
            f"document.querySelectorAll('#gallery .tile').length === {before + 1}", timeout=600_000
        )
        page.locator("#gallery .tile").first.click()
        assert '"init_image": "me.png (sha256' in page.inner_text("#detail-settings")
        assert '"invert": true' in page.inner_text("#detail-settings")
        # drop a PNG made here: its settings come back into the form
        page.fill("#prompt", "something else")
        page.fill("#seed", "999")
        first = page.locator("#gallery .tile img").last.get_attribute("src")
        dropped = tmp_path / "dropped.png"
        dropped.write_bytes(urllib.request.urlopen(urljoin(server.base, first)).read())
        page.evaluate(DROP_PNG, first)
        page.wait_for_function("document.getElementById('status').innerText.startsWith('restored')")
        assert page.input_value("#prompt").startswith("portrait of a man")
        # the face's own seed (seed 0's, or the one a re-roll kept), and no re-roll to repeat it
        assert page.input_value("#seed") == str(read_settings(dropped)["seed"]) and not page.is_checked(
            "#reroll"
        )
        assert page.get_attribute("#styles .style[data-name=film-noir]", "aria-checked") == "true"
        page.screenshot(path=str(shots / "studio-drop.png"))
        # a PNG with no settings: one clear line
        page.evaluate(DROP_PNG, page.locator("#styles .style img").first.get_attribute("src"))
        page.wait_for_function(
            "document.getElementById('error').innerText.includes('carries no portraitist settings')"
        )
