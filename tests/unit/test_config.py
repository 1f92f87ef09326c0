"""Config validation: typed results, every mistake named at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from gitguard.config import LocalSource, SshSource, load, validate
from gitguard.errors import ConfigError

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEw2qQ9Ck4mXz3wqjKfbgwMWl3ZlqWJYQ4V3Z1j1bY5s rina"


def test_valid_config(tmp_path: Path) -> None:
    config = validate({
        "gitguard": {"data_dir": "data", "language": "en", "timezone": "Asia/Makassar"},
        "people": {"rina": {"name": "Rina", "role": "kasubbag", "signing_key": KEY},
                   "budi": {"name": "Budi", "role": "staf"}},
        "sites": {
            "www": {"source": "ssh://gitguard@web1.example.go.id:2222/var/www/html",
                    "identity_file": "keys/id", "known_hosts": "keys/kh",
                    "exclude": ["*.log"], "allow_new": ["uploads/**/*.jpg"],
                    "schedule": "every 15 minutes", "urls": ["https://www.example.go.id/"]},
            "local": {"source": "htdocs"},
        },
    }, tmp_path / "gitguard.toml")
    assert config.data_dir == tmp_path / "data"
    assert config.language == "en"
    assert config.sites["www"].source == SshSource("gitguard", "web1.example.go.id", 2222,
                                                  "/var/www/html")
    assert config.sites["www"].identity_file == tmp_path / "keys/id"
    assert config.sites["local"].source == LocalSource(tmp_path / "htdocs")
    assert [p.key for p in config.approvers] == ["rina"]
    assert config.repo_path(config.sites["www"]) == tmp_path / "data" / "www.git"


def test_every_mistake_is_named_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        validate({
            "gitguard": {"language": "fr", "colour": "blue"},
            "people": {"x": {"role": "boss", "signing_key": "not a key"}},
            "sites": {"www": {"source": "ftp://host/x", "schedule": "sometimes"},
                      "ssh": {"source": "ssh://u@h/var/www"}},
            "notify": {"smtp_password": "hunter2"},
        }, tmp_path / "gitguard.toml")
    message = str(info.value)
    assert "\n" not in message
    for needle in ("gitguard.language", "gitguard.colour", "people.x.name", "people.x.role",
                   "people.x.signing_key", "sites.www.source", "sites.www.schedule",
                   "sites.ssh.identity_file", "sites.ssh.known_hosts", "notify"):
        assert needle in message, needle


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[sites\n")
    with pytest.raises(ConfigError, match="TOML syntax"):
        load(bad)


def test_no_sites_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="sites"):
        validate({}, tmp_path / "gitguard.toml")
