"""Web server configuration: redirects, cloaking, prepended PHP, new script handlers."""

from __future__ import annotations

import re

from gitguard.detect.common import (
    _DISGUISE_EXTS_B,
    _HOST,
    _SCRIPT_EXTS_B,
    Regex,
    _Doc,
    _Hit,
    _hit,
    _tokens,
)

# --- server configuration ------------------------------------------------------------------

_LINE_URL = rb"\\?[\"']?((?:https?:)?//[^\s\"']+)"
_HT_REDIRECT = Regex(
    rb"^[ \t]*(?:rewriterule[ \t]+\S+[ \t]+"
    + _LINE_URL
    + rb"|redirect(?:match|permanent|temp)?[ \t]+(?:\S+[ \t]+)?\S+[ \t]+"
    + _LINE_URL
    + rb"|errordocument[ \t]+\d+[ \t]+"
    + _LINE_URL
    + rb")",
    re.MULTILINE,
)
_WEBCONFIG_REDIRECT = Regex(
    rb"<(?:action|httpredirect)\b[^<>]*\b(?:url|destination)\s*=\s*[\"']((?:https?:)?//[^\"']+)"
)
_OWN_HOST = Regex(
    rb"rewritecond[ \t]+%\{(?:http_host|server_name)\}[ \t]+(\S+)"
    rb"|\{http_host\}[^<>]*pattern\s*=\s*[\"']([^\"']+)"
)
# Each with two groups: the header tested and the (not negated) pattern it must match.
_CLOAK_RULES = (
    Regex(
        rb"^[ \t]*rewritecond[ \t]+%\{(http_user_agent|http_referer)\}[ \t]+(?!!)(\S+)",
        re.MULTILINE,
    ),
    Regex(
        rb"^[ \t]*(?:setenvif\w*[ \t]+(user-agent|referer)|(browsermatch)\w*)[ \t]+(?!!)(\S+)",
        re.MULTILINE,
    ),
    Regex(
        rb"input\s*=\s*[\"']\{(http_user_agent|http_referer)\}[\"'][^<>]*pattern\s*=\s*[\"']"
        rb"(?!!)([^\"']+)"
    ),
)
_ENGINE_IN_PATTERN = Regex(rb"google|bing|yahoo|slurp|yandex|baidu|duckduck|msnbot")
_PREPEND = Regex(
    rb"^[ \t]*(?:php_value[ \t]+)?(auto_(?:prepend|append)_file)[ \t]*=?[ \t]*[\"']?([^\s\"']*)",
    re.MULTILINE,
)
_ADD_HANDLER = Regex(rb"^[ \t]*(?:addtype|addhandler)[ \t]+(\S+)[ \t]+([^\n#]+)", re.MULTILINE)
_SET_HANDLER = Regex(rb"^[ \t]*sethandler[ \t]+(\S+)", re.MULTILINE)
_PHP_ENGINE_ON = Regex(rb"^[ \t]*php_flag[ \t]+engine[ \t]+(?:on|1)\b", re.MULTILINE)
_EXEC_HANDLER = Regex(rb"php|x-httpd|cgi|fcgid|fastcgi|perl|python|server-parsed|asp")
_FILES_BLOCK = Regex(rb"<files(?:match)?\b([^<>]*)>(.*?)</files", re.DOTALL)
_WEBCONFIG_HANDLER = Regex(rb"<add\b[^<>]*\bpath\s*=\s*[\"']([^\"']+)[\"'][^<>]*>")
_WEBCONFIG_EXEC = Regex(rb"(?:modules|scriptprocessor)\s*=\s*[\"'][^\"']*(?:fastcgi|php|isapi|cgi)")
_NOT_SCRIPT_WORDS = _DISGUISE_EXTS_B | _tokens("html htm js")
_SECOND_LEVEL = _tokens("go co ac or sch desa web my mil net biz ponpes gov com org edu")


def _server_config(doc: _Doc) -> list[_Hit]:
    """Redirects, cloaking, prepended PHP and new executable types in server configuration."""
    text = doc.lower
    hits: list[_Hit] = []
    own = {_registered(host) for m in _OWN_HOST.finditer(text) for host in _hosts_in(m)}
    for m in [*_HT_REDIRECT.finditer(text), *_WEBCONFIG_REDIRECT.finditer(text)]:
        url = next(group for group in m.groups() if group)
        host = _HOST.match(url)
        if host is None or b"%{" in url or b"{http_host}" in url or b"{server_name}" in url:
            continue
        if _registered(host.group(1)) not in own:
            hits.append(_hit("config_redirect", url))
    for rule in _CLOAK_RULES:
        for m in rule.finditer(text):
            *headers, pattern = m.groups()
            if _ENGINE_IN_PATTERN.search(pattern):
                header = next((h for h in headers if h), b"")
                hits.append(_hit("config_cloaking", header + b" " + pattern))
    for m in _PREPEND.finditer(text):
        if m.group(2) not in (b"", b"none"):
            hits.append(_hit("config_prepend", m.group(1) + b" " + m.group(2)))
    for m in _ADD_HANDLER.finditer(text):
        exts = {ext.lstrip(b".") for ext in m.group(2).split()}
        if _EXEC_HANDLER.search(m.group(1)) and exts - _SCRIPT_EXTS_B:
            hits.append(_hit("config_handler", m.group()))
    for m in _SET_HANDLER.finditer(text):
        if _EXEC_HANDLER.search(m.group(1)) and not _scripts_only(text, m.start()):
            hits.append(_hit("config_handler", m.group()))
    hits += [_hit("config_handler", m.group()) for m in _PHP_ENGINE_ON.finditer(text)]
    for m in _WEBCONFIG_HANDLER.finditer(text):
        ext = m.group(1).rpartition(b".")[2].strip(b"*")
        if _WEBCONFIG_EXEC.search(m.group()) and ext not in _SCRIPT_EXTS_B:
            hits.append(_hit("config_handler", m.group(1)))
    return hits


def _hosts_in(match: re.Match[bytes]) -> list[bytes]:
    """Host names in a RewriteCond pattern such as ^(www\\.)?kab\\.go\\.id$."""
    pattern = next((group for group in match.groups() if group), b"")
    cleaned = re.sub(rb"[\\^$!()\[\]?*+|]", b" ", pattern.replace(b"\\.", b"."))
    return [word for word in cleaned.split() if b"." in word.strip(b".")]


def _registered(host: bytes) -> bytes:
    """The registrable part of a host name (kab.go.id for www.kab.go.id)."""
    labels = host.strip(b".").split(b".")
    keep = 3 if len(labels) >= 3 and labels[-2] in _SECOND_LEVEL and len(labels[-1]) == 2 else 2
    return b".".join(labels[-keep:])


def _scripts_only(text: bytes, pos: int) -> bool:
    """Whether a SetHandler at `pos` sits in a <Files> block that selects only script names."""
    for block in _FILES_BLOCK.finditer(text):
        if block.start(2) <= pos < block.end(2):
            words = set(re.findall(rb"[a-z0-9]+", block.group(1)))
            return bool(words & _SCRIPT_EXTS_B) and not words & _NOT_SCRIPT_WORDS
    return False
