"""User text made safe for HTML: bidi controls removed and right-to-left text isolated."""

from __future__ import annotations

import html
import re
import unicodedata

#: Explicit embeddings, overrides and isolates (LRE, RLE, PDF, LRO, RLO, LRI, RLI, FSI, PDI):
#: unbalanced, they reorder whatever follows them, so text from the data never keeps them.
BIDI_EMBEDDINGS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


#: Directional marks (LRM, RLM, ALM): invisible strong characters. Harmless inside an isolate,
#: so text keeps them; a ``<title>`` or attribute cannot be isolated, so there they go too.
BIDI_MARKS = frozenset("\u200e\u200f\u061c")


BIDI_CONTROLS = BIDI_EMBEDDINGS | BIDI_MARKS


_EMBEDDINGS_RE = re.compile("[" + "".join(sorted(BIDI_EMBEDDINGS)) + "]")


_CONTROLS_RE = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")


#: Bidi classes that can change the order of text around them: right-to-left letters,
#: Arabic digits, and the controls.
_RTL_CLASSES = frozenset({"R", "AL", "AN", "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"})


def bidi_controls(text: str) -> list[str]:
    """The bidi control characters in ``text`` as ``U+202E`` names, in order, without repeats."""
    return list(dict.fromkeys(f"U+{ord(ch):04X}" for ch in str(text) if ch in BIDI_CONTROLS))


def strip_bidi_controls(text: str) -> str:
    """``text`` without any bidi control character (for a ``<title>``, an attribute, a log line)."""
    return _CONTROLS_RE.sub("", str(text))


def _is_rtl_sensitive(text: str) -> bool:
    return any(unicodedata.bidirectional(ch) in _RTL_CLASSES or ch in BIDI_MARKS for ch in text)


def html_text(value: object) -> str:
    """``value`` as HTML text: escaped, bidi embeddings removed, and isolated when it needs it.

    Text with a right-to-left letter (or a mark) is wrapped in ``<bdi>``; its direction is then
    its own (``dir=auto``) and cannot spill over the report's words. Text without one reads the
    same isolated or not on a page whose own words are left-to-right, so it stays unwrapped.

    >>> html_text("Desa <b>")
    'Desa &lt;b&gt;'
    >>> html_text(chr(0x202E) + "evil")
    'evil'
    >>> html_text("مسجد 1")
    '<bdi>مسجد 1</bdi>'
    """
    text = _EMBEDDINGS_RE.sub("", str(value))
    escaped = html.escape(text, quote=True)
    return f"<bdi>{escaped}</bdi>" if _is_rtl_sensitive(text) else escaped


def html_attribute(value: object) -> str:
    """``value`` for an HTML attribute or ``<title>``: escaped and without bidi controls.

    Neither can hold ``<bdi>``, so every control goes, marks included.
    """
    return html.escape(strip_bidi_controls(str(value)), quote=True)


def show_bidi_controls(text: str) -> str:
    """``text`` with each bidi control written as ``<U+202E>``, safe to print in a log line."""
    return "".join(f"<U+{ord(ch):04X}>" if ch in BIDI_CONTROLS else ch for ch in str(text))
