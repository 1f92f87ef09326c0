"""The delta of two listings (issue #14 item 3: a change's cost): skipping the equal
stretches gives exactly the records a comparison of the whole listings as sets gives."""

from __future__ import annotations

import random

import pytest

from gitguard.remote import ssh
from gitguard.remote.ssh import _delta

END = b"\0\0"


def record(n: int, version: int = 0) -> bytes:
    """A FIND_FORMAT record; another version of the same path has another ctime."""
    fields = [b"f", b"644", b"33", b"33", b"%d" % (n * 7), b"1700000000.0000000010",
              b"17000%05d.1234567890" % version, b"L", b"./d%d/file-%06d.php" % (n % 50, n)]
    return b"".join(f + b"\0" for f in fields) + b"\0"


def reference(before: bytes, after: bytes) -> tuple[set[bytes], set[bytes]]:
    old, new = set(before.split(END)) - {b""}, set(after.split(END)) - {b""}
    return new - old, old - new


def records(listing: bytes) -> list[bytes]:
    return [r for r in listing.split(END) if r]


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("skip", [64, 1 << 15])
def test_the_delta_is_the_set_difference(seed: int, skip: int,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ssh, "_SKIP", skip)
    monkeypatch.setattr(ssh, "_PROBE", skip // 2)
    rng = random.Random(seed)
    paths = list(range(rng.choice([0, 1, 5, 300, 3000])))
    before = [record(n) for n in paths]
    after = list(before)
    for _ in range(rng.choice([0, 1, 3, 10, 100])):
        if not after:
            after.append(record(10**6 + rng.randrange(1000)))
            continue
        at = rng.randrange(len(after))
        kind = rng.random()
        if kind < 0.4:
            after[at] = record(paths[at] if at < len(paths) else at, rng.randrange(1, 9))
        elif kind < 0.7:
            del after[at]
        else:
            after.insert(at, record(10**6 + rng.randrange(10**5)))
    if rng.random() < 0.2 and after:  # the very first or last record changed
        after[rng.choice([0, -1])] = record(2 * 10**6 + seed, 3)
    old, new = b"".join(before), b"".join(dict.fromkeys(after))
    changed, gone = _delta(old, new)
    want_added, want_gone = reference(old, new)
    assert set(records(changed)) == want_added
    assert len(records(changed)) == len(want_added)
    assert set(gone) == want_gone and len(gone) == len(want_gone)
    # the changed records keep the new listing's order
    order = {r: n for n, r in enumerate(records(new))}
    assert [order[r] for r in records(changed)] == sorted(order[r] for r in records(changed))


def test_records_out_of_order_are_only_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder listed in another order: its records may look changed (read once more),
    but nothing that changed is missed and nothing present is called gone."""
    monkeypatch.setattr(ssh, "_SKIP", 64)
    monkeypatch.setattr(ssh, "_PROBE", 32)
    before = [record(n) for n in range(400)]
    after = before[:100] + list(reversed(before[100:200])) + before[200:]
    after[300] = record(300, 5)
    changed, gone = _delta(b"".join(before), b"".join(after))
    assert record(300, 5)[:-2] in records(changed)
    assert set(gone) - set(records(changed)) <= {record(300)[:-2]}
    assert set(records(changed)) <= set(records(b"".join(after)))
