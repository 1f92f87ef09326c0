"""Every user-facing report string in one table (id, en), and the date and number formats.

A row is keyed by message id and holds one text per language code, so a third language is
one more entry in each row. Texts are trusted Markdown; anything from a server (paths,
reason details) is escaped by the builders in `markdown.py`, never placed here.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, tzinfo

from gitguard.model import Reason, printable
from gitguard.report.reasons import REASONS

DEFAULT_LANGUAGE = "en"  # what a language missing from a row falls back to
MAX_DETAIL = 200  # characters of a reason's detail shown in a report
_NO_DETAIL = "\x00"
_EMPTY_DETAIL = re.compile(r"\s*[(\"“'`]?\x00[)\"”'`]?")

_MESSAGES: dict[str, dict[str, str]] = {
    # --- formats -------------------------------------------------------------------------
    "fmt.datetime": {
        "id": "{weekday}, {day} {month} {year} pukul {hour:02d}.{minute:02d} {zone}",
        "en": "{weekday}, {day} {month} {year} at {hour:02d}:{minute:02d} {zone}",
    },
    "fmt.date": {"id": "{day} {month} {year}", "en": "{day} {month} {year}"},
    "fmt.short": {
        "id": "{day:02d}-{month:02d}-{year} {hour:02d}.{minute:02d}",
        "en": "{year}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}",
    },
    "fmt.thousands": {"id": ".", "en": ","},
    "fmt.person": {"id": "{name} ({role})", "en": "{name} ({role})"},
    "fmt.range": {"id": "{start} s.d. {end}", "en": "{start} to {end}"},
    "word.and": {"id": "dan", "en": "and"},
    "day.0": {"id": "Senin", "en": "Monday"},
    "day.1": {"id": "Selasa", "en": "Tuesday"},
    "day.2": {"id": "Rabu", "en": "Wednesday"},
    "day.3": {"id": "Kamis", "en": "Thursday"},
    "day.4": {"id": "Jumat", "en": "Friday"},
    "day.5": {"id": "Sabtu", "en": "Saturday"},
    "day.6": {"id": "Minggu", "en": "Sunday"},
    "month.1": {"id": "Januari", "en": "January"},
    "month.2": {"id": "Februari", "en": "February"},
    "month.3": {"id": "Maret", "en": "March"},
    "month.4": {"id": "April", "en": "April"},
    "month.5": {"id": "Mei", "en": "May"},
    "month.6": {"id": "Juni", "en": "June"},
    "month.7": {"id": "Juli", "en": "July"},
    "month.8": {"id": "Agustus", "en": "August"},
    "month.9": {"id": "September", "en": "September"},
    "month.10": {"id": "Oktober", "en": "October"},
    "month.11": {"id": "November", "en": "November"},
    "month.12": {"id": "Desember", "en": "December"},
    "unit.day.one": {"id": "{n} hari", "en": "{n} day"},
    "unit.day.other": {"id": "{n} hari", "en": "{n} days"},
    "unit.hour.one": {"id": "{n} jam", "en": "{n} hour"},
    "unit.hour.other": {"id": "{n} jam", "en": "{n} hours"},
    "unit.minute.one": {"id": "{n} menit", "en": "{n} minute"},
    "unit.minute.other": {"id": "{n} menit", "en": "{n} minutes"},
    "unit.second.one": {"id": "{n} detik", "en": "{n} second"},
    "unit.second.other": {"id": "{n} detik", "en": "{n} seconds"},
    "unit.under_second": {"id": "kurang dari 1 detik", "en": "less than a second"},
    "unit.bytes.one": {"id": "{n} bita", "en": "{n} byte"},
    "unit.bytes.other": {"id": "{n} bita", "en": "{n} bytes"},
    # --- the procedure's people ----------------------------------------------------------
    "role.kabag": {"id": "Kepala Bagian", "en": "Head of Department"},
    "role.kasubbag": {"id": "Kepala Sub Bagian", "en": "Head of Sub-department"},
    "role.staf": {"id": "Staf", "en": "Staff"},
    "sign.kabag": {"id": "Mengetahui,", "en": "Acknowledged by,"},
    "sign.kasubbag": {"id": "Diperiksa oleh,", "en": "Reviewed by,"},
    "sign.staf": {"id": "Yang melaporkan,", "en": "Reported by,"},
    # --- states, severities and changes --------------------------------------------------
    "status.ok": {"id": "NORMAL", "en": "NORMAL"},
    "status.warning": {"id": "PERLU PERHATIAN", "en": "NEEDS ATTENTION"},
    "status.critical": {"id": "KRITIS", "en": "CRITICAL"},
    "status.unknown": {"id": "TIDAK DIKETAHUI", "en": "UNKNOWN"},
    "status_sentence.ok": {
        "id": "isi website sama dengan keadaan yang telah disetujui.",
        "en": "its content matches the approved state.",
    },
    "status_sentence.warning": {
        "id": "terdapat hal yang perlu diperhatikan, tetapi tidak ada yang tergolong berbahaya.",
        "en": "some matters need attention, none of them dangerous.",
    },
    "status_sentence.critical": {
        "id": "terdapat temuan berbahaya yang harus segera ditindaklanjuti.",
        "en": "there are dangerous findings that need action at once.",
    },
    "status_sentence.unknown": {
        "id": "pemeriksaan tidak dapat diselesaikan sehingga keadaan website belum dapat "
              "dipastikan.",
        "en": "the check could not be completed, so the state of the website is not known.",
    },
    "severity.critical": {"id": "Kritis", "en": "Critical"},
    "severity.warning": {"id": "Peringatan", "en": "Warning"},
    "severity.info": {"id": "Informasi", "en": "Information"},
    "count.critical.one": {"id": "{n} kritis", "en": "{n} critical"},
    "count.critical.other": {"id": "{n} kritis", "en": "{n} critical"},
    "count.warning.one": {"id": "{n} peringatan", "en": "{n} warning"},
    "count.warning.other": {"id": "{n} peringatan", "en": "{n} warnings"},
    "count.info.one": {"id": "{n} informasi", "en": "{n} for information"},
    "count.info.other": {"id": "{n} informasi", "en": "{n} for information"},
    "change.added": {"id": "berkas baru", "en": "added"},
    "change.modified": {"id": "diubah", "en": "modified"},
    "change.deleted": {"id": "dihapus", "en": "deleted"},
    "change.mode": {"id": "izin akses diubah", "en": "permissions changed"},
    "change.type": {"id": "jenis berkas berubah", "en": "type changed"},
    "change.mode_detail": {"id": "{change} ({old} → {new})", "en": "{change} ({old} → {new})"},
    # a row of the CMS database (gitguard/database)
    "change.row_added": {"id": "baris baru", "en": "row added"},
    "change.row_modified": {"id": "baris diubah", "en": "row modified"},
    "change.row_deleted": {"id": "baris dihapus", "en": "row deleted"},
    "restore_action.write": {"id": "ditulis ulang", "en": "rewritten"},
    "restore_action.remove": {"id": "dihapus", "en": "removed"},
    "restore_action.mode": {"id": "izin akses dipulihkan", "en": "permissions restored"},
    "restore_action.link": {"id": "tautan simbolik dipulihkan", "en": "symlink restored"},
    "hash.absent": {"id": "(tidak ada)", "en": "(none)"},
    "run.mirror": {"id": "pencadangan", "en": "backup"},
    "run.audit": {"id": "audit", "en": "audit"},
    "run.check": {"id": "pemeriksaan", "en": "check"},
    "run.approve": {"id": "persetujuan", "en": "approval"},
    "run.restore": {"id": "pemulihan", "en": "restore"},
    "run.verify": {"id": "verifikasi", "en": "verification"},
    "run.report": {"id": "laporan", "en": "report"},
    "run.send": {"id": "pengiriman laporan", "en": "report delivery"},
    "kind.state": {"id": "laporan keadaan dan kerusakan", "en": "state and damage report"},
    "kind.repair": {"id": "laporan perbaikan", "en": "repair report"},
    "kind.activity": {"id": "laporan kegiatan", "en": "activity report"},
    "kind.critical": {"id": "pemberitahuan keadaan kritis", "en": "critical alert"},
    # --- table columns and fields --------------------------------------------------------
    "col.item": {"id": "Uraian", "en": "Item"},
    "col.value": {"id": "Keterangan", "en": "Details"},
    "col.no": {"id": "No.", "en": "No."},
    "col.path": {"id": "Berkas", "en": "File"},
    "col.change": {"id": "Perubahan", "en": "Change"},
    "col.severity": {"id": "Tingkat", "en": "Severity"},
    "col.reasons": {"id": "Alasan", "en": "Reasons"},
    "col.action": {"id": "Tindakan", "en": "Action"},
    "col.before": {"id": "Sebelum", "en": "Before"},
    "col.after": {"id": "Sesudah", "en": "After"},
    "col.time": {"id": "Waktu", "en": "Time"},
    "col.activity": {"id": "Kegiatan", "en": "Activity"},
    "col.count": {"id": "Jumlah", "en": "Count"},
    "col.detected": {"id": "Terdeteksi", "en": "Detected"},
    "col.findings": {"id": "Temuan", "en": "Findings"},
    "col.restored": {"id": "Dipulihkan", "en": "Restored"},
    "col.verified": {"id": "Diverifikasi", "en": "Verified"},
    "col.outcome": {"id": "Hasil", "en": "Outcome"},
    "col.approver": {"id": "Penyetuju", "en": "Approver"},
    "col.commit": {"id": "Commit", "en": "Commit"},
    "col.snapshot": {"id": "Cadangan", "en": "Backup"},
    "col.added": {"id": "Ditambah", "en": "Added"},
    "col.modified": {"id": "Diubah", "en": "Modified"},
    "col.deleted": {"id": "Dihapus", "en": "Deleted"},
    "col.from": {"id": "Dari", "en": "From"},
    "col.until": {"id": "Sampai", "en": "Until"},
    "col.gap": {"id": "Lama jeda", "en": "Gap"},
    "col.missed": {"id": "Perkiraan terlewat", "en": "Estimated missed"},
    "col.kind": {"id": "Jenis laporan", "en": "Report"},
    "col.recipients": {"id": "Penerima", "en": "Recipients"},
    "col.summary": {"id": "Keterangan", "en": "Details"},
    "field.to": {"id": "Kepada", "en": "To"},
    "field.site": {"id": "Website", "en": "Website"},
    "field.source": {"id": "Sumber berkas", "en": "Source"},
    "field.urls": {"id": "Alamat website", "en": "Address"},
    "field.report_time": {"id": "Waktu laporan", "en": "Report time"},
    "field.status": {"id": "Keadaan", "en": "Status"},
    "field.approved_commit": {"id": "Keadaan yang disetujui (commit)",
                              "en": "Approved state (commit)"},
    "field.approved_by": {"id": "Disetujui oleh", "en": "Approved by"},
    "field.approved_on": {"id": "Tanggal persetujuan", "en": "Approved on"},
    "field.approval_note": {"id": "Catatan persetujuan", "en": "Approval note"},
    "field.snapshot": {"id": "Cadangan yang diperiksa (commit)", "en": "Backup checked (commit)"},
    "field.snapshot_time": {"id": "Waktu pencadangan", "en": "Backup time"},
    "field.started": {"id": "Mulai perbaikan", "en": "Repair started"},
    "field.finished": {"id": "Selesai perbaikan", "en": "Repair finished"},
    "field.duration": {"id": "Lama perbaikan", "en": "Time taken"},
    "field.evidence": {"id": "Bukti (commit cadangan)", "en": "Evidence (backup commit)"},
    "field.result": {"id": "Hasil", "en": "Result"},
    "field.period": {"id": "Periode", "en": "Period"},
    "field.schedule": {"id": "Jadwal pemeriksaan", "en": "Check schedule"},
    "field.time_zone": {"id": "Zona waktu", "en": "Time zone"},
    "section.action": {"id": "Tindakan yang Disarankan", "en": "Recommended Action"},
    "closing": {
        "id": "Demikian laporan ini dibuat dengan sebenarnya untuk dapat dipergunakan "
              "sebagaimana mestinya.",
        "en": "This report has been prepared truthfully, to be used as appropriate.",
    },
    "footer": {
        "id": "Laporan ini disusun secara otomatis oleh gitguard {version}.",
        "en": "This report was produced automatically by gitguard {version}.",
    },
    # --- recommended actions -------------------------------------------------------------
    "action.restore": {
        "id": "Pulihkan website ke keadaan yang disetujui dengan perintah "
              "`gitguard restore {site}`; keadaan saat ini akan dicadangkan lebih dahulu "
              "sebagai bukti.",
        "en": "Restore the website to the approved state with `gitguard restore {site}`; "
              "the current state is backed up first as evidence.",
    },
    "action.verify": {
        "id": "Setelah perbaikan, periksa kembali tampilan website, pastikan hasilnya dengan "
              "`gitguard verify {site}`, dan laporkan kepada Kepala Bagian.",
        "en": "After the repair, look at the website again, confirm it with "
              "`gitguard verify {site}` and report to the Head of Department.",
    },
    "action.approve": {
        "id": "Apabila perubahan tersebut memang dikehendaki, mintakan persetujuan Kepala "
              "Bagian atau Kepala Sub Bagian dengan `gitguard approve {site} -m \"...\"`; "
              "apabila tidak, pulihkan website.",
        "en": "If the changes are intended, ask the Head of Department or the Head of "
              "Sub-department to approve them with `gitguard approve {site} -m \"...\"`; "
              "if not, restore the website.",
    },
    "action.first_approval": {
        "id": "Periksa isi website; apabila sudah benar, mintakan Kepala Bagian atau Kepala "
              "Sub Bagian menyetujuinya sebagai keadaan acuan dengan "
              "`gitguard approve {site} -m \"...\"`.",
        "en": "Check the content of the website; when it is right, ask the Head of "
              "Department or the Head of Sub-department to approve it as the baseline with "
              "`gitguard approve {site} -m \"...\"`.",
    },
    "action.baseline_problem": {
        "id": "Keadaan acuan tidak dapat dipercaya: periksa riwayat persetujuan dengan "
              "`gitguard log {site}` dan selesaikan masalah tersebut bersama Kepala Sub Bagian. "
              "Pemulihan ditolak selama keadaan acuan tidak terverifikasi.",
        "en": "The baseline cannot be trusted: examine the approval history with "
              "`gitguard log {site}` and resolve the problem with the Head of "
              "Sub-department. A restore is refused while the baseline does not verify.",
    },
    "action.secure": {
        "id": "Tutup celah yang digunakan penyerang: ganti kata sandi CMS, FTP/SSH, dan basis "
              "data; perbarui CMS beserta plugin dan temanya; serta periksa akun pengguna yang "
              "tidak dikenal.",
        "en": "Close the way the attacker came in: change the CMS, FTP/SSH and database "
              "passwords, update the CMS with its plugins and themes, and look for unknown "
              "user accounts.",
    },
    "action.unknown": {
        "id": "Periksa sambungan ke server dan konfigurasi gitguard, lalu jalankan kembali "
              "`gitguard check {site}`.",
        "en": "Check the connection to the server and the gitguard configuration, then run "
              "`gitguard check {site}` again.",
    },
    "action.restore_again": {
        "id": "Jalankan kembali `gitguard restore {site}`. Apabila berkas yang sama terus "
              "berubah kembali, kemungkinan penyerang masih memiliki akses ke server: segera "
              "laporkan kepada Kepala Sub Bagian dan pengelola server.",
        "en": "Run `gitguard restore {site}` again. If the same files keep changing back, the "
              "attacker probably still has access to the server: report it at once to the "
              "Head of Sub-department and the server's administrator.",
    },
    # --- state and damage report ---------------------------------------------------------
    "state.title": {"id": "LAPORAN KEADAAN DAN KERUSAKAN WEBSITE",
                    "en": "WEBSITE STATE AND DAMAGE REPORT"},
    "state.section.overview": {"id": "Keadaan Umum", "en": "Overview"},
    "state.section.baseline": {"id": "Keadaan Acuan dan Cadangan",
                               "en": "Approved State and Backup"},
    "state.section.findings": {"id": "Temuan", "en": "Findings"},
    "state.section.details": {"id": "Rincian Perubahan Berkas", "en": "Changed Files in Detail"},
    "state.section.problems": {"id": "Masalah pada Website", "en": "Site-wide Problems"},
    "state.section.live": {"id": "Pemeriksaan Tampilan Website", "en": "Live Look at the Website"},
    "state.overview": {
        "id": "Berdasarkan pemeriksaan pada {time}, website {site} dalam keadaan {status}: "
              "{sentence}",
        "en": "At the check of {time}, the website {site} was {status}: {sentence}",
    },
    "state.findings.one": {
        "id": "Ditemukan {n} perubahan terhadap keadaan yang disetujui: {parts}.",
        "en": "{n} change from the approved state was found: {parts}.",
    },
    "state.findings.other": {
        "id": "Ditemukan {n} perubahan terhadap keadaan yang disetujui: {parts}.",
        "en": "{n} changes from the approved state were found: {parts}.",
    },
    "state.no_findings": {"id": "Tidak ditemukan perubahan terhadap keadaan yang disetujui.",
                          "en": "No change from the approved state was found."},
    "state.no_baseline": {
        "id": "Belum ada keadaan acuan yang disetujui dan ditandatangani secara sah. Perubahan "
              "belum dapat dinilai sebelum Kepala Bagian atau Kepala Sub Bagian menyetujui "
              "keadaan website.",
        "en": "There is no validly signed approved state yet. Changes cannot be judged until "
              "the Head of Department or the Head of Sub-department approves the state of "
              "the website.",
    },
    "state.no_snapshot": {"id": "Belum ada cadangan website.",
                          "en": "No backup of the website exists yet."},
    "state.info_note": {
        "id": "Berkas baru yang diizinkan oleh aturan `allow_new`; tidak memerlukan persetujuan "
              "dan tidak dihapus pada pemulihan.",
        "en": "New files permitted by the `allow_new` rules; they need no approval and a "
              "restore keeps them.",
    },
    "state.detail_line": {"id": "Perubahan: {change}. Tingkat: {severity}.",
                          "en": "Change: {change}. Severity: {severity}."},
    "state.binary": {"id": "Berkas biner, ukuran {size}.", "en": "Binary file, {size}."},
    "state.blobs": {"id": "Hash blob sebelum: {old}; sesudah: {new}.",
                    "en": "Blob hash before: {old}; after: {new}."},
    "state.more_details.one": {
        "id": "Rincian {n} berkas lainnya tidak ditampilkan; seluruhnya tersimpan dalam "
              "riwayat cadangan (`gitguard log {site}`).",
        "en": "The details of {n} more file are not shown; all of them are kept in the "
              "backup history (`gitguard log {site}`).",
    },
    "state.more_details.other": {
        "id": "Rincian {n} berkas lainnya tidak ditampilkan; seluruhnya tersimpan dalam "
              "riwayat cadangan (`gitguard log {site}`).",
        "en": "The details of {n} more files are not shown; all of them are kept in the "
              "backup history (`gitguard log {site}`).",
    },
    "state.live_intro": {"id": "Pemeriksaan halaman sebagaimana diterima pengunjung menemukan:",
                         "en": "A look at the pages as visitors receive them found:"},
    # --- the live look's pictures (gitguard/look) ----------------------------------------
    "look.pictures": {"id": "Gambar tampilan halaman:", "en": "Pictures of the pages:"},
    "look.approved": {"id": "Tampilan saat disetujui", "en": "Approved look"},
    "look.current": {"id": "Tampilan sekarang", "en": "Look now"},
    "look.diff": {"id": "Perbedaan (merah)", "en": "Difference (red)"},
    "look.before": {"id": "Sebelum perbaikan (bukti)", "en": "Before the repair (evidence)"},
    "look.after": {"id": "Sesudah perbaikan", "en": "After the repair"},
    "look.shot": {"id": "{url}, tampilan {view}", "en": "{url}, {view} view"},
    "look.ratio": {"id": "{ratio} gambar berubah dibanding tampilan yang disetujui.",
                   "en": "{ratio} of the picture changed since the approved look."},
    "look.view.desktop": {"id": "desktop", "en": "desktop"},
    "look.view.mobile": {"id": "ponsel", "en": "mobile"},
    "look.view.search": {"id": "dari pencarian Google", "en": "from a Google search"},
    "look.view.googlebot": {"id": "Googlebot", "en": "Googlebot"},
    "repair.section.look": {"id": "Tampilan Website Sebelum dan Sesudah Perbaikan",
                            "en": "The Website Before and After the Repair"},
    "repair.look_clean": {
        "id": "Pemeriksaan tampilan setelah perbaikan: halaman yang diterima pengunjung sesuai "
              "dengan tampilan yang disetujui.",
        "en": "The look after the repair: the pages visitors receive match the approved look."},
    "repair.look_unclean": {
        "id": "Pemeriksaan tampilan setelah perbaikan masih menemukan:",
        "en": "The look after the repair still found:"},
    # --- repair report -------------------------------------------------------------------
    "repair.title": {"id": "LAPORAN PERBAIKAN WEBSITE", "en": "WEBSITE REPAIR REPORT"},
    "repair.section.incident": {"id": "Kejadian", "en": "Incident"},
    "repair.section.evidence": {"id": "Pengamanan Bukti", "en": "Evidence"},
    "repair.section.actions": {"id": "Tindakan Perbaikan", "en": "Repair Actions"},
    "repair.section.verification": {"id": "Hasil Verifikasi", "en": "Verification"},
    "repair.result.normal": {"id": "WEBSITE NORMAL", "en": "WEBSITE NORMAL"},
    "repair.result.back": {"id": "WEBSITE KEMBALI NORMAL", "en": "WEBSITE BACK TO NORMAL"},
    "repair.result.failed": {"id": "BELUM NORMAL (VERIFIKASI GAGAL)",
                             "en": "NOT NORMAL (VERIFICATION FAILED)"},
    "repair.incident": {
        "id": "Kerusakan diketahui dari cadangan pada {time} (commit {commit}); keadaan "
              "website saat itu {status}.",
        "en": "The damage was found in the backup of {time} (commit {commit}); the website "
              "was then {status}.",
    },
    "repair.incident_unknown_time": {
        "id": "Keadaan website sebelum perbaikan: {status}.",
        "en": "The state of the website before the repair: {status}.",
    },
    "repair.evidence": {
        "id": "Sebelum perbaikan dimulai, keadaan server dicadangkan sebagai bukti pada commit "
              "{commit}. Berkas yang ditambahkan atau diubah pihak lain tetap tersimpan dalam "
              "riwayat tersebut.",
        "en": "Before anything was touched, the state of the server was backed up as evidence "
              "in commit {commit}. Whatever was added or changed stays in that history.",
    },
    "repair.no_evidence": {
        "id": "Tidak dibuat cadangan bukti tersendiri karena keadaan server sebelum perbaikan "
              "sama dengan cadangan terakhir; berkas yang diubah pihak lain tersimpan dalam "
              "cadangan tersebut.",
        "en": "No separate evidence backup was made because the server before the repair "
              "equalled the latest backup, which keeps the changed files.",
    },
    "repair.actions_intro": {
        "id": "Website dikembalikan ke keadaan yang disetujui (commit {commit}) dengan "
              "tindakan sebagai berikut:",
        "en": "The website was returned to the approved state (commit {commit}) as follows:",
    },
    "repair.no_actions": {"id": "Tidak ada berkas yang perlu dipulihkan.",
                          "en": "No file needed restoring."},
    "repair.verified": {
        "id": "Setelah perbaikan, server dipindai ulang dan dibandingkan dengan keadaan yang "
              "disetujui: seluruh berkas telah sesuai.",
        "en": "After the repair the server was scanned again and compared with the approved "
              "state: every file matches.",
    },
    "repair.verdict.back": {"id": "Website kembali normal.",
                            "en": "The website is back to normal."},
    "repair.verdict.normal": {"id": "Website normal.", "en": "The website is normal."},
    "repair.verdict.failed": {"id": "Website belum normal.", "en": "The website is not normal."},
    "repair.not_verified.one": {
        "id": "Setelah perbaikan, server dipindai ulang: {n} berkas masih berbeda dari keadaan "
              "yang disetujui:",
        "en": "After the repair the server was scanned again: {n} file still differs from the "
              "approved state:",
    },
    "repair.not_verified.other": {
        "id": "Setelah perbaikan, server dipindai ulang: {n} berkas masih berbeda dari keadaan "
              "yang disetujui:",
        "en": "After the repair the server was scanned again: {n} files still differ from the "
              "approved state:",
    },
    # --- activity report -----------------------------------------------------------------
    "activity.title": {"id": "LAPORAN KEGIATAN PENGAMANAN WEBSITE",
                       "en": "WEBSITE SECURITY ACTIVITY REPORT"},
    "activity.to": {"id": "Yth. {who}", "en": "{who}"},
    "activity.every": {"id": "setiap {every}", "en": "every {every}"},
    "activity.no_schedule": {"id": "tidak ditetapkan", "en": "not set"},
    "activity.section.summary": {"id": "Ringkasan Kegiatan", "en": "Summary"},
    "activity.section.incidents": {"id": "Kejadian dan Penanganannya",
                                   "en": "Incidents and Their Handling"},
    "activity.section.approvals": {"id": "Persetujuan Keadaan Website", "en": "Approvals"},
    "activity.section.backups": {"id": "Pencadangan", "en": "Backups"},
    "activity.section.missed": {"id": "Pemeriksaan Terjadwal yang Terlewat",
                                "en": "Missed Scheduled Checks"},
    "activity.section.failures": {"id": "Kegiatan yang Gagal", "en": "Failed Runs"},
    "activity.section.reports": {"id": "Laporan yang Dikirim", "en": "Reports Sent"},
    "activity.row.checks": {"id": "Pemeriksaan website", "en": "Website checks"},
    "activity.row.checks_ok": {"id": "– hasil normal", "en": "– normal"},
    "activity.row.checks_warning": {"id": "– perlu perhatian", "en": "– needing attention"},
    "activity.row.checks_critical": {"id": "– kritis", "en": "– critical"},
    "activity.row.checks_failed": {"id": "– gagal atau tidak diketahui",
                                   "en": "– failed or unknown"},
    "activity.row.backups": {"id": "Pencadangan (backup)", "en": "Backups"},
    "activity.row.snapshots": {"id": "– mencatat perubahan (cadangan baru)",
                               "en": "– recording changes (new snapshot)"},
    "activity.row.incidents": {"id": "Kejadian", "en": "Incidents"},
    "activity.row.restores": {"id": "Pemulihan website", "en": "Restores"},
    "activity.row.verifications": {"id": "Verifikasi setelah pemulihan",
                                   "en": "Verifications after a restore"},
    "activity.row.approvals": {"id": "Persetujuan keadaan website", "en": "Approvals"},
    "activity.row.missed": {"id": "Pemeriksaan terjadwal yang terlewat (perkiraan)",
                            "en": "Missed scheduled checks (estimate)"},
    "activity.row.reports": {"id": "Laporan yang dikirim", "en": "Reports sent"},
    "activity.no_incidents": {"id": "Tidak ada kejadian dalam periode ini.",
                              "en": "There was no incident in this period."},
    # --- issue #14 (operations): what an incident found, named in the activity report ---
    "activity.found_more": {"id": "dan {n} lainnya", "en": "and {n} more"},
    "activity.incident_note": {
        "id": "Kejadian dihitung sejak pemeriksaan menemukan perubahan yang belum disetujui "
              "sampai website dipulihkan dan diverifikasi, perubahannya disetujui, atau "
              "pemeriksaan berikutnya kembali normal.",
        "en": "An incident runs from a check that finds unapproved changes until the website "
              "is restored and verified, the changes are approved, or a later check is normal "
              "again.",
    },
    "outcome.restored": {"id": "dipulihkan dan diverifikasi, selesai dalam {duration}",
                         "en": "restored and verified, resolved in {duration}"},
    "outcome.restore_failed": {"id": "dipulihkan, verifikasi gagal",
                               "en": "restored, verification failed"},
    "outcome.approved": {"id": "perubahan disetujui oleh {name}, selesai dalam {duration}",
                         "en": "changes approved by {name}, resolved in {duration}"},
    "outcome.cleared": {"id": "normal kembali tanpa pemulihan dalam {duration}",
                        "en": "normal again without a restore, in {duration}"},
    "outcome.open": {"id": "belum selesai", "en": "not resolved yet"},
    "activity.no_approvals": {"id": "Tidak ada persetujuan dalam periode ini.",
                              "en": "There was no approval in this period."},
    "activity.backups.one": {
        "id": "Pencadangan dijalankan {n} kali; {changed} di antaranya mencatat perubahan "
              "sebagai cadangan baru.",
        "en": "{n} backup ran; {changed} of them recorded changes as a new snapshot.",
    },
    "activity.backups.other": {
        "id": "Pencadangan dijalankan {n} kali; {changed} di antaranya mencatat perubahan "
              "sebagai cadangan baru.",
        "en": "{n} backups ran; {changed} of them recorded changes as a new snapshot.",
    },
    "activity.no_backups": {"id": "Tidak ada pencadangan dalam periode ini.",
                            "en": "No backup ran in this period."},
    "activity.missed.one": {
        "id": "Pemeriksaan dijadwalkan setiap {every}. Terdapat {n} jeda tanpa pemeriksaan "
              "yang lebih lama dari {limit}:",
        "en": "Checks are scheduled every {every}. {n} gap without a check lasted longer than "
              "{limit}:",
    },
    "activity.missed.other": {
        "id": "Pemeriksaan dijadwalkan setiap {every}. Terdapat {n} jeda tanpa pemeriksaan "
              "yang lebih lama dari {limit}:",
        "en": "Checks are scheduled every {every}. {n} gaps without a check lasted longer "
              "than {limit}:",
    },
    "activity.no_missed": {"id": "Tidak ada pemeriksaan terjadwal yang terlewat.",
                           "en": "No scheduled check was missed."},
    "activity.no_schedule_missed": {
        "id": "Jadwal pemeriksaan tidak ditetapkan, sehingga pemeriksaan yang terlewat tidak "
              "dihitung.",
        "en": "No check schedule is set, so missed checks are not counted.",
    },
    "activity.no_reports": {"id": "Tidak ada laporan yang dikirim dalam periode ini.",
                            "en": "No report was sent in this period."},
    "activity.closing": {
        "id": "Demikian laporan kegiatan ini disampaikan kepada Kepala Bagian untuk menjadi "
              "periksa dan dipergunakan sebagaimana mestinya.",
        "en": "This activity report is submitted to the Head of Department for review and "
              "appropriate use.",
    },
    "table.more": {"id": "... dan {n} baris lainnya; daftar lengkapnya tersimpan dalam riwayat "
                         "git website ini.",
                   "en": "... and {n} more rows; the full list is kept in the site's git "
                         "history."},
    # --- reasons the audit itself gives (detect's live in reasons.py) -------------------
    "reason.unapproved_change": {"id": "perubahan yang tidak tercakup persetujuan bertanda tangan",
                                 "en": "change not covered by a signed approval"},
    "reason.allowed_new": {"id": "berkas baru yang diizinkan aturan allow_new",
                           "en": "new file allowed by an allow_new rule"},
    "reason.unstorable_path": {
        "id": "tersembunyi di bawah '{detail}', nama yang dilewati git dan kebanyakan pemindai "
              "(disimpan dalam cadangan dengan nama tersandi)",
        "en": "hidden under '{detail}', a name git and most scanners skip (kept in the backup "
              "under an escaped name)"},
    "reason.special_file": {
        "id": "berkas khusus (FIFO, soket, atau perangkat) yang tidak disajikan website",
        "en": "a FIFO, socket or device file, which a website does not serve"},
    "reason.not_backed_up": {
        "id": "lebih besar dari batas cadangan (max_file_size): tercatat, tetapi isinya tidak "
              "dicadangkan",
        "en": "larger than the backup limit (max_file_size): listed, but its content was not "
              "backed up"},
    "reason.no_baseline": {"id": "belum ada keadaan acuan (baseline) yang disetujui",
                           "en": "no approved baseline yet"},
    "reason.approved_unverified": {
        "id": "ujung cabang approved tidak terverifikasi: {detail}",
        "en": "the approved tip does not verify: {detail}"},
    "reason.approved_rewritten": {
        "id": "cabang approved dipindahkan ke {detail}, yang bukan turunan keadaan acuan "
              "terakhir yang tercatat (riwayat dimundurkan atau ditulis ulang)",
        "en": "approved was moved to {detail}, which does not descend from the last approved "
              "state gitguard saw (a rollback or rewrite)"},
    "reason.journal_rewritten": {
        "id": "jurnal pemeriksaan dimundurkan atau ditulis ulang: salinan luar situs {detail}, "
              "yang tidak ada dalam riwayat jurnal di sini",
        "en": "the journal of runs was rolled back or rewritten: the off-site copy {detail}, "
              "which the journal here does not contain"},
    "reason.live_unreachable": {"id": "website tidak dapat diakses: {detail}",
                                "en": "the website cannot be reached: {detail}"},
    "reason.live_cloaking": {
        "id": "website menampilkan isi berbeda kepada mesin pencari (cloaking): {detail}",
        "en": "the website shows search engines different content (cloaking): {detail}"},
    # --- e-mail subjects -----------------------------------------------------------------
    "subject.state": {"id": "[{status}] Laporan Keadaan dan Kerusakan Website {site}",
                      "en": "[{status}] Website State and Damage Report: {site}"},
    "subject.repair": {"id": "[{status}] Laporan Perbaikan Website {site}",
                       "en": "[{status}] Website Repair Report: {site}"},
    "subject.activity": {"id": "Laporan Kegiatan Pengamanan Website {site}, {period}",
                         "en": "Website Security Activity Report: {site}, {period}"},
}

TEXTS: dict[str, dict[str, str]] = {
    **_MESSAGES,
    **{f"reason.{code}": row for code, row in REASONS.items()},
}

# Indonesia's official zone names; elsewhere the zone's own abbreviation is used.
ZONE_NAMES = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Ujung_Pandang": "WITA",
    "Asia/Jayapura": "WIT",
}


def _pick(row: dict[str, str], lang: str) -> str:
    return row.get(lang) or row[DEFAULT_LANGUAGE]


def t(key: str, lang: str, **kw: object) -> str:
    """The text `key` in `lang` (falling back to English), with `kw` filled in."""
    return _pick(TEXTS[key], lang).format(**kw)


def tn(key: str, n: int, lang: str, **kw: object) -> str:
    """The singular (`key.one`) or plural (`key.other`) text for the count `n`."""
    return t(f"{key}.{'one' if n == 1 else 'other'}", lang, n=number(n, lang), **kw)


def visible(text: str) -> str:
    """`model.printable`, and also the characters that hide or reorder text on screen.

    C1 controls, bidirectional overrides, zero-width and line-separator characters become
    \\uXXXX, so 'gpj.php' behind a right-to-left override cannot pass for 'php.jpg'.
    """
    if text.isprintable():  # none of those (Python counts them all unprintable): as it is
        return text
    out = []
    for ch in printable(text):
        if 0x80 <= ord(ch) <= 0x9F or unicodedata.category(ch) in ("Cf", "Zl", "Zp"):
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def describe(reason: Reason, lang: str) -> str:
    """The reason as one plain-text sentence with its detail; unknown codes show code: detail."""
    detail = visible(reason.detail)
    if len(detail) > MAX_DETAIL:
        detail = detail[:MAX_DETAIL - 1] + "…"
    fallback = f"{visible(reason.code)}: {detail}" if detail else visible(reason.code)
    row = TEXTS.get(f"reason.{reason.code}")
    if row is None:
        return fallback
    try:
        text = _pick(row, lang).format(detail=detail or _NO_DETAIL)
    except (KeyError, IndexError, ValueError):
        return fallback
    # A template written around its detail must not keep empty quotes or a dangling colon.
    return _EMPTY_DETAIL.sub("", text).rstrip(" :;,") if not detail else text


def number(n: int, lang: str) -> str:
    """A whole number with the language's thousands separator (12.345 / 12,345)."""
    return f"{n:,}".replace(",", t("fmt.thousands", lang))


def size(n: int, lang: str) -> str:
    """A byte count in words (12.345 bita / 12,345 bytes)."""
    return tn("unit.bytes", n, lang)


def zone_name(moment: datetime) -> str:
    """WIB, WITA or WIT for Indonesia's zones, else the zone's abbreviation (an aware time)."""
    tz = moment.tzinfo
    key = getattr(tz, "key", None)
    if isinstance(key, str) and key in ZONE_NAMES:
        return ZONE_NAMES[key]
    return moment.tzname() or "UTC"


def local(moment: datetime, tz: tzinfo) -> datetime:
    """`moment` in the configured zone; a naive time is taken as UTC (git's clock)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz)


def _fields(moment: datetime, tz: tzinfo, lang: str) -> dict[str, object]:
    at = local(moment, tz)
    return {
        "weekday": t(f"day.{at.weekday()}", lang),
        "day": at.day,
        "month": t(f"month.{at.month}", lang),
        "year": at.year,
        "hour": at.hour,
        "minute": at.minute,
        "zone": zone_name(at),
    }


def format_datetime(moment: datetime, tz: tzinfo, lang: str) -> str:
    """'Sabtu, 28 November 2026 pukul 07.15 WIB' / 'Saturday, 28 November 2026 at 07:15 WIB'."""
    fields = _fields(moment, tz, lang)
    return t("fmt.datetime", lang, **fields)


def format_date(moment: datetime, tz: tzinfo, lang: str) -> str:
    """'28 November 2026'."""
    return t("fmt.date", lang, **_fields(moment, tz, lang))


def format_short(moment: datetime, tz: tzinfo, lang: str) -> str:
    """A compact time for table cells: '28-11-2026 07.15' / '2026-11-28 07:15'."""
    at = local(moment, tz)
    return t("fmt.short", lang, day=at.day, month=at.month, year=at.year, hour=at.hour,
             minute=at.minute)


def format_duration(span: timedelta, lang: str) -> str:
    """'2 jam 5 menit 3 detik' / '2 hours 5 minutes 3 seconds' (at most three units)."""
    seconds = int(span.total_seconds())
    if seconds < 1:
        return t("unit.under_second", lang)
    parts = []
    for unit, length in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, length)
        if count:
            parts.append(tn(f"unit.{unit}", count, lang))
    return " ".join(parts[:3])


def join(items: list[str], lang: str) -> str:
    """'a, b, dan c' / 'a, b, and c'."""
    if len(items) <= 1:
        return "".join(items)
    if len(items) == 2:
        return f"{items[0]} {t('word.and', lang)} {items[1]}"
    return f"{', '.join(items[:-1])}, {t('word.and', lang)} {items[-1]}"


def role_name(role: str, lang: str) -> str:
    """Kepala Bagian / Head of Department for 'kabag', and so on; unknown roles as given."""
    key = f"role.{role}"
    return t(key, lang) if key in TEXTS else role

