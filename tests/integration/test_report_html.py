"""HTML reports: nothing from a server becomes live HTML, and Chromium renders a real page."""

from __future__ import annotations

import struct
import subprocess
import zlib
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

from gitguard.config import Config, validate
from gitguard.model import (
    AuditResult,
    Baseline,
    Change,
    Finding,
    Reason,
    Severity,
    Signer,
    Snapshot,
    Status,
)
from gitguard.report.html import render_html, stylesheet
from gitguard.report.markdown import state_report

CHROMIUM = Path("/usr/bin/chromium")
NOW = datetime(2026, 11, 28, 0, 15, tzinfo=UTC)
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "p",
                "table", "thead", "tbody", "tr", "th", "td", "code", "pre", "span", "ul", "ol",
                "li", "strong", "em", "wbr"}
ALLOWED_ATTRIBUTES = {"lang", "charset", "http-equiv", "content", "name", "class", "style"}
DIFF = """--- a/index.php
+++ b/index.php
@@ -1,3 +1,5 @@
 <?php
-/* Beranda Pemerintah Kabupaten Contoh */
+/* Hacked by Anonymous */
+echo '<script>alert(1)</script><img src=x onerror=alert(2)>';
+?><iframe src="https://evil.example/"></iframe>
 require __DIR__ . '/wp-blog-header.php';"""


class _Tags(HTMLParser):
    """Every element and attribute the browser would build."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes |= {name for name, _ in attrs}
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def config() -> Config:
    return validate({
        "gitguard": {"language": "id"},
        "people": {
            "ahmad": {"name": "Drs. H. Ahmad Fauzi, M.Si.", "role": "kabag"},
            "rina": {"name": "Rina Wulandari, S.Kom.", "role": "kasubbag"},
            "budi": {"name": "Budi <b>Santoso</b>", "role": "staf"},
        },
        "sites": {"www": {"source": "/srv/www", "urls": ["https://www.example.go.id/"]}},
    }, Path("/etc/gitguard/gitguard.toml"))


def hostile_audit() -> AuditResult:
    """Hostile content everywhere a server or a journal can put text."""
    return AuditResult(
        site="www", status=Status.CRITICAL,
        snapshot=Snapshot("5" * 40, NOW, "s"),
        baseline=Baseline("9" * 40, Signer("rina", "Rina <script>x</script>", "kasubbag", "f"),
                          NOW, "<img src=https://evil.example/p.png>"),
        findings=(
            Finding("index.php", Change.MODIFIED, Severity.CRITICAL,
                    (Reason("defacement", "<script>alert(3)</script>"),), "a" * 40, "b" * 40,
                    diff=DIFF),
            Finding("wp-content/uploads/<script>alert(4)</script>.php", Change.ADDED,
                    Severity.CRITICAL, (Reason("x", "[click](javascript:alert(5))"),),
                    diff="+<?php system($_GET['c']); ?>\n+</code></pre><script>alert(6)</script>"),
            Finding("<img src=x onerror=alert(7)>|`x`.html", Change.ADDED, Severity.WARNING,
                    (Reason("y", "<https://evil.example/>"),)),
            Finding("images/banner.jpg", Change.MODIFIED, Severity.WARNING, size=54321,
                    old_blob="1" * 40, new_blob="2" * 40),
        ),
        problems=(Reason("p", "<style>body{display:none}</style>"),),
        live=(Reason("live", "![x](https://evil.example/t.gif)"),),
    )


def test_nothing_from_the_server_becomes_html() -> None:
    page = render_html(state_report(hostile_audit(), config(), NOW), lang="id",
                       status=Status.CRITICAL)
    parser = _Tags()
    parser.feed(page)
    assert parser.tags <= ALLOWED_TAGS, parser.tags - ALLOWED_TAGS
    assert parser.attributes <= ALLOWED_ATTRIBUTES, parser.attributes - ALLOWED_ATTRIBUTES
    assert "<script" not in page and "<img" not in page and "<iframe" not in page
    assert "javascript:" not in page.replace("[click](javascript:alert(5))", "")
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in page
    assert "&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;alert(6)&lt;/script&gt;" in page
    assert "Budi &lt;b&gt;Santoso&lt;/b&gt;" in page
    assert len(parser.styles) == 1  # only the report's own stylesheet


def test_the_document_is_self_contained_and_coloured() -> None:
    page = render_html(state_report(hostile_audit(), config(), NOW), status=Status.CRITICAL)
    assert page.startswith("<!DOCTYPE html>")
    assert '<html lang="id">' in page
    assert "<title>LAPORAN KEADAAN DAN KERUSAKAN WEBSITE</title>" in page
    assert '<body class="status-critical">' in page
    assert "default-src 'none'" in page
    css = stylesheet()
    assert css in page
    assert "size: A4" in css and "@page" in css
    assert "url(" not in css and "@import" not in css and "http" not in css
    assert '<span class="diff-add">+/* Hacked by Anonymous */</span>' in page
    assert '<span class="diff-del">-/* Beranda Pemerintah Kabupaten Contoh */</span>' in page
    assert '<span class="diff-hunk">@@ -1,3 +1,5 @@</span>' in page


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the unfiltered rows of an 8-bit RGB or RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = chunk
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    step = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * step
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - step] if x >= step else 0
            up = previous[x]
            corner = previous[x - step] if x >= step else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                best = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + best) & 0xFF
        rows.append(bytes(line) if step == 3 else
                    b"".join(bytes(line[i:i + 3]) for i in range(0, stride, 4)))
        previous = line
    return width, height, rows


def test_chromium_renders_the_report(tmp_path: Path) -> None:
    assert CHROMIUM.exists(), "Debian's chromium is required: apt-get install chromium"
    page = tmp_path / "laporan.html"
    page.write_text(render_html(state_report(hostile_audit(), config(), NOW),
                                status=Status.CRITICAL), encoding="utf-8")
    shot = tmp_path / "laporan.png"
    result = subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         f"--screenshot={shot}", "--window-size=1240,1754", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False)
    assert shot.exists(), result.stderr[-2000:]
    width, height, rows = _png_pixels(shot.read_bytes())
    assert (width, height) == (1240, 1754)
    colours = {row[x:x + 3] for row in rows[::7] for x in range(0, len(row), 21)}
    assert len(colours) > 20, "the page looks blank"
    # The critical status bar across the top of the page: #b42318.
    top = {rows[y][x:x + 3] for y in range(20, 40) for x in range(600 * 3, 640 * 3, 3)}
    assert bytes.fromhex("b42318") in top, top
    # Added and removed lines of the diff are coloured (#e6f4ea and #fdeceb backgrounds).
    everything = {row[x:x + 3] for row in rows for x in range(0, len(row), 3)}
    assert bytes.fromhex("e6f4ea") in everything
    assert bytes.fromhex("fdeceb") in everything
