"""Debian's Chromium driven by Playwright: one browser per run, pages in turn, hard timeouts.

Nothing downloads a browser: Playwright starts /usr/bin/chromium. The machine running a
look may have no way out to the internet, and Chromium's background traffic (updates,
sync, QUIC probes) would make it wait, so all of that is switched off. A watchdog kills
the browser's process tree when a run goes over its time, whatever the page does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import tempfile
import threading
import time
from collections.abc import Awaitable, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from gitguard.errors import SourceError
from gitguard.look.fetch import MAX_LINKS, MAX_TEXT
from gitguard.look.model import Capture, View, origin

if TYPE_CHECKING:
    from playwright.async_api import Browser as PwBrowser
    from playwright.async_api import BrowserContext, Page, Playwright, Request, ViewportSize

T = TypeVar("T")  # what an awaited Playwright call gives

log = logging.getLogger(__name__)

CHROMIUM = Path(os.environ.get("GITGUARD_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-default-apps",
        "--disable-extensions", "--hide-scrollbars", "--mute-audio",
        "--disable-dev-shm-usage", "--no-default-browser-check",
        # memory: the compositor inside the browser process, not a GPU process of its own
        "--in-process-gpu", "--disable-features=Translate,MediaRouter,OptimizationHints,"
        "BackForwardCache,SpareRendererForSitePerProcess"]
# Playwright's driver (node) needs no more heap than this; its default is sized for tests
DRIVER_NODE_OPTIONS = "--max-old-space-size=64 --max-semi-space-size=1"
PAGE_TIMEOUT = 15.0  # seconds for a page to load
SETTLE = 1.5  # at most this long for scripts to finish changing the page after load
QUIET = 0.15  # the network quiet this long after load: the page is taken as finished
MAX_HEIGHT = 6000  # pixels of a full-page picture; a longer page is cut there
DESKTOP_SIZE: ViewportSize = {"width": 1280, "height": 800}
MOBILE_SIZE: ViewportSize = {"width": 412, "height": 915}

# The visible text with the ignored parts hidden, the links, and the form targets.
_READ_PAGE = """(limit) => {
  const links = Array.from(document.querySelectorAll('a[href]'), a => a.href).slice(0, limit);
  const forms = Array.from(document.forms, f => f.action);
  const body = document.body;
  return {text: body ? body.innerText : '', links: links, forms: forms,
          height: Math.max(body ? body.scrollHeight : 0,
                           document.documentElement.scrollHeight)};
}"""


class Browser:
    """One Chromium for one run; `capture` renders a URL in a view, `capture_all` many.

    Playwright's asyncio API underneath, on a loop of its own. Views that differ only in
    their request (desktop and from-search) share a browser context and its page, the
    mobile view has its own; a page's renderer is kept from URL to URL (starting one costs
    more CPU than rendering a page), and a kind's context is closed before the next one
    opens (two renderers alive cost more memory than they save time on two cores).
    Cookies are cleared and the cache is off for every capture, so each view arrives as a
    first-time visitor and reaches the server.
    """

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline  # seconds for the whole run, after which it is killed
        self._loop = asyncio.new_event_loop()
        # after a kill, Playwright's own futures fail with "connection closed": expected
        self._loop.set_exception_handler(
            lambda _loop, context: log.debug("browser loop: %s", context.get("message")))
        self._pw: Playwright | None = None
        self._browser: PwBrowser | None = None
        self._contexts: dict[str, BrowserContext] = {}
        self._tabs: dict[str, _Tab] = {}
        self._profile: tempfile.TemporaryDirectory[str] | None = None
        self._children: set[int] = set()
        self._timer: threading.Timer | None = None
        self.killed = False

    def _run(self, work: Awaitable[T]) -> T:
        return self._loop.run_until_complete(work)

    def __enter__(self) -> Browser:
        if not os.access(CHROMIUM, os.X_OK):
            raise SourceError(f"the live look needs Chromium at {CHROMIUM} "
                              "(apt-get install chromium)")
        from playwright.async_api import Error, async_playwright  # only when there are URLs

        before = _children(os.getpid())
        self._timer = threading.Timer(self.deadline, self._kill)
        self._timer.daemon = True
        self._timer.start()
        self._profile = tempfile.TemporaryDirectory(prefix="gitguard-chromium-")
        args = list(ARGS)
        if os.geteuid() == 0:  # Chromium refuses to run its sandbox as root
            args.append("--no-sandbox")
        try:
            saved = os.environ.get("NODE_OPTIONS")
            os.environ["NODE_OPTIONS"] = saved or DRIVER_NODE_OPTIONS
            try:
                self._pw = self._run(async_playwright().start())
            finally:
                if saved is None:
                    del os.environ["NODE_OPTIONS"]
            self._children = _children(os.getpid()) - before
            self._browser = self._run(self._pw.chromium.launch(
                executable_path=str(CHROMIUM), args=args, timeout=PAGE_TIMEOUT * 1000,
                chromium_sandbox=False, env={**os.environ, "HOME": self._profile.name}))
        except Error as exc:
            self.__exit__(None, None, None)
            raise SourceError(f"Chromium did not start: {_first_line(exc)}") from None
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if not self.killed:
                for context in self._contexts.values():
                    self._run(_quietly(context.close()))
                if self._browser is not None:
                    self._run(_quietly(self._browser.close()))
            if self._pw is not None:
                self._run(_quietly(self._pw.stop()))
        finally:
            if self._timer is not None:
                self._timer.cancel()
            self._kill_tree()  # whatever did not close in time
            self._loop.close()
            if self._profile is not None:
                self._profile.cleanup()

    def _kill(self) -> None:
        log.warning("the live look went over %.0f s: killing the browser", self.deadline)
        self.killed = True
        self._kill_tree()

    def _kill_tree(self) -> None:
        """SIGKILL the processes this browser started (the driver and its descendants)."""
        for pid in sorted(_descendants(self._children), reverse=True):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)

    async def _tab(self, view: View) -> tuple[BrowserContext, _Tab]:
        """The context and the page kept for a view's kind (desktop or mobile)."""
        assert self._browser is not None
        kind = _kind(view)
        if kind not in self._contexts:
            size = MOBILE_SIZE if view.mobile else DESKTOP_SIZE
            context = await self._browser.new_context(
                user_agent=view.user_agent, viewport=size, screen={**size},
                is_mobile=view.mobile, has_touch=view.mobile, device_scale_factor=1,
                ignore_https_errors=True, locale="id-ID", timezone_id="Asia/Jakarta",
                service_workers="block", accept_downloads=False, reduced_motion="reduce")
            context.set_default_timeout(PAGE_TIMEOUT * 1000)
            self._contexts[kind] = context
        context = self._contexts[kind]
        if kind not in self._tabs:
            page = await context.new_page()
            # every view must reach the server: a page the desktop view left in the cache
            # would hide what the server sends a visitor from a search
            session = await context.new_cdp_session(page)
            await session.send("Network.enable")
            await session.send("Network.setCacheDisabled", {"cacheDisabled": True})
            self._tabs[kind] = _Tab(page)
        return context, self._tabs[kind]

    def capture(self, url: str, view: View, ignore: Sequence[str] = ()) -> Capture:
        """Render the URL as this view: redirects, status, text, links, origins, picture;
        the parts matching the `ignore` CSS selectors hidden from the text and masked in
        the picture."""
        return self._run(self._capture(url, view, tuple(ignore)))

    def capture_all(self, jobs: Sequence[tuple[str, View, Sequence[str]]]) -> list[Capture]:
        """Every (url, view, ignore) job, a kind of view at a time: its context is closed
        before the next kind's opens, so one renderer at most is alive."""
        done: dict[int, Capture] = {}
        kinds: dict[str, list[int]] = {}
        for n, (_url, view, _ignore) in enumerate(jobs):
            kinds.setdefault(_kind(view), []).append(n)

        async def every() -> None:
            for kind, numbers in kinds.items():
                for n in numbers:
                    url, view, ignore = jobs[n]
                    done[n] = await self._capture(url, view, tuple(ignore))
                self._tabs.pop(kind, None)
                context = self._contexts.pop(kind, None)
                if context is not None and not self.killed:
                    await _quietly(context.close())

        self._run(every())
        return [done[n] for n in range(len(jobs))]

    async def _capture(self, url: str, view: View, ignore: tuple[str, ...]) -> Capture:
        from playwright.async_api import Error

        if self.killed:
            return Capture(url=url, view=view.name, error="the browser was killed (timeout)")
        started = time.monotonic()
        tab: _Tab | None = None
        try:
            context, tab = await self._tab(view)
            await context.clear_cookies()
            tab.reset()
            page = tab.page
            response = await page.goto(url, referer=view.referer, wait_until="load",
                                       timeout=PAGE_TIMEOUT * 1000)
            await tab.settle()
            chain: list[str] = []
            request = response.request if response is not None else None
            while request is not None:
                chain.append(request.url)
                request = request.redirected_from
            chain.reverse()
            if page.url not in chain[-1:]:
                chain.append(page.url)  # moved on by a script or a meta refresh
            if ignore:
                await page.add_style_tag(content=",".join(ignore)
                                         + "{visibility:hidden !important}")
            data: dict[str, Any] = await page.evaluate(_READ_PAGE, MAX_LINKS)
            forms = [f"form {o}" for o in (origin(a) for a in data["forms"]) if o]
            shot = None
            if view.screenshot:
                height = min(int(data["height"] or 0), MAX_HEIGHT)
                size = MOBILE_SIZE if view.mobile else DESKTOP_SIZE
                shot = await page.screenshot(
                    full_page=True, animations="disabled", caret="hide", type="png",
                    clip={"x": 0, "y": 0, "width": size["width"],
                          "height": max(height, size["height"])},
                    mask=[page.locator(s) for s in ignore],
                    mask_color="#9e9e9e")
            return Capture(
                url=url, view=view.name, final_url=page.url, redirects=tuple(chain),
                status=response.status if response is not None else None,
                title=" ".join((await page.title()).split()), text=_text(data["text"]),
                links=tuple(data["links"]), origins=tuple(sorted(set(tab.loaded + forms))),
                html=(await page.content()).encode("utf-8", "replace"), screenshot=shot)
        except Error as exc:
            if tab is not None and not self.killed:  # a fresh page for the next URL
                self._tabs.pop(_kind(view), None)
                await _quietly(tab.page.close())
            why = "the browser was killed (timeout)" if self.killed else _first_line(exc)
            return Capture(url=url, view=view.name, error=why)
        finally:
            log.debug("%s as %s: %.2f s", url, view.name, time.monotonic() - started)


class _Tab:
    """A page kept open for one view, and what its network log saw since the last reset."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.loaded: list[str] = []
        self.pending = 0
        self.quiet_since = time.monotonic()
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def reset(self) -> None:
        self.loaded = []
        self.pending = 0

    def _started(self, request: Request) -> None:
        self.pending += 1
        if request.resource_type == "script":
            self.loaded.append(f"script {origin(request.url) or request.url[:100]}")
        elif request.resource_type == "document" and request.frame.parent_frame is not None:
            self.loaded.append(f"iframe {origin(request.url) or request.url[:100]}")

    def _ended(self, request: Request) -> None:
        self.pending = max(0, self.pending - 1)
        self.quiet_since = time.monotonic()

    async def settle(self) -> None:
        """Wait, at most SETTLE seconds, until the network has been quiet for QUIET: what
        scripts add to the page after load is then in it."""
        end = time.monotonic() + SETTLE
        while time.monotonic() < end:
            if self.pending == 0 and time.monotonic() - self.quiet_since >= QUIET:
                return
            await asyncio.sleep(0.04)


def _text(raw: object) -> str:
    text = raw if isinstance(raw, str) else ""
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())[
        :MAX_TEXT]


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    # Playwright puts "Page.goto: net::ERR_... at URL" first and a call log after it
    return (lines[0] if lines else type(exc).__name__)[:200]


def _kind(view: View) -> str:
    """Views of one kind share a context: the same screen, told apart by their requests."""
    return "mobile" if view.mobile else "desktop"


async def _quietly(work: Awaitable[Any]) -> None:
    """Await a close, at most 10 s; after a kill or a crash there is nothing left to close."""
    try:
        await asyncio.wait_for(work, 10)
    except Exception:
        log.debug("close failed", exc_info=True)


def _parents() -> dict[int, int]:
    """pid -> parent pid of every process visible in /proc."""
    found: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{name}/stat").read_text()
        except OSError:
            continue
        # the command name (in parentheses) may hold spaces: the fields follow its last ')'
        fields = stat.rpartition(")")[2].split()
        if len(fields) > 1:
            found[int(name)] = int(fields[1])
    return found


def _children(pid: int) -> set[int]:
    return {child for child, parent in _parents().items() if parent == pid}


def _descendants(roots: set[int]) -> set[int]:
    parents = _parents()
    found = {r for r in roots if r in parents}
    grew = True
    while grew:
        more = {child for child, parent in parents.items() if parent in found} - found
        found |= more
        grew = bool(more)
    return found
