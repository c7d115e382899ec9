"""What a command's answer looks like, and which lines are unsolicited.

Two pure lookups the parser consults for every line before collecting it:

- :func:`expectation_for` derives from a command line the information-line
  prefixes that belong to its answer (``AT+CSQ`` -> ``+CSQ:``; ``AT+CMGR=3`` ->
  ``+CMGR:`` followed by a PDU line; ``AT+CGSN`` -> bare lines), and whether
  call result codes (``NO CARRIER``, ``BUSY``...) end it (only ``ATD``/``ATA``/``ATO``).
- :class:`UrcGrammar` knows the URC prefixes and words of a modem profile (or
  of every profile when none is given) and splits a URC line into name/value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modem.profiles import PROFILES, STANDARD_URC_PREFIXES, STANDARD_URC_WORDS, Profile

__all__ = [
    "BODY_URCS",
    "Expectation",
    "UrcGrammar",
    "expectation_for",
    "split_name",
    "urc_shaped",
]

#: URCs whose next line is their body (PDU mode): the PDU of a new SMS, a status report, a broadcast.
BODY_URCS = frozenset({"+CMT", "+CDS", "+CBM"})

#: Set commands whose only same-prefix lines are URCs (the answer is just OK), e.g.
#: ``AT+CUSD=1,"*611#",15`` -> OK, then later ``+CUSD: 0,"...",15`` (unsolicited).
_SET_WITHOUT_INFO = frozenset({
    "+CUSD", "+CPIN", "+CREG", "+CGREG", "+CEREG", "+CLCC", "+CFUN", "+CLIP", "+CCWA",
    "^DSCI", "+CTZU", "+CTZR", "+CLTS", "+CNMI",
})
#: Commands answered by lines without a prefix (``AT+CGSN`` -> ``869962031234561``).
_BARE = frozenset({"+CGSN", "+GSN", "+CIMI", "+CGMI", "+GMI", "+CGMM", "+GMM", "+CGMR", "+GMR",
                   "+CCID", "+CLAC", "I"})
#: Other prefixes some vendors use for the same answer.
_ALIASES = {"+CCID": ("+ICCID:", "+QCCID:"), "+CIMI": ("+CIMI:",), "+CGSN": ("+GSN:",),
            "+CGMR": ("+GMR:",), "+CGMM": ("+GMM:",), "+CGMI": ("+GMI:",)}
#: Commands whose prefixed lines are each followed by one PDU (or text) line.
_PDU_FOLLOWS = frozenset({"+CMGR", "+CMGL"})
#: Extended commands that may end in call result codes.
_CALL_EXTENDED = frozenset({"+CGDATA"})

_EXTENDED = re.compile(r"([+^$%#*][A-Z][A-Z0-9_]*)(=\?|\?|=)?")
_SHAPED = re.compile(r"[+^*$%#][A-Za-z][A-Za-z0-9_]*\s*:")
_WORD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_ ]{0,23}")


@dataclass(frozen=True)
class Expectation:
    """What belongs to a command's answer.

    ``prefixes``: information-line prefixes (with colon). ``bare``: lines without
    a URC-shaped prefix are answer lines too. ``pdu_follows``: each prefixed
    line is followed by one PDU/text line. ``call_results``: ``NO CARRIER``/
    ``BUSY``/``NO ANSWER``/``NO DIALTONE``/``CONNECT`` are final results.
    """

    prefixes: tuple[str, ...] = ()
    bare: bool = False
    pdu_follows: bool = False
    call_results: bool = False


def expectation_for(command: str) -> Expectation:
    """Derive the :class:`Expectation` of ``command`` (``"AT..."``, any case; ``;``-chained: the first part)."""
    body = command.strip()
    if body[:2].upper() == "AT":
        body = body[2:]
    body = body.split(";", 1)[0].strip()
    upper = body.upper()
    match = _EXTENDED.match(upper)
    if match is None:  # basic command: D, A, O, H, E0, Z, I, &W, S0?...
        if upper.startswith(("D", "A", "O")) and not upper.startswith("AND"):
            return Expectation(call_results=True)
        if upper.startswith("I") or (upper.startswith("S") and upper.endswith("?")):
            return Expectation(bare=True)
        return Expectation()
    name, op = match.group(1), match.group(2) or ""
    prefixes = (name + ":",) + _ALIASES.get(name, ())
    call = name in _CALL_EXTENDED
    if op == "=" and name in _SET_WITHOUT_INFO:
        return Expectation(call_results=call)
    return Expectation(
        prefixes=prefixes,
        bare=name in _BARE and op == "",
        pdu_follows=name in _PDU_FOLLOWS and op == "=",
        call_results=call,
    )


def urc_shaped(text: str) -> bool:
    """True for lines that look like ``+NAME:``/``^NAME:``/``*NAME:`` (an information or URC line)."""
    return _SHAPED.match(text) is not None


def split_name(text: str) -> tuple[str, str]:
    """``'+CMTI: "SM",3'`` -> ``("+CMTI", '"SM",3')``; a line without a name -> ``(text, "")``."""
    head, sep, rest = text.partition(":")
    head = head.strip()
    if sep and (urc_shaped(text) or _WORD_NAME.fullmatch(head)):
        return head, rest.strip()
    return text, ""


class UrcGrammar:
    """The unsolicited lines a modem may print.

    Built from a :class:`~modem.profiles.Profile` (its URC prefixes plus the
    standard ones), or from the union of all profiles when ``None``. Bare words
    (``"Call Ready"``) and prefixes that do not look like ``+NAME:``
    (``"VOICE CALL:"``) are taken from *every* profile whatever ``profile`` is:
    nothing else tells them from answer or PDU lines, and a modem configured
    with the wrong profile must still not have them collected into a response.
    (Unknown ``+NAME:``/``^NAME:`` lines are never collected anyway; they come
    out as ``Urc(known=False)``.)
    """

    def __init__(self, profile: Profile | None = None):
        profiles = [profile] if profile is not None else list(PROFILES.values())
        prefixes: set[str] = set(STANDARD_URC_PREFIXES)
        words: set[str] = set(STANDARD_URC_WORDS)
        for p in profiles:
            prefixes |= p.urc_prefixes()
        for p in PROFILES.values():
            words |= p.urc_words()
            prefixes |= {x for x in p.urc_prefixes() if not urc_shaped(x)}
        self.prefixes = frozenset(prefixes)
        self.words = frozenset(words)
        self._heads = frozenset(p[:-1].strip() for p in self.prefixes)

    def match(self, text: str) -> tuple[str, str] | None:
        """``(name, value)`` if ``text`` is a known URC, else ``None``.

        Words match whole lines only (``"RING"``, never ``"SPRING"``); prefixes
        match the text before the first colon (``"^RSSI:17"`` -> ``("^RSSI", "17")``).
        """
        if text in self.words:
            return text, ""
        head, sep, rest = text.partition(":")
        if sep and head.strip() in self._heads:
            return head.strip(), rest.strip()
        return None
