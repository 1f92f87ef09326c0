"""Time and memory of the live look: `gitguard look` at 5 URLs in 4 views on loopback.

    .venv/bin/python bench/look.py [--urls 5] [--runs 3]

Serves the tests' sample site (tests/webservers.py), approves it (taking the baseline look),
then runs `gitguard look` and samples the proportional memory (PSS) of its whole process
tree, Chromium and Playwright's driver included, every 50 ms. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers import make_key, write_config  # noqa: E402
from procmem import TreeMemory  # noqa: E402
from webservers import serve  # noqa: E402


def measure(argv: list[str]) -> dict[str, float]:
    """Run a command; its wall time, and the peak PSS of its tree and of itself (MB)."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    memory = TreeMemory(proc.pid)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    _out, err = proc.communicate(timeout=300)
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the whole tree, reaped by now
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    memory.stop()
    if proc.returncode not in (0, 1, 2):
        raise SystemExit(f"{argv}: exit {proc.returncode}: {err.decode()[-500:]}")
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
            "peak_tree_mb": round(memory.mb("Pss"), 1),
            "peak_tree_anon_mb": round(memory.mb("Anon"), 1),
            "peak_python_mb": round(memory.peak_self_kb / 1024, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--urls", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    gitguard = [sys.executable, "-m", "gitguard.cli"]
    with tempfile.TemporaryDirectory(prefix="gitguard-bench-look-") as folder, serve() as site:
        tmp = Path(folder)
        docroot = tmp / "htdocs"
        docroot.mkdir()
        (docroot / "index.html").write_text("<h1>Pemerintah Kabupaten Contoh</h1>\n")
        key, public = make_key(tmp, "rina")
        urls = [site.base] + [f"{site.base}berita/{n}" for n in range(args.urls - 1)]
        config = write_config(tmp, {"www": {"source": str(docroot), "urls": urls},
                                    "plain": {"source": str(docroot)}},
                              {"rina": {"name": "Rina", "role": "kasubbag",
                                        "signing_key": public}})
        config.write_text(config.read_text() + "\n[sites.www.look]\nsitemap_pages = 0\n")
        for step in (["init"], ["mirror"], ["approve", "www", "-m", "x", "--key", str(key)],
                     ["approve", "plain", "-m", "x", "--key", str(key)]):
            subprocess.run([*gitguard, "-c", str(config), *step], check=True,
                           capture_output=True)
        looks = [measure([*gitguard, "-c", str(config), "look", "www"])
                 for _ in range(args.runs)]
        plain = measure([*gitguard, "-c", str(config), "check", "plain"])
        best = min(looks, key=lambda r: r["seconds"])
        print(json.dumps({
            "urls": args.urls, "views": 4, "runs": looks,
            "best_seconds": best["seconds"],
            "worst_seconds": max(r["seconds"] for r in looks),
            "peak_tree_mb": max(r["peak_tree_mb"] for r in looks),
            "extra_mb_over_a_check_without_urls": round(
                max(r["peak_tree_mb"] for r in looks) - plain["peak_tree_mb"], 1),
            "extra_anon_mb_over_a_check_without_urls": round(
                max(r["peak_tree_anon_mb"] for r in looks) - plain["peak_tree_anon_mb"], 1),
            "check_without_urls": plain,
            "load_average": os.getloadavg()[0]}, indent=1))


if __name__ == "__main__":
    main()
