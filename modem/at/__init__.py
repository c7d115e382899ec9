"""Sans-I/O AT protocol: bytes in, events out; commands out as bytes.

    parser = AtParser(profile)                      # Profile, profile name, or None (all URCs)
    port.write(parser.command("AT+CSQ"))            # marks the command outstanding
    for event in parser.feed(port.read(256)):       # any chunking; never raises
        ...  # Response | Prompt | Urc | Noise

SMS submit: ``command("AT+CMGS=23", expect_prompt=True)`` -> ``Prompt`` ->
``body(pdu_hex)`` -> ``Response`` with ``+CMGS: <mr>`` (or ``+CMS ERROR``).
``FinalResult.raise_for(command)`` raises the ``modem.errors`` types.
See :mod:`modem.at.parser` for the classification rules, :mod:`modem.at.grammar`
for command expectations and URC recognition, :mod:`modem.at.fields` to split values.
"""

from .events import CME_CODES, CMS_CODES, Event, FinalResult, Noise, Prompt, Response, Urc, parse_final
from .fields import split_fields
from .grammar import Expectation, UrcGrammar, expectation_for
from .parser import AtParser

__all__ = [
    "AtParser",
    "CME_CODES",
    "CMS_CODES",
    "Event",
    "Expectation",
    "FinalResult",
    "Noise",
    "Prompt",
    "Response",
    "Urc",
    "UrcGrammar",
    "expectation_for",
    "parse_final",
    "split_fields",
]
