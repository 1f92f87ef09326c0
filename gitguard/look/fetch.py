"""Plain HTTP(S): the crawler's fetch, sitemaps and robots.txt, and the certificate check.

Everything the server sends is bounded (size, redirects, time) and only read, never believed:
the crawler's body is inspected, not trusted, so it is fetched whatever the certificate says;
the certificate is judged on its own by `certificate`.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from gitguard.look.model import Capture, Certificate, origin

TIMEOUT = 15.0
MAX_BODY = 4 << 20
MAX_REDIRECTS = 8
MAX_TEXT = 200_000
MAX_LINKS = 2000


class FetchError(Exception):
    """The address could not be fetched: a one-line reason."""


@dataclass(frozen=True)
class Response:
    """A fetched body, the addresses passed through, and the final status."""

    url: str
    redirects: tuple[str, ...]
    status: int
    body: bytes


def _unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def get(url: str, agent: str, referer: str | None = None, timeout: float = TIMEOUT,
        limit: int = MAX_BODY) -> Response:
    """GET with redirects followed by hand (each one recorded), at most `limit` bytes."""
    chain = [url]
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        parts = urlsplit(current)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(f"{current}: not an http(s) address")
        try:
            port = parts.port
        except ValueError:
            raise FetchError(f"{current}: bad port") from None
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.hostname, port, timeout=timeout,
                                               context=_unverified())
        else:
            conn = http.client.HTTPConnection(parts.hostname, port, timeout=timeout)
        headers = {"User-Agent": agent, "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
                   "Accept-Language": "id,en;q=0.8", "Accept-Encoding": "identity"}
        if referer:
            headers["Referer"] = referer
        try:
            conn.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                         headers=headers)
            response = conn.getresponse()
            location = response.getheader("Location")
            if response.status in (301, 302, 303, 307, 308) and location:
                current = urljoin(current, location.strip())
                chain.append(current)
                continue
            body = response.read(limit)
            return Response(current, tuple(chain), response.status, body)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise FetchError(f"{current}: {_reason(exc)}") from None
        finally:
            conn.close()
    raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


def unreachable(url: str, timeout: float = 10.0) -> str | None:
    """Why nothing answers at the URL's host and port (no connection at all), or None."""
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            return None
    except (OSError, ValueError) as exc:
        return _reason(exc)


class _Page(HTMLParser):
    """Title, text, links and the origins of scripts, frames and forms of a served page."""

    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.title = ""
        self.text: list[str] = []
        self.size = 0
        self.links: list[str] = []
        self.origins: set[str] = set()
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag in ("title", "script", "style"):
            self._in.append(tag)
        if tag == "a" and values.get("href") and len(self.links) < MAX_LINKS:
            self.links.append(urljoin(self.base, values["href"].strip()))
        source = {"script": "src", "iframe": "src", "form": "action"}.get(tag)
        if source and values.get(source):
            found = origin(urljoin(self.base, values[source].strip()))
            if found:
                self.origins.add(f"{tag} {found}")

    def handle_endtag(self, tag: str) -> None:
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        if self._in and self._in[-1] == "title":
            self.title += data
        elif not self._in and self.size < MAX_TEXT:
            self.text.append(data)
            self.size += len(data)


def crawl(url: str, view: str, agent: str) -> Capture:
    """The page as a crawler fetches it: no JavaScript, no picture."""
    try:
        response = get(url, agent)
    except FetchError as exc:
        return Capture(url=url, view=view, error=str(exc))
    page = _Page(response.url)
    try:
        page.feed(response.body.decode("utf-8", "replace"))
        page.close()
    except (AssertionError, ValueError):  # the parser gives up on some broken markup
        pass
    return Capture(url=url, view=view, final_url=response.url, redirects=response.redirects,
                   status=response.status, title=" ".join(page.title.split()),
                   text=" ".join(" ".join(page.text).split())[:MAX_TEXT],
                   links=tuple(page.links), origins=tuple(sorted(page.origins)),
                   html=response.body)


def certificate(host: str, port: int, ca_file: Path | None, timeout: float = TIMEOUT,
                when: datetime | None = None) -> Certificate:
    """Whether the host's certificate verifies (system CAs and ca_file) and its days left."""
    context = ssl.create_default_context()
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            return Certificate(host, False, None, f"ca_file {ca_file}: {_reason(exc)}")
    problem = ""
    try:
        der = _peer_certificate(host, port, context, timeout)
    except ssl.SSLCertVerificationError as exc:
        problem = exc.verify_message or _reason(exc)
        try:
            der = _peer_certificate(host, port, _unverified(), timeout)
        except (OSError, ssl.SSLError):
            return Certificate(host, False, None, problem)
    except (OSError, ssl.SSLError) as exc:
        return Certificate(host, False, None, f"TLS: {_reason(exc)}")
    from cryptography import x509  # already a dependency (paramiko); only for https URLs

    try:
        expires = x509.load_der_x509_certificate(der).not_valid_after_utc
    except ValueError as exc:
        return Certificate(host, False, None, f"unreadable certificate: {exc}")
    days = (expires - (when or datetime.now(UTC))).days
    return Certificate(host, not problem, days, problem)


def _peer_certificate(host: str, port: int, context: ssl.SSLContext, timeout: float) -> bytes:
    with (socket.create_connection((host, port), timeout=timeout) as sock,
          context.wrap_socket(sock, server_hostname=host) as tls):
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("no certificate")
    return der
