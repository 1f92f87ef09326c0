"""The memory of a process and all its descendants, sampled from /proc: how every bench here
measures peak memory (the CLI, the jobs it forks, git, ssh, the database client, Chromium)."""

from __future__ import annotations

import threading
from pathlib import Path

SAMPLE_S = 0.05  # how often the tree is sampled
# smaps_rollup fields summed over the tree: resident sets (RSS counts the pages a forked job
# shares with its parent once per process), proportional sets (PSS shares them out: what the
# tree really holds), and PSS of anonymous and shared memory alone (leaves out the pages of
# binaries and libraries, which the page cache holds anyway)
FIELDS = ("Rss", "Pss", "Pss_Anon", "Pss_Shmem")


def descendants(pid: int) -> list[int]:
    """pid and every process below it (Linux's /proc/PID/task/*/children)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                pending += map(int, (task / "children").read_text().split())
        except (OSError, ValueError):
            continue  # gone meanwhile
    return found


def memory_kb(pid: int) -> dict[str, int]:
    """A process's FIELDS in KB (all 0 when it is gone)."""
    found = dict.fromkeys(FIELDS, 0)
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            name, _, rest = line.partition(":")
            if name in found:
                found[name] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        pass
    return found


class TreeMemory:
    """Samples a process tree until stop(): the peak of each field summed over the tree, and
    the peak PSS of the root process alone."""

    def __init__(self, pid: int, interval: float = SAMPLE_S) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kb = dict.fromkeys((*FIELDS, "Anon"), 0)
        self.peak_self_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            total = dict.fromkeys(FIELDS, 0)
            for pid in descendants(self.pid):
                sizes = memory_kb(pid)
                for name in FIELDS:
                    total[name] += sizes[name]
                if pid == self.pid:
                    self.peak_self_kb = max(self.peak_self_kb, sizes["Pss"])
            total["Anon"] = total["Pss_Anon"] + total["Pss_Shmem"]
            for name, value in total.items():
                self.peak_kb[name] = max(self.peak_kb[name], value)
            self._stop.wait(self.interval)

    def stop(self) -> TreeMemory:
        """Stop sampling (idempotent); the sampler, for its peaks."""
        self._stop.set()
        self._thread.join()
        return self

    def mb(self, field: str = "Pss") -> float:
        """The tree's peak of one field in MB ("Anon": Pss_Anon + Pss_Shmem)."""
        return self.peak_kb[field] / 1024
