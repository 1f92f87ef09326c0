"""The live look: what visitors and search engines receive, rendered, pictured and compared.

browser.py renders pages in Debian's Chromium through Playwright; fetch.py is the plain
crawler fetch and the certificate check; sitemap.py reads sitemaps and robots.txt;
compare.py and pixels.py compare a look with the one taken at approval; settings.py is
`[sites.NAME.look]`; model.py the records. actions/look.py orchestrates, and
store/baseline.py keeps the approval's look in git.
"""
