"""Markdown reports -> one self-contained, print-ready HTML document.

The builders escape everything that comes from a server, but python-markdown would pass raw
HTML through if one were missed: the converter here therefore also refuses raw HTML, links
and images, so no report can run script or load anything from outside.
"""

from __future__ import annotations

import base64
import html
import re
import secrets
from collections.abc import Mapping
from importlib.resources import files

import markdown

from gitguard import __version__
from gitguard.model import Status

EXTENSIONS = ["tables", "fenced_code", "sane_lists"]
# Inline patterns that could turn report text into markup, a link or a remote resource.
_REFUSED_INLINE = ("html", "link", "image_link", "image_reference", "reference",
                   "short_reference", "short_image_ref", "autolink", "automail")
_DIFF_BLOCK = re.compile(r'<pre><code class="language-diff">(.*?)</code></pre>', re.S)
_DIFF_CLASSES = (("+++", "diff-file"), ("---", "diff-file"), ("+", "diff-add"),
                 ("-", "diff-del"), ("@@", "diff-hunk"), ("\\", "diff-note"))
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
# A line of the live look's picture references, as markdown._look_pictures writes them
# (server text is escaped by the builders, so it never forms one).
_PICTURE_LINE = re.compile(r"^(?:!\[[^\[\]\n]*\]\(look-[A-Za-z0-9._-]+\.png\) ?)+$", re.M)
PICTURE_REF = re.compile(r"!\[([^\[\]\n]*)\]\((look-[A-Za-z0-9._-]+\.png)\)")
_INLINE_CODE = re.compile(r"(?<!<pre>)<code>([^<]*)</code>")
_CHARACTER = re.compile(r"&[#A-Za-z0-9]+;|.", re.S)
_RUN = 24  # longest stretch of a path or hash printed without a place to wrap


def stylesheet() -> str:
    """The report stylesheet (A4, print-ready), as shipped with the package."""
    return files("gitguard.report").joinpath("report.css").read_text(encoding="utf-8")


def _converter() -> markdown.Markdown:
    md = markdown.Markdown(extensions=EXTENSIONS, output_format="html")
    md.preprocessors.deregister("html_block")
    for name in _REFUSED_INLINE:
        md.inlinePatterns.deregister(name)
    # Lets the builders write \< for a literal '<', as CommonMark renderers read it too.
    md.ESCAPED_CHARS = [*md.ESCAPED_CHARS, "<"]
    return md


def _diff_line(line: str) -> str:
    css = next((c for prefix, c in _DIFF_CLASSES if line.startswith(prefix)), "diff-ctx")
    return f'<span class="{css}">{line or " "}</span>'


def _colour_diff(match: re.Match[str]) -> str:
    """One span per line of an (already escaped) diff block, so CSS can colour + and -."""
    lines = match.group(1).rstrip("\n").split("\n")
    return '<pre class="diff"><code>' + "".join(_diff_line(x) for x in lines) + "</code></pre>"


def _soft_breaks(match: re.Match[str]) -> str:
    """Wrap opportunities in an (already escaped) code span: after each '/', and in long runs."""
    out: list[str] = []
    run = 0
    for char in _CHARACTER.findall(match.group(1)):
        out.append(char)
        run += 1
        if char == "/" or run >= _RUN:
            out.append("<wbr>")
            run = 0
    return "<code>" + "".join(out) + "</code>"


def _title(markdown_text: str) -> str:
    for line in markdown_text.splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    return "gitguard"


def _embed_pictures(markdown_text: str, images: Mapping[str, bytes]) -> tuple[str, dict[str, str]]:
    """Picture lines replaced by placeholders, and the HTML of each placeholder: the PNGs
    kept beside the report, embedded (the page loads nothing)."""
    nonce = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(16))
    blocks: dict[str, str] = {}

    def figure(alt: str, name: str) -> str:
        data = base64.b64encode(images[name]).decode("ascii")
        return (f'<figure><img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'
                f"<figcaption>{html.escape(alt)}</figcaption></figure>")

    def replace(match: re.Match[str]) -> str:
        refs = PICTURE_REF.findall(match.group(0))
        if not all(name in images for _, name in refs):
            return match.group(0)  # a picture not at hand stays a reference
        token = f"gitguardpictures{nonce}{len(blocks)}"
        blocks[token] = ('<div class="look-pictures">'
                         + "".join(figure(alt, name) for alt, name in refs) + "</div>")
        return token

    return _PICTURE_LINE.sub(replace, markdown_text), blocks


def render_html(markdown_text: str, *, lang: str = "id", status: Status | None = None,
                images: Mapping[str, bytes] | None = None) -> str:
    """A complete HTML document for a Markdown report, with the stylesheet embedded.

    `status` marks the page (class status-ok, status-critical ...) so the overall state
    shows at a glance; `images` are the pictures the report refers to, by file name.
    """
    markdown_text, blocks = _embed_pictures(markdown_text, images or {})
    body = _converter().convert(markdown_text)
    for token, block in blocks.items():
        body = body.replace(f"<p>{token}</p>", block)
    body = _DIFF_BLOCK.sub(_colour_diff, _INLINE_CODE.sub(_soft_breaks, body))
    marker = f' class="status-{status.value}"' if status is not None else ""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{html.escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="gitguard {__version__}">\n'
        f"<title>{html.escape(_title(markdown_text))}</title>\n"
        f"<style>\n{stylesheet()}</style>\n</head>\n"
        f'<body{marker}>\n<main class="report">\n{body}\n</main>\n</body>\n</html>\n'
    )
