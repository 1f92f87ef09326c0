"""Detection measured on public corpora: recall on webshells, false alarms on real code, speed.

Nothing is fetched here and nothing read is committed: every corpus is a folder (or a bare git
repository, for plugin release histories) named on the command line. Each malicious PHP sample
is graded twice: as a modification of an approved PHP file in a neutral folder (only content
detection can catch it) and appended to a real WordPress core file. Benign PHP is graded as
the same kind of modification, and plugin release histories as the update from each tag to
the next. php-malware-finder's YARA rules grade the same bytes when `--yara` names them. The
timing scenario mirrors and audits a local site whose N approved PHP files were all replaced by
samples, beside a YARA scan of the same files.

    .venv/bin/python bench/corpus.py \\
        --malicious tennc=/var/tmp/ggcorpus/tennc+webshell ... \\
        --holdout jiaheng=/var/tmp/ggcorpus/JiaHeng-DLUT+Webshell-samples/samples/webshell \\
        --benign wordpress=/usr/share/wordpress ... --plugin cmb2=/work/.mirror/CMB2+CMB2/repo \\
        --yara /var/tmp/ggcorpus/jvoisin+php-malware-finder/data/php.yar --timing 5000
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import multiprocessing
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import itertools

from gitguard.detect import Side, critical_reasons
from gitguard.model import Change, Kind

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PHP_EXTS = {".php", ".php3", ".php4", ".php5", ".php7", ".phtml", ".pht", ".inc", ".phar"}
OTHER_EXTS = {".jsp", ".jspx", ".asp", ".aspx", ".ashx", ".asmx", ".cer", ".asa"}
MAX_SAMPLE = 4 << 20
APPROVED = b"<?php\n/* Approved placeholder: replaced by the sample. */\n"
WORDPRESS = Path("/usr/share/wordpress")
# Families by the words their file names and folders carry.
FAMILIES = (
    ("wso", ("wso",)),
    ("b374k", ("b374k",)),
    ("c99", ("c99", "c100")),
    ("r57", ("r57",)),
    ("filesman", ("filesman",)),
    ("indoxploit", ("indoxploit", "indosec", "garuda", "linuxsec", "idx")),
    ("alfa", ("alfa",)),
    ("mini", ("mini", "0byt3", "0byte")),
    ("weevely", ("weevely",)),
    ("chopper", ("chopper", "caidao", "yijuhua", "一句话")),
    ("uploader", ("upload", "uploader")),
    ("mailer", ("mail",)),
    ("bypass", ("bypass",)),
    ("reverse", ("reverse", "back-connect", "backconnect", "bc.")),
)


def family(path: str) -> str:
    """A sample's family, read from its path."""
    low = path.lower()
    return next((name for name, words in FAMILIES if any(w in low for w in words)), "other")


def side(data: bytes) -> Side:
    """A file side."""
    return Side(Kind.FILE, 0o644, data, None)


PHP_TAG = re.compile(rb"<\?(?:php|=|\s|\$)", re.IGNORECASE)
# Where collections keep PHP besides .php files: shells saved as text, or with no extension.
TEXT_EXTS = {".txt", ""}


def is_php(path: Path, data: bytes) -> bool:
    """Whether a sample is PHP that can run: a PHP or text file with a PHP tag in it."""
    ext = path.suffix.lower()
    return (ext in PHP_EXTS or ext in TEXT_EXTS) and PHP_TAG.search(data) is not None


def samples(root: Path) -> Iterator[tuple[str, bytes, str]]:
    """(relative path, bytes, language) of each PHP, JSP or ASP sample under `root`."""
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.is_symlink() or ".git" in path.parts:
            continue
        size = path.stat().st_size
        if size == 0 or size > MAX_SAMPLE:
            continue
        data = path.read_bytes()
        rel = str(path.relative_to(root))
        if is_php(path, data):
            yield rel, data, "php"
        elif path.suffix.lower() in OTHER_EXTS:
            yield rel, data, "jsp/asp"


def wordpress_hosts() -> list[tuple[str, bytes]]:
    """Real PHP files that samples are appended to (WordPress core, mid-sized ones)."""
    hosts = []
    for path in sorted(WORDPRESS.rglob("*.php")):
        if path.is_file() and 2000 <= path.stat().st_size <= 60000:
            hosts.append((str(path.relative_to(WORDPRESS)), path.read_bytes()))
    return hosts


def appended(host: bytes, sample: bytes) -> bytes:
    """`sample` appended to `host` the way an injector does: after the host's PHP is closed."""
    tail = host.rstrip()
    closed = tail.rfind(b"?>") > tail.rfind(b"<?php")
    return tail + (b"\n" if closed else b"\n?>\n") + sample


class Yara:
    """php-malware-finder's rules, compiled once."""

    def __init__(self, rules: Path) -> None:
        import yara  # type: ignore[import-not-found]  # bench only: pip install yara-python

        self.rules = yara.compile(filepath=str(rules))

    def hit(self, data: bytes) -> bool:
        """Whether any rule matches."""
        return bool(self.rules.match(data=data, timeout=60))


def grade(path: str, old: bytes | None, new: bytes) -> tuple[bool, list[str]]:
    """Whether gitguard grades this change critical, and the reason codes."""
    change = Change.MODIFIED if old is not None else Change.ADDED
    reasons = critical_reasons(path, change, side(old) if old is not None else None, side(new))
    return bool(reasons), sorted({r.code for r in reasons})


_YARA: Yara | None = None
_HOSTS: list[tuple[str, bytes]] = []


def _start_worker(rules: Path | None) -> None:
    """A grading process: its own compiled rules and host files."""
    global _YARA, _HOSTS
    _YARA = Yara(rules) if rules is not None else None
    _HOSTS = wordpress_hosts()


def _grade_sample(job: tuple[str, bytes, str]) -> dict[str, Any]:
    """One malicious sample in both forms, by gitguard and by YARA."""
    rel, data, language = job
    digest = hashlib.sha1(data).hexdigest()
    ext = Path(rel).suffix.lower() if language != "php" else ".php"
    critical, found = grade(f"lib/modul/berkas{ext}", APPROVED, data)
    row: dict[str, Any] = {"rel": rel, "modified": critical, "codes": found}
    if language == "php":
        host_path, host = _HOSTS[int(digest[:8], 16) % len(_HOSTS)]
        row["appended"] = grade(host_path, host, appended(host, data))[0]
    if _YARA is not None:
        row["yara"] = _YARA.hit(data)
        if language == "php":
            row["yara_appended"] = _YARA.hit(appended(host, data))
    return row


def _grade_benign(data: bytes) -> tuple[bool, list[str], bool]:
    """One benign file, by gitguard and by YARA."""
    critical, found = grade("lib/modul/berkas.php", APPROVED, data)
    return critical, found, _YARA.hit(data) if _YARA is not None else False


def malicious(name: str, root: Path, pool: Any, seen: set[str]) -> dict[str, Any]:
    """Recall of one collection, per family, in both forms, beside YARA."""
    per: dict[str, Counter[str]] = defaultdict(Counter)
    codes: Counter[str] = Counter()
    misses: list[str] = []
    jobs = []
    for rel, data, language in samples(root):
        digest = hashlib.sha1(data).hexdigest()
        if digest not in seen:
            seen.add(digest)
            jobs.append((rel, data, language))
    for (rel, _, language), row in zip(jobs, pool.imap(_grade_sample, jobs, 8), strict=True):
        counts = per[family(rel) if language == "php" else language]
        counts["samples"] += 1
        counts["modified"] += row["modified"]
        codes.update(row["codes"])
        if not row["modified"] and len(misses) < 400:
            misses.append(rel)
        if "appended" in row:
            counts["appended_samples"] += 1
            counts["appended"] += row["appended"]
        counts["yara"] += row.get("yara", False)
        counts["yara_appended"] += row.get("yara_appended", False)
    print(f"graded {name}: {len(jobs)} samples", file=sys.stderr, flush=True)
    return {"name": name, "path": str(root), "families": per, "codes": codes, "misses": misses}


def benign(name: str, root: Path, pool: Any, limit: int) -> dict[str, Any]:
    """False-critical rate on real code, each file read as new content of an approved file."""
    paths = [
        path
        for path in sorted(root.rglob("*"))
        if path.suffix.lower() in PHP_EXTS and path.is_file() and not path.is_symlink()
    ]
    if limit and len(paths) > limit:
        paths = paths[:: -(-len(paths) // limit)]
    datas = [path.read_bytes()[:MAX_SAMPLE] for path in paths]
    critical = yara_hits = 0
    alarms: list[str] = []
    for path, (hit, found, matched) in zip(paths, pool.imap(_grade_benign, datas, 8), strict=True):
        if hit:
            critical += 1
            alarms.append(f"{path.relative_to(root)}: {', '.join(found)}")
        yara_hits += matched
    print(f"graded {name}: {len(paths)} files", file=sys.stderr, flush=True)
    return {
        "name": name,
        "path": str(root),
        "files": len(paths),
        "critical": critical,
        "yara": yara_hits,
        "alarms": alarms[:200],
    }


def git_out(repo: Path, *args: str) -> bytes:
    """Output of git on a bare repository."""
    return subprocess.run(
        ["git", f"--git-dir={repo}", *args], check=True, capture_output=True, timeout=600
    ).stdout


def release_tags(repo: Path, limit: int) -> list[str]:
    """The newest `limit` release tags, oldest first (version order)."""
    tags = [
        t
        for t in git_out(repo, "tag", "--sort=v:refname").decode().split()
        if re.fullmatch(r"v?\d+(\.\d+)+", t)
    ]
    return tags[-limit:]


def updates(name: str, repo: Path, limit: int, rules: Path | None) -> dict[str, Any]:
    """Each release-to-release update of a plugin: how many changed PHP files are critical."""
    tags = release_tags(repo, limit)
    yara = Yara(rules) if rules is not None else None
    files = critical = yara_hits = 0
    alarms: list[str] = []
    for old_tag, new_tag in itertools.pairwise(tags):
        diff = git_out(repo, "diff", "--name-status", "--no-renames", old_tag, new_tag)
        for line in diff.decode("utf-8", "replace").splitlines():
            status, _, path = line.partition("\t")
            if Path(path).suffix.lower() not in PHP_EXTS or status not in ("A", "M"):
                continue
            new = git_out(repo, "show", f"{new_tag}:{path}")
            old = git_out(repo, "show", f"{old_tag}:{path}") if status == "M" else None
            files += 1
            hit, found = grade(path, old, new)
            if hit:
                critical += 1
                alarms.append(f"{old_tag}->{new_tag} {path}: {', '.join(found)}")
            if yara is not None:
                yara_hits += yara.hit(new)
    return {
        "name": name,
        "path": str(repo),
        "releases": tags,
        "files": files,
        "critical": critical,
        "yara": yara_hits,
        "alarms": alarms[:100],
    }


def timing(count: int, pool: list[bytes], rules: Path | None) -> dict[str, Any]:
    """mirror + audit of `count` modified PHP files, beside a YARA scan of the same files."""
    work = Path(tempfile.mkdtemp(prefix="gg-corpus-", dir="/var/tmp"))
    try:
        docroot = work / "docroot"
        paths = [docroot / f"modul/m{i // 100:03d}/berkas{i:05d}.php" for i in range(count)]
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(APPROVED)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "rina", "-f", str(work / "rina")],
            check=True,
            timeout=60,
        )
        public = (work / "rina.pub").read_text().strip()
        (work / "gitguard.toml").write_text(
            f'[gitguard]\ndata_dir = "data"\nlanguage = "en"\n\n[people.rina]\n'
            f'name = "Rina"\nrole = "kasubbag"\nsigning_key = "{public}"\n\n'
            f'[sites.bench]\nsource = "{docroot}"\n'
        )
        gitguard = [str(ROOT / ".venv/bin/gitguard"), "-c", str(work / "gitguard.toml")]

        def run(*args: str, ok: tuple[int, ...] = (0,)) -> float:
            start = time.perf_counter()
            proc = subprocess.run([*gitguard, *args], capture_output=True, timeout=3600)
            if proc.returncode not in ok:
                raise SystemExit(f"gitguard {' '.join(args)}: {proc.stderr.decode()[-500:]}")
            return time.perf_counter() - start

        run("init")
        run("mirror")
        run("approve", "bench", "-m", "baseline", "--key", str(work / "rina"))
        for number, path in enumerate(paths):
            path.write_bytes(pool[number % len(pool)])
        load_before = os.getloadavg()
        mirror = run("mirror")
        audit = run("audit", "bench", "--json", ok=(1, 2))
        result: dict[str, Any] = {
            "load_before": load_before,
            "files": count,
            "mirror_s": round(mirror, 2),
            "audit_s": round(audit, 2),
            "gitguard_s": round(mirror + audit, 2),
        }
        if rules is not None:
            import yara

            start = time.perf_counter()
            compiled = yara.compile(filepath=str(rules))
            result["yara_compile_s"] = round(time.perf_counter() - start, 2)
            start = time.perf_counter()
            matched = sum(bool(compiled.match(str(p), timeout=60)) for p in paths)
            result["yara_scan_s"] = round(time.perf_counter() - start, 2)
            result["yara_matched"] = matched
            result["load_after"] = os.getloadavg()
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def named(values: list[str]) -> list[tuple[str, Path]]:
    """NAME=PATH arguments."""
    out = []
    for value in values:
        name, eq, path = value.partition("=")
        if not eq or not Path(path).exists():
            raise SystemExit(f"expected NAME=PATH with an existing path: {value}")
        out.append((name, Path(path)))
    return out


def rate(part: int, whole: int) -> str:
    """A percentage for the printout."""
    return f"{100 * part / whole:5.1f}%" if whole else "    -"


def summary(results: list[dict[str, Any]], yara: bool) -> dict[str, Any]:
    """Totals over collections, PHP only (JSP/ASP counted apart)."""
    total: Counter[str] = Counter()
    for result in results:
        for fam, row in result["families"].items():
            if fam != "jsp/asp":
                total.update(row)
    out = {key: total[key] for key in ("samples", "modified", "appended_samples", "appended")}
    if yara:
        out |= {"yara": total["yara"], "yara_appended": total["yara_appended"]}
    return out


def main(argv: list[str] | None = None) -> int:
    """Parse the corpora, grade them all, print and write the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--malicious", action="append", default=[], metavar="NAME=DIR")
    parser.add_argument(
        "--holdout",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="collections kept out of tuning, reported apart",
    )
    parser.add_argument("--benign", action="append", default=[], metavar="NAME=DIR")
    parser.add_argument("--plugin", action="append", default=[], metavar="NAME=GITDIR")
    parser.add_argument("--releases", type=int, default=12, help="newest tags per plugin")
    parser.add_argument("--yara", type=Path, help="php-malware-finder's php.yar")
    parser.add_argument("--timing", type=int, default=0, metavar="N", help="files to time")
    parser.add_argument("-o", "--output", type=Path)
    parser.add_argument(
        "--benign-limit",
        type=int,
        default=0,
        metavar="N",
        help="at most N files per benign corpus (an even spread)",
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--no-grading",
        action="store_true",
        help="only the plugin updates and the timing (samples still feed it)",
    )
    args = parser.parse_args(argv)
    output = args.output or RESULTS / f"corpus-{datetime.date.today():%Y%m%d}.json"
    yara = args.yara is not None
    seen: set[str] = set()
    started = time.perf_counter()
    result: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "load": os.getloadavg(),
        },
        "tuned": [],
        "holdout": [],
        "benign": [],
        "plugins": [],
        "timing": None,
    }

    def save() -> None:
        result["tuned_total"] = summary(result["tuned"], yara)
        result["holdout_total"] = summary(result["holdout"], yara)
        result["grading_s"] = round(time.perf_counter() - started, 1)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")

    with multiprocessing.Pool(args.jobs, _start_worker, (args.yara,)) as pool:
        graded = [] if args.no_grading else [("tuned", args.malicious), ("holdout", args.holdout)]
        for key, group in graded:
            for name, path in named(group):
                result[key].append(malicious(name, path, pool, seen))
                save()
        for name, path in [] if args.no_grading else named(args.benign):
            result["benign"].append(benign(name, path, pool, args.benign_limit))
            save()
    for name, path in named(args.plugin):
        result["plugins"].append(updates(name, path, args.releases, args.yara))
        save()
    if args.timing:
        pool_data = [
            d for _, p in named(args.malicious) for _, d, lang in samples(p) if lang == "php"
        ]
        result["timing"] = timing(args.timing, pool_data, args.yara)
    save()
    report(result, yara)
    print(f"written: {output}")
    return 0


def report(result: dict[str, Any], yara: bool) -> None:
    """The printout: per collection and family, then benign, updates, timing."""
    say: Callable[[str], None] = print
    for title, group in (("tuned", result["tuned"]), ("held out", result["holdout"])):
        for coll in group:
            say(f"\n== malicious ({title}): {coll['name']}  {coll['path']}")
            say(
                f"{'family':12} {'n':>5} {'modified':>9} {'appended':>9}"
                + (f" {'yara':>7} {'yara+app':>8}" if yara else "")
            )
            for fam, row in sorted(coll["families"].items(), key=lambda kv: -kv[1]["samples"]):
                line = (
                    f"{fam:12} {row['samples']:5} {rate(row['modified'], row['samples']):>9}"
                    f" {rate(row['appended'], row['appended_samples']):>9}"
                )
                if yara:
                    line += (
                        f" {rate(row['yara'], row['samples']):>7}"
                        f" {rate(row['yara_appended'], row['appended_samples']):>8}"
                    )
                say(line)
    for key in ("tuned_total", "holdout_total"):
        t = result[key]
        if t["samples"]:
            line = (
                f"\n{key}: {t['samples']} PHP samples; modified {rate(t['modified'], t['samples'])}"
                f", appended {rate(t['appended'], t['appended_samples'])}"
            )
            if yara:
                line += (
                    f"; yara {rate(t['yara'], t['samples'])}, appended "
                    f"{rate(t['yara_appended'], t['appended_samples'])}"
                )
            say(line)
    for b in result["benign"]:
        say(
            f"benign {b['name']}: {b['files']} files, false-critical "
            f"{rate(b['critical'], b['files'])}"
            + (f", yara {rate(b['yara'], b['files'])}" if yara else "")
        )
    files = sum(b["files"] for b in result["benign"])
    crit = sum(b["critical"] for b in result["benign"])
    say(f"benign total: {files} files, false-critical {rate(crit, files)}")
    for p in result["plugins"]:
        say(
            f"plugin {p['name']} {p['releases'][0]}..{p['releases'][-1]}: {p['files']} changed "
            f"PHP files, critical {rate(p['critical'], p['files'])}"
            + (f", yara {rate(p['yara'], p['files'])}" if yara else "")
        )
    if result["timing"]:
        say(f"timing: {json.dumps(result['timing'])}")


if __name__ == "__main__":
    raise SystemExit(main())
