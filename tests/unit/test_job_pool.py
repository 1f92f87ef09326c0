"""The job pool (issue #14, items 1 and 2): one process per job, at most N at once, a time
limit each, a crash or a hang ends that job alone, and what a job started goes with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from gitguard.errors import ExitCode
from gitguard.jobs import Pool, run_each


def test_results_output_and_exit_codes() -> None:
    def work(name: str) -> int:
        print(f"{name}: stdout")
        print(f"{name}: stderr", file=sys.stderr)
        return {"a": 0, "b": 2}.get(name, 1)

    results = {r.name: r for r in run_each(["a", "b", "c"], work, jobs=2, timeout=30)}
    assert {n: r.code for n, r in results.items()} == {
        "a": ExitCode.OK, "b": ExitCode.CRITICAL, "c": ExitCode.WARNING}
    assert results["b"].stdout == "b: stdout\n" and results["b"].stderr == "b: stderr\n"
    assert not any(r.failure for r in results.values())


def test_a_job_hands_back_a_value_beside_its_exit_code() -> None:
    """A monitoring record comes back as a value, never parsed out of the job's output;
    a job killed on its way gives none (its stand-in says why)."""
    def work(name: str) -> int | tuple[int, object]:
        print("a line a plugin must not show")
        if name == "dies":
            os.kill(os.getpid(), signal.SIGKILL)
        return (0, {"site": name, "files": 3}) if name == "ok" else 1

    results = {r.name: r for r in run_each(["ok", "plain", "dies"], work, jobs=3, timeout=30)}
    assert results["ok"].value == {"site": "ok", "files": 3}
    assert results["ok"].code is ExitCode.OK
    assert results["ok"].stdout == "a line a plugin must not show\n"
    assert results["plain"].value is None and results["plain"].code is ExitCode.WARNING
    assert results["dies"].value is None and results["dies"].failure


def test_a_bug_a_crash_and_a_hang_end_their_job_alone(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"

    def work(name: str) -> int:
        if name == "bug":
            raise RuntimeError("a bug in one site's job")
        if name == "crash":
            os.kill(os.getpid(), signal.SIGKILL)
        if name == "hang":
            child = subprocess.Popen(["sleep", "60"])  # what the job started goes with it
            marker.write_text(str(child.pid))
            time.sleep(60)
        return 0

    started = time.monotonic()
    results = {r.name: r for r in run_each(["bug", "crash", "hang", "fine"], work, jobs=4,
                                            timeout=1.5)}
    assert time.monotonic() - started < 10
    assert results["bug"].code is ExitCode.UNKNOWN
    assert "RuntimeError: a bug in one site's job" in results["bug"].stderr
    assert results["crash"].failure == "crashed (killed by SIGKILL)"
    assert results["hang"].timed_out and results["hang"].code is ExitCode.UNKNOWN
    assert results["hang"].failure.startswith("timed out after ")
    assert results["fine"].code is ExitCode.OK and not results["fine"].failure
    grandchild = int(marker.read_text())
    deadline = time.monotonic() + 5
    while Path(f"/proc/{grandchild}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # reaped by init once killed
    status = Path(f"/proc/{grandchild}/stat")
    assert not status.exists() or status.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_never_more_than_n_at_once(tmp_path: Path) -> None:
    log = tmp_path / "log"

    def work(name: str) -> int:
        with log.open("a") as handle:
            handle.write(f"+ {time.monotonic()}\n")
        time.sleep(0.3)
        with log.open("a") as handle:
            handle.write(f"- {time.monotonic()}\n")
        return 0

    assert len(list(run_each([str(n) for n in range(6)], work, jobs=2, timeout=30))) == 6
    events = sorted((float(t), sign) for sign, t in
                    (line.split() for line in log.read_text().splitlines()))
    running = peak = 0
    for _, sign in events:
        running += 1 if sign == "+" else -1
        peak = max(peak, running)
    assert peak == 2


def test_stop_ends_running_jobs() -> None:
    pool = Pool(2, timeout=60)
    pool.start("slow", lambda: time.sleep(60) or 0)
    started = time.monotonic()
    [result] = pool.stop()
    assert result.failure == "crashed (stopped)" and not result.timed_out
    assert time.monotonic() - started < 10 and not pool.busy


def test_jobs_die_with_their_parent(tmp_path: Path) -> None:
    """A parent killed outright (SIGKILL, the OOM killer) cannot stop its jobs: the kernel
    does, so no job is left running on its own."""
    script = tmp_path / "parent.py"
    script.write_text(
        "import os, sys, time\n"
        "from gitguard.jobs import run_each\n"
        "def work(name):\n"
        "    os.write(1, f\"{os.getpid()}\\n\".encode())\n"
        "    time.sleep(60)\n"
        "    return 0\n"
        "list(run_each(['a', 'b'], work, jobs=2, timeout=120, capture=False))\n")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    jobs = [int(parent.stdout.readline()) for _ in range(2)]
    parent.kill()
    parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{pid}").exists() for pid in jobs) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(Path(f"/proc/{pid}").exists() for pid in jobs)
