"""A rollback of the approved history that also moves refs/gitguard/approved-seen back (issue
#10, item 14): the journal's record of the newest approval, which only moves forward, and the
off-site copy, which refuses rewinds, still show it."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from helpers import git, gitguard, make_key, run, write_config

APPROVED = "refs/heads/approved"
SEEN = "refs/gitguard/approved-seen"
JOURNAL = "refs/heads/journal"


@dataclass(frozen=True)
class Site:
    """A local-path site approved twice: `first`, then `second` on top of it."""

    config: Path
    docroot: Path
    repo: Path
    offsite: Path
    first: str
    second: str
    journal_before_second: str


@pytest.fixture
def site(tmp_path: Path) -> Site:
    """Two approvals, each followed by a check that copies the history off-site."""
    docroot = tmp_path / "html"
    docroot.mkdir()
    (docroot / "index.html").write_text("<h1>Kabupaten</h1>\n")
    offsite = tmp_path / "backup.git"
    subprocess.run(["git", "init", "-q", "--bare", str(offsite)], check=True)
    key, public = make_key(tmp_path, "rina")
    config = write_config(tmp_path, {"www": {"source": "html", "remotes": [str(offsite)]}},
                          {"rina": {"name": "Rina", "role": "kasubbag", "signing_key": public}})
    run("hooks", "install", str(offsite), config=config)
    repo = tmp_path / "gitguard-data" / "www.git"
    run("init", config=config)
    run("mirror", config=config)
    run("approve", "www", "-m", "awal", "--key", str(key), config=config)
    run("check", config=config)
    first = git(repo, "rev-parse", APPROVED)
    # the page that the second approval removes again: what a rollback brings back
    (docroot / "index.html").write_text("<h1>Kabupaten</h1><p>Pengumuman lama</p>\n")
    run("mirror", config=config)
    journal = git(repo, "rev-parse", JOURNAL)
    (docroot / "index.html").write_text("<h1>Kabupaten</h1><p>Pengumuman baru</p>\n")
    run("mirror", config=config)
    run("approve", "www", "-m", "baru", "--key", str(key), config=config)
    run("check", config=config)
    second = git(repo, "rev-parse", APPROVED)
    return Site(config, docroot, repo, offsite, first, second, journal)


def audit(site: Site, expect: int) -> dict[str, Any]:
    """The audit's JSON object."""
    proc = run("audit", "--json", config=site.config, expect=expect)
    data: dict[str, Any] = json.loads(proc.stdout)
    return data[0] if isinstance(data, list) else data


def roll_back(site: Site) -> None:
    """What the data-dir attacker does: approved and approved-seen back to the older, still
    validly signed approval."""
    git(site.repo, "update-ref", APPROVED, site.first)
    git(site.repo, "update-ref", SEEN, site.first)


def drop_remotes(site: Site) -> None:
    """The same site without its off-site copy: only the local journal can tell."""
    text = site.config.read_text().replace(f'remotes = ["{site.offsite}"]', "")
    site.config.write_text(text)


def test_the_journal_records_the_newest_approval(site: Site) -> None:
    recorded = git(site.repo, "show", f"{JOURNAL}:approved").split()
    assert recorded == [site.second, "2"]
    history = json.loads(run("log", "www", "--json", config=site.config).stdout)
    assert history["recorded"] == {"approved": site.second, "approvals": 2}


def test_a_rollback_of_approved_and_seen_is_critical_every_time(site: Site) -> None:
    drop_remotes(site)
    roll_back(site)
    for _ in range(2):  # the journal's record does not follow the rollback
        result = audit(site, 2)
        codes = [p["code"] for p in result["problems"]]
        assert codes == ["approved_rewritten"], result["problems"]
        assert "journal recorded" in result["problems"][0]["reason"]
        assert result["approved"] == site.second  # compared with the real approval
    assert git(site.repo, "show", f"{JOURNAL}:approved").split() == [site.second, "2"]
    proc = gitguard("restore", "www", "--yes", config=site.config)
    assert proc.returncode == 2 and "cannot be trusted" in proc.stderr
    assert "Pengumuman baru" in (site.docroot / "index.html").read_text()


def test_a_rolled_back_journal_is_caught_by_the_offsite_copy(site: Site) -> None:
    roll_back(site)
    # the attacker rewinds the journal too, to before the second approval was recorded
    git(site.repo, "update-ref", JOURNAL, site.journal_before_second)
    result = audit(site, 2)
    codes = sorted(p["code"] for p in result["problems"])
    assert codes == ["approved_rewritten", "journal_rewritten"], result["problems"]
    assert any(str(site.offsite) in p["reason"] for p in result["problems"])
    # and the off-site copy refuses to take the rewound history
    run("check", config=site.config, expect=2)
    assert git(site.offsite, "rev-parse", APPROVED) == site.second


def test_an_honest_history_stays_ok(site: Site) -> None:
    result = audit(site, 0)
    assert result["problems"] == [] and result["approved"] == site.second
