"""The modem layer's error tree.

Every error subclasses :class:`ModemError`, and also the fitting built-in
(``ValueError``, ``TimeoutError``, ``ConnectionError``) so generic callers can
catch it. Errors carry what went wrong in data (``command``, ``code``) so
callers decide on retries without parsing messages; messages are English,
for logs. User-facing Spanish wording is the appliance's job.

    ModemError
    ├── PduError (ValueError)            malformed PDU or text that cannot be encoded
    ├── AtProtocolError (ValueError)     a line or sequence that breaks the AT grammar
    ├── CommandError                     a command ended in ERROR / +CME ERROR / +CMS ERROR
    │   ├── CmeError                     +CME ERROR: <code|text>  (equipment / SIM)
    │   │   ├── SimPinRequired           SIM wants a PIN and none was configured
    │   │   ├── SimPukRequired           SIM is PUK-locked: only the operator's PUK helps
    │   │   └── WrongPin                 the configured PIN was rejected
    │   └── CmsError                     +CMS ERROR: <code|text>  (SMS service)
    ├── CommandTimeout (TimeoutError)    no final result within the bound
    ├── ModemDisconnected (ConnectionError)  the port went away (unplug, reboot)
    ├── SimStorageFull                   the SIM/ME message storage is full
    └── NoModemAvailable                 no modem of a :class:`modem.pool.ModemPool` can send now

:class:`NoModemAvailable` is the one error whose message is Spanish: the
dispatcher shows it to the office as is ("Ningún módem puede enviar ahora: …").
"""

from __future__ import annotations


class ModemError(Exception):
    """Base of every error raised by ``modem``."""


class PduError(ModemError, ValueError):
    """A PDU could not be decoded, or a message could not be encoded."""


class AtProtocolError(ModemError, ValueError):
    """Bytes from the modem that break the AT grammar (reported, never fatal to the reader)."""


class CommandError(ModemError):
    """A command ended with an error final result.

    ``command`` is the command line sent (without ``\\r``), ``code`` the numeric
    error code when the modem gave one (else ``None``), ``text`` the modem's
    text (verbose errors) or the raw final line.
    """

    def __init__(self, command: str, code: int | None = None, text: str = ""):
        self.command = command
        self.code = code
        self.text = text
        detail = f"{code}" if code is not None else ""
        if text:
            detail = f"{detail} {text}".strip()
        super().__init__(f"{command!r} failed: {self.kind} {detail}".rstrip())

    kind = "ERROR"

    @property
    def temporary(self) -> bool:
        """True when retrying later (with backoff) may succeed."""
        return False

    @property
    def outcome_unknown(self) -> bool:
        """True when the error does not say whether the command took effect (network timeout, "unknown").

        For an SMS whose body was written this means the SMSC may already have
        the message: the send is "uncertain" and is never retried (a retry could
        send a debtor the same reminder twice), even though the code is temporary.
        """
        return False


class CmeError(CommandError):
    """``+CME ERROR``: an equipment or SIM error (TS 27.007 §9.2)."""

    kind = "+CME ERROR"
    # 14 SIM busy, 30 no network service, 31 network timeout, 100 unknown, 515 device busy, 4 often "not allowed now"
    TEMPORARY_CODES = frozenset({14, 30, 31, 100, 515})
    # 31 network timeout, 100 unknown: temporary, but they do not say whether an SMS went out
    OUTCOME_UNKNOWN_CODES = frozenset({31, 100})

    @property
    def temporary(self) -> bool:
        return self.code in self.TEMPORARY_CODES

    @property
    def outcome_unknown(self) -> bool:
        return self.code in self.OUTCOME_UNKNOWN_CODES


class SimPinRequired(CmeError):
    """The SIM asks for a PIN (``+CPIN: SIM PIN``, CME 11) and none was configured."""


class SimPukRequired(CmeError):
    """The SIM is blocked and asks for the PUK (CME 12): only the operator can help."""


class WrongPin(CmeError):
    """The configured PIN was rejected (CME 16). Do not retry: three tries lock the SIM."""


class CmsError(CommandError):
    """``+CMS ERROR``: an SMS service error (TS 27.005 §3.2.5)."""

    kind = "+CMS ERROR"
    # Temporary: network/SC congestion or transient failures; permanent: bad number, barred, unknown SMSC.
    TEMPORARY_CODES = frozenset({
        41, 42, 47, 98, 111, 127,         # temporary failure, congestion, resources unavailable, ...
        166, 167, 168, 169,               # SC busy-style / no SC response
        331, 332, 500, 512, 513, 514, 515, 517,  # no service, network timeout, unknown, vendor busy
        # (304 "invalid PDU mode parameter" is permanent: the same PDU would be refused again)
        322,                              # memory full: temporary once storage is swept
    })
    # Temporary, yet silent on whether the SMSC took the message: 332 network timeout (no RP-ACK
    # arrived; the SMSC may have stored it) and 500 unknown error. After an SMS body was written
    # these make the send "uncertain" instead of being retried: a retry could send a debtor a
    # duplicate reminder, and a person can check a single uncertain send. The other temporary
    # codes clearly mean "not accepted" (network congestion 42, resources unavailable 47, an
    # RP-ERROR from the network, memory full 322, no service 331, vendor "busy"/invalid-input
    # codes 512-517 refused locally), so retrying them cannot duplicate anything.
    OUTCOME_UNKNOWN_CODES = frozenset({332, 500})

    @property
    def temporary(self) -> bool:
        return self.code in self.TEMPORARY_CODES

    @property
    def outcome_unknown(self) -> bool:
        return self.code in self.OUTCOME_UNKNOWN_CODES


class CommandTimeout(ModemError, TimeoutError):
    """No final result arrived for ``command`` within ``timeout`` seconds."""

    def __init__(self, command: str, timeout: float):
        self.command = command
        self.timeout = timeout
        super().__init__(f"no answer to {command!r} within {timeout:g} s")


class ModemDisconnected(ModemError, ConnectionError):
    """The serial port went away (unplugged, rebooting, closed) while in use."""


class SimStorageFull(ModemError):
    """The message storage on the SIM or modem is full; new messages are being refused."""


class NoModemAvailable(ModemError):
    """No member of a :class:`modem.pool.ModemPool` can send now (parked, at its daily cap, busy or failing).

    Nothing was sent. ``retry_at`` is the pool clock's time when a member may
    be able to send (end of a parking or of a pacing gap, or now when the
    members only failed this message), or ``None`` when none will today (every
    member at its daily cap). ``reasons`` holds one Spanish phrase per member;
    the message is ``"Ningún módem puede enviar ahora: <reasons>"``.
    """

    def __init__(self, reasons, retry_at: float | None = None):
        self.reasons = tuple(reasons) if not isinstance(reasons, str) else (reasons,)
        self.retry_at = retry_at
        super().__init__("Ningún módem puede enviar ahora: " + "; ".join(self.reasons))
