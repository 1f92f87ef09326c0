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
    # --- detection: the PHP view and webshell families (gitguard/detect, issue #11) --------
    "hidden_call": {
        "en": "calls a dangerous function under a name spelled to hide it '{detail}'",
        "id": "memanggil fungsi berbahaya dengan nama yang dieja untuk menyembunyikannya "
        "'{detail}'",
    },
    "callback_exec": {
        "en": "hands a code- or command-running function over as a callback '{detail}'",
        "id": "menyerahkan fungsi yang menjalankan kode atau perintah sebagai callback "
        "'{detail}'",
    },
    "include_request": {
        "en": "includes a file chosen by the web request, an upload or another site '{detail}'",
        "id": "menyertakan (include) berkas yang dipilih permintaan web, unggahan, atau situs "
        "lain '{detail}'",
    },
    "file_dropper": {
        "en": "writes a file chosen by the web request, or a script with outside content "
        "'{detail}'",
        "id": "menulis berkas yang dipilih permintaan web, atau skrip berisi konten dari luar "
        "'{detail}'",
    },
    "reverse_shell": {
        "en": "connects to another host and gives it a system shell '{detail}'",
        "id": "menghubungi host lain dan memberinya akses shell sistem '{detail}'",
    },
    "flooder": {
        "en": "opens network connections to a host taken from the web request (a flooder or "
        "relay) '{detail}'",
        "id": "membuka koneksi jaringan ke host yang diambil dari permintaan web (alat banjir "
        "atau relai) '{detail}'",
    },
    "mailer": {
        "en": "sends e-mail to addresses taken from the web request (spam mailer) '{detail}'",
        "id": "mengirim surel ke alamat yang diambil dari permintaan web (pengirim spam) "
        "'{detail}'",
    },
    "file_manager": {
        "en": "manages the server's files at paths taken from the web request ({detail})",
        "id": "mengelola berkas server pada jalur yang diambil dari permintaan web ({detail})",
    },
    "image_polyglot": {
        "en": "PHP code hidden behind an image header '{detail}'",
        "id": "kode PHP disembunyikan di balik kepala (header) gambar '{detail}'",
    },
    # --- the live look (gitguard/look, actions/look.py) -----------------------------------
    "look_cloaking": {
        "en": "cloaking: the website shows different content to different visitors: {detail}",
        "id": "cloaking: website menampilkan isi berbeda kepada pengunjung yang berbeda: "
        "{detail}",
    },
    "look_new_origin": {
        "en": "the page loads a script, frame or form target from a new outside address: "
        "{detail}",
        "id": "halaman memuat skrip, bingkai (frame) atau tujuan formulir dari alamat luar yang "
        "baru: {detail}",
    },
    "look_redirect_away": {
        "en": "visitors are redirected to another domain: {detail}",
        "id": "pengunjung dialihkan ke domain lain: {detail}",
    },
    "look_cert_invalid": {
        "en": "the HTTPS certificate is not valid: {detail}",
        "id": "sertifikat HTTPS tidak sah: {detail}",
    },
    "look_cert_expiring": {
        "en": "the HTTPS certificate expires soon ({detail} days left)",
        "id": "sertifikat HTTPS segera kedaluwarsa (sisa {detail} hari)",
    },
    "look_down": {
        "en": "the website cannot be reached: {detail}",
        "id": "website tidak dapat diakses: {detail}",
    },
    "look_down_long": {
        "en": "the website has been unreachable for several checks in a row: {detail}",
        "id": "website tidak dapat diakses pada beberapa pemeriksaan berturut-turut: {detail}",
    },
    "look_failed": {
        "en": "the live look could not be taken: {detail}",
        "id": "pemeriksaan tampilan website tidak dapat dilakukan: {detail}",
    },
    "look_page_failed": {
        "en": "a page could not be looked at in one view: {detail}",
        "id": "sebuah halaman tidak dapat diperiksa pada satu tampilan: {detail}",
    },
    "look_status": {
        "en": "the page no longer answers with success (2xx): {detail}",
        "id": "halaman tidak lagi menjawab dengan sukses (2xx): {detail}",
    },
    "look_title": {
        "en": "the page title changed: {detail}",
        "id": "judul halaman berubah: {detail}",
    },
    "look_text": {
        "en": "most of the visible text was replaced: {detail}",
        "id": "sebagian besar teks yang tampil telah diganti: {detail}",
    },
    "look_pixels": {
        "en": "the page looks different from the approved look: {detail} of the picture changed",
        "id": "tampilan halaman berbeda dari tampilan yang disetujui: {detail} gambar berubah",
    },
    "look_sitemap_new": {
        "en": "the sitemap lists addresses that were not there at approval: {detail}",
        "id": "peta situs (sitemap) memuat alamat yang belum ada saat persetujuan: {detail}",
    },
    "look_sitemap_gambling": {
        "en": "the sitemap lists an online-gambling page: {detail}",
        "id": "peta situs (sitemap) memuat halaman judi daring: {detail}",
    },
    "look_robots_new": {
        "en": "robots.txt has rules that were not there at approval: {detail}",
        "id": "robots.txt memuat aturan yang belum ada saat persetujuan: {detail}",
    },
    "look_robots_gambling": {
        "en": "robots.txt names an online-gambling address: {detail}",
        "id": "robots.txt menyebut alamat judi daring: {detail}",
    },
    "look_no_baseline": {
        "en": "no look was kept at approval {detail}: run 'gitguard look SITE --baseline'",
        "id": "tidak ada tampilan acuan yang disimpan saat persetujuan {detail}: jalankan "
        "'gitguard look SITE --baseline'",
    },
    "look_baseline_untrusted": {
        "en": "the approval's look cannot be trusted: {detail}",
        "id": "tampilan acuan persetujuan tidak dapat dipercaya: {detail}",
    },
    "look_files_unchanged": {
        "en": "served content differs; files unchanged: the database or the server may be "
        "compromised",
        "id": "isi yang disajikan berbeda, sedangkan berkas tidak berubah: basis data atau "
        "server mungkin telah disusupi",
    },
    # --- the CMS database (gitguard/database) ----------------------------------------------
    "db_admin_added": {
        "en": "new administrator account '{detail}'",
        "id": "akun administrator baru '{detail}'",
    },
    "db_admin_raised": {
        "en": "account '{detail}' raised to administrator",
        "id": "akun '{detail}' dinaikkan menjadi administrator",
    },
    "db_site_address": {
        "en": "the site's address was changed: {detail}",
        "id": "alamat situs diubah: {detail}",
    },
    "db_code_new_folder": {
        "en": "a plugin or theme was switched on whose folder is new in the files: {detail}",
        "id": "plugin atau tema diaktifkan yang foldernya baru muncul di berkas: {detail}",
    },
    "db_code_switched": {
        "en": "active plugins or theme changed ({detail})",
        "id": "plugin aktif atau tema diubah ({detail})",
    },
    "db_new_account": {
        "en": "new account '{detail}'",
        "id": "akun baru '{detail}'",
    },
    "db_new_content": {
        "en": "new content by '{detail}', an account that existed at approval",
        "id": "konten baru oleh '{detail}', akun yang sudah ada saat persetujuan",
    },
    "db_new_content_new_account": {
        "en": "new content by '{detail}', an account that did not exist at approval",
        "id": "konten baru oleh '{detail}', akun yang belum ada saat persetujuan",
    },
    "db_new_content_detail": {
        "en": "new row in {detail} with nothing suspicious",
        "id": "baris baru di {detail} tanpa hal mencurigakan",
    },
    "db_new_setting": {
        "en": "new setting '{detail}' of an existing account",
        "id": "pengaturan baru '{detail}' milik akun yang sudah ada",
    },
    "db_bookkeeping": {
        "en": "only counters and dates WordPress keeps changed in {detail}",
        "id": "hanya penghitung dan tanggal yang dikelola WordPress yang berubah di {detail}",
    },
    "db_draft_changed": {
        "en": "unpublished draft edited by '{detail}'",
        "id": "draf yang belum terbit diubah oleh '{detail}'",
    },
    "db_row_changed": {
        "en": "unapproved change to a row of {detail}",
        "id": "perubahan yang belum disetujui pada baris di {detail}",
    },
    "db_row_deleted": {
        "en": "row deleted from {detail}",
        "id": "baris dihapus dari {detail}",
    },
    "db_schema_changed": {
        "en": "the structure of table {detail} changed",
        "id": "struktur tabel {detail} berubah",
    },
    "db_not_backed_up": {
        "en": "the database could not be read: {detail}",
        "id": "basis data tidak dapat dibaca: {detail}",
    },
}
