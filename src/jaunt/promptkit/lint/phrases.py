"""Phrase detection for the instruction rules (JP010-JP014).

Deliberately simple and predictable: case-insensitive regular expressions over the template
text, several phrasings each. A *request* (JP013/JP014) only counts when its clause has no
negation before it, so the packaged prohibitions ("Do not write tests") never trigger; a
clause ends at ``. ; : ! ?``, a newline, or a joining ``, and`` / ``, but`` / ``, then``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_FLAGS = re.IGNORECASE
# A word between a verb and its object: anything but whitespace and clause punctuation,
# so `the`, `some`, `` `module` `` and `{{generated_module}}` all count as one word.
_WORD = r"[^\s.,;:!?()]+"
_GAP = rf"(?:[ \t]+{_WORD}){{0,3}}?[ \t]+"
_VERBS = r"(?:write|add|include|generate|create|provide|produce|emit|output|append|supply)"

CODE_ONLY = re.compile(
    r"\bcode[ -]only\b"
    r"|\bonly[ \t]+(?:the[ \t]+)?(?:python[ \t]+)?(?:source|code)\b"
    r"|\b(?:python[ \t]+)?(?:source|code)\b[^.\n]{0,60}?\bonly\b"
    r"|\b(?:no|without)[ \t]+(?:markdown[ \t]+|code[ \t]+)?(?:fences?|fenced)\b"
    r"|\b(?:no|without)[ \t]+(?:markdown|commentary|explanations?|prose)\b"
    r"|\bnothing[ \t]+(?:but|except|other[ \t]+than)[ \t]+(?:the[ \t]+)?(?:python[ \t]+)?"
    r"(?:code|source)\b"
    r"|\b(?:do[ \t]+not|don't|never)[ \t]+wrap\b"
    r"|\b(?:do[ \t]+not|don't|never)[ \t]+(?:use|add|include)\b[^.\n]{0,30}?"
    r"\b(?:fences?|markdown|backticks)\b",
    _FLAGS,
)

REQUIRED_NAMES = re.compile(
    r"\brequired[ \t]+(?:top[- ]level[ \t]+)?names?\b"
    r"|\bmust[ \t]+(?:also[ \t]+)?define\b"
    r"|\b(?:define|defines|implement)[ \t]+(?:every|each|all|these|the[ \t]+following)\b"
    r"[^.\n]{0,40}?\bnames?\b"
    r"|\b(?:these|following|listed)[ \t]+(?:top[- ]level[ \t]+)?names\b"
    r"|\bexpected[ \t]+(?:top[- ]level[ \t]+)?names\b",
    _FLAGS,
)

NEVER_EDIT_USER_FILES = re.compile(
    r"\b(?:never|not|don't|mustn't|no)\b[^.\n]{0,40}?"
    r"\b(?:edit|modify|change|rewrite|overwrite|touch|alter|update|delete)\w*\b"
    r"[^.\n]{0,60}?\bfiles?\b"
    r"|\bleave\b[^.\n]{0,40}?\bfiles?\b[^.\n]{0,20}?\b(?:untouched|unchanged|alone|as[ \t]+is)\b"
    r"|\bfiles?[ \t]+(?:are|is)[ \t]+read[- ]only\b",
    _FLAGS,
)

# "tests" followed by one of these is the subject of the sentence, not the thing requested
# ("write code for the tests to import", "add hooks the tests can call").
_TESTS_AS_SUBJECT = r"(?![ \t]+(?:specs?|modules?|will|can|may|must|should|to|import|run|pass)\b)"
ASKS_FOR_TESTS = re.compile(
    rf"\b{_VERBS}\b{_GAP}(?:unit[ \t]+|pytest[ \t]+|doc)?tests?\b{_TESTS_AS_SUBJECT}"
    r"|\b(?:implementation|module|code|answer|functions?)[ \t]+(?:together[ \t]+)?"
    r"(?:with|plus|along[ \t]+with)[ \t]+(?:unit[ \t]+|pytest[ \t]+)?tests\b",
    _FLAGS,
)

ASKS_FOR_IMPLEMENTATION = re.compile(
    rf"\b{_VERBS}\b(?P<gap1>{_GAP})implementations?\b"
    rf"|\bimplement(?:s|ing)?\b(?P<gap2>{_GAP})"
    r"(?:functions?|class(?:es)?|methods?|code[ \t]+under[ \t]+test|logic|module)\b",
    _FLAGS,
)

# jaunt's import rules for generated tests (jaunt commit e0d804b), JP015.
IMPORT_FROM_DEPENDENCY_MODULES = re.compile(
    r"\bimport\w*\b[^\n]{0,160}?\b(?:dependency|dependencies)\b"
    r"|\b(?:dependency|dependencies)[ \t]+apis?\b[^\n]{0,160}?\bimport"
    # a module template right above {{deps_api_block}}: "Import ... from these modules"
    r"|\bimport\w*\b[^\n]{0,80}?\bfrom[ \t]+(?:these|the[ \t]+following|the[ \t]+listed)"
    r"[ \t]+modules\b",
    _FLAGS,
)
# "generated"/"spec" without a closing \b: `{{generated_module}}` must count too.
NO_IMPORT_FROM_GENERATED_OR_SPEC = re.compile(
    r"\b(?:never|not|don't)[ \t]+import\w*\b[^\n]{0,80}?\b(?:generated|spec)"
    r"|\bimport\w*\b[^\n]{0,240}?\bnever[ \t]+from\b[^\n]{0,40}?\b(?:generated|spec)",
    _FLAGS,
)
NO_GUESSED_MODULES = re.compile(r"\b(?:never|not|don't)[ \t]+guess\b", _FLAGS)

_NEGATION = re.compile(
    r"\b(?:not|no|never|don't|dont|doesn't|without|avoid|nor|neither|mustn't|shouldn't"
    r"|refrain|forbid\w*|prohibit\w*|instead[ \t]+of)\b",
    _FLAGS,
)
_CLAUSE_BREAK = re.compile(r"[.;:!?\n]|,[ \t]*(?:and|but|then|also)\b|[ \t]but[ \t]", _FLAGS)
# The request is about the tests themselves ("implement the test functions", "write tests for
# the implementation").
_ABOUT_TESTS = re.compile(r"\btests?\b", _FLAGS)


def mentions(pattern: re.Pattern[str], *texts: str) -> bool:
    """Whether any of ``texts`` contains the phrase."""
    return any(pattern.search(text) for text in texts)


def requests(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """Every match of ``pattern`` that is a request, not a prohibition."""
    for match in pattern.finditer(text):
        if _negated(text, match.start(), match.end()):
            continue
        gaps = (g for name, g in match.groupdict().items() if name.startswith("gap") and g)
        if any(_ABOUT_TESTS.search(gap) for gap in gaps):
            continue
        yield match


def _negated(text: str, start: int, end: int) -> bool:
    """A negation in the clause before or inside the match ("write the module without tests")."""
    clause_start = max(0, start - 400)
    for brk in _CLAUSE_BREAK.finditer(text, clause_start, start):
        clause_start = brk.end()
    return _NEGATION.search(text, clause_start, end) is not None
