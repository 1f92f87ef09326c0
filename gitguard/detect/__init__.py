"""Decide which changes are critical: webshells, defacement, gambling spam, cloaking, risky paths.

Content rules look for evidence that is new: each rule collects its matches in the approved
content and in the snapshot, and only what the snapshot added counts, so an approved file that
already holds a phrase (WordPress core mentions `eval` and `base64_decode`) does not trip again
on an unrelated edit. Path rules (a new script, a changed `.htaccess`, the home page) need no
content. Work per file is bounded: text rules skip binary content, only the first few MiB plus
the tail of a big file are read, and each rule runs only when the words it needs occur. The
webshell rules stop at the first that finds new evidence (one proof is enough), and every
pattern is compiled on its first use, not on import.

Modules: `common` (the prepared document and evidence), `paths` (risky paths and symlinks),
`spam` (defacement, gambling spam, hidden links, injected scripts, cloaking), `server_config`
(.htaccess, web.config, .user.ini), `webshells` (pattern rules and family signatures), `php`
(a tokenizer-level view of PHP: decoded strings, folded expressions, taint), and `rules` (the
one registry of rules and the reason codes each gives).
"""

from gitguard.detect.common import Side, runs_as_script
from gitguard.detect.rules import critical_reasons

__all__ = ["Side", "critical_reasons", "runs_as_script"]
