"""The live look's engine against real HTTP(S) servers on loopback and Debian's Chromium.

One browser and one sample site serve the whole module; each test switches what the site
serves (clean, defaced, script-injected, cloaked, redirecting, dynamic ...) and compares the
look with one taken of the clean site, as `check` compares with the approval's look.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from webservers import Site, make_authority, serve

from gitguard.look.browser import Browser
from gitguard.look.compare import Outcome, compare, severity, text_changed
from gitguard.look.fetch import certificate, crawl
from gitguard.look.model import VIEWS, Capture, Look
from gitguard.look.settings import LookSettings, Rules
from gitguard.look.sitemap import robots, sitemap
from gitguard.model import Severity
from gitguard.store.baseline import from_files, to_files

# where the pictures are kept for a person to open (GITGUARD_LOOK_SHOTS=folder), else a
# temporary folder
SHOTS = Path(os.environ.get("GITGUARD_LOOK_SHOTS") or tempfile.mkdtemp(prefix="look-shots-"))


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with serve() as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser(deadline=240) as running:
        yield running


DEFAULTS = LookSettings()


def take(browser: Browser, site: Site, settings: LookSettings = DEFAULTS,
         url: str | None = None) -> Look:
    """Every view of one URL, the sitemap and robots.txt, as actions/look.take does."""
    url = url or site.base
    ignore = settings.for_url(url).ignore_selectors
    captures = browser.capture_all([(url, v, ignore) for v in VIEWS if v.rendered])
    captures += [crawl(url, v.name, v.user_agent) for v in VIEWS if not v.rendered]
    rules, named = robots(site.base)
    return Look(taken=datetime.now(UTC), captures=tuple(captures),
                sitemap=tuple(sitemap(site.base, named)), robots=tuple(rules))


@pytest.fixture(scope="module")
def approved(browser: Browser, site: Site) -> Look:
    site.variant = "clean"
    return take(browser, site)


def codes(outcome: Outcome) -> set[str]:
    return {r.code for r in outcome.reasons}


def keep(look: Look, name: str) -> None:
    """Write the look's pictures where a person can open them."""
    SHOTS.mkdir(exist_ok=True)
    for cap in look.captures:
        if cap.screenshot:
            (SHOTS / f"{name}-{cap.view}.png").write_bytes(cap.screenshot)


def look_as(browser: Browser, site: Site, variant: str,
            settings: LookSettings = DEFAULTS) -> Look:
    site.variant = variant
    try:
        return take(browser, site, settings)
    finally:
        site.variant = "clean"


def test_clean_site_every_view_is_rendered_and_pictured(browser: Browser, site: Site,
                                                        approved: Look) -> None:
    desktop = approved.capture(site.base, "desktop")
    mobile = approved.capture(site.base, "mobile")
    bot = approved.capture(site.base, "googlebot")
    assert desktop is not None and mobile is not None and bot is not None
    assert (desktop.status, desktop.title, desktop.final_url) == (
        200, "Pemerintah Kabupaten Contoh", site.base)
    assert "Selamat datang" in desktop.text and "Berita terbaru" in desktop.text
    assert f"{site.base}berita/0" in desktop.links
    assert "script " + site.base.rstrip("/") in desktop.origins
    # real pictures: a desktop page is 1280 wide, the phone's 412, with the header's blue
    for cap, width in ((desktop, 1280), (mobile, 412)):
        assert cap.screenshot is not None
        image = Image.open(io.BytesIO(cap.screenshot))
        assert image.format == "PNG" and image.width == width and image.height >= 800
        assert image.convert("RGB").getpixel((5, 5)) == (11, 79, 138)
    assert bot.screenshot is None and bot.title == desktop.title
    keep(approved, "clean")
    # the same clean site again: nothing to report
    again = take(browser, site)
    outcome = compare(again, approved, [site.base], LookSettings())
    assert outcome.reasons == ()
    assert all(s.ratio is not None and s.ratio < 0.01 for s in outcome.shots)
    assert not outcome.down


def test_defaced_page_is_critical_with_the_picture_difference(browser: Browser, site: Site,
                                                             approved: Look) -> None:
    now = look_as(browser, site, "defaced")
    keep(now, "defaced")
    outcome = compare(now, approved, [site.base], LookSettings())
    assert {"defacement_text", "look_title", "look_text", "look_pixels"} <= codes(outcome)
    assert "look_cloaking" not in codes(outcome)  # every view got the same defacement
    desktop = next(s for s in outcome.shots if s.view == "desktop")
    assert desktop.ratio is not None and desktop.ratio > 0.5 and desktop.diff is not None
    SHOTS.mkdir(exist_ok=True)
    (SHOTS / "defaced-desktop-diff.png").write_bytes(desktop.diff)
    diff = Image.open(io.BytesIO(desktop.diff)).convert("RGB")
    red, green, blue = diff.getpixel((5, 5))  # the changed header is marked red
    assert red > 150 and green < 80 and blue < 80


def test_script_injected_spam_is_seen_in_the_rendered_page_only(
        browser: Browser, site: Site, approved: Look) -> None:
    now = look_as(browser, site, "js")
    keep(now, "js")
    bot = now.capture(site.base, "googlebot")
    desktop = now.capture(site.base, "desktop")
    assert bot is not None and desktop is not None
    assert b"SLOT GACOR" not in bot.html  # the served HTML is clean ...
    assert "SLOT GACOR HARI INI" in desktop.text  # ... what the browser shows is not
    outcome = compare(now, approved, [site.base], LookSettings())
    spam = [r for r in outcome.reasons if r.code == "gambling_spam"]
    assert spam and all("(googlebot)" not in r.detail for r in spam)
    assert "look_cloaking" not in codes(outcome)  # an injection, not cloaking
    assert severity("gambling_spam") is Severity.CRITICAL


def test_content_for_googlebot_only_is_cloaking(browser: Browser, site: Site,
                                                approved: Look) -> None:
    outcome = compare(look_as(browser, site, "cloak-ua"), approved, [site.base],
                      LookSettings())
    cloaking = [r.detail for r in outcome.reasons if r.code == "look_cloaking"]
    assert any("gambling_spam shown to googlebot only" in d for d in cloaking), cloaking
    assert any("links to slot-gacor.example shown to googlebot only" in d for d in cloaking)
    assert any(ua.startswith("Mozilla/5.0 (compatible; Googlebot") for ua in site.hits.agents)


def test_content_for_visitors_from_google_is_cloaking(browser: Browser, site: Site,
                                                      approved: Look) -> None:
    outcome = compare(look_as(browser, site, "cloak-referer"), approved, [site.base],
                      LookSettings())
    cloaking = [r.detail for r in outcome.reasons if r.code == "look_cloaking"]
    assert any("gambling_spam shown to search only" in d for d in cloaking), cloaking
    assert any("links to slot-gacor.example shown to search only" in d for d in cloaking)
    assert "https://www.google.com/" in site.hits.referers


def test_mobile_visitors_sent_elsewhere_is_a_redirect_and_cloaking(
        browser: Browser, site: Site, approved: Look) -> None:
    now = look_as(browser, site, "mobile-redirect")
    keep(now, "mobile-redirect")
    mobile = now.capture(site.base, "mobile")
    assert mobile is not None and mobile.redirects == (site.base, f"{site.other}promo")
    outcome = compare(now, approved, [site.base], LookSettings())
    details = {r.code: r.detail for r in outcome.reasons}
    assert f"{site.other}promo" in details["look_redirect_away"]
    assert "(mobile)" in details["look_redirect_away"]
    assert any("redirect to localhost shown to mobile only" in r.detail
               for r in outcome.reasons if r.code == "look_cloaking")


def test_new_outside_script_is_critical(browser: Browser, site: Site, approved: Look) -> None:
    outcome = compare(look_as(browser, site, "new-script"), approved, [site.base],
                      LookSettings())
    new = [r.detail for r in outcome.reasons if r.code == "look_new_origin"]
    assert any("script https://cdn.jquery-stats.example" in d for d in new), new
    assert severity("look_new_origin") is Severity.CRITICAL


def test_dynamic_parts_alarm_unless_ignored(browser: Browser, site: Site) -> None:
    first = look_as(browser, site, "dynamic")
    second = look_as(browser, site, "dynamic")
    bare = compare(second, first, [site.base], LookSettings(rules=Rules(pixel_change=0.01,
                                                                         text_change=0.01)))
    assert "look_pixels" in codes(bare)
    rules = Rules(ignore_selectors=(".tanggal", "#berita-terbaru"),
                  ignore_text=(r"Diperbarui .* WIB",), pixel_change=0.01, text_change=0.01)
    masked = LookSettings(rules=rules)
    first = look_as(browser, site, "dynamic", masked)
    second = look_as(browser, site, "dynamic", masked)
    keep(second, "dynamic-masked")
    outcome = compare(second, first, [site.base], masked)
    assert not codes(outcome) & {"look_pixels", "look_text"}, outcome.reasons
    desktop = second.capture(site.base, "desktop")
    assert desktop is not None and "Diperbarui" not in desktop.text


def test_text_threshold_counts_words_not_order() -> None:
    assert text_changed("a b c d", "d c b a", ()) == 0
    assert text_changed("a b c d", "a b x y", ()) == 0.5
    assert text_changed("Diperbarui 10:00 WIB berita", "Diperbarui 11:30 WIB berita",
                        (r"Diperbarui .* WIB",)) == 0


def test_new_gambling_pages_in_sitemap_and_robots_are_critical(
        browser: Browser, site: Site, approved: Look) -> None:
    assert len(approved.sitemap) == 6  # the index was followed to its child sitemap
    site.variant = "sitemap-spam"
    try:
        rules, named = robots(site.base)
        entries = sitemap(site.base, named)
    finally:
        site.variant = "clean"
    now = replace(approved, sitemap=tuple(entries), robots=tuple(rules))
    outcome = compare(now, approved, [site.base], LookSettings())
    found = {r.code: r.detail for r in outcome.reasons}
    gambling = sorted(r.detail for r in outcome.reasons if r.code == "look_sitemap_gambling")
    assert gambling == [f"{site.base}situs-togel-terpercaya/", f"{site.base}slot-gacor-maxwin/"]
    assert found["look_sitemap_new"].startswith("2: ")
    assert "allow: /slot-gacor-maxwin/" in found["look_robots_gambling"]
    assert "look_robots_new" in found


def test_unreachable_site_is_down_not_defaced(browser: Browser) -> None:
    with serve() as gone:
        url = gone.base
    look = Look(taken=datetime.now(UTC), captures=tuple(
        browser.capture(url, v) if v.rendered else crawl(url, v.name, v.user_agent)
        for v in VIEWS))
    outcome = compare(look, None, [url], LookSettings())
    assert outcome.down and codes(outcome) == {"look_down"}
    assert "ERR_CONNECTION_REFUSED" in outcome.reasons[0].detail


def test_certificates_expired_invalid_and_expiring(tmp_path: Path, browser: Browser) -> None:
    ca = make_authority(tmp_path)
    with (serve(ca.server_context(tmp_path, "good", (-1, 90))) as good,
          serve(ca.server_context(tmp_path, "soon", (-80, 5))) as soon,
          serve(ca.server_context(tmp_path, "old", (-90, -2))) as old):
        def port(s: Site) -> int:
            return int(s.base.rsplit(":", 1)[1].strip("/"))

        ok = certificate("127.0.0.1", port(good), ca.pem)
        assert (ok.valid, ok.problem) == (True, "") and 88 <= (ok.days_left or 0) <= 90
        unknown = certificate("127.0.0.1", port(good), None)  # the system does not trust it
        assert not unknown.valid and "unable to get local issuer" in unknown.problem
        expiring = certificate("127.0.0.1", port(soon), ca.pem)
        assert expiring.valid and expiring.days_left in (4, 5)
        expired = certificate("127.0.0.1", port(old), ca.pem)
        assert not expired.valid and "expired" in expired.problem
        # the browser still renders the expired site: its content is judged on its own
        cap = browser.capture(old.base, VIEWS[0])
        assert cap.error is None and cap.title == "Pemerintah Kabupaten Contoh"
        look = Look(taken=datetime.now(UTC), captures=(cap,),
                    certificates=(ok, expiring, expired))
        found = {r.code: r.detail for r in compare(look, None, [old.base],
                                                    LookSettings()).reasons}
        assert found["look_cert_invalid"].startswith("127.0.0.1: certificate has expired")
        assert found["look_cert_expiring"] in ("127.0.0.1: 4", "127.0.0.1: 5")


def test_a_look_survives_its_round_trip_through_git_files(approved: Look) -> None:
    again = from_files(to_files(approved))
    assert again == approved


def test_a_hanging_page_is_cut_off_and_the_browser_killed(site: Site) -> None:
    def run() -> tuple[bool, str | None, str | None]:
        with Browser(deadline=8) as short:
            hung = short.capture(f"{site.base}slow", VIEWS[0])  # the server never answers
            after = short.capture(site.base, VIEWS[0])
            return short.killed, hung.error, after.error

    started = time.monotonic()
    # its own thread: Playwright's sync API allows one running instance per thread, and
    # the module's browser is running in this one
    with ThreadPoolExecutor(1) as pool:
        killed, hung, after = pool.submit(run).result(timeout=60)
    assert killed and hung == after == "the browser was killed (timeout)"
    assert time.monotonic() - started < 25  # the page's own timeout (15 s) never came


def test_capture_records_nothing_from_a_page_that_is_not_there(browser: Browser,
                                                               site: Site) -> None:
    cap: Capture = browser.capture(f"{site.base}nothing-here", VIEWS[0])
    assert cap.status == 404
    outcome = compare(Look(datetime.now(UTC), (cap,)), None, [cap.url], LookSettings())
    assert "look_status" in codes(outcome)
