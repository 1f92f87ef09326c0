"""The live look through the command line: approve keeps a signed baseline look in git,
check and audit report what the site serves, verify passes only on a clean look, and the
reports carry the pictures. The site's files are a local folder; what visitors receive comes
from a real HTTP server on loopback, so the served page can change while the files do not
(content posted through the CMS, a compromised server)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import git, gitguard, make_key, write_config
from webservers import CLEAN, DEFACED, Site, serve

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    with serve() as served:
        yield served


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory, site: Site) -> tuple[Path, Path, Path]:
    """A site whose files are approved, with the baseline look taken at approval."""
    tmp = tmp_path_factory.mktemp("look-cli")
    docroot = tmp / "htdocs"
    docroot.mkdir()
    (docroot / "index.php").write_text("<?php echo 'Pemerintah Kabupaten Contoh';\n")
    (docroot / "index.html").write_bytes(CLEAN)  # what the "files" variant serves
    site.docroot = docroot
    key, public = make_key(tmp, "rina")
    config = write_config(tmp, {"www": {"source": str(docroot), "urls": [site.base]}},
                          {"rina": {"name": "Rina", "role": "kasubbag", "signing_key": public}},
                          main={"language": "en"})
    look_table(config, "down_critical_after = 2\nsitemap_pages = 2")
    assert gitguard("init", config=config).returncode == 0
    assert gitguard("mirror", config=config).returncode == 0
    site.variant = "clean"
    proc = gitguard("approve", "www", "-m", "awal", "--key", str(key), config=config)
    assert proc.returncode == 0, proc.stderr
    return config, key, tmp / "gitguard-data" / "www.git"


def look_table(config: Path, text: str) -> None:
    """Add [sites.www.look] to a config written by write_config."""
    config.write_text(f"{config.read_text()}\n[sites.www.look]\n{text}\n")


def run_json(*args: str, config: Path) -> tuple[int, dict[str, Any]]:
    proc = gitguard(*args, "--json", config=config)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout.splitlines()[0])


def test_approval_keeps_a_signed_baseline_look_in_git(guarded: tuple[Path, Path, Path],
                                                      site: Site) -> None:
    _config, _key, repo = guarded
    approved = git(repo, "rev-parse", "refs/heads/approved").strip()
    ref = f"refs/gitguard/looks/{approved}"
    # an auditor finds it with plain git: signed, naming the approved commit, with pictures
    message = git(repo, "log", "-1", "--format=%B", ref)
    assert f"Approved: {approved}" in message
    assert git(repo, "cat-file", "-p", ref).count("gpgsig -----BEGIN SSH SIGNATURE") == 1
    files = git(repo, "ls-tree", "-r", "--name-only", ref).split()
    assert "look.json" in files
    assert sum(f.startswith("shots/") and f.endswith(".png") for f in files) == 2
    look = json.loads(git(repo, "show", f"{ref}:look.json"))
    assert {c["view"] for c in look["captures"]} == {"desktop", "mobile", "search", "googlebot"}
    assert len(look["sitemap"]) == 6


def test_clean_site_checks_ok(guarded: tuple[Path, Path, Path], site: Site) -> None:
    config, _key, _repo = guarded
    site.variant = "clean"
    code, result = run_json("check", config=config)
    assert (code, result["live"], result["status"]) == (0, [], "ok")


def test_content_changed_without_files_says_so_and_blocks_verify(
        guarded: tuple[Path, Path, Path], site: Site, tmp_path: Path) -> None:
    config, _key, repo = guarded
    site.variant = "defaced"
    try:
        code, result = run_json("check", config=config)
        assert code == 2 and result["findings"] == []
        found = {r["code"] for r in result["live"]}
        assert {"defacement_text", "look_pixels", "look_title", "look_files_unchanged"} <= found
        unchanged = [r["reason"] for r in result["live"] if r["code"] == "look_files_unchanged"]
        assert unchanged == ["served content differs; files unchanged: the database or the "
                             "server may be compromised"]
        # audit (no new look) shows the latest look's findings
        code, audited = run_json("audit", config=config)
        assert code == 2 and {r["code"] for r in audited["live"]} == found
        # the pictures were kept in the journal beside the state report
        names = git(repo, "ls-tree", "-r", "--name-only", "refs/heads/journal").split()
        assert [n for n in names if "-diff-" in n and n.endswith(".png")]
        state = next(n for n in names if "/state-www-" in n)
        text = git(repo, "show", f"refs/heads/journal:{state}")
        pictures = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", text)
        assert pictures and all(f"{state.rsplit('/', 1)[0]}/{p}" in names for p in pictures)
        # the HTML report embeds them, and nothing from outside
        out = tmp_path / "state.html"
        proc = gitguard("report", "www", "--kind", "state", "--format", "html", "-o", str(out),
                        config=config)
        assert proc.returncode == 0, proc.stderr
        html = out.read_text()
        images = re.findall(r'<img[^>]+src="data:image/png;base64,([^"]+)"', html)
        assert len(images) >= 3
        assert base64.b64decode(images[0]).startswith(b"\x89PNG")
        assert "img-src data:" in html
        # verify: the files equal the approved tree, but the look is not clean
        proc = gitguard("verify", "www", config=config)
        assert proc.returncode == 2
        assert "the live look is not clean" in proc.stdout
    finally:
        site.variant = "clean"
    proc = gitguard("verify", "www", config=config)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_down_is_a_warning_then_critical_never_a_defacement(
        guarded: tuple[Path, Path, Path], site: Site) -> None:
    config, _key, _repo = guarded
    text = config.read_text()
    with serve() as gone:
        closed = gone.base
    config.write_text(text.replace(site.base, closed))
    try:
        code, first = run_json("check", config=config)
        codes = {r["code"] for r in first["live"]}
        assert code == 1 and "look_down" in codes
        assert not codes & {"defacement_text", "look_pixels", "look_files_unchanged"}
        code, second = run_json("check", config=config)
        assert code == 2 and "look_down_long" in {r["code"] for r in second["live"]}
    finally:
        config.write_text(text)
    code, back = run_json("check", config=config)
    assert code == 0, back["live"]


def test_look_command_and_retaking_the_baseline(guarded: tuple[Path, Path, Path],
                                                site: Site) -> None:
    config, key, repo = guarded
    site.variant = "new-script"
    try:
        code, result = run_json("look", "www", config=config)
        assert code == 2
        assert [f["code"] for f in result["findings"]] == ["look_new_origin"]
        # the new script is wanted: the approver re-takes the baseline, signed
        proc = gitguard("look", "www", "--baseline", "--key", str(key), config=config)
        assert proc.returncode == 0, proc.stderr
        code, result = run_json("look", "www", config=config)
        assert (code, result["findings"]) == (0, [])
    finally:
        site.variant = "clean"
    approved = git(repo, "rev-parse", "refs/heads/approved").strip()
    assert git(repo, "rev-list", "--count", f"refs/gitguard/looks/{approved}").strip() == "2"


def test_without_chromium_the_audit_stands_and_says_so(guarded: tuple[Path, Path, Path],
                                                       site: Site) -> None:
    config, _key, _repo = guarded
    proc = gitguard("check", "--json", config=config,
                    env={"GITGUARD_CHROMIUM": str(config.parent / "no-chromium")})
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    result = json.loads(proc.stdout)
    assert result["findings"] == [] and [r["code"] for r in result["live"]] == ["look_failed"]
    assert "needs Chromium" in result["live"][0]["reason"]
    proc = gitguard("look", "www", config=config,
                    env={"GITGUARD_CHROMIUM": str(config.parent / "no-chromium")})
    assert proc.returncode == 1 and "the live look could not be taken" in proc.stdout


def test_a_baseline_someone_else_wrote_is_not_trusted(guarded: tuple[Path, Path, Path],
                                                      site: Site) -> None:
    config, _key, repo = guarded
    approved = git(repo, "rev-parse", "refs/heads/approved").strip()
    ref = f"refs/gitguard/looks/{approved}"
    good = git(repo, "rev-parse", ref).strip()
    tree = git(repo, "rev-parse", f"{ref}^{{tree}}").strip()
    forged = git(repo, "commit-tree", tree, "-m", f"look\n\nApproved: {approved}\n").strip()
    git(repo, "update-ref", ref, forged)
    try:
        code, result = run_json("look", "www", config=config)
        assert code == 2
        assert "look_baseline_untrusted" in [f["code"] for f in result["findings"]]
    finally:
        git(repo, "update-ref", ref, good)


def test_bad_look_config_names_every_key(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"www": {"source": str(tmp_path),
                                             "urls": ["https://www.example.go.id/"]}})
    look_table(config, 'text_change = 2\nignore_selectors = ["a{}"]\nignore_text = ["("]\n'
               'sitemap_pages = -1\ncolour = "red"\n'
               '[sites.www.look.pages."https://other.example/"]\npixel_change = 0.1')
    proc = gitguard("look", "www", config=config)
    assert proc.returncode == 3 and "Traceback" not in proc.stderr
    for key in ("sites.www.look.text_change", "sites.www.look.ignore_selectors",
                "sites.www.look.ignore_text", "sites.www.look.sitemap_pages",
                "sites.www.look.colour", 'sites.www.look.pages."https://other.example/"'):
        assert key in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_restore_shows_the_site_before_and_after(guarded: tuple[Path, Path, Path],
                                                 site: Site, tmp_path: Path) -> None:
    config, _key, _repo = guarded
    index = config.parent / "htdocs" / "index.html"
    site.variant = "files"
    try:
        index.write_text(DEFACED)
        proc = gitguard("restore", "www", "--yes", config=config)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert index.read_bytes() == CLEAN
        out = tmp_path / "repair.html"
        proc = gitguard("report", "www", "--kind", "repair", "--format", "html", "-o",
                        str(out), config=config)
        assert proc.returncode == 0, proc.stderr
        html = out.read_text()
        assert "Before the repair (evidence)" in html and "After the repair" in html
        assert html.count('src="data:image/png;base64,') >= 4  # desktop and mobile, twice
        assert "the pages visitors receive match the approved look" in html
    finally:
        site.variant = "clean"


def test_restore_fails_while_visitors_still_get_the_defacement(
        guarded: tuple[Path, Path, Path], site: Site) -> None:
    config, _key, _repo = guarded
    index = config.parent / "htdocs" / "index.html"
    site.variant = "defaced"  # served from elsewhere (the database, a rogue server block)
    try:
        index.write_text(DEFACED)
        proc = gitguard("restore", "www", "--yes", config=config)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert index.read_bytes() == CLEAN  # the files were put back ...
        assert "verification failed, the live look is not clean" in proc.stderr  # ... not the site
        assert "defacement text" in proc.stderr and "Traceback" not in proc.stderr
    finally:
        site.variant = "clean"


def test_no_urls_no_browser(tmp_path: Path) -> None:
    """Without URLs neither Playwright nor Pillow is imported: the check costs nothing more."""
    docroot = tmp_path / "htdocs"
    docroot.mkdir()
    (docroot / "index.html").write_text("<h1>Contoh</h1>\n")
    config = write_config(tmp_path, {"www": {"source": str(docroot)}})
    assert gitguard("init", config=config).returncode == 0
    proc = gitguard("check", "www", config=config, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert proc.returncode == 1 and "import time:" in proc.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines()
                if line.startswith("import time:")}
    assert "gitguard.actions.check" in imported  # the check really ran
    assert not {name for name in imported
                if name.split(".")[0] in ("playwright", "PIL", "greenlet")}
