"""The CMS database: dump and apply through the site's connection, the table text format,
CMS knowledge (wordpress.py)."""
