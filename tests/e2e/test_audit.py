"""`gitguard audit` end to end: trust that fails closed, and findings on a real WordPress copy."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import git, make_key, run, write_config

WORDPRESS = Path("/usr/share/wordpress")
APPROVED = "refs/heads/approved"
SNAPSHOTS = "refs/heads/snapshots"
JOURNAL = "refs/heads/journal"
SITE_KEYS = {"site", "status", "snapshot", "approved", "findings"}
FINDING_KEYS = {"path", "change", "severity", "reasons"}
CHANGES = {"added", "modified", "deleted", "mode", "type"}
SEVERITIES = {"info", "warning", "critical"}
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(600) \
    + b"\xff\xd9"
EXCLUDE = ["wp-content/cache/**", "*.log"]
ALLOW_NEW = ["wp-content/uploads/**/*.jpg"]
# Evidence an attacker leaves; the texts are what defacers and webshell kits really write.
DEFACEMENT = ("<html><head><title>Hacked by Ganosec Team</title></head><body bgcolor=black>"
              "<center><h1>Hacked by Ganosec Team</h1><p>Security is just an illusion</p>"
              "<marquee>Greetz: all Indonesian cyber army</marquee></center></body></html>\n")
WEBSHELL = "<?php @eval(base64_decode($_POST['z'])); ?>\n"
JPEG_WEBSHELL = JPEG[:20] + b"<?php system($_GET['c']); ?>" + JPEG[20:]
HTACCESS_EVIL = "AddType application/x-httpd-php .jpg\n"


@dataclass(frozen=True)
class Site:
    """A local-path site: its folder (config, docroot, data) and the bare repository."""

    name: str
    config: Path
    docroot: Path
    repo: Path


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, str]]:
    """rina (kasubbag), budi (kabag), sari (staf), and eve, whom nobody lists."""
    folder = tmp_path_factory.mktemp("keys")
    return {name: make_key(folder, name) for name in ("rina", "budi", "sari", "eve")}


def people(keys: dict[str, tuple[Path, str]]) -> dict[str, dict[str, str]]:
    """The [people] tables: the two approvers, and a staf member who has a key but may not sign."""
    return {"rina": {"name": "Rina Wulandari", "role": "kasubbag", "signing_key": keys["rina"][1]},
            "budi": {"name": "Budi Santoso", "role": "kabag", "signing_key": keys["budi"][1]},
            "sari": {"name": "Sari Dewi", "role": "staf", "signing_key": keys["sari"][1]}}


def audit(site: Site, expect: int, command: str = "audit", *extra: str) -> dict[str, Any]:
    """`gitguard audit SITE --json` (or check) as a dict, checked against DESIGN.md's shape."""
    proc = run(command, site.name, "--json", *extra, config=site.config, expect=expect)
    lines = proc.stdout.splitlines()
    assert len(lines) == 1, f"expected one JSON line, got {proc.stdout!r}"
    result: dict[str, Any] = json.loads(lines[0])
    assert set(result) >= SITE_KEYS, result
    assert result["site"] == site.name
    assert result["status"] == {0: "ok", 1: "warning", 2: "critical", 3: "unknown"}[expect]
    assert result["snapshot"] == git(site.repo, "rev-parse", SNAPSHOTS)
    for finding in result["findings"]:
        assert set(finding) >= FINDING_KEYS, finding
        assert finding["change"] in CHANGES, finding
        assert finding["severity"] in SEVERITIES, finding
        assert isinstance(finding["reasons"], list) and finding["reasons"], finding
    return result


def approve(site: Site, key: Path, expect: int = 0) -> subprocess.CompletedProcess[str]:
    return run("approve", site.name, "-m", "disetujui", "--key", str(key), config=site.config,
               expect=expect)


def by_path(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in result["findings"]}


def problems(result: dict[str, Any]) -> list[str]:
    return [p["code"] for p in result.get("problems", [])]


def ref(repo: Path, name: str) -> str | None:
    """A ref's commit, read with plain git, or None when it does not exist."""
    return git(repo, "for-each-ref", "--format=%(objectname)", name) or None


def paths(repo: Path, rev: str) -> set[str]:
    """Every path in a commit's tree (fast on a whole WordPress, unlike helpers.tree_files)."""
    return set(git(repo, "ls-tree", "-r", "--name-only", rev).splitlines())


def show(repo: Path, rev: str, path: str) -> bytes:
    """One file's content in a commit."""
    return subprocess.run(["git", "--git-dir", str(repo), "cat-file", "blob", f"{rev}:{path}"],
                          capture_output=True, check=True).stdout


def clone(source: Path, target: Path, name: str) -> Site:
    """Copy a site folder (config, docroot, data: all relative paths) and open the copy.

    cp -a, not shutil.copytree: it is ten times faster on a whole WordPress and its repository.
    """
    subprocess.run(["cp", "-a", str(source), str(target)], check=True)
    return Site(name, target / "gitguard.toml", target / "html",
                target / "gitguard-data" / f"{name}.git")


def write(root: Path, files: dict[str, str | bytes]) -> None:
    """Create or overwrite files under root (replacing a symlink rather than following it)."""
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            path.unlink()
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))


# -- trust: the approved branch fails closed ----------------------------------------------------


@pytest.fixture(scope="module")
def small_site(tmp_path_factory: pytest.TempPathFactory,
               keys: dict[str, tuple[Path, str]]) -> Path:
    """A small site, mirrored and approved twice (by rina, then by budi), audited clean."""
    base = tmp_path_factory.mktemp("small")
    docroot = base / "html"
    write(docroot, {"index.html": "<h1>Dinas Kominfo</h1>\n", "berita.html": "<p>Berita</p>\n"})
    config = write_config(base, {"www": {"source": "html"}}, people(keys), {"language": "en"})
    site = Site("www", config, docroot, base / "gitguard-data" / "www.git")
    run("init", config=config, expect=0)
    run("mirror", config=config, expect=0)
    approve(site, keys["rina"][0])
    write(docroot, {"berita.html": "<p>Berita terbaru</p>\n"})
    run("mirror", config=config, expect=0)
    approve(site, keys["budi"][0])
    audit(site, expect=0)
    return base


@pytest.fixture
def small(small_site: Path, tmp_path: Path) -> Site:
    """A private copy of the small site."""
    return clone(small_site, tmp_path / "small", "www")


def plain_commit(site: Site, signing_key: Path | None = None, parent: bool = True) -> str:
    """A commit of the snapshot's tree made with plain git, as someone with write access would."""
    args = ["-c", "user.name=Intruder", "-c", "user.email=intruder@example.net"]
    if signing_key is not None:
        args += ["-c", "gpg.format=ssh", "-c", f"user.signingKey={signing_key}"]
    args += ["commit-tree", f"{SNAPSHOTS}^{{tree}}", "-m", "looks approved"]
    if signing_key is not None:
        args.append("-S")
    if parent:
        args += ["-p", APPROVED]
    return git(site.repo, *args)


def tamper_with_approved(site: Site, commit: str) -> None:
    git(site.repo, "update-ref", APPROVED, commit)


def assert_untrusted(site: Site, code: str) -> None:
    result = audit(site, expect=2)
    assert code in problems(result), \
        f"audit trusted a tampered approved branch: problems {result.get('problems')}"


def test_an_unsigned_commit_on_approved_is_critical(small: Site,
                                                    keys: dict[str, tuple[Path, str]]) -> None:
    tamper_with_approved(small, plain_commit(small))
    assert_untrusted(small, "approved_unverified")
    # It stays critical: a second audit does not get used to it.
    assert_untrusted(small, "approved_unverified")


@pytest.mark.parametrize("signer", ["eve", "sari"])
def test_a_commit_signed_by_a_non_approver_is_critical(small: Site, signer: str,
                                                       keys: dict[str, tuple[Path, str]]) -> None:
    forged = plain_commit(small, keys[signer][0])
    assert git(small.repo, "cat-file", "commit", forged).count("BEGIN SSH SIGNATURE") == 1
    tamper_with_approved(small, forged)
    assert_untrusted(small, "approved_unverified")


def test_a_rollback_of_approved_is_critical(small: Site, keys: dict[str, tuple[Path, str]]
                                            ) -> None:
    older = git(small.repo, "rev-parse", f"{APPROVED}~1")
    tamper_with_approved(small, older)
    assert_untrusted(small, "approved_rewritten")
    # Nor does a new approval paper over the rollback.
    assert "approved_rewritten" in approve(small, keys["rina"][0], expect=3).stderr
    assert ref(small.repo, APPROVED) == older


def test_a_rewrite_to_an_unrelated_signed_root_is_critical(
        small: Site, keys: dict[str, tuple[Path, str]]) -> None:
    # Signed by a real approver, so only the broken history gives it away.
    root = plain_commit(small, keys["rina"][0], parent=False)
    assert git(small.repo, "rev-list", "--count", root) == "1"
    tamper_with_approved(small, root)
    assert_untrusted(small, "approved_rewritten")


def test_a_deleted_approved_branch_is_critical(small: Site) -> None:
    git(small.repo, "update-ref", "-d", APPROVED)
    assert_untrusted(small, "approved_rewritten")


def test_approve_refuses_on_top_of_an_untrusted_tip(small: Site,
                                                    keys: dict[str, tuple[Path, str]]) -> None:
    bad = plain_commit(small)
    tamper_with_approved(small, bad)
    write(small.docroot, {"berita.html": "<p>Berita lagi</p>\n"})
    run("mirror", config=small.config, expect=0)
    proc = approve(small, keys["rina"][0], expect=3)
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "approved_unverified" in proc.stderr
    assert ref(small.repo, APPROVED) == bad, "approve moved an untrusted approved branch"


def test_no_baseline_is_a_warning(tmp_path: Path, keys: dict[str, tuple[Path, str]]) -> None:
    write(tmp_path / "html", {"index.html": "<h1>Baru</h1>\n"})
    config = write_config(tmp_path, {"baru": {"source": "html"}}, people(keys))
    site = Site("baru", config, tmp_path / "html", tmp_path / "gitguard-data" / "baru.git")
    run("init", config=config, expect=0)
    run("mirror", config=config, expect=0)
    result = audit(site, expect=1)
    assert problems(result) == ["no_baseline"]
    assert result["approved"] is None and result["findings"] == []
    approve(site, keys["rina"][0])
    result = audit(site, expect=0)
    assert result["findings"] == [] and problems(result) == []
    assert result["approved"] == ref(site.repo, APPROVED)


# -- findings on a real WordPress ----------------------------------------------------------------


@pytest.fixture(scope="module")
def wordpress(tmp_path_factory: pytest.TempPathFactory,
              keys: dict[str, tuple[Path, str]]) -> Path:
    """Debian's WordPress with a static home page and uploads, mirrored and approved once.

    Everything (config, docroot, data) lies in one folder with relative paths, so a test
    takes its own copy of the approved site with one copytree.
    """
    assert WORDPRESS.is_dir(), f"{WORDPRESS} missing: install Debian's wordpress package"
    base = tmp_path_factory.mktemp("wordpress")
    docroot = base / "html"
    shutil.copytree(WORDPRESS, docroot, symlinks=True)
    write(docroot, {
        "index.html": "<html><head><title>Kabupaten Contoh</title></head><body>"
                      "<h1>Selamat datang</h1></body></html>\n",
        "wp-content/uploads/.htaccess": "<Files *.php>\ndeny from all\n</Files>\n",
        "wp-content/uploads/2024/01/logo.jpg": JPEG,
        "wp-content/cache/index.html": "<p>cache</p>\n",
    })
    config = write_config(base, {"wp": {"source": "html", "exclude": EXCLUDE,
                                        "allow_new": ALLOW_NEW}}, people(keys),
                          {"language": "en"})
    site = Site("wp", config, docroot, base / "gitguard-data" / "wp.git")
    run("init", config=config, expect=0)
    run("mirror", config=config, expect=0)
    approve(site, keys["rina"][0])
    return base


@pytest.fixture
def wp(wordpress: Path, tmp_path: Path) -> Site:
    """A private copy of the approved WordPress site (docroot, config and repository)."""
    return clone(wordpress, tmp_path / "wordpress", "wp")


def test_an_unchanged_wordpress_audits_clean(wp: Site) -> None:
    # The copy has new inode times on every file, so check reads all of them again.
    result = audit(wp, 0, "check")
    assert result["findings"] == [] and problems(result) == []
    assert result["approved"] == ref(wp.repo, APPROVED)
    files = paths(wp.repo, SNAPSHOTS)
    assert len(files) > 2000
    assert show(wp.repo, SNAPSHOTS, "wp-includes/version.php") == \
        (wp.docroot / "wp-includes/version.php").read_bytes()
    assert "wp-content/cache/index.html" not in files, "an excluded path was backed up"


@dataclass(frozen=True)
class Attack:
    """A WordPress copy after a typical intrusion, checked once; the findings by path."""

    site: Site
    text: str
    findings: dict[str, dict[str, Any]]
    report: str


@pytest.fixture(scope="module")
def attacked(wordpress: Path, tmp_path_factory: pytest.TempPathFactory) -> Attack:
    """Deface the home page, drop webshells, weaken .htaccess, chmod, symlink, delete."""
    site = clone(wordpress, tmp_path_factory.mktemp("attacked") / "wordpress", "wp")
    base, root = site.config.parent, site.docroot
    write(root, {
        "index.html": DEFACEMENT,
        "wp-content/uploads/2024/01/wp-cache.php": WEBSHELL,
        "wp-content/uploads/2024/02/banner.jpg": JPEG_WEBSHELL,
        "wp-content/uploads/.htaccess": HTACCESS_EVIL,
    })
    (root / "wp-login.php").chmod(0o777)
    (root / "readme.html").unlink()
    (root / "readme.html").symlink_to("/etc/passwd")
    (root / "wp-links-opml.php").unlink()

    text = run("check", "wp", config=site.config, expect=2).stdout
    report = base / "state.md"
    result = audit(site, 2, "audit", "-o", str(report))
    return Attack(site, text, by_path(result), report.read_text(encoding="utf-8"))


def finding(attack: Attack, path: str) -> dict[str, Any]:
    assert path in attack.findings, f"{path} not among the findings: {sorted(attack.findings)}"
    return attack.findings[path]


def test_a_defaced_home_page_is_critical(attacked: Attack) -> None:
    found = finding(attacked, "index.html")
    assert (found["change"], found["severity"]) == ("modified", "critical")
    assert any("deface" in reason.lower() for reason in found["reasons"]), found["reasons"]
    assert "index.html" in attacked.text and "CRITICAL" in attacked.text


def test_a_webshell_in_uploads_is_critical(attacked: Attack) -> None:
    found = finding(attacked, "wp-content/uploads/2024/01/wp-cache.php")
    assert (found["change"], found["severity"]) == ("added", "critical")


def test_allow_new_never_covers_php_hidden_in_a_jpg(attacked: Attack) -> None:
    found = finding(attacked, "wp-content/uploads/2024/02/banner.jpg")
    assert (found["change"], found["severity"]) == ("added", "critical"), \
        f"a JPEG carrying PHP under allow_new was graded {found['severity']}: {found['reasons']}"


def test_an_htaccess_change_is_critical(attacked: Attack) -> None:
    found = finding(attacked, "wp-content/uploads/.htaccess")
    assert (found["change"], found["severity"]) == ("modified", "critical")


def test_chmod_777_is_a_mode_change(attacked: Attack) -> None:
    found = finding(attacked, "wp-login.php")
    assert found["change"] == "mode", \
        f"chmod 777 with the same content reported as {found['change']!r}, not 'mode'"
    assert found["severity"] in ("warning", "critical")
    assert found["old_mode"].startswith("0644") and found["new_mode"].startswith("0777")


def test_a_file_replaced_by_a_symlink_is_a_type_change(attacked: Attack) -> None:
    found = finding(attacked, "readme.html")
    assert found["change"] == "type"
    assert found["severity"] == "critical", f"a link to /etc/passwd graded {found['severity']}"
    link = git(attacked.site.repo, "ls-tree", SNAPSHOTS, "readme.html")
    assert link.startswith("120000 "), "the symlink was not stored as a symlink"


def test_a_deleted_file_is_reported(attacked: Attack) -> None:
    found = finding(attacked, "wp-links-opml.php")
    assert found["change"] == "deleted"
    assert found["severity"] in ("warning", "critical")


def test_nothing_else_is_reported(attacked: Attack) -> None:
    assert set(attacked.findings) == {
        "index.html", "wp-content/uploads/2024/01/wp-cache.php",
        "wp-content/uploads/2024/02/banner.jpg", "wp-content/uploads/.htaccess",
        "wp-login.php", "readme.html", "wp-links-opml.php"}


def test_the_state_report_names_every_finding(attacked: Attack) -> None:
    assert attacked.report.startswith("# "), attacked.report[:200]
    for path in attacked.findings:
        assert path in attacked.report, f"{path} missing from the -o report"


def test_a_benign_comment_edit_is_a_warning(wp: Site) -> None:
    path = wp.docroot / "wp-includes/functions.php"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<?php\n")
    path.write_text("<?php\n// Diperiksa oleh tim web Diskominfo, Januari 2024.\n" + text[6:],
                    encoding="utf-8")
    result = audit(wp, 1, "check")
    assert [(f["path"], f["change"], f["severity"]) for f in result["findings"]] == \
        [("wp-includes/functions.php", "modified", "warning")]


def test_a_new_jpg_under_allow_new_is_info(wp: Site) -> None:
    write(wp.docroot, {"wp-content/uploads/2024/05/rapat-koordinasi.jpg": JPEG})
    result = audit(wp, 0, "check")
    assert [(f["path"], f["change"], f["severity"]) for f in result["findings"]] == \
        [("wp-content/uploads/2024/05/rapat-koordinasi.jpg", "added", "info")]


def test_excluded_paths_are_invisible(wp: Site) -> None:
    write(wp.docroot, {"wp-content/cache/page-1.html": "<h1>Hacked by nobody</h1>\n",
                       "wp-content/debug.log": "PHP Warning: something\n"})
    (wp.docroot / "wp-content/cache/index.html").unlink()
    result = audit(wp, 0, "check")
    assert result["findings"] == []
    assert not [p for p in paths(wp.repo, SNAPSHOTS)
                if p.startswith("wp-content/cache/") or p.endswith(".log")]


def test_a_signed_core_update_audits_clean(wp: Site, keys: dict[str, tuple[Path, str]]) -> None:
    version = wp.docroot / "wp-includes/version.php"
    text = version.read_text(encoding="utf-8")
    assert "$wp_version = '6." in text
    version.write_text(text.replace("$wp_version = '6.", "$wp_version = '7.", 1),
                       encoding="utf-8")
    for name in ("wp-includes/load.php", "wp-admin/about.php", "wp-includes/formatting.php"):
        path = wp.docroot / name
        path.write_text(path.read_text(encoding="utf-8") + "\n// Updated in 7.0.\n",
                        encoding="utf-8")
    (wp.docroot / "wp-includes/css/buttons.css").unlink()
    before = audit(wp, 1, "check")
    assert {f["path"] for f in before["findings"]} == {
        "wp-includes/version.php", "wp-includes/load.php", "wp-admin/about.php",
        "wp-includes/formatting.php", "wp-includes/css/buttons.css"}

    approve(wp, keys["budi"][0])
    after = audit(wp, 0)
    assert after["findings"] == [] and after["approved"] == ref(wp.repo, APPROVED)
    assert audit(wp, 0, "check")["findings"] == []
    assert b"$wp_version = '7." in show(wp.repo, APPROVED, "wp-includes/version.php")
    assert "wp-includes/css/buttons.css" not in paths(wp.repo, APPROVED)


def test_the_journal_records_every_audit(wp: Site) -> None:
    before = json.loads(run("log", "wp", "--json", config=wp.config, expect=0).stdout)["runs"]
    audit(wp, 0)
    write(wp.docroot, {"wp-content/themes/twentytwentythree/readme.txt": "edited\n"})
    audit(wp, 1, "check")
    audit(wp, 1)
    runs = json.loads(run("log", "wp", "--json", config=wp.config, expect=0).stdout)["runs"]
    new = [(r["action"], r["status"]) for r in runs[len(before):]]
    # check journals its backup as a mirror run of its own.
    assert new == [("audit", "ok"), ("mirror", "ok"), ("check", "warning"),
                   ("audit", "warning")], new
    subjects = git(wp.repo, "log", "-4", "--format=%s", JOURNAL).splitlines()
    assert subjects == ["audit wp: warning", "check wp: warning", "mirror wp: ok",
                        "audit wp: ok"], subjects
    # The state report of a run that was not OK is kept in the journal too.
    kept = git(wp.repo, "ls-tree", "-r", "--name-only", JOURNAL).splitlines()
    assert any(p.startswith("reports/") and p.endswith(".md") for p in kept), kept
