"""Real HTTP and HTTPS servers on loopback for the live look, with a CA made by the test.

One `Site` serves a small local-government website whose behaviour the test switches at
run time (`site.variant = "defaced"`): clean, defaced, JavaScript-injected, cloaked by user
agent or by referer, redirecting mobile visitors, dynamic, with a new outside script, or
with gambling pages added to the sitemap. HTTPS servers use certificates from a CA the test
makes, valid or expired.
"""

from __future__ import annotations

import base64
import datetime as dt
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TITLE = "Pemerintah Kabupaten Contoh"
NEWS = ["Bupati meresmikan jembatan desa Sukamaju", "Jadwal pelayanan KTP elektronik",
        "Pengumuman seleksi perangkat desa", "Festival budaya daerah tahun ini",
        "Program vaksinasi di puskesmas kecamatan", "Perbaikan jalan kabupaten dimulai"]
SPAM = ("<div class='promo'><h2>SLOT GACOR HARI INI</h2><p>Situs judi online slot gacor "
        "maxwin, bandar togel terpercaya, RTP live tertinggi. Daftar slot online sekarang!"
        "</p><a href='https://slot-gacor.example/daftar'>daftar slot gacor</a></div>")
DEFACED = ("<html><head><title>Hacked by Cyber Team</title></head><body style='background:#000;"
           "color:#0f0'><h1>Hacked by Cyber Team</h1><p>Your security is low. Owned by "
           "Cyber Team. We were here.</p></body></html>")


def page(body: str, title: str = TITLE, extra_head: str = "") -> bytes:
    """A whole page of the sample site around `body`."""
    items = "".join(f"<li><a href='/berita/{n}'>{text}</a></li>" for n, text in enumerate(NEWS))
    return (f"<!DOCTYPE html><html lang='id'><head><meta charset='utf-8'><title>{title}</title>"
            f"<style>body{{font-family:sans-serif;margin:0}} header{{background:#0b4f8a;"
            f"color:white;padding:24px}} main{{padding:24px}} .tanggal{{color:#555}}</style>"
            f"<script src='/js/site.js'></script>{extra_head}</head><body>"
            f"<header><h1>{TITLE}</h1><p>Portal resmi pemerintah daerah</p></header>"
            f"<main>{body}<h2>Berita terbaru</h2><ul>{items}</ul>"
            "<p>Layanan publik: perizinan, kependudukan, kesehatan, pendidikan. Hubungi kami "
            "di kantor bupati, Jalan Merdeka 1, setiap hari kerja pukul 08.00 sampai 16.00."
            "</p><form action='/cari'><input name='q'></form></main></body></html>").encode()


CLEAN = page("<p>Selamat datang di portal resmi Kabupaten Contoh.</p>")
# the spam travels encoded, as injected scripts carry it: only a browser sees it
JS_INJECT = page("<p>Selamat datang di portal resmi Kabupaten Contoh.</p>",
                 extra_head="<script>document.addEventListener('DOMContentLoaded',()=>{"
                 "document.querySelector('main').insertAdjacentHTML('afterbegin',atob('"
                 + base64.b64encode(SPAM.encode()).decode() + "'))})</script>")
NEW_SCRIPT = page("<p>Selamat datang di portal resmi Kabupaten Contoh.</p>",
                  extra_head="<script src='https://cdn.jquery-stats.example/s.js'></script>")


@dataclass
class Hits:
    """What the server saw: user agents and referers, for the tests to check."""

    agents: list[str]
    referers: list[str]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, kind: str = "text/html; charset=utf-8",
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        # cacheable, as real sites are: a look that took a page from its cache would miss
        # what the server sends to another kind of visitor
        self.send_header("Cache-Control", "public, max-age=600")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        site = self.server.site
        agent = self.headers.get("User-Agent", "")
        referer = self.headers.get("Referer", "")
        site.hits.agents.append(agent)
        site.hits.referers.append(referer)
        variant = site.variant
        path = self.path.split("?")[0]
        if path == "/js/site.js":
            return self._send(200, b"window.siteReady = true;", "application/javascript")
        if path == "/robots.txt":
            rules = "User-agent: *\nDisallow: /admin/\nSitemap: {}/sitemap.xml\n".format(
                site.base.rstrip("/"))
            if variant == "sitemap-spam":
                rules += "Allow: /slot-gacor-maxwin/\n"
            return self._send(200, rules.encode(), "text/plain")
        if path == "/sitemap.xml":
            return self._send(200, (
                "<?xml version='1.0'?><sitemapindex xmlns='http://www.sitemaps.org/schemas/"
                f"sitemap/0.9'><sitemap><loc>{site.base}sitemap-pages.xml</loc></sitemap>"
                "</sitemapindex>").encode(), "application/xml")
        if path == "/sitemap-pages.xml":
            pages = [f"berita/{n}" for n in range(len(NEWS))]
            if variant == "sitemap-spam":
                pages += ["slot-gacor-maxwin/", "situs-togel-terpercaya/"]
            urls = "".join(f"<url><loc>{site.base}{p}</loc></url>" for p in pages)
            return self._send(200, ("<?xml version='1.0'?><urlset xmlns='http://www.sitemaps"
                                    f".org/schemas/sitemap/0.9'>{urls}</urlset>").encode(),
                              "application/xml")
        if path.startswith("/slot-gacor") or path.startswith("/situs-togel"):
            return self._send(200, page(SPAM, title="Slot Gacor Maxwin"))
        if path.startswith("/berita/"):
            n = path.rsplit("/", 1)[-1]
            if variant == "doorway" and n == "3":
                return self._send(200, page(SPAM * 3, title="Daftar Slot Gacor"))
            return self._send(200, page(f"<p>Berita nomor {n}.</p>"))
        if path == "/slow":  # a page that never comes (until the site stops)
            site.stopping.wait(30)
            return None
        if path == "/promo":
            return self._send(200, page(SPAM, title="Promo"))
        if path != "/":
            return self._send(404, b"not found", "text/plain")
        if variant == "clean":
            return self._send(200, CLEAN)
        if variant == "files" and site.docroot is not None:  # what the guarded files say
            return self._send(200, (site.docroot / "index.html").read_bytes())
        if variant == "defaced":
            return self._send(200, DEFACED.encode())
        if variant == "js":
            return self._send(200, JS_INJECT)
        if variant == "cloak-ua":
            body = page(SPAM) if "Googlebot" in agent else CLEAN
            return self._send(200, body)
        if variant == "cloak-referer":
            body = page(SPAM) if "google." in referer else CLEAN
            return self._send(200, body)
        if variant == "mobile-redirect":
            if "Mobile" in agent:
                return self._send(302, b"", headers={"Location": site.other + "promo"})
            return self._send(200, CLEAN)
        if variant == "dynamic":
            site.counter += 1
            stamp = dt.datetime.now().strftime("%H:%M:%S.%f")
            news = NEWS[site.counter % len(NEWS)]
            return self._send(200, page(
                f"<p class='tanggal'>Diperbarui {stamp} WIB</p>"
                f"<div id='berita-terbaru' style='height:120px;background:hsl("
                f"{site.counter * 67 % 360},70%,60%)'>{news} {site.counter}</div>"
                "<p>Selamat datang di portal resmi Kabupaten Contoh.</p>"))
        if variant == "new-script":
            return self._send(200, NEW_SCRIPT)
        if variant == "error":
            return self._send(500, b"<h1>Internal Server Error</h1>")
        return self._send(200, CLEAN)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    site: Site


class Site:
    """A running sample site: `base` is its address, `variant` what it serves now."""

    def __init__(self, tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> None:
        self.variant = "clean"
        self.docroot: Path | None = None  # served by the "files" variant
        self.counter = 0
        self.hits = Hits([], [])
        self.stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.site = self
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        port = self._server.server_address[1]
        scheme = "https" if tls else "http"
        self.base = f"{scheme}://{host}:{port}/"
        # the same server under another host name: where a cross-domain redirect lands
        self.other = f"{scheme}://{'localhost' if host == '127.0.0.1' else '127.0.0.1'}:{port}/"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)

    def start(self) -> Site:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@contextmanager
def serve(tls: ssl.SSLContext | None = None, host: str = "127.0.0.1") -> Iterator[Site]:
    """A sample site for the duration of the block."""
    site = Site(tls, host).start()
    try:
        yield site
    finally:
        site.stop()


@dataclass(frozen=True)
class Authority:
    """A CA made by the test, and how to make server certificates from it."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate
    pem: Path

    def server_context(self, folder: Path, name: str, days: tuple[int, int] = (-1, 90)
                       ) -> ssl.SSLContext:
        """A TLS server context with a certificate for 127.0.0.1 and localhost, valid from
        days[0] to days[1] relative to now (both negative: expired)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        from ipaddress import ip_address

        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
                .issuer_name(self.cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now + dt.timedelta(days=days[0]))
                .not_valid_after(now + dt.timedelta(days=days[1]))
                .add_extension(x509.SubjectAlternativeName(
                    [x509.IPAddress(ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                    critical=False)
                .sign(self.key, hashes.SHA256()))
        cert_file, key_file = folder / f"{name}.crt", folder / f"{name}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                               serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        return context


def make_authority(folder: Path) -> Authority:
    """A fresh CA; its certificate is written to folder/ca.pem."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "gitguard test CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                         crl_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .sign(key, hashes.SHA256()))
    pem = folder / "ca.pem"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return Authority(key, cert, pem)
