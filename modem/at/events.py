"""Events produced by :class:`modem.at.AtParser`, and final result codes.

All events are frozen dataclasses compared by value, so tests can write the
expected event list literally (h11 style).

- :class:`Response` — a command's information lines and its final result.
- :class:`Prompt` — the ``"> "`` the modem prints when it wants an SMS body.
- :class:`Urc` — an unsolicited result code (``+CMTI``, ``RING``, ``^RSSI``...).
- :class:`Noise` — bytes that fit nowhere (garbage, NULs, over-long lines); log them.

:meth:`FinalResult.raise_for` turns an error final result into the
``modem.errors`` type the driver raises: ``+CME ERROR: 11`` (or its verbose
text ``SIM PIN required``) -> :class:`~modem.errors.SimPinRequired`, 12 ->
:class:`~modem.errors.SimPukRequired`, 16 -> :class:`~modem.errors.WrongPin`,
other CME -> :class:`~modem.errors.CmeError`, CMS -> :class:`~modem.errors.CmsError`,
anything else that is not OK/CONNECT -> :class:`~modem.errors.CommandError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from modem.errors import CmeError, CmsError, CommandError, SimPinRequired, SimPukRequired, WrongPin

__all__ = [
    "CME_CODES",
    "CMS_CODES",
    "FINAL_KINDS",
    "Event",
    "FinalResult",
    "Noise",
    "Prompt",
    "Response",
    "Urc",
    "parse_final",
]

#: TS 27.007 §9.2.1/§9.2.2: +CME ERROR codes and their verbose texts.
CME_CODES: dict[int, str] = {
    0: "phone failure", 1: "no connection to phone", 2: "phone-adaptor link reserved",
    3: "operation not allowed", 4: "operation not supported", 5: "PH-SIM PIN required",
    6: "PH-FSIM PIN required", 7: "PH-FSIM PUK required", 10: "SIM not inserted",
    11: "SIM PIN required", 12: "SIM PUK required", 13: "SIM failure", 14: "SIM busy",
    15: "SIM wrong", 16: "incorrect password", 17: "SIM PIN2 required", 18: "SIM PUK2 required",
    20: "memory full", 21: "invalid index", 22: "not found", 23: "memory failure",
    24: "text string too long", 25: "invalid characters in text string", 26: "dial string too long",
    27: "invalid characters in dial string", 30: "no network service", 31: "network timeout",
    32: "network not allowed - emergency calls only", 40: "network personalization PIN required",
    41: "network personalization PUK required", 42: "network subset personalization PIN required",
    43: "network subset personalization PUK required", 44: "service provider personalization PIN required",
    45: "service provider personalization PUK required", 46: "corporate personalization PIN required",
    47: "corporate personalization PUK required", 48: "hidden key required",
    50: "incorrect parameters", 100: "unknown",
}

#: TS 27.005 §3.2.5: +CMS ERROR codes (300-500) and their verbose texts.
CMS_CODES: dict[int, str] = {
    300: "ME failure", 301: "SMS service of ME reserved", 302: "operation not allowed",
    303: "operation not supported", 304: "invalid PDU mode parameter", 305: "invalid text mode parameter",
    310: "SIM not inserted", 311: "SIM PIN required", 312: "PH-SIM PIN required", 313: "SIM failure",
    314: "SIM busy", 315: "SIM wrong", 316: "SIM PUK required", 317: "SIM PIN2 required",
    318: "SIM PUK2 required", 320: "memory failure", 321: "invalid memory index", 322: "memory full",
    330: "SMSC address unknown", 331: "no network service", 332: "network timeout",
    340: "no +CNMA acknowledgement expected", 500: "unknown error",
}


def _norm(text: str) -> str:
    """Verbose error text -> lookup key: case, ``(U)``, punctuation and spacing do not matter."""
    text = text.lower().replace("(u)", "").replace("u-sim", "sim").replace("usim", "sim")
    return re.sub(r"[^a-z0-9+]+", " ", text).strip()


_CME_BY_TEXT = {_norm(t): c for c, t in CME_CODES.items()}
_CME_BY_TEXT.update({_norm("SIM PIN necessary"): 11, _norm("SIM PUK necessary"): 12,
                     _norm("wrong password"): 16, _norm("incorrect PIN"): 16,
                     _norm("no network service available"): 30, _norm("unknown error"): 100})
_CMS_BY_TEXT = {_norm(t): c for c, t in CMS_CODES.items()}
_CMS_BY_TEXT.update({_norm("SMSC address unknown"): 330, _norm("unknown SMSC address"): 330,
                     _norm("memory capacity exceeded"): 322, _norm("ME full"): 322,
                     _norm("SIM full"): 322, _norm("unknown"): 500})

#: Kinds a :class:`FinalResult` can have.
FINAL_KINDS = ("OK", "ERROR", "CME", "CMS", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE", "CONNECT")
#: Final result codes of dial/answer commands only (elsewhere they are URCs: a call ended).
CALL_FINALS = ("NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE")
#: Vendor spellings of ERROR (Huawei).
VENDOR_ERRORS = ("COMMAND NOT SUPPORT", "TOO MANY PARAMETERS")


@dataclass(frozen=True)
class FinalResult:
    """How a command ended.

    ``kind`` is one of :data:`FINAL_KINDS`; ``code`` the numeric CME/CMS code
    (also when the modem answered in verbose text that maps to a standard code),
    else ``None``; ``text`` the modem's verbose text, or the standard text for a
    numeric code, or the raw final line for the other kinds.
    """

    kind: str
    code: int | None = None
    text: str = ""

    @property
    def ok(self) -> bool:
        """True for ``OK`` and ``CONNECT``."""
        return self.kind in ("OK", "CONNECT")

    def raise_for(self, command: str) -> None:
        """Return ``None`` if :attr:`ok`; else raise the matching ``modem.errors`` type for ``command``.

        Raises :class:`~modem.errors.SimPinRequired` (CME 11),
        :class:`~modem.errors.SimPukRequired` (CME 12), :class:`~modem.errors.WrongPin`
        (CME 16), :class:`~modem.errors.CmeError` (other CME),
        :class:`~modem.errors.CmsError` (CMS) or :class:`~modem.errors.CommandError`.
        """
        if self.ok:
            return None
        if self.kind == "CME":
            cls = {11: SimPinRequired, 12: SimPukRequired, 16: WrongPin}.get(self.code, CmeError)
            raise cls(command, self.code, self.text)
        if self.kind == "CMS":
            raise CmsError(command, self.code, self.text)
        raise CommandError(command, None, self.text or self.kind)


def _coded(kind: str, rest: str) -> FinalResult:
    rest = rest.strip()
    table, by_text = (CME_CODES, _CME_BY_TEXT) if kind == "CME" else (CMS_CODES, _CMS_BY_TEXT)
    if rest.isdigit():
        code = int(rest)
        return FinalResult(kind, code, table.get(code, ""))
    return FinalResult(kind, by_text.get(_norm(rest)), rest)


def parse_final(text: str, *, call_results: bool) -> FinalResult | None:
    """The final result ``text`` (a stripped line) stands for, or ``None``.

    ``call_results``: whether ``NO CARRIER``/``BUSY``/``NO ANSWER``/``NO DIALTONE``/
    ``CONNECT`` end the command (true only for ``ATD``/``ATA``/``ATO``-like commands;
    otherwise those lines are URCs about a call).
    """
    if text == "OK":
        return FinalResult("OK", None, "OK")
    if text == "ERROR":
        return FinalResult("ERROR", None, "ERROR")
    upper = text.upper()
    if upper.startswith("+CME ERROR"):
        return _coded("CME", text[10:].lstrip(":"))
    if upper.startswith("+CMS ERROR"):
        return _coded("CMS", text[10:].lstrip(":"))
    if text in VENDOR_ERRORS:
        return FinalResult("ERROR", None, text)
    if call_results:
        if text in CALL_FINALS:
            return FinalResult(text, None, text)
        if text == "CONNECT" or text.startswith("CONNECT "):
            return FinalResult("CONNECT", None, text)
    return None


@dataclass(frozen=True)
class Response:
    """A finished command: ``lines`` are its information lines in order (no echo, URCs or blanks)."""

    command: str
    lines: tuple[str, ...]
    result: FinalResult

    @property
    def ok(self) -> bool:
        return self.result.ok

    def raise_for(self) -> "Response":
        """Return ``self`` if the command succeeded, else raise as :meth:`FinalResult.raise_for` does."""
        self.result.raise_for(self.command)
        return self

    def values(self, prefix: str) -> tuple[str, ...]:
        """The text after ``prefix`` (e.g. ``"+CSQ:"``) of each line that starts with it, stripped."""
        return tuple(line[len(prefix):].strip() for line in self.lines if line.startswith(prefix))


@dataclass(frozen=True)
class Prompt:
    """The ``"> "`` prompt: the modem waits for the SMS body (send it with ``AtParser.body``)."""


@dataclass(frozen=True)
class Urc:
    """An unsolicited result code.

    ``name``: ``"+CMTI"``, ``"^RSSI"``, ``"VOICE CALL"``, or the whole word for
    bare URCs (``"RING"``, ``"SMS Ready"``). ``value``: the text after the first
    colon, stripped (``'"SM",3'``; ``""`` for words). ``line``: the whole line
    (several physical lines joined by ``"\\n"`` for a multi-line ``+CUSD`` text).
    ``body``: the second line of ``+CMT``/``+CDS``/``+CBM`` (the PDU), else
    ``None``. ``known``: ``False`` for a line nobody asked for and that is not
    in the grammar (the driver logs it).
    """

    name: str
    value: str
    line: str
    body: str | None = None
    known: bool = True


@dataclass(frozen=True)
class Noise:
    """Bytes that are not part of the AT grammar; ``reason`` says why (English, for logs)."""

    data: bytes
    reason: str


Event = Response | Prompt | Urc | Noise
