"""Config validation: typed results, every mistake named at once."""

from __future__ import annotations

import subprocess
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


def test_bad_globs_are_named_by_key_all_at_once(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        validate({"sites": {"www": {"source": "html", "exclude": ["ok/**", "[z-a]"],
                                    "allow_new": ["uploads/[z-a].jpg"]}}},
                 tmp_path / "gitguard.toml")
    message = str(info.value)
    assert "2 mistake(s)" in message
    assert "sites.www.exclude: '[z-a]' is not a valid glob" in message
    assert "sites.www.allow_new: 'uploads/[z-a].jpg' is not a valid glob" in message


@pytest.mark.parametrize(("value", "size"), [
    (None, 2 << 30), (1024, 1024), ("500 MB", 500_000_000), ("1 GiB", 1 << 30),
    ("2GiB", 2 << 30), ("10 kib", 10240), ("12", 12), ("3 b", 3),
])
def test_max_file_size(tmp_path: Path, value: object, size: int) -> None:
    site: dict[str, object] = {"source": "html"}
    if value is not None:
        site["max_file_size"] = value
    config = validate({"sites": {"www": site}}, tmp_path / "gitguard.toml")
    assert config.sites["www"].max_file_size == size


@pytest.mark.parametrize("value", [0, -5, True, "lots", "1.5 GB", "5 XB", "", [1], 1 << 50])
def test_max_file_size_mistakes(tmp_path: Path, value: object) -> None:
    with pytest.raises(ConfigError, match=r"sites\.www\.max_file_size"):
        validate({"sites": {"www": {"source": "html", "max_file_size": value}}},
                 tmp_path / "gitguard.toml")


@pytest.mark.parametrize("key", [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 rina",  # the type name, no key
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEw2qQ9Ck4mXz3wqjKfbgwMWl3ZlqWJYQ4V3Z1j1bY rina",
    "ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ== rina",  # an RSA blob under another name
    "ssh-ed25519 !!!! rina",
    "ssh-dss AAAAB3NzaC1kc3MAAACBAP rina",
])
def test_a_malformed_signing_key_is_a_config_error(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError, match=r"people\.rina\.signing_key"):
        validate({"people": {"rina": {"name": "Rina", "role": "kasubbag", "signing_key": key}},
                  "sites": {"www": {"source": "html"}}}, tmp_path / "gitguard.toml")


@pytest.mark.parametrize(("passphrase", "key_format", "keep_pub"), [
    ("", "RFC4716", False),        # OpenSSH format: the public key is read from the file
    ("secret", "RFC4716", False),  # ... even behind a passphrase
    ("", "PEM", False),            # another format: derived with ssh-keygen -y
    ("secret", "PEM", True),       # behind a passphrase: from the .pub beside it
])
def test_the_login_key_is_refused_as_an_approver_key(tmp_path: Path, passphrase: str,
                                                      key_format: str, keep_pub: bool) -> None:
    key_type = "rsa" if key_format == "PEM" else "ed25519"
    path = tmp_path / "gitguard_login"
    subprocess.run(["ssh-keygen", "-q", "-t", key_type, "-N", passphrase, "-C", "login",
                    "-f", str(path), "-m", key_format], check=True, stdin=subprocess.DEVNULL)
    public = Path(f"{path}.pub").read_text().strip()
    if not keep_pub:
        Path(f"{path}.pub").unlink()
    raw = {"people": {"rina": {"name": "Rina", "role": "kasubbag", "signing_key": public},
                      "budi": {"name": "Budi", "role": "kabag", "signing_key": KEY}},
           "sites": {"www": {"source": "ssh://gitguard@web1.example.go.id/var/www/html",
                             "identity_file": "gitguard_login", "known_hosts": "kh"}}}
    with pytest.raises(ConfigError) as info:
        validate(raw, tmp_path / "gitguard.toml")
    message = str(info.value)
    assert "sites.www.identity_file" in message and "people.rina.signing_key" in message
    assert "people.budi" not in message
    del raw["people"]["rina"]  # type: ignore[attr-defined]
    assert validate(raw, tmp_path / "gitguard.toml").sites["www"].identity_file == path


def test_the_sample_config_loads(tmp_path: Path) -> None:
    sample = Path(__file__).parents[2] / "sample" / "gitguard.toml"
    config = tmp_path / "gitguard.toml"
    config.write_text(sample.read_text().replace("@SIGNING_KEY@", KEY))
    site = load(config).sites["sample"]
    assert site.max_file_size == 2 << 30
    assert site.exclude == ("*.log", "wp-content/cache/**")


def test_an_allow_new_rule_that_names_only_folders_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"sites\.www\.allow_new: 'uploads/' names only"):
        validate({"sites": {"www": {"source": "html", "allow_new": ["uploads/"]}}},
                 tmp_path / "gitguard.toml")
