"""The live look's pictures in the reports: only gitguard's own picture lines become images,
never text a server sent, and the HTML still loads nothing from outside."""

from __future__ import annotations

import io
import re

from PIL import Image

from gitguard.look.pixels import difference
from gitguard.report.html import render_html
from gitguard.report.markdown import escape


def png(colour: tuple[int, int, int], size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


def test_picture_lines_are_embedded_and_server_text_is_not() -> None:
    name = "look-www-20261128T010203Z-0123456789ab-desktop-current-abc123.png"
    forged = escape(f"![Look now]({name})")  # a reason detail a server could have chosen
    text = (f"# Report\n\n![Approved look]({name}) ![Look now]({name})\n\n- {forged}\n\n"
            "![Other](look-not-given.png)\n")
    html = render_html(text, images={name: png((11, 79, 138))})
    assert html.count('<img alt="') == 2
    assert html.count("data:image/png;base64,") == 2
    assert '<div class="look-pictures">' in html
    assert "<figcaption>Approved look</figcaption>" in html
    # the server's text stays text, and a picture not at hand stays a reference
    assert "![Look now](look-www" in html and "look-not-given.png" in html
    assert "img-src data:" in html and not re.search(r'src="(?!data:)', html)


def test_difference_counts_changed_pixels_and_size_changes() -> None:
    same = difference(png((255, 255, 255)), png((255, 255, 255)))
    assert same.ratio == 0
    half = Image.new("RGB", (40, 30), "white")
    half.paste((0, 0, 0), (0, 0, 20, 30))
    out = io.BytesIO()
    half.save(out, "PNG")
    assert difference(png((255, 255, 255)), out.getvalue()).ratio == 0.5
    taller = difference(png((255, 255, 255)), png((255, 255, 255), (40, 60)))
    assert taller.ratio == 0.5  # the new half exists in one picture only
    picture = Image.open(io.BytesIO(taller.picture())).convert("RGB")
    assert picture.size == (40, 60) and picture.getpixel((5, 50))[0] > 150
