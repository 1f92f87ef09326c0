"""The CMS database end to end: a real MariaDB (tests/mariadb.py), reached through the real
sshd's command account with the server's own client and directly; the real CLI backs it up,
audits the attacks WordPress sites suffer, restores the flagged rows and keeps the news.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import git, gitguard, toml_value, write_config
from mariadb import READER, READER_PASSWORD, WRITER, WRITER_PASSWORD, MariaDb
from sshd import SshServer

from gitguard.config import load
from gitguard.database.access import account, open_session
from gitguard.database.dump import _chunks, _server_sums, discover

SAMPLE = Path(__file__).resolve().parents[2] / "sample" / "database"
SNAPSHOTS = "refs/heads/snapshots"
SPAM = ("<p>Situs slot gacor terpercaya, daftar judi online maxwin hari ini</p>"
        "<a href=\"https://slot88.example/\">slot88</a>")
NEWS = "<p>Pemerintah Kota Contoh meresmikan taman kota baru di Kecamatan Utara.</p>"
WIDGET_SCRIPT = ('a:2:{i:2;a:3:{s:5:"title";s:6:"Kontak";s:4:"text";s:79:"Jl. Merdeka No. 1'
                 '<script src=\\"https://cdn-stat.example/x.js\\"></script>";s:6:"filter";b:1;}'
                 's:12:"_multiwidget";i:1;}')


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDb]:
    """One real MariaDB for the session; each test makes its own database."""
    with MariaDb() as server:
        yield server


@dataclass
class DbSite:
    """A site with a WordPress database: its config, database and repository."""

    config: Path
    db: MariaDb
    name: str  # the database's name
    repo: Path
    docroot: Path

    def sql(self, text: str) -> str:
        """Run SQL as root in the site's database (the attacker, or the editors)."""
        return self.db.sql(text, self.name)

    def run(self, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        """The real CLI; asserts the exit code and that nothing crashed."""
        proc = gitguard(*args, config=self.config, input="")
        assert "Traceback" not in proc.stderr, proc.stderr
        assert proc.returncode == expect, (
            f"gitguard {' '.join(args)}: exit {proc.returncode}, expected {expect}\n"
            f"stdout: {proc.stdout}\nstderr: {proc.stderr}")
        return proc

    def findings(self) -> list[dict[str, object]]:
        """The row findings of `audit --json`."""
        proc = gitguard("audit", "--json", config=self.config)
        assert proc.returncode in (0, 1, 2), proc.stderr
        data = json.loads(proc.stdout)
        result = data[0] if isinstance(data, list) else data
        return [f for f in result["findings"] if f.get("table")]


def _database_name(request: pytest.FixtureRequest) -> str:
    return "t_" + re.sub(r"[^A-Za-z0-9_]", "_", request.node.name)[:50]


def make_site(tmp_path: Path, db: MariaDb, name: str, approver: tuple[Path, str],
              transport: str, sshd: SshServer | None = None, user: str = WRITER,
              password: str = WRITER_PASSWORD, database: dict[str, object] | None = None,
              approve: bool = True) -> DbSite:
    """A sample WordPress database and docroot, backed up and approved."""
    db.create_database(name)
    db.sql((SAMPLE / "schema.sql").read_text() + (SAMPLE / "data.sql").read_text(), name)
    secret = tmp_path / "db-password"
    secret.write_text(password + "\n")
    secret.chmod(0o600)
    people = {"rina": {"name": "Rina Wulandari", "role": "kasubbag",
                       "signing_key": approver[1]}}
    options: dict[str, object]
    if transport == "ssh":
        assert sshd is not None
        docroot = sshd.make_docroot(f"html-{name}")
        (docroot / "index.html").write_text("<h1>Pemerintah Kota Contoh</h1>\n")
        sshd.chown_to_user(docroot)
        options = {"source": sshd.url(docroot), "identity_file": str(sshd.identity),
                   "known_hosts": str(sshd.known_hosts)}
        settings: dict[str, object] = {"name": name, "user": user,
                                       "password_file": str(secret), "socket": str(db.socket)}
    else:
        docroot = tmp_path / "html"
        docroot.mkdir()
        (docroot / "index.html").write_text("<h1>Pemerintah Kota Contoh</h1>\n")
        options = {"source": str(docroot)}
        settings = {"name": name, "user": user, "password_file": str(secret),
                    "host": "127.0.0.1", "port": db.port, "direct": True}
    settings.update(database or {})
    config = write_config(tmp_path, {"www": options}, people)
    with config.open("a") as handle:
        handle.write("[sites.www.database]\n" + "".join(
            f"{k} = {toml_value(v)}\n" for k, v in settings.items()))
    site = DbSite(config, db, name, tmp_path / "gitguard-data" / "www.git", docroot)
    site.run("init")
    site.run("mirror")
    if approve:
        site.run("approve", "www", "-m", "base", "--key", str(approver[0]))
    return site


@pytest.fixture(params=["ssh", "direct"])
def site(request: pytest.FixtureRequest, tmp_path: Path, mariadb: MariaDb,
         rina: tuple[Path, dict[str, dict[str, str]]]) -> DbSite:
    """The sample WordPress site, approved, its database reached through SSH or directly."""
    sshd = request.getfixturevalue("sshd") if request.param == "ssh" else None
    key, people = rina
    return make_site(tmp_path, mariadb, _database_name(request),
                     (key, people["rina"]["signing_key"]), request.param, sshd)


def _codes(findings: list[dict[str, object]]) -> dict[str, tuple[str, list[str]]]:
    return {str(f["path"]): (str(f["severity"]), list(f["codes"]))  # type: ignore[call-overload]
            for f in findings}


def test_backup_is_table_text_in_the_snapshot(site: DbSite) -> None:
    """Each table a folder of rows files in key order; an unchanged database makes no
    commit; one new row is a one-line change; the schema is recorded."""
    files = git(site.repo, "ls-tree", "-r", "--name-only", SNAPSHOTS, "--", ".gitguard-db")
    assert ".gitguard-db/wp_posts/0.tsv" in files.splitlines()
    assert ".gitguard-db/wp_posts/schema" in files.splitlines()
    assert ".gitguard-db/wp_options/sums" in files.splitlines()
    rows = git(site.repo, "show", f"{SNAPSHOTS}:.gitguard-db/wp_options/0.tsv").splitlines()
    assert rows[0] == "1\tsiteurl\thttps://www.contoh.go.id\tyes"
    assert [int(r.split("\t")[0]) for r in rows] == sorted(int(r.split("\t")[0]) for r in rows)
    post = git(site.repo, "show", f"{SNAPSHOTS}:.gitguard-db/wp_posts/0.tsv").splitlines()[1]
    assert "kecamatan.\\tLihat lampiran.</p>\\n<p>Info" in post  # tab and newline escaped
    schema = git(site.repo, "show", f"{SNAPSHOTS}:.gitguard-db/wp_posts/schema")
    assert "column\tpost_content\tlongtext\tNO" in schema
    assert "\\t" not in git(site.repo, "show", f"{SNAPSHOTS}:.gitguard-db/wp_users/0.tsv")
    # Tables written in the two seconds before a backup are checksummed at the next one,
    # which records their UPDATE_TIME (its sums files alone); after that, nothing.
    time.sleep(2.5)
    site.run("mirror")
    tip = git(site.repo, "rev-parse", SNAPSHOTS)
    site.run("mirror")
    assert git(site.repo, "rev-parse", SNAPSHOTS) == tip  # unchanged: no commit
    site.sql("INSERT INTO wp_terms (term_id, name, slug) VALUES (3, 'Pengumuman', 'pengumuman')")
    site.sql("ALTER TABLE wp_links ADD COLUMN link_extra varchar(20) NOT NULL DEFAULT ''")
    site.run("mirror")
    diff = git(site.repo, "diff", "--numstat", tip, SNAPSHOTS, "--", ".gitguard-db")
    changed = {line.split("\t")[2]: line.split("\t")[:2] for line in diff.splitlines()}
    assert changed[".gitguard-db/wp_terms/0.tsv"] == ["1", "0"]
    assert ".gitguard-db/wp_links/schema" in changed
    assert git(site.repo, "rev-list", "--count", f"{tip}..{SNAPSHOTS}") == "1"


def test_attacks_graded_and_restored(site: DbSite) -> None:
    """A new administrator, a siteurl hijack, a script in a widget and a spam post by the
    stolen editor account are critical; the editors' real news is info. The restore puts
    the flagged rows back in one go, keeps the news, and verify proves it."""
    site.sql(f"""
        INSERT INTO wp_users (ID, user_login, user_pass, user_email, display_name)
          VALUES (9, 'wp_support', '$P$Bhacked', 'x@evil.example', 'support');
        INSERT INTO wp_usermeta (umeta_id, user_id, meta_key, meta_value) VALUES
          (20, 9, 'wp_capabilities', 'a:1:{{s:13:"administrator";b:1;}}'),
          (21, 9, 'wp_user_level', '10'),
          (22, 1, 'session_tokens', 'a:1:{{s:3:"abc";i:1;}}');
        UPDATE wp_options SET option_value = 'https://slot88.example'
          WHERE option_name = 'siteurl';
        UPDATE wp_options SET option_value = '{WIDGET_SCRIPT.replace("'", "''")}'
          WHERE option_name = 'widget_text';
        UPDATE wp_options SET option_value = '1767229999.5'
          WHERE option_name = '_transient_doing_cron';
        INSERT INTO wp_posts (ID, post_author, post_content, post_title, post_excerpt, post_status,
          post_name, to_ping, pinged, post_content_filtered, post_type)
          VALUES (50, 2, '{SPAM}', 'Slot gacor maxwin', '', 'publish', 'slot-gacor', '', '',
                  '', 'post'),
                 (51, 2, '{NEWS}', 'Taman kota baru diresmikan', '', 'publish', 'taman-kota',
                  '', '', '', 'post');
        INSERT INTO wp_postmeta (meta_id, post_id, meta_key, meta_value) VALUES
          (30, 51, '_edit_last', '2'), (31, 51, '_thumbnail_id', '0');
    """)
    site.run("check", expect=2)
    found = _codes(site.findings())
    assert found["database:wp_usermeta/20"] == ("critical", ["db_admin_added"])
    assert found["database:wp_usermeta/21"][0] == "critical"
    assert found["database:wp_users/9"] == ("warning", ["db_new_account"])
    assert found["database:wp_options/1"][0] == "critical"
    assert found["database:wp_options/1"][1][0] == "db_site_address"
    assert found["database:wp_options/8"] == ("critical", ["external_script"])
    assert found["database:wp_posts/50"][0] == "critical"
    assert "gambling_spam" in found["database:wp_posts/50"][1]
    assert found["database:wp_posts/51"] == ("info", ["db_new_content"])
    assert found["database:wp_postmeta/30"][0] == "info"
    assert "database:wp_options/10" not in found  # a transient: WordPress's own churn
    assert "database:wp_usermeta/22" not in found  # a login's session
    news = next(f for f in site.findings() if f["path"] == "database:wp_posts/51")
    assert news["title"] == "Taman kota baru diresmikan"
    report = site.run("audit", "-o", str(site.config.parent / "state.md"), expect=2)
    assert "wp_posts/50" in report.stdout
    text = (site.config.parent / "state.md").read_text()
    assert "slot88.example" in text and "wp_options/1" in text

    dry = site.run("restore", "www", "--dry-run")
    assert "delrow wp_posts/50" in dry.stdout and "row    wp_options/1" in dry.stdout
    assert "wp_posts/51" not in dry.stdout
    assert site.sql("SELECT COUNT(*) FROM wp_posts WHERE ID = 50").strip() == "1"

    site.run("restore", "www", "--yes")
    assert site.sql("SELECT option_value FROM wp_options WHERE option_id IN (1, 8) "
                    "ORDER BY option_id").splitlines()[0] == "https://www.contoh.go.id"
    assert "script" not in site.sql("SELECT option_value FROM wp_options WHERE option_id = 8")
    assert site.sql("SELECT ID FROM wp_posts WHERE ID >= 50").split() == ["51"]  # news kept
    assert site.sql("SELECT COUNT(*) FROM wp_users WHERE ID = 9").strip() == "0"
    assert site.sql("SELECT COUNT(*) FROM wp_usermeta WHERE user_id = 9").strip() == "0"
    assert site.sql("SELECT meta_id FROM wp_postmeta WHERE post_id = 51 ORDER BY 1").split() \
        == ["30", "31"]
    assert site.sql("SELECT meta_value FROM wp_usermeta WHERE umeta_id = 22").strip() != ""
    site.run("verify")
    after = _codes(site.findings())
    assert after == {"database:wp_posts/51": ("info", ["db_new_content"]),
                     "database:wp_postmeta/30": ("info", ["db_new_content_detail"]),
                     "database:wp_postmeta/31": ("info", ["db_new_content_detail"])}
    # the evidence: the snapshot before the restore holds the spam post
    log = git(site.repo, "log", "--format=%H", SNAPSHOTS).split()
    assert any("slot88" in git(site.repo, "show", f"{c}:.gitguard-db/wp_posts/0.tsv")
               for c in log[1:])


def test_new_plugin_folder_and_theme(tmp_path: Path, mariadb: MariaDb,
                                     request: pytest.FixtureRequest,
                                     rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    """A plugin switched on is a warning; one whose folder is new in the files is critical."""
    key, people = rina
    site = make_site(tmp_path, mariadb, _database_name(request),
                     (key, people["rina"]["signing_key"]), "direct")
    site.sql("""UPDATE wp_options SET option_value =
        'a:2:{i:0;s:19:"contact/contact.php";i:1;s:15:"wp-file/wpf.php";}'
        WHERE option_name = 'active_plugins';
        UPDATE wp_options SET option_value = 'pemkot-baru' WHERE option_name = 'stylesheet'""")
    site.run("mirror")
    found = _codes(site.findings())
    assert found["database:wp_options/5"] == ("warning", ["db_code_switched"])
    assert found["database:wp_options/7"] == ("warning", ["db_code_switched"])
    plugin = site.docroot / "wp-content" / "plugins" / "wp-file"
    plugin.mkdir(parents=True)
    (plugin / "wpf.php").write_text("<?php /* file manager */\n")
    site.run("mirror")
    found = _codes(site.findings())
    assert found["database:wp_options/5"] == ("critical", ["db_code_new_folder"])


def test_killed_restore_changes_nothing(tmp_path: Path, mariadb: MariaDb,
                                        request: pytest.FixtureRequest,
                                        rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    """A restore killed inside its transaction leaves every row as it was; run again, it
    finishes the job."""
    key, people = rina
    site = make_site(tmp_path, mariadb, _database_name(request),
                     (key, people["rina"]["signing_key"]), "direct")
    site.sql(f"""INSERT INTO wp_posts (ID, post_author, post_content, post_title, post_excerpt,
        post_status, post_name, to_ping, pinged, post_content_filtered, post_type)
        VALUES (60, 2, '{SPAM}', 'Slot', '', 'publish', 'slot', '', '', '', 'post');
        UPDATE wp_options SET option_value = 'https://judi.example' WHERE option_name = 'home'""")
    site.run("mirror")
    # Another session holds the home row: the restore deletes the spam post, then waits.
    holder = subprocess.Popen(
        ["/usr/bin/mariadb", "--no-defaults", f"--socket={mariadb.socket}", "--user=root",
         site.name], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert holder.stdin is not None
    try:
        holder.stdin.write(b"START TRANSACTION;\nSELECT * FROM wp_options WHERE option_id = 2 "
                           b"FOR UPDATE;\n")
        holder.stdin.flush()
        restore = subprocess.Popen(
            [sys.executable, "-m", "gitguard.cli", "-c", str(site.config), "restore", "www",
             "--yes"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while "REPLACE INTO" not in mariadb.sql(
                    "SELECT INFO FROM information_schema.PROCESSLIST WHERE INFO IS NOT NULL"):
                assert restore.poll() is None, restore.communicate()
                assert time.monotonic() < deadline, "the restore never reached the locked row"
                time.sleep(0.1)
            assert "60" in site.sql("SELECT ID FROM wp_posts WHERE ID = 60")  # not committed
            os.killpg(restore.pid, signal.SIGKILL)
        finally:
            if restore.poll() is None:
                os.killpg(restore.pid, signal.SIGKILL)
            restore.communicate(timeout=30)
        holder.stdin.write(b"ROLLBACK;\n")
        holder.stdin.close()
        holder.wait(timeout=30)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    deadline = time.monotonic() + 30
    while site.sql("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                   f"WHERE USER = '{WRITER}'").strip() != "0":
        assert time.monotonic() < deadline, "the killed restore's session never ended"
        time.sleep(0.1)
    assert site.sql("SELECT COUNT(*) FROM wp_posts WHERE ID = 60").strip() == "1"
    assert site.sql("SELECT option_value FROM wp_options WHERE option_id = 2").strip() \
        == "https://judi.example"
    lock = site.repo / "gitguard.lock"
    if lock.exists():
        lock.unlink()  # the killed run's lock file (its flock died with it)
    site.run("restore", "www", "--yes")
    assert site.sql("SELECT COUNT(*) FROM wp_posts WHERE ID = 60").strip() == "0"
    assert site.sql("SELECT option_value FROM wp_options WHERE option_id = 2").strip() \
        == "https://www.contoh.go.id"


def test_database_down_still_backs_up_the_files(tmp_path: Path, mariadb: MariaDb,
                                                request: pytest.FixtureRequest,
                                                rina: tuple[Path, dict[str, dict[str, str]]]
                                                ) -> None:
    """A database that does not answer: exit 3 with one line saying the files were
    committed; the snapshot holds the new file and the last database backup."""
    key, people = rina
    site = make_site(tmp_path, mariadb, _database_name(request),
                     (key, people["rina"]["signing_key"]), "direct")
    before = git(site.repo, "rev-parse", f"{SNAPSHOTS}:.gitguard-db")
    text = site.config.read_text().replace(f"port = {mariadb.port}", "port = 1")
    site.config.write_text(text)
    (site.docroot / "berita.html").write_text("<p>Berita</p>\n")
    proc = site.run("check", expect=3)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "file backup was committed" in lines[0] and "database was not backed up" in lines[0]
    assert "berita.html" in git(site.repo, "ls-tree", "--name-only", SNAPSHOTS)
    assert git(site.repo, "rev-parse", f"{SNAPSHOTS}:.gitguard-db") == before


@pytest.mark.parametrize("transport", ["ssh", "direct"])
def test_wrong_password_one_line(tmp_path: Path, mariadb: MariaDb, transport: str,
                                 request: pytest.FixtureRequest,
                                 rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    """A wrong password: one line naming the database and the server's refusal, exit 3."""
    key, people = rina
    sshd = request.getfixturevalue("sshd") if transport == "ssh" else None
    site = make_site(tmp_path, mariadb, _database_name(request),
                     (key, people["rina"]["signing_key"]), transport, sshd)
    (tmp_path / "db-password").write_text("salah\n")
    proc = site.run("mirror", expect=3)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Access denied" in lines[0] and site.name in lines[0]
    assert "salah" not in proc.stderr


def test_read_only_account_cannot_restore(tmp_path: Path, mariadb: MariaDb,
                                          request: pytest.FixtureRequest,
                                          rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    """The read-only account backs up and audits; its restore says it lacks write rights
    and changes nothing."""
    key, people = rina
    site = make_site(tmp_path, mariadb, _database_name(request),
                     (key, people["rina"]["signing_key"]), "direct", user=READER,
                     password=READER_PASSWORD)
    site.sql("UPDATE wp_options SET option_value = 'https://judi.example' "
             "WHERE option_name = 'siteurl'")
    site.run("check", expect=2)
    proc = site.run("restore", "www", "--yes", expect=3)
    assert "no right to write" in proc.stderr and "Traceback" not in proc.stderr
    assert site.sql("SELECT option_value FROM wp_options WHERE option_id = 1").strip() \
        == "https://judi.example"


def test_from_cms_reads_wp_config_over_ssh(tmp_path: Path, mariadb: MariaDb, sshd: SshServer,
                                           request: pytest.FixtureRequest,
                                           rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    """from_cms: the account and socket come from the server's wp-config.php."""
    key, people = rina
    name = _database_name(request)
    site = make_site(tmp_path, mariadb, name, (key, people["rina"]["signing_key"]), "ssh", sshd,
                     approve=False)
    (site.docroot / "wp-config.php").write_text(
        "<?php\ndefine( 'DB_NAME', '" + name + "' );\ndefine( 'DB_USER', '" + READER + "' );\n"
        "define( 'DB_PASSWORD', '" + READER_PASSWORD.replace("'", "\\'") + "' );\n"
        f"define( 'DB_HOST', 'localhost:{mariadb.socket}' );\n$table_prefix = 'wp_';\n")
    sshd.chown_to_user(site.docroot)
    text = site.config.read_text()
    section = text.index("[sites.www.database]")
    site.config.write_text(text[:section] + '[sites.www.database]\nfrom_cms = "wp-config.php"\n')
    site.sql("INSERT INTO wp_terms (term_id, name, slug) VALUES (7, 'Lowongan', 'lowongan')")
    site.run("mirror")
    assert "7\tLowongan\tlowongan" in git(site.repo, "show",
                                          f"{SNAPSHOTS}:.gitguard-db/wp_terms/0.tsv")


def test_config_mistakes_all_at_once(tmp_path: Path) -> None:
    """A password in the TOML, a password file others can read, a bad engine and socket
    plus host: every mistake named with its key, one exit 3."""
    secret = tmp_path / "db-password"
    secret.write_text("rahasia\n")
    secret.chmod(0o644)
    docroot = tmp_path / "html"
    docroot.mkdir()
    config = write_config(tmp_path, {"www": {"source": str(docroot)}})
    with config.open("a") as handle:
        handle.write('[sites.www.database]\nengine = "oracle"\nname = "wp"\nuser = "gg"\n'
                     f'password = "rahasia"\npassword_file = "{secret}"\n'
                     'socket = "/run/mysqld/mysqld.sock"\nhost = "127.0.0.1"\n')
    proc = gitguard("mirror", config=config)
    assert proc.returncode == 3
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    for key in ("sites.www.database.password:", "sites.www.database.engine:",
                "sites.www.database.password_file:", "sites.www.database: socket and host"):
        assert key in err, err
    assert "rahasia" not in err


def test_odd_values_round_trip(tmp_path: Path, mariadb: MariaDb,
                               request: pytest.FixtureRequest,
                               rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    """Tabs, newlines, backslashes, NUL, NULL beside the text 'NULL' and '=', binary bytes,
    emoji, a two-column key and a table without one: backed up as one line per row and put
    back byte for byte by a restore."""
    key, people = rina
    name = _database_name(request)
    site = make_site(tmp_path, mariadb, name, (key, people["rina"]["signing_key"]), "direct",
                     approve=False)
    site.sql(r"""
        CREATE TABLE odd (id int NOT NULL, part varchar(10) NOT NULL, note text NULL,
          blob_value varbinary(64) NULL, amount decimal(12,3) NULL, seen datetime NULL,
          PRIMARY KEY (id, part)) DEFAULT CHARSET=utf8mb4;
        INSERT INTO odd VALUES
          (1, 'a', 'tab\there\nnew line \\ back\\slash \r cr', X'00FF0A095C', 12.5, NULL),
          (1, 'b', 'NULL', NULL, NULL, '2026-11-28 10:00:00'),
          (2, 'a', '=x', X'', -3.25, '0000-00-00 00:00:00'),
          (3, 'z', CONCAT('nul', CHAR(0), 'byte ✓ 😀'), X'3D', 0, NULL),
          (-5, 'n', NULL, X'4E554C4C', NULL, NULL);
        CREATE TABLE nokey (a int, b text) DEFAULT CHARSET=utf8mb4;
        INSERT INTO nokey VALUES (1, 'x'), (1, 'x'), (2, NULL);
    """)
    snapshot = "SELECT HEX(CONCAT_WS('|', id, part, IFNULL(HEX(note), '~'), " \
               "IFNULL(HEX(blob_value), '~'), IFNULL(amount, '~'), IFNULL(seen, '~'))) " \
               "FROM odd ORDER BY id, part"
    before = site.sql(snapshot)
    site.run("mirror")
    site.run("approve", "www", "-m", "odd values", "--key", str(key))
    rows = git(site.repo, "show", f"{SNAPSHOTS}:.gitguard-db/odd/0.tsv").split("\n")
    assert rows[0] == "-5\tn\tNULL\t=4E554C4C\tNULL\tNULL"  # key order, as SQL's DIV cuts
    assert rows[1] == "1\ta\t=tab\\there\\nnew line \\\\ back\\\\slash \r cr\t=00FF0A095C\t" \
        "=12.500\tNULL"
    assert rows[2] == "1\tb\t=NULL\tNULL\tNULL\t=2026-11-28 10:00:00"
    assert "nokey/all.tsv" in git(site.repo, "ls-tree", "-r", "--name-only", SNAPSHOTS,
                                  "--", ".gitguard-db/nokey")
    site.sql(r"""
        UPDATE odd SET note = 'diganti', blob_value = NULL, amount = 1, seen = NOW();
        DELETE FROM odd WHERE id = 3;
        INSERT INTO odd VALUES (4, 'q', '<script src="https://x.example/a.js"></script>',
                                NULL, NULL, NULL);
    """)
    site.run("check", expect=2)
    site.run("restore", "www", "--yes")
    assert site.sql(snapshot) == before
    site.run("verify")



@pytest.mark.parametrize("transport", ["direct", "ssh"])
def test_tables_in_other_character_sets_as_a_utf8mb4_client_prints(
        tmp_path: Path, mariadb: MariaDb, request: pytest.FixtureRequest,
        rina: tuple[Path, dict[str, dict[str, str]]], transport: str) -> None:
    """The client prints as binary (it is faster) while the server answers in utf8mb4:
    latin1, cp1251, sjis (whose second bytes can be a backslash) and utf8mb3 columns are
    stored exactly as a utf8mb4 client prints them, here and over SSH; a change is found
    (their checksums join bytes, not text) and a restore puts their bytes back."""
    key, people = rina
    sshd = request.getfixturevalue("sshd") if transport == "ssh" else None
    site = make_site(tmp_path, mariadb, _database_name(request),
                     (key, people["rina"]["signing_key"]), transport, sshd, approve=False)
    site.sql(r"""
        CREATE TABLE wp_gg_charsets (id int NOT NULL PRIMARY KEY,
          a varchar(40) CHARACTER SET latin1 NOT NULL, b text CHARACTER SET cp1251 NOT NULL,
          c text CHARACTER SET sjis NOT NULL, d text CHARACTER SET utf8mb3 NOT NULL,
          e text CHARACTER SET latin1 NULL) DEFAULT CHARSET=latin1;
        INSERT INTO wp_gg_charsets VALUES
          (1, 'café naïve\tÿ', 'Привет', 'ソ表示', 'über ✓', 'Straße'),
          (2, 'back\\slash', 'ё\nё', '表\\能', 'a\tb', NULL);
    """)
    hexes = "SELECT HEX(a), HEX(b), HEX(c), HEX(d), IFNULL(HEX(e), '~') " \
            "FROM wp_gg_charsets ORDER BY id"  # the bytes as each character set stores them
    before = site.sql(hexes)
    site.run("mirror")
    printed = site.sql("SELECT id, a, b, c, d, IF(ISNULL(e), NULL, CONCAT('=', e)) "
                       "FROM wp_gg_charsets ORDER BY id")  # a utf8mb4 client's lines
    stored = git(site.repo, "show", f"{SNAPSHOTS}:.gitguard-db/wp_gg_charsets/0.tsv")
    assert stored == printed.strip()
    assert "1\tcafé naïve\\tÿ\tПривет\tソ表示\tüber ✓\t=Straße" in stored.splitlines()
    site.run("approve", "www", "-m", "charsets", "--key", str(key))
    site.sql("UPDATE wp_gg_charsets SET a = 'dirusak', c = 'x', e = 'Strasse'")
    site.run("check", expect=1)
    assert {f["path"] for f in site.findings()} == {"database:wp_gg_charsets/1",
                                                    "database:wp_gg_charsets/2"}
    site.run("restore", "www", "--yes")
    assert site.sql(hexes) == before
    site.run("verify")


def test_restore_one_half(tmp_path: Path, mariadb: MariaDb, request: pytest.FixtureRequest,
                          rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    """--database-only leaves the files alone, --files-only the database."""
    key, people = rina
    site = make_site(tmp_path, mariadb, _database_name(request),
                     (key, people["rina"]["signing_key"]), "direct")
    (site.docroot / "index.html").write_text("<h1>Hacked by Tester</h1>\n")
    site.sql("UPDATE wp_options SET option_value = 'https://slot88.example' "
             "WHERE option_name = 'home'")
    files_only = site.run("restore", "www", "--dry-run", "--files-only").stdout
    assert "index.html" in files_only and "wp_options" not in files_only
    database_only = site.run("restore", "www", "--dry-run", "--database-only").stdout
    assert "row    wp_options/2" in database_only and "index.html" not in database_only
    site.run("restore", "www", "--yes", "--database-only")  # verified: the half it restored
    assert site.sql("SELECT option_value FROM wp_options WHERE option_id = 2").strip() \
        == "https://www.contoh.go.id"
    assert "Hacked" in (site.docroot / "index.html").read_text()
    site.run("verify", expect=2)  # the files still differ
    site.run("restore", "www", "--yes", "--files-only")
    assert "Hacked" not in (site.docroot / "index.html").read_text()
    site.run("verify")


def _rows_files(site: DbSite, table: str) -> dict[str, str]:
    """A table's rows files in the newest snapshot: name -> content."""
    names = git(site.repo, "ls-tree", "--name-only", f"{SNAPSHOTS}:.gitguard-db/{table}")
    return {n: git(site.repo, "show", f"{SNAPSHOTS}:.gitguard-db/{table}/{n}")
            for n in names.splitlines() if n.endswith(".tsv")}


def _mirror_rows_read(site: DbSite, *args: str) -> int:
    """Run mirror; the rows its database backup read, as the journal records them."""
    site.run("mirror", *args)
    runs = json.loads(site.run("log", "www", "--json").stdout)["runs"]
    assert runs[-1]["action"] == "mirror", runs[-1]
    found = re.search(r"database: \d+ tables, .*, (\d+) rows read", runs[-1]["summary"])
    assert found, runs[-1]
    return int(found.group(1))


@pytest.mark.parametrize("transport", ["direct", "ssh"])
def test_changed_rows_in_many_ranges_never_missed(tmp_path: Path, mariadb: MariaDb,
                                                   request: pytest.FixtureRequest,
                                                   rina: tuple[Path, dict[str, dict[str, str]]],
                                                   transport: str) -> None:
    """Rows changed in several key ranges of a 2,000-row table are each caught by the
    ranges' checksums, and only their ranges are read: a change that keeps the row count,
    one edit made to two rows of equal length in one range (their CRC-32s' XOR would not
    move), a key deleted and inserted again with other values, a deleted row, a new range.
    Each incremental backup holds exactly what `mirror --deep` reads afresh. With 122,000
    rows to checksum, a second session (a second SSH channel) scans half of each table."""
    key, people = rina
    sshd = request.getfixturevalue("sshd") if transport == "ssh" else None
    site = make_site(tmp_path, mariadb, _database_name(request),
                     (key, people["rina"]["signing_key"]), transport, sshd, approve=False)
    site.sql("""
        CREATE TABLE wp_gg_items (id int unsigned NOT NULL, grp varchar(20) NOT NULL,
          val varchar(40) NOT NULL, PRIMARY KEY (id)) DEFAULT CHARSET=utf8mb4;
        INSERT INTO wp_gg_items SELECT seq, 'editor', CONCAT('nilai-', LPAD(seq, 6, '0'))
          FROM seq_1_to_2000;
        CREATE TABLE wp_gg_many (id bigint NOT NULL PRIMARY KEY, n int NOT NULL);
        INSERT INTO wp_gg_many SELECT seq, seq MOD 7 FROM seq_1_to_120000;
        CREATE TABLE wp_gg_big (id int NOT NULL PRIMARY KEY, body longtext NOT NULL);
        INSERT INTO wp_gg_big VALUES (1, REPEAT('panjang\t', 40000)), (2, 'pendek');
    """)
    time.sleep(2.5)  # older than the backup by two seconds: its UPDATE_TIME vouches
    site.run("mirror")
    before = _rows_files(site, "wp_gg_items")
    # a row of 360 KB arrives in many reads, and is still one line
    assert _rows_files(site, "wp_gg_big")["0.tsv"] == "1\t" + "panjang\\t" * 40000 + \
        "\n2\tpendek"
    assert sorted(before, key=lambda n: int(n[:-4])) == [f"{n}.tsv" for n in range(8)]

    def connections() -> int:
        return int(site.sql("SHOW GLOBAL STATUS LIKE 'Connections'").split()[1])

    def changed_then_deep(sql: str) -> dict[str, str]:
        site.sql(sql)
        before = connections()
        read = _mirror_rows_read(site)
        # two sessions: 122,000 rows of two tables to checksum, half on each
        assert connections() - before == 3  # (and this query's own)
        assert 0 < read < 2000, read  # only the changed ranges were read again
        incremental = _rows_files(site, "wp_gg_items")
        many = _rows_files(site, "wp_gg_many")
        assert _mirror_rows_read(site, "--deep") >= 122_000
        assert _rows_files(site, "wp_gg_items") == incremental  # nothing was missed
        assert _rows_files(site, "wp_gg_many") == many
        return incremental

    # an UPDATE_TIME that moved: the ranges say where
    after = changed_then_deep("""
        UPDATE wp_gg_items SET val = 'nilai-X00010' WHERE id = 10;
        UPDATE wp_gg_items SET grp = 'admins' WHERE id IN (600, 601);
        DELETE FROM wp_gg_items WHERE id = 1100;
        INSERT INTO wp_gg_items VALUES (1100, 'editor', 'dimasukkan lagi');
        DELETE FROM wp_gg_items WHERE id = 1500;
        INSERT INTO wp_gg_items VALUES (5000, 'editor', 'baru');
        UPDATE wp_gg_many SET n = n + 7 WHERE id IN (70000, 119999);
    """)
    assert "10\teditor\tnilai-X00010" in after["0.tsv"].splitlines()
    assert {"600\tadmins\tnilai-000600", "601\tadmins\tnilai-000601"} <= set(
        after["2.tsv"].splitlines())
    assert "1100\teditor\tdimasukkan lagi" in after["4.tsv"].splitlines()
    assert "1500\t" not in after["5.tsv"] and len(after["5.tsv"].splitlines()) == 255
    assert after["19.tsv"] == "5000\teditor\tbaru"  # git() strips the newline
    assert {n for n in after if after[n] != before.get(n)} == {
        "0.tsv", "2.tsv", "4.tsv", "5.tsv", "19.tsv"}
    # written just before the backup, after a deep one: CHECKSUM TABLE, then the ranges
    changed_then_deep("""
        UPDATE wp_gg_items SET grp = 'editor' WHERE id IN (600, 601);
        DELETE FROM wp_gg_items WHERE id = 5000;
        UPDATE wp_gg_items SET val = 'nilai-000010' WHERE id = 10;
        DELETE FROM wp_gg_many WHERE id = 3;
    """)


def test_table_without_a_key_restored_by_whole_row(tmp_path: Path, mariadb: MariaDb,
                                                   request: pytest.FixtureRequest,
                                                   rina: tuple[Path, dict[str, dict[str, str]]]
                                                   ) -> None:
    """A table without a primary key: its rows are matched by every column (NULL too). A
    spam row added is deleted, approved rows deleted are put back, and two identical
    approved rows both stay."""
    key, people = rina
    site = make_site(tmp_path, mariadb, _database_name(request),
                     (key, people["rina"]["signing_key"]), "direct", approve=False)
    site.sql("""
        CREATE TABLE wp_gg_links (place int NULL, label text NOT NULL) DEFAULT CHARSET=utf8mb4;
        INSERT INTO wp_gg_links VALUES (1, 'Beranda'), (2, 'Profil'), (2, 'Profil'),
          (NULL, 'Kontak'), (3, 'Berita');
    """)
    site.run("mirror")
    site.run("approve", "www", "-m", "links", "--key", str(key))
    before = site.sql("SELECT place, label FROM wp_gg_links ORDER BY place, label")
    site.sql(f"""
        INSERT INTO wp_gg_links VALUES (9, '{SPAM}');
        DELETE FROM wp_gg_links WHERE label = 'Berita';
        DELETE FROM wp_gg_links WHERE place IS NULL;
    """)
    site.run("check", expect=2)
    plan = site.run("restore", "www", "--dry-run").stdout
    assert "delrow wp_gg_links/9," in plan and "row    wp_gg_links/3,Berita" in plan, plan
    site.run("restore", "www", "--yes")
    assert site.sql("SELECT place, label FROM wp_gg_links ORDER BY place, label") == before
    site.run("verify")


def test_an_account_of_one_connection_checksums_on_one_session(
        tmp_path: Path, mariadb: MariaDb, request: pytest.FixtureRequest,
        rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    """A hosting account allowed one connection at a time: the second session is refused,
    so the ranges are checksummed on the one session, and the backup is still exact."""
    key, people = rina
    name = _database_name(request)
    account = f"gg1_{os.getpid()}"
    mariadb.sql(f"CREATE USER '{account}'@'127.0.0.1' IDENTIFIED BY 'satu-saja' "
                "WITH MAX_USER_CONNECTIONS 1")
    try:
        mariadb.create_database(name)
        mariadb.sql(f"GRANT SELECT, SHOW VIEW ON `{name}`.* TO '{account}'@'127.0.0.1'")
        site = make_site(tmp_path, mariadb, name, (key, people["rina"]["signing_key"]),
                         "direct", user=account, password="satu-saja", approve=False)
        site.sql("""
            CREATE TABLE wp_gg_many (id bigint NOT NULL PRIMARY KEY, n int NOT NULL);
            INSERT INTO wp_gg_many SELECT seq, seq MOD 7 FROM seq_1_to_120000;
        """)
        time.sleep(2.5)
        site.run("mirror")
        site.sql("UPDATE wp_gg_many SET n = 99 WHERE id IN (5, 60000, 119000)")
        before = int(site.sql("SHOW GLOBAL STATUS LIKE 'Connections'").split()[1])
        assert _mirror_rows_read(site) < 1000
        # one session of the account, one refused, and this query's own
        after = int(site.sql("SHOW GLOBAL STATUS LIKE 'Connections'").split()[1])
        assert after - before == 3
        incremental = _rows_files(site, "wp_gg_many")
        assert "60000\t99" in incremental["234.tsv"].splitlines()
        site.run("mirror", "--deep")
        assert _rows_files(site, "wp_gg_many") == incremental
    finally:
        mariadb.sql(f"DROP USER '{account}'@'127.0.0.1'")


def test_server_sums_equal_the_reads_sums(tmp_path: Path, mariadb: MariaDb,
                                          request: pytest.FixtureRequest,
                                          rina: tuple[Path, dict[str, dict[str, str]]]) -> None:
    """The ranges' checksums a check asks the server for are, to the unit, the ones the
    backup took from its read: for a one-column key (summed as a DOUBLE: 511 rows of large
    CRC-32s in range 0, negative keys), a two-column key and a table without a numeric key
    (summed as DECIMAL); and a value moved between two columns, or a NULL moved between two
    rows, moves its range's sum."""
    key, people = rina
    site = make_site(tmp_path, mariadb, _database_name(request),
                     (key, people["rina"]["signing_key"]), "direct", approve=False)
    site.sql("""
        CREATE TABLE wp_gg_one (id int NOT NULL PRIMARY KEY, a varchar(40), b varchar(40));
        INSERT INTO wp_gg_one SELECT CAST(seq AS SIGNED) - 300, SHA1(seq),
          IF(seq MOD 3, MD5(seq), NULL) FROM seq_1_to_900;
        CREATE TABLE wp_gg_two (g int NOT NULL, n int NOT NULL, v text NOT NULL,
          PRIMARY KEY (g, n));
        INSERT INTO wp_gg_two SELECT (seq MOD 4) * 256, seq, SHA1(seq) FROM seq_1_to_3000;
        CREATE TABLE wp_gg_text (k varchar(20) NOT NULL PRIMARY KEY, v text);
        INSERT INTO wp_gg_text SELECT CONCAT('k', seq), MD5(seq) FROM seq_1_to_3000;
    """)
    config = load(site.config)
    www = config.sites["www"]
    session = open_session(www, None, account(www, None))
    try:
        def sums() -> dict[str, dict[str, tuple[int, int]]]:
            tables = [t for t in discover(session, www, None, {})[0]
                      if t.name.startswith("wp_gg_")]
            assert [t.name for t in tables] == ["wp_gg_one", "wp_gg_text", "wp_gg_two"]
            server = _server_sums(session, [(t, "") for t in tables])
            for tab in tables:
                read = {c: (n, total) for c, _, n, total in _chunks(session, tab, None)}
                assert server[tab.name] == read, tab.name
            return server

        before = sums()
        assert before["wp_gg_one"]["0"][0] == 511
        assert before["wp_gg_one"]["0"][1] > 2**32 * 200  # large sums, still exact
        assert len(before["wp_gg_two"]) == 4 and set(before["wp_gg_text"]) == {"all"}
        # id 10's two values swapped; then id 1's NULL-able value moved to id 3 (NULL)
        for change in ("UPDATE wp_gg_one SET a = MD5(310), b = SHA1(310) WHERE id = 10",
                       "UPDATE wp_gg_one SET b = IF(id = 1, NULL, MD5(301)) WHERE id IN (1, 3)"):
            site.sql(change)
            after = sums()
            assert {c for c in after["wp_gg_one"]
                    if after["wp_gg_one"][c] != before["wp_gg_one"][c]} == {"0"}, change
            assert after["wp_gg_one"]["0"][0] == 511
            before = after
    finally:
        session.close()
