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
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers import make_key, write_config  # noqa: E402
from webservers import serve  # noqa: E402


def _tree(pid: int) -> set[int]:
    parents: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                fields = Path(f"/proc/{name}/stat").read_text().rpartition(")")[2].split()
                parents[int(name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    found = {pid}
    grew = True
    while grew:
        more = {c for c, p in parents.items() if p in found} - found
        found |= more
        grew = bool(more)
    return found


def _pss_kib(pid: int) -> tuple[int, int]:
    """(all PSS, anonymous and shared-memory PSS) of a process, in KiB: the second leaves
    out the pages of Chromium's binary and libraries, which the page cache holds anyway."""
    total = anon = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                total = int(line.split()[1])
            elif line.startswith(("Pss_Anon:", "Pss_Shmem:")):
                anon += int(line.split()[1])
    except OSError:
        pass
    return total, anon


def measure(argv: list[str]) -> dict[str, float]:
    """Run a command; its wall time, and the peak PSS of its tree and of itself (MB)."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    peak_tree = peak_anon = peak_self = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak_tree, peak_anon, peak_self
        while not done.is_set():
            sizes = [_pss_kib(p) for p in _tree(proc.pid)]
            peak_tree = max(peak_tree, sum(total for total, _ in sizes))
            peak_anon = max(peak_anon, sum(anon for _, anon in sizes))
            peak_self = max(peak_self, _pss_kib(proc.pid)[0])
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    _out, err = proc.communicate(timeout=300)
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the whole tree, reaped by now
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    done.set()
    sampler.join()
    if proc.returncode not in (0, 1, 2):
        raise SystemExit(f"{argv}: exit {proc.returncode}: {err.decode()[-500:]}")
    return {"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
            "peak_tree_mb": round(peak_tree / 1024, 1),
            "peak_tree_anon_mb": round(peak_anon / 1024, 1),
            "peak_python_mb": round(peak_self / 1024, 1)}


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
