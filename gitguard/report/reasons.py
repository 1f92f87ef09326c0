"""Texts of the reason codes `gitguard.detect` gives, in English and formal Bahasa Indonesia.

Reason code -> {"en": ..., "id": ...}: one sentence per language; `{detail}` is where the
evidence goes (the phrase, extension, URL or link target that was found).
"""

from __future__ import annotations

REASONS: dict[str, dict[str, str]] = {
    # --- defacement and online-gambling spam -----------------------------------------------
    "defacement_text": {
        "en": "contains defacement text '{detail}'",
        "id": "memuat teks defacement '{detail}'",
    },
    "gambling_spam": {
        "en": "contains online-gambling spam '{detail}'",
        "id": "memuat spam judi daring '{detail}'",
    },
    "doorway_page": {
        "en": "page consists mostly of online-gambling keywords ({detail})",
        "id": "halaman sebagian besar berisi kata kunci judi daring ({detail})",
    },
    "hidden_links": {
        "en": "hidden link to another site injected '{detail}'",
        "id": "tautan tersembunyi ke situs lain disisipkan '{detail}'",
    },
    "sitemap_new": {
        "en": "new sitemap file '{detail}'",
        "id": "berkas peta situs (sitemap) baru '{detail}'",
    },
    "sitemap_rewritten": {
        "en": "sitemap rewritten to list addresses that were not there before, e.g. '{detail}'",
        "id": "peta situs (sitemap) ditulis ulang dengan alamat yang sebelumnya tidak ada, "
        "misalnya '{detail}'",
    },
    "sitemap_gambling": {
        "en": "sitemap lists an online-gambling address '{detail}'",
        "id": "peta situs (sitemap) memuat alamat judi daring '{detail}'",
    },
    "search_verification": {
        "en": "search-engine ownership verification added '{detail}'",
        "id": "verifikasi kepemilikan situs pada mesin pencari ditambahkan '{detail}'",
    },
    # --- webshells and backdoors -----------------------------------------------------------
    "code_from_request": {
        "en": "runs code taken from the web request '{detail}'",
        "id": "menjalankan kode yang diambil dari permintaan web '{detail}'",
    },
    "code_from_decoded": {
        "en": "runs hidden (encoded) code '{detail}'",
        "id": "menjalankan kode tersembunyi (tersandi) '{detail}'",
    },
    "shell_from_request": {
        "en": "runs system commands taken from the web request '{detail}'",
        "id": "menjalankan perintah sistem yang diambil dari permintaan web '{detail}'",
    },
    "preg_replace_eval": {
        "en": "uses preg_replace with the code-executing /e modifier '{detail}'",
        "id": "menggunakan preg_replace dengan pengubah /e yang menjalankan kode '{detail}'",
    },
    "include_disguised": {
        "en": "runs PHP kept in a file disguised as another type '{detail}'",
        "id": "menjalankan PHP yang disimpan dalam berkas yang disamarkan sebagai jenis lain "
        "'{detail}'",
    },
    "webshell_marker": {
        "en": "contains the signature of a known webshell '{detail}'",
        "id": "memuat ciri webshell yang dikenal '{detail}'",
    },
    "obfuscated_code": {
        "en": "contains heavily obfuscated code '{detail}'",
        "id": "memuat kode yang sangat disamarkan '{detail}'",
    },
    "upload_handler": {
        "en": "new file accepts file uploads '{detail}'",
        "id": "berkas baru dapat menerima unggahan berkas '{detail}'",
    },
    "php_cloaking": {
        "en": "code treats search-engine crawlers or their visitors differently (cloaking) "
        "'{detail}'",
        "id": "kode memperlakukan perayap mesin pencari atau pengunjung dari mesin pencari "
        "secara berbeda (cloaking) '{detail}'",
    },
    "remote_fetch": {
        "en": "pulls content from another site into the page '{detail}'",
        "id": "mengambil konten dari situs lain ke dalam halaman '{detail}'",
    },
    # --- new scripts and file names --------------------------------------------------------
    "new_script": {
        "en": "new script file ({detail})",
        "id": "berkas skrip baru ({detail})",
    },
    "new_script_upload": {
        "en": "new script file ({detail}) under an upload folder",
        "id": "berkas skrip baru ({detail}) di dalam folder unggahan",
    },
    "double_extension": {
        "en": "file name hides a script extension '{detail}'",
        "id": "nama berkas menyembunyikan ekstensi skrip '{detail}'",
    },
    # --- web server configuration ----------------------------------------------------------
    "server_config": {
        "en": "web server configuration file changed '{detail}'",
        "id": "berkas konfigurasi server web berubah '{detail}'",
    },
    "config_redirect": {
        "en": "configuration redirects visitors to another site '{detail}'",
        "id": "konfigurasi mengalihkan pengunjung ke situs lain '{detail}'",
    },
    "config_cloaking": {
        "en": "configuration treats search engines or their visitors differently (cloaking) "
        "'{detail}'",
        "id": "konfigurasi memperlakukan mesin pencari atau pengunjung dari mesin pencari "
        "secara berbeda (cloaking) '{detail}'",
    },
    "config_prepend": {
        "en": "configuration runs a PHP file before or after every page '{detail}'",
        "id": "konfigurasi menjalankan berkas PHP sebelum atau sesudah setiap halaman '{detail}'",
    },
    "config_handler": {
        "en": "configuration lets other kinds of file run as scripts '{detail}'",
        "id": "konfigurasi membuat jenis berkas lain dapat dijalankan sebagai skrip '{detail}'",
    },
    # --- symbolic links --------------------------------------------------------------------
    "symlink_outside": {
        "en": "symbolic link points outside the website folder '{detail}'",
        "id": "tautan simbolik mengarah ke luar folder situs web '{detail}'",
    },
    "symlink_sensitive": {
        "en": "symbolic link points at a system or secret file '{detail}'",
        "id": "tautan simbolik mengarah ke berkas sistem atau berkas rahasia '{detail}'",
    },
    # --- pages -----------------------------------------------------------------------------
    "home_page": {
        "en": "home page changed '{detail}'",
        "id": "halaman beranda berubah '{detail}'",
    },
    "external_script": {
        "en": "loads a script or frame from an outside host '{detail}'",
        "id": "memuat skrip atau bingkai (frame) dari host luar '{detail}'",
    },
    "redirect_injected": {
        "en": "redirects visitors to an outside address '{detail}'",
        "id": "mengalihkan pengunjung ke alamat luar '{detail}'",
    },
}
