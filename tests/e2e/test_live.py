"""The live look: a real HTTP server on loopback serves the site as visitors see it."""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from helpers import gitguard, make_key, write_config

SPAM = ("<html><body><h1>SLOT GACOR HARI INI</h1><p>Situs judi online slot gacor maxwin, "
        "bandar togel terpercaya, RTP live tertinggi. Daftar slot online sekarang!</p>"
        "<a href='https://slot-gacor.example/'>slot gacor</a></body></html>")


class Cloaking(SimpleHTTPRequestHandler):
    """Serves the docroot, but gambling spam to Googlebot (as hacked sites do)."""

    def do_GET(self) -> None:
        if "Googlebot" in self.headers.get("User-Agent", ""):
            body = SPAM.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(docroot: Path, handler: type[SimpleHTTPRequestHandler]) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(handler, directory=str(docroot)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def docroot(tmp_path: Path) -> Path:
    root = tmp_path / "htdocs"
    root.mkdir()
    (root / "index.html").write_text("<html><body><h1>Pemerintah Kabupaten Contoh</h1>"
                                     "<p>Selamat datang.</p></body></html>\n")
    return root


def guard(tmp_path: Path, docroot: Path, url: str) -> Path:
    key, public = make_key(tmp_path, "rina")
    config = write_config(tmp_path, {"www": {"source": str(docroot), "urls": [url]}},
                          {"rina": {"name": "Rina", "role": "kasubbag", "signing_key": public}})
    assert gitguard("init", config=config).returncode == 0
    gitguard("mirror", config=config)
    assert gitguard("approve", "www", "-m", "awal", "--key", str(key),
                    config=config).returncode == 0
    return config


def check(config: Path) -> tuple[int, dict[str, Any]]:
    proc = gitguard("check", "--json", config=config)
    assert "Traceback" not in proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_clean_live_site_is_ok_and_a_defacement_shows(tmp_path: Path, docroot: Path) -> None:
    for url in serve(docroot, Quiet):
        config = guard(tmp_path, docroot, url)
        code, result = check(config)
        assert (code, result["live"]) == (0, [])
        (docroot / "index.html").write_text("<title>Hacked by Anonymous</title>\n")
        code, result = check(config)
        assert code == 2
        assert "defacement_text" in [r["code"] for r in result["live"]]
        assert gitguard("restore", "www", "--yes", config=config).returncode == 0
        proc = gitguard("verify", "www", config=config)
        assert proc.returncode == 0, proc.stdout


def test_cloaking_for_search_engines_is_critical(tmp_path: Path, docroot: Path) -> None:
    """The files look clean (the spam comes from elsewhere): only the live look sees it."""
    for url in serve(docroot, Cloaking):
        config = guard(tmp_path, docroot, url)
        code, result = check(config)
        assert code == 2
        assert result["findings"] == []
        cloaking = [r for r in result["live"] if r["code"] == "live_cloaking"]
        assert cloaking and "gambling_spam" in cloaking[0]["reason"]


def test_unreachable_site_is_a_warning(tmp_path: Path, docroot: Path) -> None:
    urls = list(serve(docroot, Quiet))  # served, then shut down: nothing listens there now
    config = guard(tmp_path, docroot, urls[0])
    code, result = check(config)
    assert code == 1
    assert [r["code"] for r in result["live"]] == ["live_unreachable"]
