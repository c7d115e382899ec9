"""The appliance's vocabulary: plain, immutable dataclasses with no I/O.

Everyone speaks in these records: the importer builds them, the ledger
(``firmware_py.ledger``) persists them, the planner reads them from a ledger
snapshot, the web UI shows them. They are frozen, so a value handed out by
the ledger can be shared between threads without copying.

Conventions
- Money is :class:`decimal.Decimal` in memory (a string in JSON).
- Dates are :class:`datetime.date`; instants are *aware* :class:`datetime.datetime`
  (UTC recommended). Naive datetimes are rejected.
- Phone numbers are E.164 strings (``"+573001234567"``).
- Every stored record carries ``schema_version`` (``SCHEMA_VERSION`` when
  built by current code); the ledger migrates older records on load.

Constructors validate and normalise their inputs (lists become tuples, sets
become frozensets, ints/strings become Decimal) and raise :class:`ValueError`
on values that can never be right (a negative amount, a number that is not
E.164, an unknown channel). Pure helpers at the bottom (``debtor_id_for``,
``promise_status``) are functions of their arguments only.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
import zoneinfo
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

from scheduler.fastbuild import frozen_builder
from typing import Any, Iterable, Mapping

SCHEMA_VERSION = 1

CHANNELS = frozenset({"sms", "call"})
"""Contact channels a phone can be authorised for."""

CONTACT_CHANNELS = frozenset({"sms", "call", "ring", "visit"})
"""Channels a contact can use: a ring ("llamada perdida") needs a phone authorised for
``call``; a visit by the loan officer needs no phone."""

LOAN_STATUSES = frozenset({"active", "paid", "written_off", "cancelled"})

PAYMENT_SOURCES = frozenset({"import", "web", "sms"})
"""Where a payment came from: the loan file, an officer in the web UI, or an
SMS claim from the debtor ("PAGUÉ 50000"), which starts ``pending``."""

PAYMENT_STATUSES = frozenset({"confirmed", "pending", "rejected"})

PROMISE_SOURCES = frozenset({"sms", "web", "call", "import"})

CONTACT_KINDS = frozenset(
    {
        "planned",  # the planner decided to contact
        "sending",  # written before the modem is asked: after a power cut it means "uncertain"
        "retry",  # the radio certainly sent nothing (no modem, link down): the contact may be sent again
        "sent",  # the modem accepted the SMS / the call was placed
        "delivered",  # status report: delivered / call answered
        "failed",  # permanent failure (status report, CMS error, no answer...)
        "uncertain",  # power cut or modem loss between "sending" and an answer
        "expired",  # no status report within the configured time
        "reply",  # inbound SMS from the debtor
        "skipped",  # the planner decided NOT to contact (reason in ``detail``)
        "note",  # free text from an officer
    }
)
CONTACT_DIRECTIONS = frozenset({"outbound", "inbound", "internal"})

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


@functools.lru_cache(maxsize=256)
def _known_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _check_timezone(name: Any, debtor_id: str) -> None:
    if not isinstance(name, str) or not name or not _known_timezone(name):
        raise ValueError(f"debtor {debtor_id}: unknown time zone {name!r} (use an IANA name like America/Bogota)")


_DECIMAL_ZERO = Decimal(0)


def _as_decimal(value: Any, what: str) -> Decimal:
    if type(value) is Decimal:  # the common case, checked first (hundreds of thousands per import)
        if value.is_finite() and not value < _DECIMAL_ZERO:
            return value
        result = value
    elif isinstance(value, Decimal):
        result = value
    elif isinstance(value, (int, str)) and not isinstance(value, bool):
        try:
            result = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{what}: not a number: {value!r}") from None
    else:
        raise ValueError(f"{what}: expected Decimal, int or str, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{what}: not a finite number: {value!r}")
    if result < 0:
        raise ValueError(f"{what}: negative amount {value!r}")
    return result


def _require_aware(value: datetime | None, what: str) -> None:
    if value is not None:
        if not isinstance(value, datetime):
            raise ValueError(f"{what}: expected datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{what}: naive datetime {value!r}; pass an aware datetime (UTC)")


def _require_date(value: Any, what: str) -> None:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError(f"{what}: expected date, got {type(value).__name__}")


def _set(obj: object, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


@dataclass(frozen=True, slots=True)
class Phone:
    """One phone number of a debtor.

    ``personal`` is False for a shared phone (neighbour, shop, group leader):
    the planner must not reveal amounts to it. ``channels`` are the channels
    the debtor authorised for this number. ``opted_out`` is True once the
    number sent BAJA/STOP (the ledger keeps opt-outs separately so that a
    re-import cannot undo them).
    """

    number: str
    personal: bool = True
    channels: frozenset[str] = frozenset({"sms"})
    opted_out: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.number, str) or not _E164.match(self.number):
            raise ValueError(f"phone number must be E.164 like +573001234567, got {self.number!r}")
        channels = frozenset(self.channels)
        unknown = channels - CHANNELS
        if unknown:
            raise ValueError(f"unknown channel(s) {sorted(unknown)}; known: {sorted(CHANNELS)}")
        _set(self, "channels", channels)


@dataclass(frozen=True, slots=True)
class Debtor:
    """A person who owes (or may owe) money; several loans may point at one debtor.

    ``id`` is stable: ``debtor_id_for(document)`` when a document number is
    known. ``timezone`` is an IANA name and ``jurisdiction`` an ISO 3166
    alpha-2 code selecting the contact-rule profile.
    """

    id: str
    name: str
    document: str = ""
    phones: tuple[Phone, ...] = ()
    language: str = "es"
    timezone: str = "America/Bogota"
    jurisdiction: str = "CO"
    loan_officer: str = ""
    group: str = ""
    tags: tuple[str, ...] = ()
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise ValueError("debtor id must be a non-empty string")
        phones = tuple(self.phones)
        if not all(isinstance(p, Phone) for p in phones):
            raise ValueError("debtor phones must be Phone instances")
        numbers = [p.number for p in phones]
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"debtor {self.id}: duplicate phone numbers {numbers}")
        _set(self, "phones", phones)
        _set(self, "tags", tuple(self.tags))
        if not isinstance(self.language, str) or not _LANGUAGE.match(self.language):
            raise ValueError(f"debtor {self.id}: language must be an ISO 639 code like 'es', got {self.language!r}")
        if not isinstance(self.jurisdiction, str) or not _COUNTRY.match(self.jurisdiction):
            raise ValueError(f"debtor {self.id}: jurisdiction must be ISO 3166 alpha-2 like 'CO', "
                             f"got {self.jurisdiction!r}")
        _check_timezone(self.timezone, self.id)

    def phone(self, number: str) -> Phone | None:
        """The phone with this E.164 number, or None."""
        for phone in self.phones:
            if phone.number == number:
                return phone
        return None


@dataclass(frozen=True, slots=True)
class Instalment:
    """One scheduled instalment ("cuota") of a loan."""

    number: int
    due_date: date
    amount: Decimal
    paid_amount: Decimal = Decimal(0)

    def __post_init__(self) -> None:
        if not isinstance(self.number, int) or isinstance(self.number, bool) or self.number < 0:
            raise ValueError(f"instalment number must be a non-negative int, got {self.number!r}")
        _require_date(self.due_date, "instalment due_date")
        amount = _as_decimal(self.amount, "instalment amount")
        if amount is not self.amount:
            _set(self, "amount", amount)
        paid_amount = _as_decimal(self.paid_amount, "instalment paid_amount")
        if paid_amount is not self.paid_amount:
            _set(self, "paid_amount", paid_amount)

    @property
    def outstanding(self) -> Decimal:
        """What is still owed on this instalment (never negative)."""
        return max(self.amount - self.paid_amount, Decimal(0))

    def days_late(self, today: date) -> int:
        """Days past due while something is outstanding (0 if paid or not yet due)."""
        if self.outstanding == 0 or today <= self.due_date:
            return 0
        return (today - self.due_date).days


new_instalment = frozen_builder(Instalment, checked_by_caller=True)
"""``Instalment(number, due_date, amount, paid_amount)`` without the checks of ``__post_init__``, for a caller
that made sure of them: ``number`` an int >= 0 (not a bool), ``due_date`` a date (not a datetime), both amounts
finite Decimals >= 0. The importer and the ledger's decoder build hundreds of thousands of instalments."""


@dataclass(frozen=True, slots=True)
class Loan:
    """A loan, identified by the cooperative's own ``external_id``.

    ``instalments`` are ordered by (due_date, number). ``rescheduled`` marks a
    restructured loan (it stays in PAR figures).
    """

    external_id: str
    debtor_id: str
    product: str = ""
    currency: str = "COP"
    instalments: tuple[Instalment, ...] = ()
    status: str = "active"
    rescheduled: bool = False
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if not isinstance(self.external_id, str) or not self.external_id.strip():
            raise ValueError("loan external_id must be a non-empty string")
        if not isinstance(self.debtor_id, str) or not self.debtor_id.strip():
            raise ValueError(f"loan {self.external_id}: debtor_id must be a non-empty string")
        if self.status not in LOAN_STATUSES:
            raise ValueError(f"loan status {self.status!r} not in {sorted(LOAN_STATUSES)}")
        instalments = tuple(self.instalments)
        if not all(isinstance(i, Instalment) for i in instalments):
            raise ValueError("loan instalments must be Instalment instances")
        numbers = [i.number for i in instalments]
        if len(set(numbers)) != len(numbers):
            raise ValueError(f"loan {self.external_id}: duplicate instalment numbers")
        _set(self, "instalments", tuple(sorted(instalments, key=lambda i: (i.due_date, i.number))))

    @property
    def total(self) -> Decimal:
        return sum((i.amount for i in self.instalments), Decimal(0))

    @property
    def paid(self) -> Decimal:
        return sum((min(i.paid_amount, i.amount) for i in self.instalments), Decimal(0))

    @property
    def outstanding(self) -> Decimal:
        return sum((i.outstanding for i in self.instalments), Decimal(0))

    def overdue(self, today: date) -> Decimal:
        """Outstanding amount of instalments due before ``today``."""
        return sum((i.outstanding for i in self.instalments if i.due_date < today), Decimal(0))

    def oldest_unpaid(self) -> Instalment | None:
        """The oldest instalment with something outstanding (late or not), or None.

        This is the one a payment goes to first and the one a reminder quotes.
        """
        for instalment in self.instalments:
            if instalment.outstanding > 0:
                return instalment
        return None

    def next_due(self, today: date) -> Instalment | None:
        """The first instalment due on or after ``today`` with something outstanding, or None."""
        for instalment in self.instalments:
            if instalment.outstanding > 0 and instalment.due_date >= today:
                return instalment
        return None

    def days_late(self, today: date) -> int:
        """Days late of the oldest overdue instalment (0 when current)."""
        return max((i.days_late(today) for i in self.instalments), default=0)


@dataclass(frozen=True, slots=True)
class Payment:
    """Money received (or claimed) against a loan.

    ``source``: ``import`` (already reflected in the loan file's paid amounts),
    ``web`` (an officer recorded it), ``sms`` (the debtor claimed it; starts
    ``pending`` until an officer confirms). ``reconciled`` is True once the
    cooperative's loan file is known to include it (import payments always).
    ``recorded_at`` is when the appliance learned of it.
    """

    id: str
    loan_external_id: str
    debtor_id: str
    amount: Decimal
    date: date
    source: str
    status: str = "confirmed"
    reconciled: bool = False
    reference: str = ""
    note: str = ""
    recorded_at: datetime | None = None
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if not isinstance(self.id, str):
            raise ValueError("payment id must be a string")
        _set(self, "amount", _as_decimal(self.amount, "payment amount"))
        _require_date(self.date, "payment date")
        _require_aware(self.recorded_at, "payment recorded_at")
        if self.source not in PAYMENT_SOURCES:
            raise ValueError(f"payment source {self.source!r} not in {sorted(PAYMENT_SOURCES)}")
        if self.status not in PAYMENT_STATUSES:
            raise ValueError(f"payment status {self.status!r} not in {sorted(PAYMENT_STATUSES)}")

    @property
    def counts(self) -> bool:
        """True if this payment reduces what is owed (confirmed)."""
        return self.status == "confirmed"


@dataclass(frozen=True, slots=True)
class Promise:
    """A promise to pay ``amount`` by ``due_date`` ("PROMESA 15/12").

    ``loan_external_id`` may be empty (a promise about the debtor's debt as a
    whole). ``made_at`` is when it was made. Whether it was kept is not
    stored: :func:`promise_status` evaluates it from payments.
    """

    id: str
    debtor_id: str
    due_date: date
    amount: Decimal
    source: str
    made_at: datetime
    loan_external_id: str = ""
    note: str = ""
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if not isinstance(self.id, str):
            raise ValueError("promise id must be a string")
        _require_date(self.due_date, "promise due_date")
        _set(self, "amount", _as_decimal(self.amount, "promise amount"))
        if self.source not in PROMISE_SOURCES:
            raise ValueError(f"promise source {self.source!r} not in {sorted(PROMISE_SOURCES)}")
        _require_aware(self.made_at, "promise made_at")
        if self.made_at is None:
            raise ValueError("promise made_at is required")


@dataclass(frozen=True, slots=True)
class ContactEvent:
    """One line of the contact log: anything that happened with a debtor's phone.

    ``contact_id`` ties the events of one contact together (planned -> sent ->
    delivered). ``kind`` is one of ``CONTACT_KINDS``; ``direction`` one of
    ``CONTACT_DIRECTIONS``. ``reference`` holds a modem message reference or
    call id; ``detail`` a reason or error code; ``text`` the message body.
    ``id`` may be empty when appending: the ledger assigns one. ``debtor_id``
    is empty for a message from a number that belongs to no debtor.
    """

    at: datetime
    debtor_id: str
    kind: str
    channel: str = "sms"
    direction: str = "outbound"
    phone: str = ""
    contact_id: str = ""
    loan_external_id: str = ""
    text: str = ""
    detail: str = ""
    reference: str = ""
    id: str = ""
    schema_version: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        if self.at is None:
            raise ValueError("contact event needs ``at``")
        if not isinstance(self.debtor_id, str):
            raise ValueError("contact debtor_id must be a string (empty for an unknown sender)")
        _require_aware(self.at, "contact event at")
        if self.kind not in CONTACT_KINDS:
            raise ValueError(f"contact kind {self.kind!r} not in {sorted(CONTACT_KINDS)}")
        if self.channel not in CONTACT_CHANNELS:
            raise ValueError(f"contact channel {self.channel!r} not in {sorted(CONTACT_CHANNELS)}")
        if self.direction not in CONTACT_DIRECTIONS:
            raise ValueError(f"contact direction {self.direction!r} not in {sorted(CONTACT_DIRECTIONS)}")


DEFAULT_SETTINGS: Mapping[str, Any] = MappingProxyType(
    {
        "sending_paused": False,
        "cooperative_name": "Cooperativa",
        "callback_number": "",
        "daily_sms_cap": 300,
        "promise_grace_days": 1,
        "share_with_group": False,
        "language": "es",
    }
)
"""Settings every appliance has; stored values override these."""


@dataclass(frozen=True)
class Settings:
    """An immutable view of key/value settings: stored values over ``DEFAULT_SETTINGS``.

    Values are JSON types (str, int, float, bool, None, lists, dicts).
    """

    values: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        merged = dict(DEFAULT_SETTINGS)
        merged.update(self.values)
        _set(self, "values", MappingProxyType(merged))

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


# -- pure helpers ---------------------------------------------------------------------------


def normalise_document(document: str) -> str:
    """Canonical form of an identity document number: upper case, letters and digits only.

    ``"1.023.456-7"`` and ``" 10234567 "`` give ``"10234567"``. Accents are
    folded. Raises ValueError if nothing remains.
    """
    folded = unicodedata.normalize("NFKD", str(document))
    canonical = "".join(ch for ch in folded if ch.isascii() and ch.isalnum()).upper()
    if not canonical:
        raise ValueError(f"document {document!r} has no letters or digits")
    return canonical


def debtor_id_for(document: str) -> str:
    """Stable debtor id derived from a document number.

    The same person gets the same id whatever punctuation the file used
    (``normalise_document``). The id is a hash (``"d-"`` + 16 hex digits) so
    that ids written to logs do not reveal the document number. Raises
    ValueError for a document with no letters or digits.
    """
    digest = hashlib.sha256(("cobrador-debtor:" + normalise_document(document)).encode()).hexdigest()
    return "d-" + digest[:16]


def promise_status(
    promise: Promise, payments: Iterable[Payment], today: date, *, grace_days: int = 0
) -> str:
    """``"kept"``, ``"broken"`` or ``"pending"`` for a promise, given payments.

    Kept when confirmed payments of the same debtor (and the same loan, if
    the promise names one), dated from the day the promise was made up to
    ``due_date + grace_days``, add up to at least ``amount``. Broken when that
    window has passed (``today`` after it) without reaching the amount.
    Pending otherwise. Pending and rejected payments never count.
    """
    start = promise.made_at.date()
    end = promise.due_date + timedelta(days=grace_days)
    paid = Decimal(0)
    for payment in payments:
        if payment.debtor_id != promise.debtor_id or not payment.counts:
            continue
        if promise.loan_external_id and payment.loan_external_id != promise.loan_external_id:
            continue
        if start <= payment.date <= end:
            paid += payment.amount
    if paid >= promise.amount:
        return "kept"
    if today > end:
        return "broken"
    return "pending"
