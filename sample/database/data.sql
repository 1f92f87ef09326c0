-- Sample content of the sample site's WordPress database (Pemerintah Kota Contoh).
SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO';
INSERT INTO wp_users (ID, user_login, user_pass, user_nicename, user_email, user_registered, display_name) VALUES
 (1, 'admin', '$P$BxQ2Vq3b0S1vV8mQ4k8cC3vTt7yYlS1', 'admin', 'admin@contoh.go.id', '2024-01-02 08:00:00', 'Admin Diskominfo'),
 (2, 'redaksi', '$P$B0rN2cWm7oR9sD1eF3gH5jK7lZ9xV1.', 'redaksi', 'redaksi@contoh.go.id', '2024-01-03 09:00:00', 'Redaksi Humas');
INSERT INTO wp_usermeta (umeta_id, user_id, meta_key, meta_value) VALUES
 (1, 1, 'wp_capabilities', 'a:1:{s:13:"administrator";b:1;}'),
 (2, 1, 'wp_user_level', '10'),
 (3, 2, 'wp_capabilities', 'a:1:{s:6:"editor";b:1;}'),
 (4, 2, 'wp_user_level', '7'),
 (5, 1, 'session_tokens', 'a:0:{}');
INSERT INTO wp_options (option_id, option_name, option_value, autoload) VALUES
 (1, 'siteurl', 'https://www.contoh.go.id', 'yes'),
 (2, 'home', 'https://www.contoh.go.id', 'yes'),
 (3, 'blogname', 'Pemerintah Kota Contoh', 'yes'),
 (4, 'blogdescription', 'Situs resmi Pemerintah Kota Contoh', 'yes'),
 (5, 'active_plugins', 'a:1:{i:0;s:19:"contact/contact.php";}', 'yes'),
 (6, 'template', 'pemkot', 'yes'),
 (7, 'stylesheet', 'pemkot', 'yes'),
 (8, 'widget_text', 'a:2:{i:2;a:3:{s:5:"title";s:7:"Kontak";s:4:"text";s:40:"Jl. Merdeka No. 1, telepon (021) 555-0101";s:6:"filter";b:1;}s:12:"_multiwidget";i:1;}', 'yes'),
 (9, 'sidebars_widgets', 'a:2:{s:9:"sidebar-1";a:1:{i:0;s:6:"text-2";}s:13:"array_version";i:3;}', 'yes'),
 (10, '_transient_doing_cron', '1767225600.1234', 'yes'),
 (11, 'wp_user_roles', 'a:2:{s:13:"administrator";a:1:{s:4:"name";s:13:"Administrator";}s:6:"editor";a:1:{s:4:"name";s:6:"Editor";}}', 'yes');
INSERT INTO wp_terms (term_id, name, slug) VALUES (1, 'Berita', 'berita'), (2, 'Menu Utama', 'menu-utama');
INSERT INTO wp_term_taxonomy (term_taxonomy_id, term_id, taxonomy, description, count) VALUES
 (1, 1, 'category', '', 2), (2, 2, 'nav_menu', '', 1);
INSERT INTO wp_posts (ID, post_author, post_date, post_date_gmt, post_content, post_title, post_excerpt, post_status, post_name, to_ping, pinged, post_modified, post_modified_gmt, post_content_filtered, guid, post_type, menu_order) VALUES
 (1, 2, '2026-11-02 09:00:00', '2026-11-02 02:00:00', '<p>Pemerintah Kota Contoh membuka layanan perizinan daring mulai bulan ini.</p>', 'Layanan perizinan daring dibuka', '', 'publish', 'layanan-perizinan-daring', '', '', '2026-11-02 09:00:00', '2026-11-02 02:00:00', '', 'https://www.contoh.go.id/?p=1', 'post', 0),
 (2, 2, '2026-11-10 10:00:00', '2026-11-10 03:00:00', '<p>Jadwal vaksinasi di puskesmas kecamatan.\tLihat lampiran.</p>\n<p>Info: (021) 555-0101</p>', 'Jadwal vaksinasi', '', 'publish', 'jadwal-vaksinasi', '', '', '2026-11-10 10:00:00', '2026-11-10 03:00:00', '', 'https://www.contoh.go.id/?p=2', 'post', 0),
 (3, 1, '2024-01-05 08:00:00', '2024-01-05 01:00:00', '<h2>Profil</h2><p>Visi dan misi Pemerintah Kota Contoh.</p>', 'Profil', '', 'publish', 'profil', '', '', '2024-01-05 08:00:00', '2024-01-05 01:00:00', '', 'https://www.contoh.go.id/?page_id=3', 'page', 0),
 (4, 1, '2024-01-05 08:05:00', '2024-01-05 01:05:00', '', 'Profil', '', 'publish', '4', '', '', '2024-01-05 08:05:00', '2024-01-05 01:05:00', '', 'https://www.contoh.go.id/?p=4', 'nav_menu_item', 1);
INSERT INTO wp_postmeta (meta_id, post_id, meta_key, meta_value) VALUES
 (1, 4, '_menu_item_type', 'post_type'), (2, 4, '_menu_item_object_id', '3'),
 (3, 4, '_menu_item_url', ''), (4, 1, '_edit_lock', '1767225600:2');
INSERT INTO wp_term_relationships (object_id, term_taxonomy_id) VALUES (1, 1), (2, 1), (4, 2);
