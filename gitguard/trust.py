"""Who may approve, signing approvals, and verifying them. Every check fails closed.

A commit counts as approved only when git verifies its SSH signature against the
allowed-signers file gitguard writes from `[people]`, AND the fingerprint of the key that made
it belongs to an approver (role kabag or kasubbag with a signing_key). git's own text output is
never grepped: the decision rests on `%G?` and `%GF`.
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from gitguard.config import Config, Person
from gitguard.errors import CriticalError, TrustError, UsageError
from gitguard.model import Baseline, Reason, Signer
from gitguard.store.repo import APPROVED, APPROVED_SEEN, JOURNAL, SiteRepo


def key_fingerprint(public_key: str) -> str:
    """The SHA256 fingerprint of an OpenSSH public key line ('ssh-ed25519 AAAA... comment')."""
    try:
        blob = base64.b64decode(public_key.split()[1], validate=True)
    except (IndexError, ValueError):
        raise TrustError(f"not an SSH public key: {public_key[:40]!r}") from None
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def approvers_by_fingerprint(config: Config) -> dict[str, Person]:
    """Each approver, keyed by the fingerprint of their signing key."""
    return {key_fingerprint(p.signing_key): p for p in config.approvers if p.signing_key}


def allowed_signers(config: Config) -> str:
    """The allowed-signers file's text: [people]'s approvers, for git signatures only (the
    central copy's hook is given the same text by `gitguard hooks install`)."""
    return "".join(f'{p.key} namespaces="git" {p.signing_key}\n' for p in config.approvers)


def write_allowed_signers(config: Config, repo: SiteRepo) -> Path:
    """Write the allowed-signers file from [people] (approvers only) and return its path."""
    path = repo.private / "allowed_signers"
    tmp = repo.tmp("allowed_signers")
    tmp.write_text(allowed_signers(config), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _git_trust_args(config: Config, repo: SiteRepo) -> list[str]:
    signers = write_allowed_signers(config, repo)
    return ["-c", "gpg.format=ssh", "-c", f"gpg.ssh.allowedSignersFile={signers}",
            "-c", "gpg.ssh.program=ssh-keygen"]


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one commit's signature."""

    commit: str
    signer: Signer | None
    reason: str  # why it failed; empty when it verified

    @property
    def ok(self) -> bool:
        """Whether the commit is a verified approval."""
        return self.signer is not None and not self.reason


def check_commit(config: Config, repo: SiteRepo, commit: str) -> Verdict:
    """Verify a commit's signature and that an approver made it; never raises for a bad one."""
    out = repo.git.run([*_git_trust_args(config, repo), "log", "-1",
                        "--format=%G?%x00%GF%x00%GS", commit], check=False)
    fields = out.decode("utf-8", "replace").strip().split("\0")
    status, fpr, _principal = ([*fields, "", "", ""])[:3]
    if status == "N":
        return Verdict(commit, None, "the commit is not signed")
    if status != "G":
        meaning = {"B": "the signature is bad", "U": "the signing key is not trusted",
                   "E": "the signature cannot be checked (unknown key)",
                   "X": "the signature has expired", "Y": "the signing key has expired",
                   "R": "the signing key was revoked"}.get(status, f"git says {status!r}")
        return Verdict(commit, None, f"signature does not verify: {meaning}")
    person = approvers_by_fingerprint(config).get(fpr)
    if person is None:
        return Verdict(commit, None, f"signed by key {fpr}, which is not an approver's")
    return Verdict(commit, Signer(person=person.key, name=person.name, role=person.role,
                                  fingerprint=fpr), "")


def verify_commit(config: Config, repo: SiteRepo, commit: str) -> Signer:
    """The approver who signed a commit, or TrustError saying why it does not verify."""
    verdict = check_commit(config, repo, commit)
    if verdict.signer is None:
        raise TrustError(f"commit {commit[:12]}: {verdict.reason}")
    return verdict.signer


def baseline(config: Config, repo: SiteRepo, commit: str, signer: Signer) -> Baseline:
    """The Baseline record of a verified approved commit."""
    info = repo.commit_info(commit)
    return Baseline(commit=commit, signer=signer, date=info.date, message=info.message.strip())


@dataclass(frozen=True)
class SigningKey:
    """How approve signs: a key file, or a public key whose private half is in ssh-agent."""

    signing_key: str  # user.signingKey for git: a path, or 'key::ssh-ed25519 AAAA...'
    public_key: str


def signing_key_from_file(path: Path) -> SigningKey:
    """Use a key file; its public half comes from FILE.pub or from the file itself."""
    if not path.exists():
        raise TrustError(f"key file {path} does not exist")
    if path.suffix == ".pub":
        raise TrustError(f"--key takes the private key file ({path.with_suffix('')}), "
                         f"not the public {path}")
    pub = Path(str(path) + ".pub")
    if pub.exists():
        public = pub.read_text().strip()
    else:
        proc = subprocess.run(["ssh-keygen", "-y", "-P", "", "-f", str(path)],
                              capture_output=True, text=True, stdin=subprocess.DEVNULL,
                              check=False)
        if proc.returncode != 0:
            raise TrustError(f"cannot read the public half of {path}: put it in {pub}")
        public = proc.stdout.strip()
    return SigningKey(str(path), public)


def signing_key_from_agent(config: Config) -> SigningKey:
    """The first approver key that ssh-agent holds (hardware sk- keys included)."""
    if not os.environ.get("SSH_AUTH_SOCK"):
        raise TrustError("no --key given and no ssh-agent running (SSH_AUTH_SOCK is unset)")
    proc = subprocess.run(["ssh-add", "-L"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise TrustError("ssh-agent holds no keys: add yours with ssh-add, or pass --key")
    approvers = approvers_by_fingerprint(config)
    for line in proc.stdout.splitlines():
        if key_fingerprint(line) in approvers:
            return SigningKey(f"key::{line.strip()}", line.strip())
    raise TrustError("none of the keys in ssh-agent is an approver's signing_key")


def approver_for(config: Config, key: SigningKey) -> Person:
    """The approver this key belongs to, or TrustError naming the fingerprint."""
    fpr = key_fingerprint(key.public_key)
    person = approvers_by_fingerprint(config).get(fpr)
    if person is None:
        raise TrustError(f"key {fpr} is not an approver's: only people with role kabag or "
                         "kasubbag and that signing_key in [people] may approve")
    return person


def signing_args(config: Config, repo: SiteRepo, key: SigningKey) -> list[str]:
    """The git options that make commit-tree sign with this key."""
    return [*_git_trust_args(config, repo), "-c", f"user.signingKey={key.signing_key}"]


CRITICAL_PROBLEMS = frozenset({"approved_unverified", "approved_rewritten",
                               "journal_rewritten"})


@dataclass(frozen=True)
class BaselineCheck:
    """What the approved branch can be trusted for right now."""

    baseline: Baseline | None  # the verified state to compare against, if any
    problems: tuple[Reason, ...]  # why the tip cannot be trusted, or that there is none

    @property
    def trusted(self) -> bool:
        """Whether the tip of approved verified and continues the history gitguard saw."""
        return self.baseline is not None and not self.problems


def check_baseline(config: Config, repo: SiteRepo) -> BaselineCheck:
    """Verify the approved tip, its descent from the last tip seen, from the approval the
    journal last recorded, and from what the off-site copies hold; fail closed.

    When the tip fails, the newest verified approval on record still serves as the
    comparison baseline (so the damage shows), but the problem is critical and restore
    refuses.
    """
    tip = repo.git.rev(APPROVED)
    seen = repo.git.rev(APPROVED_SEEN)
    anchor = repo.approved_anchor()
    if tip is None and seen is None and anchor is None:
        return BaselineCheck(None, (Reason("no_baseline"),))
    problems: list[Reason] = []
    if tip is None:
        problems.append(Reason("approved_rewritten", "nothing (the branch was deleted)"))
    else:
        verdict = check_commit(config, repo, tip)
        if not verdict.ok:
            problems.append(Reason("approved_unverified", f"{tip[:12]}: {verdict.reason}"))
        if seen is not None and seen != tip and not repo.descends(seen, tip):
            problems.append(Reason("approved_rewritten", tip[:12]))
        problems += _against_records(config, repo, tip, anchor)
        if not problems and verdict.signer is not None:
            repo.git.run(["update-ref", "-m", "gitguard: approved tip verified",
                          APPROVED_SEEN, tip])
            return BaselineCheck(baseline(config, repo, tip, verdict.signer), ())
    for candidate in dict.fromkeys(c for c in (anchor and anchor[0], seen) if c):
        fallback = check_commit(config, repo, candidate)
        if fallback.signer is not None:
            return BaselineCheck(baseline(config, repo, fallback.commit, fallback.signer),
                                 tuple(problems))
    return BaselineCheck(None, tuple(problems))


def _against_records(config: Config, repo: SiteRepo, tip: str,
                     anchor: tuple[str, int] | None) -> list[Reason]:
    """Whether the approved tip is behind what the journal recorded, or behind what an
    off-site copy holds, or the journal behind its off-site copy: a rollback of `approved`
    together with APPROVED_SEEN, or of the journal itself."""
    problems = []
    if anchor is not None:
        commit, count = anchor
        if not repo.descends(commit, tip) or repo.approval_count(tip) < count:
            problems.append(Reason("approved_rewritten", f"{tip[:12]} (the journal recorded "
                                   f"{commit[:12]}, approval {count})"))
    journal = repo.git.rev(JOURNAL)
    for url in _remotes(config, repo):
        heads = repo.remote_heads(url) or {}
        theirs = heads.get(APPROVED)
        if theirs is not None and not repo.descends(theirs, tip):
            problems.append(Reason("approved_rewritten", f"{tip[:12]} (the off-site copy "
                                   f"{url} holds {theirs[:12]})"))
        theirs = heads.get(JOURNAL)
        if theirs is not None and (journal is None or not repo.descends(theirs, journal)):
            problems.append(Reason("journal_rewritten", f"{url} holds {theirs[:12]}"))
    return problems


def _remotes(config: Config, repo: SiteRepo) -> tuple[str, ...]:
    """The off-site copies of the site whose repository this is."""
    for site in config.sites.values():
        if config.repo_path(site) == repo.path:
            return site.remotes
    return ()


def trusted_baseline(config: Config, repo: SiteRepo, doing: str) -> Baseline:
    """The verified approved state that restore and verify work against; refuses (exit 3)
    when nothing is approved yet and (exit 2) when the approved branch cannot be trusted."""
    check = check_baseline(config, repo)
    if [p.code for p in check.problems] == ["no_baseline"]:
        raise UsageError(f"cannot {doing}: nothing is approved yet; sign a snapshot with "
                         "'gitguard approve' first")
    if not check.trusted or check.baseline is None:
        reasons = "; ".join(f"{p.code} {p.detail}".strip() for p in check.problems)
        raise CriticalError(f"refusing to {doing}: the approved state cannot be trusted "
                            f"({reasons}); nothing on the server was changed")
    return check.baseline
