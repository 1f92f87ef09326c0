#!/usr/bin/env python3
"""Time gitguard's CMS database backup against `mysqldump` plus `git add && git commit`.

A WordPress-shaped database (100,000 posts, 500,000 postmeta rows by default) in a real
MariaDB that tests/mariadb.py starts; gitguard reaches it with the server's own client, as
a site does. Rows: the first backup (and the peer's), an unchanged check, 30 changed rows,
each as the time `gitguard mirror` takes beyond the same mirror of a site without a
database, and the peak memory of the first backup's process tree.

    nice -n 19 .venv/bin/python bench/database.py [--posts N] [--meta N] [--rounds N]

(about a minute at the defaults; needs mariadb-server, mariadb-client and git)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from mariadb import READER, READER_PASSWORD, MariaDb  # noqa: E402
from procmem import TreeMemory  # noqa: E402

GITGUARD = [str(REPO / ".venv" / "bin" / "python"), "-m", "gitguard.cli"]
SAMPLE_S = 0.02
PEER_GIT_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
                "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@localhost",
                "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@localhost"}


def fill(db: MariaDb, name: str, posts: int, meta: int) -> None:
    """The WordPress schema, its sample rows, and the bulk: posts with ~1 KB of varied text
    each, postmeta rows spread over them."""
    sample = REPO / "sample" / "database"
    db.create_database(name, writer=False)
    db.sql((sample / "schema.sql").read_text() + (sample / "data.sql").read_text(), name)
    words = "'Pemerintah Kota Contoh mengumumkan layanan publik baru bagi warga. '"
    db.sql(f"""
        SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO';
        INSERT INTO wp_posts (ID, post_author, post_date, post_date_gmt, post_content,
            post_title, post_excerpt, post_status, post_name, to_ping, pinged, post_modified,
            post_modified_gmt, post_content_filtered, guid, post_type)
          SELECT seq + 100, 2, '2026-01-01 08:00:00' + INTERVAL seq MINUTE,
            '2026-01-01 01:00:00' + INTERVAL seq MINUTE,
            CONCAT('<p>', REPEAT({words}, 12), MD5(seq), '</p>\\n<p>', SHA1(seq), '</p>'),
            CONCAT('Berita nomor ', seq), '', 'publish', CONCAT('berita-', seq), '', '',
            '2026-01-01 08:00:00' + INTERVAL seq MINUTE,
            '2026-01-01 01:00:00' + INTERVAL seq MINUTE, '',
            CONCAT('https://www.contoh.go.id/?p=', seq + 100), 'post'
          FROM seq_1_to_{posts};
        INSERT INTO wp_postmeta (meta_id, post_id, meta_key, meta_value)
          SELECT seq + 100, 100 + 1 + (seq MOD {posts}),
            ELT(1 + seq MOD 5, '_edit_last', '_thumbnail_id', '_wp_page_template',
                'views', '_yoast_wpseo_metadesc'),
            CONCAT('nilai-', MD5(seq))
          FROM seq_1_to_{meta};
    """, name)


class Cpu:
    """CPU seconds spent by the commands this process waited for, and by the server: on a
    loaded machine wall times stretch, the work done does not."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.tree = 0.0
        self.server = 0.0

    def _now(self) -> tuple[float, float]:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        fields = Path(f"/proc/{self.server_pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return usage.ru_utime + usage.ru_stime, (int(fields[11]) + int(fields[12])) / ticks

    def __enter__(self) -> Cpu:
        self._start = self._now()
        return self

    def __exit__(self, *exc: object) -> None:
        end = self._now()
        self.tree = round(end[0] - self._start[0], 2)
        self.server = round(end[1] - self._start[1], 2)


def timed(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None,
          memory: bool = False) -> tuple[float, int]:
    """Wall seconds of a command (and its tree's peak memory when asked)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    sampler = TreeMemory(proc.pid, SAMPLE_S) if memory else None
    out, err = proc.communicate(timeout=3600)
    seconds = time.perf_counter() - start
    # the tree's resident sets summed, in bytes (as this bench has always reported it)
    peak = sampler.stop().peak_kb["Rss"] * 1024 if sampler else 0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {proc.returncode}\n{out.decode()}\n"
                         f"{err.decode()}")
    return seconds, peak


def config(work: Path, name: str, db: MariaDb | None, docroot: Path, tag: str) -> Path:
    """A gitguard config for the bench site, with or without its database."""
    path = work / f"{tag}.toml"
    text = f'[gitguard]\ndata_dir = "data-{tag}"\n[sites.bench]\nsource = "{docroot}"\n'
    if db is not None:
        text += (f'[sites.bench.database]\nname = "{name}"\nuser = "{READER}"\n'
                 f'password_file = "{work / "db-password"}"\nsocket = "{db.socket}"\n')
    path.write_text(text)
    return path


def main() -> None:
    """Run the scenarios and write bench/results/database-<date>.json."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--meta", type=int, default=500_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="gitguard-bench-db-", dir="/var/tmp"))
    results: dict[str, Any] = {"posts": args.posts, "postmeta": args.meta}
    load_before = os.getloadavg()  # other work on the machine inflates every figure
    try:
        with MariaDb() as db:
            name = "benchwp"
            t = time.perf_counter()
            fill(db, name, args.posts, args.meta)
            results["fill_s"] = round(time.perf_counter() - t, 1)
            secret = work / "db-password"
            secret.write_text(READER_PASSWORD + "\n")
            secret.chmod(0o600)
            docroot = work / "html"
            docroot.mkdir()
            (docroot / "index.html").write_text("<h1>Pemerintah Kota Contoh</h1>\n")
            with_db = config(work, name, db, docroot, "db")
            without = config(work, name, None, docroot, "files")
            for cfg in (with_db, without):
                timed([*GITGUARD, "-c", str(cfg), "init"])
            timed([*GITGUARD, "-c", str(without), "mirror"])
            assert db.process is not None
            with Cpu(db.process.pid) as ours:
                first, peak = timed([*GITGUARD, "-c", str(with_db), "mirror"], memory=True)
            results["first_backup_s"] = round(first, 2)
            results["first_backup_cpu_s"] = {"gitguard_and_children": ours.tree,
                                             "server": ours.server}
            results["first_backup_peak_mb"] = round(peak / 1e6, 1)

            peer = work / "peer"
            peer.mkdir()
            env = {**os.environ, **PEER_GIT_ENV}
            subprocess.run(["git", "init", "-q", str(peer)], check=True, env=env)
            dump = [shutil.which("mysqldump") or "mysqldump", "--no-defaults",
                    f"--socket={db.socket}", "--user=root", "--single-transaction",
                    f"--result-file={peer / 'dump.sql'}", name]
            with Cpu(db.process.pid) as theirs:
                dumped, _ = timed(dump)
                added, _ = timed(["git", "add", "-A"], env=env, cwd=peer)
                committed, _ = timed(["git", "commit", "-q", "-m", "dump"], env=env, cwd=peer)
            results["peer_cpu_s"] = {"mysqldump_and_git": theirs.tree, "server": theirs.server}
            results["peer_mysqldump_s"] = round(dumped, 2)
            results["peer_git_add_commit_s"] = round(added + committed, 2)
            results["peer_total_s"] = round(dumped + added + committed, 2)
            results["dump_mb"] = round((peer / "dump.sql").stat().st_size / 1e6, 1)
            # the work done, which a loaded machine stretches less than the wall time
            results["first_backup_ratio"] = {
                "wall": round(first / (dumped + added + committed), 2),
                "cpu": round((ours.tree + ours.server) / (theirs.tree + theirs.server), 2)}

            def extra(rounds: int, before: str | None = None) -> dict[str, float]:
                """Median wall time of mirror with and without the database."""
                plain, full, cpu_plain, cpu_full = [], [], [], []
                assert db.process is not None
                for n in range(rounds):
                    if before:
                        db.sql(before.format(n=n), name)
                    with Cpu(db.process.pid) as used:
                        plain.append(timed([*GITGUARD, "-c", str(without), "mirror"])[0])
                    cpu_plain.append(used.tree + used.server)
                    with Cpu(db.process.pid) as used:
                        full.append(timed([*GITGUARD, "-c", str(with_db), "mirror"])[0])
                    cpu_full.append(used.tree + used.server)
                return {"with_database_s": round(statistics.median(full), 3),
                        "without_database_s": round(statistics.median(plain), 3),
                        "added_s": round(statistics.median(full) - statistics.median(plain),
                                         3),
                        "added_cpu_s": round(statistics.median(cpu_full)
                                             - statistics.median(cpu_plain), 2)}

            results["unchanged"] = extra(args.rounds)
            posts = ", ".join(str(101 + i * max(1, args.posts // 15)) for i in range(15))
            metas = ", ".join(str(101 + i * max(1, args.meta // 15)) for i in range(15))
            changes = ("UPDATE wp_posts SET post_title = CONCAT('Berita diperbarui {n} ', ID) "
                       f"WHERE ID IN ({posts}); UPDATE wp_postmeta SET meta_value = "
                       f"CONCAT('baru-{{n}}-', meta_id) WHERE meta_id IN ({metas})")
            results["changed_30_rows"] = extra(args.rounds, changes)
            repo = work / "data-db" / "bench.git"
            results["repository_mb"] = round(sum(
                f.stat().st_size for f in repo.rglob("*") if f.is_file()) / 1e6, 1)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(),
                          "python": platform.python_version(),
                          "load_1_5_15_before": [round(x, 2) for x in load_before],
                          "load_1_5_15_after": [round(x, 2) for x in os.getloadavg()],
                          "mariadb": subprocess.run(["/usr/sbin/mariadbd", "--version"],
                                                    capture_output=True, text=True
                                                    ).stdout.strip()}
    results["targets"] = {
        "first_backup_not_slower_than_peer": results["first_backup_s"] <= results["peer_total_s"],
        "unchanged_adds_under_0_5_s": results["unchanged"]["added_s"] < 0.5,
        "changed_30_rows_under_1_s": results["changed_30_rows"]["added_s"] < 1.0,
        "peak_memory_under_200_mb": results["first_backup_peak_mb"] < 200}
    out = REPO / "bench" / "results" / f"database-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()
