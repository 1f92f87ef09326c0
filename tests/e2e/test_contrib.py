"""contrib/ (issue #14, items 1 and 4) read by the real programs: Nagios 4 and Icinga 2 run
the shipped check definitions against a guarded site, systemd-analyze verifies the units,
flock keeps two cron runs apart, Zabbix's own import code reads the template, and
zabbix_sender takes what gitguard-zabbix-send writes."""

from __future__ import annotations

import grp
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from importlib.machinery import SourceFileLoader
from importlib.util import module_from_spec, spec_from_loader
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

import pytest
import yaml
from helpers import run, write_config

CONTRIB = Path(__file__).resolve().parents[2] / "contrib"
GITGUARD = Path(sys.executable).parent / "gitguard"  # the venv's console script
T = TypeVar("T")
# one check result as Icinga 2's PerfdataWriter writes it (Icinga macros, \t escapes)
FORMAT = "\\t".join(f"{name}::${macro}$" for name, macro in (
    ("SERVICE", "service.name"), ("STATE", "service.state"),
    ("STATETYPE", "service.state_type"), ("OUTPUT", "service.output"),
    ("PERFDATA", "service.perfdata"))) + "\\tEND::"


@pytest.fixture
def site(tmp_path: Path, rina: tuple[Path, dict[str, dict[str, str]]]) -> tuple[Path, Path]:
    """A sample site, backed up and approved: (gitguard.toml, docroot)."""
    key, people = rina
    docroot = tmp_path / "htdocs"
    (docroot / "uploads").mkdir(parents=True)
    (docroot / "index.html").write_text("<h1>Dinas Kominfo</h1>\n")
    (docroot / "about.html").write_text("<p>Tentang kami</p>\n")
    config = write_config(tmp_path, {"www": {"source": str(docroot)}}, people,
                          main={"data_dir": str(tmp_path / "data")})
    run("init", config=config)
    run("check", config=config, expect=1)
    run("approve", "www", "-m", "awal", "--key", str(key), config=config)
    return config, docroot


def deface(docroot: Path) -> None:
    """The defacement and webshell every engine must turn into a CRITICAL."""
    (docroot / "index.html").write_text("<h1>Hacked by Tim Uji</h1>\n")
    (docroot / "uploads" / "x.php").write_text('<?php system($_GET["c"]); ?>\n')


def tool(name: str) -> str:
    """The path of a program the test needs; missing is a failure (setup.sh installs it)."""
    path = shutil.which(name, path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    assert path, f"{name} is not installed: run scripts/setup.sh --test"
    return path


@contextmanager
def daemon(argv: list[str], cwd: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A daemon in the foreground in its own process group, killed with all it started."""
    with (cwd / "daemon.out").open("wb") as out:
        proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        yield proc
    finally:
        # the whole group: Nagios's workers and Icinga's worker outlive their parent
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def wait_for(what: str, probe: Callable[[], T | None], seconds: float,
             proc: subprocess.Popen[bytes] | None = None, log: Path | None = None) -> T:
    """Poll probe until it gives a value; fail after seconds or when proc has died."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        if proc is not None and proc.poll() is not None:
            break
        time.sleep(0.05)
    output = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    ended = f"the program exited ({proc.returncode})" if proc and proc.poll() is not None \
        else f"not within {seconds} s"
    pytest.fail(f"{what}: not seen, {ended}\n{output}")


# --- Nagios 4 --------------------------------------------------------------------------

def nagios_config(folder: Path, config: Path) -> Path:
    """A throwaway Nagios main config: its own files, no web UI, run as the current user."""
    (folder / "checkresults").mkdir()
    (folder / "resource.cfg").write_text("")
    (folder / "site.cfg").write_text(f"""\
define host {{
    use                     generic-host
    host_name               monitor-test
    address                 127.0.0.1
    max_check_attempts      1
    contacts                nagiosadmin
}}
define service {{
    use                     gitguard-site
    host_name               monitor-test
    service_description     gitguard www
    check_command           check_gitguard!www
    _GITGUARD               {GITGUARD}
    _GITGUARD_CONFIG        {config}
    _GITGUARD_TIMEOUT       60
}}
""")
    # Debian's sample object files (generic-service, contacts, time periods) as on a real
    # install, contrib's file unchanged, then the test's host and service.
    objects = [f"/etc/nagios4/objects/{name}.cfg"
               for name in ("commands", "contacts", "timeperiods", "templates")]
    settings = {
        "log_file": folder / "nagios.log", "object_cache_file": folder / "objects.cache",
        "precached_object_file": folder / "objects.precache",
        "resource_file": folder / "resource.cfg", "status_file": folder / "status.dat",
        "status_update_interval": 1, "nagios_user": _user(), "nagios_group": _group(),
        "check_external_commands": 0, "command_file": folder / "nagios.cmd",
        "query_socket": folder / "nagios.qh", "lock_file": folder / "nagios.lock",
        "temp_file": folder / "nagios.tmp", "temp_path": folder,
        "check_result_path": folder / "checkresults", "retain_state_information": 0,
        "state_retention_file": folder / "retention.dat", "use_syslog": 0,
        "debug_file": folder / "debug.log", "debug_level": 0,
        "enable_notifications": 0, "enable_event_handlers": 0, "execute_host_checks": 0,
        "check_for_updates": 0, "check_result_reaper_frequency": 1,
        # every service checked at start-up, not spread over the interval
        "service_inter_check_delay_method": "n", "service_interleave_factor": 1,
        # above the service's --timeout, as contrib/nagios/gitguard.cfg asks
        "service_check_timeout": 120,
        "illegal_macro_output_chars": "`~$&|'\"<>",  # the sample nagios.cfg's
    }
    main = folder / "nagios.cfg"
    main.write_text("".join(f"cfg_file={path}\n" for path in
                            [*objects, CONTRIB / "nagios" / "gitguard.cfg", folder / "site.cfg"])
                    + "".join(f"{key}={value}\n" for key, value in settings.items()))
    return main


def status_dat(path: Path) -> list[dict[str, str]]:
    """The servicestatus blocks of Nagios's status.dat."""
    blocks = re.findall(r"^servicestatus \{\n(.*?)^\t\}", path.read_text(errors="replace")
                        if path.exists() else "", re.M | re.S)
    return [dict(line.strip().split("=", 1) for line in block.splitlines() if "=" in line)
            for block in blocks]


def nagios_run(folder: Path, main: Path) -> dict[str, str]:
    """Start Nagios for a bounded time and return the service's status once it was checked."""
    (folder / "status.dat").unlink(missing_ok=True)

    def checked() -> dict[str, str] | None:
        return next((s for s in status_dat(folder / "status.dat")
                     if s.get("service_description") == "gitguard www"
                     and s.get("has_been_checked") == "1"), None)

    with daemon([tool("nagios4"), str(main)], folder) as proc:
        return wait_for("Nagios's check of gitguard www", checked, 60, proc,
                        folder / "daemon.out")


def test_nagios4_runs_the_shipped_check(tmp_path: Path, site: tuple[Path, Path]) -> None:
    config, docroot = site
    folder = tmp_path / "nagios"
    folder.mkdir()
    main = nagios_config(folder, config)
    verify = subprocess.run([tool("nagios4"), "-v", str(main)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert verify.returncode == 0, verify.stdout
    assert "Total Warnings: 0" in verify.stdout and "Total Errors:   0" in verify.stdout, \
        verify.stdout

    clean = nagios_run(folder, main)
    assert clean["current_state"] == "0", clean
    assert clean["plugin_output"] == "GITGUARD OK - www: 0 critical, 0 warning, 0 info", clean
    assert re.match(r"critical=0;;0;0 warning=0;0;;0 info=0;;;0 files=2;;;0 bytes=\d+B;;;0 "
                    r"duration=[\d.]+s;;;0$", clean["performance_data"]), clean

    deface(docroot)
    hacked = nagios_run(folder, main)
    assert hacked["current_state"] == "2" and hacked["state_type"] == "1", hacked
    # Nagios turns ';' in plugin output into ':' (its log and command formats use ';')
    assert hacked["plugin_output"].startswith(
        "GITGUARD CRITICAL - www: 2 critical, 0 warning, 0 info: index.html ("), hacked
    assert "uploads/x.php (" in hacked["plugin_output"]
    assert re.match(r"critical=2;;0;0 warning=0;0;;0 info=0;;;0 files=3;;;0 bytes=\d+B;;;0 ",
                    hacked["performance_data"]), hacked
    long = hacked["long_plugin_output"].split("\\n")
    assert any(line.split()[:2] == ["critical", "added"] and "uploads/x.php" in line
               for line in long), long
    assert "SERVICE ALERT: monitor-test;gitguard www;CRITICAL;HARD;1;GITGUARD CRITICAL" in \
        (folder / "nagios.log").read_text()


# --- Icinga 2 --------------------------------------------------------------------------

def icinga_defines(folder: Path) -> list[str]:
    """Constants that keep Icinga 2's state, run and log files in folder, as this user."""
    paths = {"DataDir": "data", "LogDir": "log", "CacheDir": "cache", "SpoolDir": "spool",
             "InitRunDir": "run"}
    for sub in paths.values():
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return [*(f"--define={key}={folder / sub}" for key, sub in paths.items()),
            f"--define=PidPath={folder / 'run' / 'icinga2.pid'}",
            f"--define=ZonesDir={folder / 'zones.d'}",
            f"--define=RunAsUser={_user()}", f"--define=RunAsGroup={_group()}"]


def icinga_config(folder: Path, config: Path, features: bool) -> Path:
    """contrib's gitguard.conf unchanged, a host with its shard, and (features) a checker,
    a command pipe to force the first check, and a perfdata file with the check result."""
    text = f"""\
include <itl>
include "{CONTRIB / 'icinga2' / 'gitguard.conf'}"
object Host "monitor-test" {{
  check_command = "dummy"
  enable_active_checks = false
  vars.gitguard_command = "{GITGUARD}"
  vars.gitguard_config = "{config}"
  vars.gitguard_timeout = 60
  vars.gitguard_sites = [ "www" ]
}}
"""
    if features:
        perf = folder / "perfdata"
        perf.mkdir()
        text += f"""\
object CheckerComponent "checker" {{ }}
object ExternalCommandListener "command" {{
  command_path = "{folder / 'run' / 'icinga2.cmd'}"
}}
object PerfdataWriter "result" {{
  service_perfdata_path = "{perf / 'service'}"
  service_temp_path = "{perf / 'service.tmp'}"
  host_perfdata_path = "{perf / 'host'}"
  host_temp_path = "{perf / 'host.tmp'}"
  service_format_template = "{FORMAT}"
  rotation_interval = 1s
}}
"""
    path = folder / "icinga2.conf"
    path.write_text(text)
    return path


def icinga_validate(config: Path, defines: list[str]) -> str:
    """`icinga2 daemon -C` on config: must pass without a warning; returns what it said."""
    check = subprocess.run([tool("icinga2"), "daemon", "-C", "-c", str(config), *defines],
                           capture_output=True, text=True, timeout=60, check=False)
    said = check.stdout + check.stderr
    assert check.returncode == 0, said
    assert "Finished validating the configuration file(s)." in said
    assert not re.search(r"(warning|critical)/", said), said
    return said


def icinga_distributed(folder: Path) -> Path:
    """The README's distributed layout on a master: contrib's file unchanged in the global
    zone, two agents' hosts with their shards in the master zone; returns zones.conf."""
    (folder / "zones.d" / "global-templates").mkdir(parents=True)
    (folder / "zones.d" / "master").mkdir()
    shutil.copy(CONTRIB / "icinga2" / "gitguard.conf", folder / "zones.d" / "global-templates")
    (folder / "zones.d" / "master" / "hosts.conf").write_text("".join(f"""\
object Host "monitor-kab-{n}" {{
  check_command = "dummy"
  address = "10.10.{n}.21"
  vars.gitguard_endpoint = "monitor-kab-{n}"
  vars.gitguard_sites = {json.dumps(sites)}
}}
""" for n, sites in ((1, ["www", "dinkes"]), (2, ["disdik"]))))
    zones = folder / "zones.conf"
    zones.write_text("""\
include <itl>
object Endpoint "master-1" { }
object Zone "master" { endpoints = [ "master-1" ] }
object Zone "global-templates" { global = true }
""" + "".join(f"""\
object Endpoint "monitor-kab-{n}" {{ host = "10.10.{n}.21" }}
object Zone "monitor-kab-{n}" {{ endpoints = [ "monitor-kab-{n}" ]; parent = "master" }}
""" for n in (1, 2)))
    return zones


def icinga_run(folder: Path, config: Path) -> dict[str, str]:
    """Run Icinga 2 for a bounded time, force the check, return its first recorded result."""
    for old in (folder / "perfdata").glob("service.*"):
        old.unlink()
    pipe = folder / "run" / "icinga2.cmd"

    def command_pipe() -> int | None:
        try:  # non-blocking: fails (ENXIO) until Icinga reads the pipe
            return os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return None

    def result() -> dict[str, str] | None:
        text = "".join(p.read_text(errors="replace")
                       for p in sorted((folder / "perfdata").glob("service.[0-9]*")))
        found = re.search(r"SERVICE::gitguard www\t(.*?)\tEND::", text, re.S)
        return dict(field.split("::", 1) for field in found.group(1).split("\t")) \
            if found else None

    argv = [tool("icinga2"), "daemon", "-c", str(config), *icinga_defines(folder)]
    with daemon(argv, folder) as proc:
        fd = wait_for("Icinga's command pipe", command_pipe, 30, proc, folder / "daemon.out")
        now = int(time.time())
        os.write(fd, f"[{now}] SCHEDULE_FORCED_SVC_CHECK;monitor-test;gitguard www;{now}\n"
                 .encode())
        os.close(fd)
        return wait_for("Icinga's check of gitguard www", result, 60, proc,
                        folder / "daemon.out")


def test_icinga2_validates_and_runs_the_shipped_check(
        tmp_path: Path, site: tuple[Path, Path]) -> None:
    config, docroot = site
    folder = tmp_path / "icinga2"
    folder.mkdir()
    defines = icinga_defines(folder)
    checked = icinga_validate(icinga_config(folder, config, features=False), defines)
    # the apply rule made one service of the host's shard, the command took the template
    assert "Instantiated 1 Service." in checked

    # the distributed layout: each agent's shard, run there (command_endpoint)
    distributed = icinga_distributed(tmp_path / "icinga2-zones")
    defines = [*icinga_defines(distributed.parent), "--define=NodeName=master-1"]
    icinga_validate(distributed, defines)
    listed = subprocess.run([tool("icinga2"), "object", "list", "--type", "Service", *defines],
                            capture_output=True, text=True, timeout=60, check=True).stdout
    services = dict(re.findall(r"^Object '([^']+)' of type 'Service':\n(?:(?!Object ).*\n)*?"
                               r"  \* command_endpoint = \"([^\"]*)\"", listed, re.M))
    assert services == {"monitor-kab-1!gitguard www": "monitor-kab-1",
                        "monitor-kab-1!gitguard dinkes": "monitor-kab-1",
                        "monitor-kab-2!gitguard disdik": "monitor-kab-2"}, listed

    conf = icinga_config(folder, config, features=True)
    clean = icinga_run(folder, conf)
    assert clean["STATE"] == "OK", clean
    assert clean["OUTPUT"].rstrip() == "GITGUARD OK - www: 0 critical, 0 warning, 0 info"
    assert re.match(r"critical=0;;0;0 warning=0;0;;0 info=0;;;0 files=2;;;0 bytes=\d+B;;;0 "
                    r"duration=[\d.]+s;;;0$", clean["PERFDATA"]), clean

    deface(docroot)
    hacked = icinga_run(folder, conf)
    assert (hacked["STATE"], hacked["STATETYPE"]) == ("CRITICAL", "HARD"), hacked
    first, *long = hacked["OUTPUT"].splitlines()
    assert first.startswith("GITGUARD CRITICAL - www: 2 critical, 0 warning, 0 info: "
                            "index.html ("), hacked
    assert any(line.split()[:2] == ["critical", "added"] and "uploads/x.php" in line
               for line in long), long
    assert hacked["PERFDATA"].startswith("critical=2;;0;0 warning=0;0;;0 info=0;;;0 files=3;"),\
        hacked


# --- systemd and cron ------------------------------------------------------------------

def installed(source: Path, folder: Path) -> Path:
    """A contrib file as the README installs it, with /srv/gitguard moved to folder/srv."""
    target = folder / source.name
    target.write_text(source.read_text().replace("/srv/gitguard", str(folder / "srv")))
    return target


def gitguard_home(folder: Path, config: Path) -> Path:
    """folder/srv laid out as the README's /srv/gitguard: .venv/bin/gitguard, gitguard.toml."""
    home = folder / "srv"
    (home / ".venv" / "bin").mkdir(parents=True)
    (home / ".venv" / "bin" / "gitguard").symlink_to(GITGUARD)
    (home / "gitguard.toml").symlink_to(config)
    return home


def test_systemd_units_verify(tmp_path: Path, site: tuple[Path, Path]) -> None:
    gitguard_home(tmp_path, site[0])
    units = [installed(unit, tmp_path) for unit in sorted((CONTRIB / "systemd").iterdir())]
    assert {u.name for u in units} == {"gitguard.service", "gitguard-check.service",
                                       "gitguard-check.timer"}
    verify = subprocess.run([tool("systemd-analyze"), "verify", *map(str, units)],
                            capture_output=True, text=True, timeout=120, check=False)
    # verify exits 0 on unknown keys and bad values: what it prints counts as well
    assert verify.returncode == 0 and not verify.stdout + verify.stderr, verify

    # the same verifier does read these files here (a container may lack a systemd)
    broken = tmp_path / "broken"
    broken.mkdir()
    unit = broken / "gitguard.service"
    unit.write_text(units[-1].read_text().replace("KillMode=mixed", "KillMode=mixd"))
    verify = subprocess.run([tool("systemd-analyze"), "verify", str(unit)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert "Failed to parse kill mode specification" in verify.stderr, verify


def cron_jobs(path: Path) -> tuple[dict[str, str], list[str]]:
    """The environment lines and the job commands of an /etc/cron.d file."""
    env: dict[str, str] = {}
    jobs: list[str] = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if re.match(r"^[A-Z_]+=", line):
            key, _, value = line.partition("=")
            env[key] = value
            continue
        fields = line.split(None, 6)  # minute hour day month weekday user command
        assert len(fields) == 7, line
        jobs.append(fields[6])
    return env, jobs


def _locked(path: Path) -> bool:
    """Whether some process holds a flock on path (read from /proc/locks, taking none)."""
    inode = path.stat().st_ino if path.exists() else -1
    return any(f":{inode} " in line and " FLOCK " in line
               for line in Path("/proc/locks").read_text().splitlines())


def test_cron_line_flock_keeps_a_second_run_out(tmp_path: Path, site: tuple[Path, Path]) -> None:
    home = gitguard_home(tmp_path, site[0])
    env, jobs = cron_jobs(installed(CONTRIB / "cron" / "gitguard", tmp_path))
    check = next(job for job in jobs if " check " in f"{job} ")
    env = {**env, "HOME": str(tmp_path), "LOGNAME": os.environ.get("USER", "root")}
    shell = env.get("SHELL", "/bin/sh")
    lock = home / ".check.lock"

    first = subprocess.Popen([shell, "-c", check], env=env, start_new_session=True)
    try:
        wait_for("the first run's lock", lambda: True if _locked(lock) else None, 30, first)
        second = subprocess.run([shell, "-c", check], env=env, timeout=30, check=False)
        overlapped = first.poll() is None
        assert first.wait(timeout=120) == 0
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
    assert overlapped, "the first run ended before the second started: nothing was proven"
    assert second.returncode == 1  # flock -n: the lock is held, nothing run
    log = (home / "check.log").read_text()
    assert log.count("www: OK") == 1, log  # the first run's line, and no second one
    # with the lock free again, the next run does check
    assert subprocess.run([shell, "-c", check], env=env, timeout=120, check=False).returncode == 0
    assert (home / "check.log").read_text().count("www: OK") == 2


# --- Zabbix ----------------------------------------------------------------------------

# Zabbix 6.0's own import path (CConfiguration::import of the Debian frontend) up to the
# database, and its trigger expression parser; prints what the import would create as JSON.
ZABBIX_IMPORT = r"""<?php
$root = '/usr/share/zabbix';
require_once $root.'/include/defines.inc.php';
require_once $root.'/include/gettextwrapper.inc.php';
require_once $root.'/include/func.inc.php';
require_once $root.'/vendor/autoload.php';
require_once $root.'/include/classes/core/CAutoloader.php';
$paths = [];
foreach (new RecursiveIteratorIterator(new RecursiveDirectoryIterator($root.'/include/classes',
    FilesystemIterator::SKIP_DOTS), RecursiveIteratorIterator::SELF_FIRST) as $dir) {
  if ($dir->isDir()) $paths[] = $dir->getPathname();
}
$autoloader = new CAutoloader();
$autoloader->addNamespace('', array_merge([$root.'/include/classes'], $paths));
$autoloader->register();
try {
  $source = file_get_contents($argv[1]);
  $data = CImportReaderFactory::getReader('yaml')->read($source);
  $factory = new CImportValidatorFactory('yaml');
  $validator = new CXmlValidator($factory, 'yaml');
  $data = $validator->setStrict(true)->validate($data, '/');
  $schema = $factory->getObject(ZABBIX_EXPORT_VERSION)->getSchema();
  $data = (new CConstantImportConverter($schema))->convert($data);
  $data = (new CDefaultImportConverter($schema))->convert($data);
  $data = (new CImportDataNormalizer($schema))->normalize($data);
  $adapter = new CImportDataAdapter();
  $adapter->load($data);
  // each trigger expression as the API's trigger validator parses it: function, host, key
  $parsed = [];
  foreach ($adapter->getDiscoveryRules() as $rules) {
    foreach ($rules as $rule) {
      foreach ($rule['item_prototypes'] as $prototype) {
        foreach ($prototype['trigger_prototypes'] as $trigger) {
          $expressions = [$trigger['expression']];
          foreach ($trigger['dependencies'] as $dependency) {
            $expressions[] = $dependency['expression'];
          }
          foreach ($expressions as $expression) {
            $parser = new CExpressionParser(['usermacros' => true, 'lldmacros' => true]);
            if ($parser->parse($expression) != CParser::PARSE_SUCCESS) {
              throw new Exception($expression.': '.$parser->getError());
            }
            $check = new CExpressionValidator(['usermacros' => true, 'lldmacros' => true]);
            if (!$check->validate($parser->getResult()->getTokens())) {
              throw new Exception($expression.': '.$check->getError());
            }
            $parsed[$expression] = [];
            foreach ($parser->getResult()->getTokensOfTypes(
                [CExpressionParserResult::TOKEN_TYPE_HIST_FUNCTION]) as $function) {
              $query = $function['data']['parameters'][0]['data'];
              $parsed[$expression][] = [$function['data']['function'], $query['host'],
                $query['item']];
            }
          }
        }
      }
    }
  }
  echo json_encode(['templates' => $adapter->getTemplates(),
    'discovery_rules' => $adapter->getDiscoveryRules(), 'expressions' => $parsed]), "\n";
} catch (Throwable $e) {
  fwrite(STDERR, 'import rejected: '.$e->getMessage()."\n");
  exit(1);
}
"""


def zabbix_import(template: Path, folder: Path) -> dict[str, Any]:
    """What Zabbix's import code makes of template; fails with the import's own complaint."""
    assert Path("/usr/share/zabbix/include/classes/import").is_dir(), \
        "zabbix-frontend-php is not installed: run scripts/setup.sh --test"
    script = folder / "zabbix_import.php"
    script.write_text(ZABBIX_IMPORT)
    proc = subprocess.run([tool("php"), str(script), str(template)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def zabbix_send() -> ModuleType:
    """contrib/zabbix/gitguard-zabbix-send, imported (it has no .py suffix)."""
    loader = SourceFileLoader("gitguard_zabbix_send", str(CONTRIB / "zabbix" /
                                                          "gitguard-zabbix-send"))
    spec = spec_from_loader(loader.name, loader)
    assert spec is not None
    module = module_from_spec(spec)
    loader.exec_module(module)
    return module


def sender_line(line: str) -> tuple[str, str, str]:
    """host, key, value of one line of zabbix_sender's input file."""
    token = r'"(?:[^"\\]|\\.)*"|\S+'
    found = re.fullmatch(rf"({token}) ({token}) ({token})", line)
    assert found, line

    def unquote(text: str) -> str:
        return re.sub(r"\\(.)", r"\1", text[1:-1]) if text.startswith('"') else text

    host, key, value = found.groups()
    return unquote(host), key, unquote(value)


def test_zabbix_template_matches_what_the_sender_sends(
        tmp_path: Path, site: tuple[Path, Path]) -> None:
    config, docroot = site
    deface(docroot)
    proc = run("check", "--json", config=config, expect=2)
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    sent = [sender_line(line) for line in zabbix_send().values("monitor-test", results)]
    assert {host for host, _, _ in sent} == {"monitor-test"}
    values = {key: value for _, key, value in sent}
    assert len(values) == len(sent) == 3

    path = CONTRIB / "zabbix" / "zbx_gitguard.yaml"
    export = yaml.safe_load(path.read_text())["zabbix_export"]
    assert export["version"] == "6.0"
    uuids = re.findall(r"\buuid: (\S+)", path.read_text())
    assert len(uuids) == len(set(uuids)) == 9
    assert all(uuid.UUID(u).hex == u and uuid.UUID(u).version == 4 for u in uuids), uuids

    # what Zabbix's import makes of it: one template, one trapper discovery rule, two
    # trapper item prototypes, the triggers' expressions as Zabbix's parser reads them
    imported = zabbix_import(path, tmp_path)
    [template] = imported["templates"]
    assert template["host"] == template["name"] == "gitguard"
    [[key, rule]] = imported["discovery_rules"]["gitguard"].items()
    trapper = "2"  # ITEM_TYPE_TRAPPER
    assert key == "gitguard.sites" and rule["type"] == trapper
    assert [json.loads(value) for _, k, value in sent if k == key] == \
        [{"data": [{"{#SITE}": "www"}]}]
    prototypes = {p["key_"]: p for p in rule["item_prototypes"]}
    assert {p["type"] for p in prototypes.values()} == {trapper}
    # exactly the keys sent for the site, and nothing else
    assert sorted(k.replace("{#SITE}", "www") for k in prototypes) == \
        sorted(k for k in values if k != key)
    status, output = prototypes["gitguard.status[{#SITE}]"], prototypes["gitguard.output[{#SITE}]"]
    assert (status["value_type"], output["value_type"]) == ("3", "4")  # unsigned, text
    assert values["gitguard.status[www]"] == "2"
    assert values["gitguard.output[www]"].startswith("CRITICAL: 2 critical, 0 warning")
    assert 'system($_get["c"])' in values["gitguard.output[www]"]
    [valuemap] = [v for v in template["valuemaps"] if v["name"] == status["valuemap"]["name"]]
    assert {int(m["value"]): m["newvalue"] for m in valuemap["mappings"]} == \
        {code: word.upper() for word, code in zabbix_send().STATUS.items()}

    triggers = {t["name"]: t for t in status["trigger_prototypes"]}
    assert not output["trigger_prototypes"]
    assert {t["priority"] for t in triggers.values()} == {"5", "2", "3"}  # disaster ...
    for trigger in triggers.values():
        # each names this template and the status item it sits under, nothing else
        assert {(host, item) for _, host, item in imported["expressions"][
            trigger["expression"]]} == {("gitguard", "gitguard.status[{#SITE}]")}, trigger
        for dependency in trigger["dependencies"]:
            assert triggers[dependency["name"]]["expression"] == dependency["expression"]
    functions = {f for parsed in imported["expressions"].values() for f, _, _ in parsed}
    assert functions == {"last", "nodata"}
    macros = {m["macro"] for m in template["macros"]}
    assert all(m in macros for t in triggers.values()
               for m in re.findall(r"\{\$[A-Z.]+\}", t["expression"]))


def test_zabbix_sender_takes_the_values(tmp_path: Path, site: tuple[Path, Path]) -> None:
    config, docroot = site
    deface(docroot)  # a summary with quotes and parentheses in it
    with socket.socket() as probe:  # a port where nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "GITGUARD": str(GITGUARD), "GITGUARD_CONFIG": str(config),
           "ZABBIX_HOST": "monitor-test", "ZABBIX_SERVER": f"127.0.0.1:{port}",
           "PATH": f"{os.path.dirname(tool('zabbix_sender'))}:{os.environ.get('PATH', '')}"}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, str(CONTRIB / "zabbix" / "gitguard-zabbix-send")],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert time.monotonic() - started < 60
    assert proc.returncode == 3, proc  # the check ran (CRITICAL), the values were not sent
    # zabbix_sender's own complaint about the connection, after it read every line and
    # option: a bad line would give "[line N]", a bad option its usage
    said = proc.stdout + proc.stderr
    assert "Sending failed. Use option -vv for more detailed output." in said, proc
    assert "ERROR" not in said and "usage:" not in said and "Traceback" not in said, proc

    # no result at all (here: no config): UNKNOWN, gitguard's line, nothing sent
    env["GITGUARD_CONFIG"] = str(tmp_path / "missing.toml")
    proc = subprocess.run([sys.executable, str(CONTRIB / "zabbix" / "gitguard-zabbix-send")],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 3 and "missing.toml" in proc.stderr, proc
    assert "Sending failed" not in proc.stdout + proc.stderr, proc


def _user() -> str:
    return pwd.getpwuid(os.getuid()).pw_name


def _group() -> str:
    return grp.getgrgid(os.getgid()).gr_name
