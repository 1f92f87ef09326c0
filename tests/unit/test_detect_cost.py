"""What detection costs: patterns compiled only when used, and one rule's evidence decides."""

from __future__ import annotations

import re
import subprocess
import sys
import time

from gitguard.detect import Side, critical_reasons
from gitguard.detect.common import Regex
from gitguard.model import Change, Kind

# Counts the module-level patterns of the detect package and how many of them are compiled.
_COUNT = """
import sys
import gitguard.detect
from gitguard.detect.common import Regex
found = [value for name, module in sys.modules.items() if name.startswith("gitguard.detect")
         for value in vars(module).values() if isinstance(value, Regex)]
print(len(found), sum("compiled" in vars(value) for value in found))
"""


def test_importing_detection_compiles_no_pattern() -> None:
    # A restore or an audit of images never pays for the patterns of rules it does not run.
    out = subprocess.run(
        [sys.executable, "-c", _COUNT], capture_output=True, text=True, timeout=120, check=True
    )
    patterns, compiled = map(int, out.stdout.split())
    assert patterns > 80
    assert compiled == 0


def test_a_pattern_is_compiled_once_then_searched_directly() -> None:
    pattern = Regex(rb"a+(b)?")
    assert pattern.search(b"xaab").group() == b"aab"  # type: ignore[union-attr]
    # From now on the methods are the compiled pattern's own, with no detour per call.
    assert isinstance(vars(pattern)["search"].__self__, re.Pattern)
    assert [m.group() for m in pattern.finditer(b"a-aa")] == [b"a", b"aa"]
    assert pattern.findall(b"ab a") == [b"b", b""]
    assert pattern.sub(b"-", b"caab") == b"c-"
    assert pattern.match(b"ax") is not None and pattern.fullmatch(b"ax") is None


def _side(text: str) -> Side:
    return Side(Kind.FILE, 0o644, text.encode(), None)


def test_the_family_marker_decides_and_the_rest_is_not_read() -> None:
    # A kit named by its marker is not read further for code rules: the marker is the
    # evidence, and the code rules would cost more than they add.
    shell = "<?php\n$default_action = 'FilesMan';\nsystem($_GET['c']);\neval($_POST['e']);\n"
    reasons = critical_reasons(
        "lib/modul/layanan.php", Change.MODIFIED, _side("<?php\n"), _side(shell)
    )
    assert [r.code for r in reasons] == ["webshell_marker"]


def test_spam_rules_all_speak_for_an_injected_page() -> None:
    # A page injection is described by every spam rule that sees it, not by the first alone.
    old = "<?php get_footer(); ?>\n<footer><p>Diskominfo</p></footer>\n"
    links = "".join(
        f'<a href="https://slotgacor{i}.example/">slot gacor {i}</a> ' for i in range(6)
    )
    new = old + f'<div style="display:none">{links}</div>\n'
    reasons = critical_reasons("wp-content/themes/x/footer.php", Change.MODIFIED, _side(old),
                               _side(new))  # fmt: skip
    assert {"gambling_spam", "hidden_links"} <= {r.code for r in reasons}


def test_the_php_view_stops_at_its_first_finding_and_keeps_the_decoded_one() -> None:
    from gitguard.detect.php import analyse

    # Two findings in a row: the first ends the reading.
    assert [f.code for f in analyse(b"<?php system($_GET['a']); eval($_POST['b']);")] == [
        "shell_from_request"
    ]
    # eval of a constant: what the decoded code does comes first, then the eval that hid it.
    found = analyse(b"<?php eval(base64_decode('c3lzdGVtKCRfR0VUWydjJ10pOw=='));")
    assert [f.code for f in found] == ["shell_from_request", "code_from_decoded"]


def test_a_table_built_one_assignment_at_a_time_is_read_in_linear_time() -> None:
    from gitguard.detect.php import analyse

    # A translation file: thousands of `$lang['x'] = ...`; the elements kept are bounded, so
    # each assignment costs the same, not a copy of all before it.
    rows = "".join(f"$lang['kunci_{i}'] = 'Teks nomor {i}';\n" for i in range(20000))
    code = f"<?php\n{rows}$lang[] = 'akhir';\necho $lang['kunci_1'];\n".encode()
    start = time.process_time()
    assert analyse(code) == []
    assert time.process_time() - start < 20
