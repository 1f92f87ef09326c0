"""Jobs in processes of their own: at most N at once, each with a time limit, never two on
one site; a job that crashes, hangs or overruns ends alone and the others go on."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import gc
import json
import logging
import os
import select
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from gitguard.errors import ExitCode

log = logging.getLogger(__name__)

GRACE = 5.0  # seconds between SIGTERM and SIGKILL for a job past its time limit
PR_SET_PDEATHSIG = 1  # prctl(2)
_LIBC = ctypes.CDLL(None, use_errno=True)
MAX_OUTPUT = 4 << 20  # bytes of a job's stdout or stderr passed on; the rest is cut

# What a job gives back: its exit code, or its exit code and a JSON-able value for the
# parent (a monitoring record), which never has to be read back out of the job's output.
Work = Callable[[], int | tuple[int, Any]]


@dataclass(frozen=True)
class JobResult:
    """How one job ended."""

    name: str
    code: ExitCode
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    crashed: str = ""  # the signal or exit status that ended a job abnormally
    limit: float = 0.0  # the time limit it had, in seconds
    value: Any = None  # what the job handed back beside its exit code (None: nothing)

    @property
    def failure(self) -> str:
        """Why the job did not finish on its own, or empty when it did."""
        if self.timed_out:
            return f"timed out after {self.limit:g} s and was stopped"
        return f"crashed ({self.crashed})" if self.crashed else ""


@dataclass
class _Running:
    name: str
    pid: int
    pidfd: int
    started: float
    deadline: float
    out: IO[bytes] | None
    err: IO[bytes] | None
    value: IO[bytes]
    terminated_at: float | None = None
    stopped: bool = False  # by Pool.stop(), not by its time limit
    killed: bool = False  # SIGKILL sent, after the grace time

    def wake(self, now: float) -> float:
        """When this job next needs a look: its time limit, its grace time, or (killed,
        and not gone yet) a second from now."""
        if self.terminated_at is None:
            return self.deadline
        return now + 1.0 if self.killed else self.terminated_at + GRACE


class Pool:
    """Forked workers, one process (and process group) per job."""

    def __init__(self, size: int, timeout: float, capture: bool = True,
                 freeze: bool = True) -> None:
        self.size = max(1, size)
        self.timeout = timeout
        self.capture = capture
        # gc.freeze() before each fork keeps the parent's objects' pages shared with the jobs;
        # a long-running parent (the scheduler) would keep its later cyclic garbage forever
        self.freeze = freeze
        self._running: dict[str, _Running] = {}

    @property
    def busy(self) -> set[str]:
        """The names of the jobs running now."""
        return set(self._running)

    @property
    def free(self) -> int:
        """How many more jobs may start now."""
        return self.size - len(self._running)

    def start(self, name: str, work: Work) -> None:
        """Run work() in a new process; it returns the job's exit code (and a value)."""
        if name in self._running:
            raise ValueError(f"job {name} is already running")
        # closed by _read once the job ended: they outlive this call
        out = tempfile.TemporaryFile() if self.capture else None  # noqa: SIM115
        err = tempfile.TemporaryFile() if self.capture else None  # noqa: SIM115
        value = tempfile.TemporaryFile()  # noqa: SIM115
        for stream in (sys.stdout, sys.stderr):
            stream.flush()
        if self.freeze:
            gc.freeze()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            _child(work, out, err, value, parent)
        with contextlib.suppress(PermissionError, ProcessLookupError):
            os.setpgid(pid, pid)  # the child does it too; whichever is first wins the race
        started = time.monotonic()
        self._running[name] = _Running(name, pid, os.pidfd_open(pid), started,
                                       started + self.timeout, out, err, value)

    def wait(self, timeout: float | None = None) -> list[JobResult]:
        """Jobs that ended within `timeout` seconds (None: until one ends); jobs past their
        time limit are stopped on the way."""
        if not self._running:
            return []
        until = None if timeout is None else time.monotonic() + timeout
        while True:
            now = time.monotonic()
            self._enforce(now)
            wake = min(job.wake(now) for job in self._running.values())
            limit = wake if until is None else min(wake, until)
            ready, _, _ = select.select([job.pidfd for job in self._running.values()], [], [],
                                        max(0.0, limit - now))
            done = [self._reap(job) for job in list(self._running.values())
                    if job.pidfd in ready]
            if done or (until is not None and time.monotonic() >= until):
                return done

    def stop(self) -> list[JobResult]:
        """Stop every running job (SIGTERM, then SIGKILL after the grace time)."""
        for job in self._running.values():
            if job.terminated_at is None:
                job.deadline, job.stopped = min(job.deadline, time.monotonic()), True
        results: list[JobResult] = []
        while self._running:
            results += self.wait()
        return results

    def _enforce(self, now: float) -> None:
        for job in self._running.values():
            if job.terminated_at is None and now >= job.deadline:
                log.info("%s: time limit reached, stopping it", job.name)
                job.terminated_at = now
                _signal_group(job.pid, signal.SIGTERM)
            elif (job.terminated_at is not None and not job.killed
                  and now >= job.terminated_at + GRACE):
                job.killed = True
                _signal_group(job.pid, signal.SIGKILL)

    def _reap(self, job: _Running) -> JobResult:
        # Whatever the job left behind in its process group (git, ssh) goes with it.
        _signal_group(job.pid, signal.SIGKILL)
        _, status = os.waitpid(job.pid, 0)
        os.close(job.pidfd)
        del self._running[job.name]
        seconds = time.monotonic() - job.started
        stdout, stderr, value = _read(job.out), _read(job.err), _value(job.value)
        crashed = ""
        if os.WIFSIGNALED(status):
            crashed = f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
            code = ExitCode.UNKNOWN
        else:
            exit_status = os.WEXITSTATUS(status)
            if exit_status in {int(c) for c in ExitCode}:
                code = ExitCode(exit_status)
            else:
                code, crashed = ExitCode.UNKNOWN, f"exit status {exit_status}"
        if job.terminated_at is not None:
            crashed = "stopped" if job.stopped else crashed
        timed_out = job.terminated_at is not None and not job.stopped
        return JobResult(job.name, code, stdout, stderr, seconds, timed_out,
                         "" if timed_out else crashed, round(job.deadline - job.started, 3),
                         None if crashed or timed_out else value)


def _child(work: Work, out: IO[bytes] | None, err: IO[bytes] | None, value: IO[bytes],
           parent: int) -> None:
    """The forked job: its own process group, default signals, output into its files, and
    killed by the kernel when the parent dies (killed itself, it could not stop its jobs)."""
    code = int(ExitCode.UNKNOWN)
    try:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before that took effect
            os._exit(code)
        os.setpgid(0, 0)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)
        if out is not None and err is not None:
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
            # whatever sys.stdout was (a test's capture), the job's output is fds 1 and 2
            sys.stdout = open(1, "w", encoding="utf-8", errors="backslashreplace",  # noqa: SIM115
                              closefd=False)
            sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace",  # noqa: SIM115
                              closefd=False)
        done = work()
        if isinstance(done, tuple):
            value.write(json.dumps(done[1]).encode())
            value.flush()
            done = done[0]
        code = int(done)
    except BaseException:  # a bug in the job: its traceback is its output, exit UNKNOWN
        with contextlib.suppress(BaseException):
            traceback.print_exc()
    finally:
        with contextlib.suppress(BaseException):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def _read(stream: IO[bytes] | None) -> str:
    if stream is None:
        return ""
    with stream:
        stream.seek(0)
        data = stream.read(MAX_OUTPUT + 1)
    text = data[:MAX_OUTPUT].decode("utf-8", "backslashreplace")
    return text + ("\n[output cut]\n" if len(data) > MAX_OUTPUT else "")


def _value(stream: IO[bytes]) -> Any:
    """What a job handed back (None when nothing, or too much to be a record)."""
    with stream:
        stream.seek(0)
        data = stream.read(MAX_OUTPUT + 1)
    if not data or len(data) > MAX_OUTPUT:
        return None
    try:
        return json.loads(data)
    except ValueError:  # cut short by a crash after the write began
        return None


def run_each(names: Iterable[str], work: Callable[[str], int | tuple[int, Any]], jobs: int,
             timeout: float,
             capture: bool = True) -> Iterator[JobResult]:
    """Run work(name) for every name, `jobs` at once; yield each result as it ends."""
    pending = list(names)
    pool = Pool(jobs, timeout, capture)
    try:
        while pending or pool.busy:
            while pending and pool.free:
                name = pending.pop(0)
                pool.start(name, functools.partial(work, name))
            yield from pool.wait()
    finally:
        for result in pool.stop():
            log.warning("%s: stopped (%s)", result.name, result.failure or "interrupted")
