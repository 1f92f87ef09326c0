"""`check --format nagios` (issue #14, item 4): the monitoring-plugin output of the Nagios
plugin guidelines, read back here the way a monitoring engine parses it."""

from __future__ import annotations

import re
from pathlib import Path

from helpers import gitguard, run, write_config

# 'label'=value[UOM];[warn];[crit];[min];[max], space-separated (Nagios plugin guidelines)
PERF = re.compile(r"^'?([^'=]+)'?=(-?[\d.]+)(s|ms|us|%|B|KB|MB|TB|c)?"
                  r"(?:;([\d.:~@-]*))?(?:;([\d.:~@-]*))?(?:;([\d.-]*))?(?:;([\d.-]*))?$")


def parse(output: str) -> tuple[str, str, dict[str, tuple[float, str]], list[str]]:
    """Status word, text, performance data and long output, as an engine reads them."""
    first, *long = output.splitlines()
    text, bar, data = first.partition(" | ")
    assert bar, f"no performance data: {first!r}"
    assert "|" not in text
    m = re.match(r"^GITGUARD (OK|WARNING|CRITICAL|UNKNOWN) - (.+)$", text)
    assert m, text
    perf = {}
    for item in data.split():
        found = PERF.match(item)
        assert found, f"not plugin perfdata: {item!r}"
        perf[found.group(1)] = (float(found.group(2)), found.group(3) or "")
    return m.group(1), m.group(2), perf, long


def test_plugin_line_perfdata_and_exit_codes(
        tmp_path: Path, rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    key, people = rina
    docroot = tmp_path / "htdocs"
    (docroot / "uploads").mkdir(parents=True)
    (docroot / "index.html").write_text("<h1>Dinas Kominfo</h1>\n")
    (docroot / "about.html").write_text("<p>Tentang kami</p>\n")
    config = write_config(tmp_path, {"www": {"source": str(docroot)}}, people)
    run("init", config=config)

    word, text, perf, long = parse(run("check", "--format", "nagios", config=config,
                                       expect=1).stdout)
    assert (word, text) == ("WARNING", "www: 0 critical, 0 warning, 0 info: "
                                       "no approved baseline yet")
    assert perf["files"] == (2, "") and perf["bytes"][1] == "B" and perf["bytes"][0] > 0
    assert perf["duration"][1] == "s"
    run("approve", "www", "-m", "awal", "--key", str(key), config=config)
    word, text, perf, long = parse(run("check", "--format", "nagios", config=config).stdout)
    assert word == "OK" and text == "www: 0 critical, 0 warning, 0 info"
    assert {k: v[0] for k, v in perf.items() if k in ("critical", "warning", "info")} == \
        {"critical": 0, "warning": 0, "info": 0}

    (docroot / "index.html").write_text("<h1>Hacked by Tim Uji</h1>\n")
    (docroot / "uploads" / "x.php").write_text('<?php system($_GET["c"]); ?>\n')
    (docroot / "about.html").write_text("<p>Tentang kami (baru)</p>\n")
    proc = run("check", "--format", "nagios", config=config, expect=2)
    word, text, perf, long = parse(proc.stdout)
    assert word == "CRITICAL"
    assert text.startswith("www: 2 critical, 1 warning, 0 info: index.html (")
    assert "uploads/x.php (" in text and "about.html" in text
    assert perf["critical"][0] == 2 and perf["warning"][0] == 1
    # long output: each finding on its own line
    assert any(line.strip().startswith("critical added") and "uploads/x.php" in line
               for line in long)


def test_several_sites_and_an_unknown_one(
        tmp_path: Path, rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    _, people = rina
    sites = {}
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "index.html").write_text(f"<h1>{name}</h1>\n")
        sites[name] = {"source": str(tmp_path / name)}
    sites["gone"] = {"source": str(tmp_path / "missing")}
    config = write_config(tmp_path, sites, people)
    gitguard("init", config=config)  # 'gone' cannot be reached: exit 3, the others made
    proc = gitguard("check", "--format", "nagios", config=config)
    assert proc.returncode == 3, proc
    word, text, perf, long = parse(proc.stdout)
    assert word == "UNKNOWN"
    assert text.startswith("3 sites: 1 unknown, 2 warning; gone: ")
    assert perf["sites"][0] == 3 and perf["sites_unknown"][0] == 1
    assert perf["sites_warning"][0] == 2
    assert long[0].startswith("gone: UNKNOWN - ")
    proc = gitguard("check", "a", "b", "--format", "nagios", config=config)
    assert proc.returncode == 1 and proc.stdout.startswith("GITGUARD WARNING - 2 sites: ")
