"""The debtor list's index: one row per debtor with what the list shows, searches and filters on.

The list must answer in well under 100 ms with 10,000 debtors on a Raspberry Pi, and a debtor's segment and
days late come from ``scheduler.segments`` over their loans, payments and promises — too much to work out on
every request. :class:`DebtorIndex` keeps the rows between requests:

- a request whose ledger has not changed (the journal's sequence, ``ledger.stats()["seq"]``) on the same
  local day (each zone's) and with the same segment rules and promise grace gets the rows already built;
- after a change, the ledger's records are read again (debtors, loans, payments, promises: a few reads, no
  per-debtor query) and only the debtors whose records changed are worked out again. The ledger hands out
  the same frozen record objects while they are unchanged, so a debtor is unchanged when its debtor, loan,
  payment and promise objects are the very ones of the last build (the index keeps them, so their
  identities cannot be reused);
- rows are sorted once per build (by name without accents); a search is a substring test on a folded
  text built once per row (name, document, loan ids) and on the phones' digits.

Thread-safe: one build at a time; a finished build is an immutable tuple. The garbage collector is held
off while a build allocates its rows (with a ledger of 10,000 debtors in memory its full passes cost more
than the build itself).

:class:`Warmer` keeps the index fresh in the background on the appliance (not in tests): it builds it when
the web server starts and looks again every :data:`WARM_EVERY` seconds, so neither the first visit of the
day nor the first after an import waits for a full build. ``services.extra["warm_after"]`` (a
``threading.Event``; the appliance's is set once its dispatcher has made its first pass) delays the first build
until it is set (:data:`WARM_AFTER_AT_MOST` seconds at most): at start the dispatcher's recovery reads the contact
log and its first plan decides every debtor, and a build meanwhile (a second of CPU for 10,000 debtors) would only
make them slower and the memory's peak higher.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Iterable
from zoneinfo import ZoneInfo

from scheduler.collector import collector_paused
from scheduler.segments import DEFAULT_SEGMENTS, debtor_features, segment_for
from webui.debtor_forms import DAYS_LATE_BUCKETS, fold

log = logging.getLogger("cobrador.webui.debtors")

PAGE_SIZE = 50
WARM_EVERY = 60.0
WARM_AFTER_AT_MOST = 30.0


@dataclass(frozen=True, slots=True)
class PhoneCell:
    number: str
    shared: bool
    opted_out: bool


@dataclass(frozen=True, slots=True)
class Row:
    """One debtor as the list shows it. ``outstanding``: ``(currency, amount)`` per currency of its active
    loans; ``statuses``: its loans' statuses.

    10,000 rows stay in memory, and the list shows 50 of them: ``phones``, ``loan_ids`` and ``outstanding``
    are made when read, from what the row holds anyway — the debtor's own phones, a lone loan id held bare,
    and for one currency (the common case) its name, the amount being ``total``."""

    id: str
    name: str
    document: str
    debtor_phones: tuple  # the debtor's Phone records (the ledger's objects: nothing new is held)
    loan_id_values: str | tuple[str, ...]  # one id bare, else the sorted tuple
    statuses: frozenset[str]
    balances: str | tuple[tuple[str, Decimal], ...]  # the one currency (its amount is ``total``), or the pairs
    total: Decimal
    days_late: int
    segment: str
    segment_label: str
    risk: int
    officer: str
    group: str
    text: str  # folded name, document, loan ids, officer, group
    digits: str  # every phone's digits, space separated
    sort_name: str

    @property
    def phones(self) -> tuple[PhoneCell, ...]:
        return tuple(PhoneCell(p.number, not p.personal, p.opted_out) for p in self.debtor_phones)

    @property
    def loan_ids(self) -> tuple[str, ...]:
        ids = self.loan_id_values
        return ids if type(ids) is tuple else (ids,)

    @property
    def outstanding(self) -> tuple[tuple[str, Decimal], ...]:
        balances = self.balances
        return balances if type(balances) is tuple else ((balances, self.total),)


@dataclass(frozen=True, slots=True)
class _Entry:
    debtor: object
    loans: tuple
    payments: tuple
    promises: tuple
    today: object
    segments: object  # the rules it was worked out with (kept: compared by identity)
    grace_days: int
    row: Row


@dataclass(frozen=True)
class Built:
    """A finished build: the rows (sorted by name), the officers and segments present."""

    key: tuple  # (journal sequence, grace days, each zone's date)
    rules: object  # the segment rules the rows were worked out with
    rows: tuple[Row, ...]
    officers: tuple[str, ...]
    segments: tuple[tuple[str, str], ...]  # (segment, label)

    @functools.cached_property
    def by_days_late(self) -> tuple[Row, ...]:
        """The rows, most days late first (then by name); sorted once per build."""
        return tuple(sorted(self.rows, key=lambda r: -r.days_late))  # stable: names stay in order

    @functools.cached_property
    def by_balance(self) -> tuple[Row, ...]:
        """The rows, largest balance first (then by name); sorted once per build."""
        return tuple(sorted(self.rows, key=lambda r: -r.total))

    def ordered(self, sort: str) -> tuple[Row, ...]:
        return self.by_days_late if sort == "atraso" else self.by_balance if sort == "saldo" else self.rows


def _same(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


class DebtorIndex:
    """See the module docstring. ``rows(ledger, now=, segments=, grace_days=)`` -> :class:`Built`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._built: Built | None = None
        self._entries: dict[str, _Entry] = {}
        self._zones: dict[str, ZoneInfo] = {}
        self.builds = 0  # how many times the records were read again (tests check the cache)
        self.recomputed = 0  # debtors worked out again, over all builds

    def _todays(self, now: datetime) -> tuple:
        return tuple(sorted((name, now.astimezone(zone).date()) for name, zone in self._zones.items()))

    def get(self, ledger, *, now: datetime, segments, grace_days: int) -> Built:
        """The rows for ``ledger`` as of ``now`` (rebuilt only if something they depend on changed)."""
        seq = ledger.stats().get("seq")
        with self._lock:
            built = self._built
            if built is not None and built.rules is segments and built.key == (seq, grace_days,
                                                                                  self._todays(now)):
                return built
            self._built = self._build(ledger, seq, now, segments, grace_days)
            return self._built

    def _zone(self, name: str) -> ZoneInfo:
        zone = self._zones.get(name)
        if zone is None:
            zone = self._zones[name] = ZoneInfo(name)
        return zone

    def _build(self, ledger, seq, now: datetime, segments, grace_days: int) -> Built:
        with collector_paused():  # many small objects, no reference cycles (see scheduler.collector)
            return self._build_rows(ledger, seq, now, segments, grace_days)

    def _build_rows(self, ledger, seq, now: datetime, segments, grace_days: int) -> Built:
        self.builds += 1
        debtors = ledger.debtors()
        loans: dict[str, list] = {}
        for loan in ledger.loans():
            loans.setdefault(loan.debtor_id, []).append(loan)
        payments: dict[str, list] = {}
        for payment in ledger.payments():
            payments.setdefault(payment.debtor_id, []).append(payment)
        promises: dict[str, list] = {}
        for promise in ledger.promises():
            promises.setdefault(promise.debtor_id, []).append(promise)
        old = self._entries
        entries: dict[str, _Entry] = {}
        local_today: dict[str, object] = {}
        for debtor in debtors:
            today = local_today.get(debtor.timezone)
            if today is None:
                today = local_today[debtor.timezone] = now.astimezone(self._zone(debtor.timezone)).date()
            own_loans = tuple(loans.get(debtor.id, ()))
            own_payments = tuple(payments.get(debtor.id, ()))
            own_promises = tuple(promises.get(debtor.id, ()))
            previous = old.get(debtor.id)
            if (previous is not None and (previous.debtor is debtor or previous.debtor == debtor)
                    and previous.today == today
                    and _same(previous.loans, own_loans) and _same(previous.payments, own_payments)
                    and _same(previous.promises, own_promises) and previous.segments is segments
                    and previous.grace_days == grace_days):
                entries[debtor.id] = previous
                continue
            self.recomputed += 1
            row = _row(debtor, own_loans, own_payments, own_promises, today, segments, grace_days)
            entries[debtor.id] = _Entry(debtor, own_loans, own_payments, own_promises, today, segments,
                                        grace_days, row)
        self._entries = entries
        rows = sorted((e.row for e in entries.values()), key=lambda r: (r.sort_name, r.id))
        officers = tuple(sorted({r.officer for r in rows if r.officer}, key=fold))
        labels: dict[str, str] = {}
        for rule in segments:
            labels.setdefault(rule.name, rule.label)
        for r in rows:
            labels.setdefault(r.segment, r.segment_label)
        return Built((seq, grace_days, self._todays(now)), segments, tuple(rows), officers, tuple(labels.items()))


def _row(debtor, loans: tuple, payments: tuple, promises: tuple, today, segments, grace_days: int) -> Row:
    features = debtor_features(loans, payments, promises, today, tags=debtor.tags, officer=debtor.loan_officer,
                               grace_days=grace_days)
    segmentation = segment_for(features, segments)
    currencies = {loan.currency for loan in loans if loan.status == "active"}
    if len(currencies) == 1:  # the common case: the features' sum is the one currency's
        by_currency = {currencies.pop(): features.outstanding}
    else:
        by_currency: dict[str, Decimal] = {}
        for loan in loans:
            if loan.status == "active":
                by_currency[loan.currency] = by_currency.get(loan.currency, Decimal(0)) + loan.outstanding
    loan_ids = tuple(sorted(l.external_id for l in loans))
    total = sum(by_currency.values(), Decimal(0))
    balances = tuple(sorted(by_currency.items()))
    if len(balances) == 1 and balances[0][1].compare_total(total) == 0:  # the same number, written the same
        balances, total = balances[0][0], balances[0][1]  # (one Decimal held, not two)
    return Row(debtor.id, debtor.name, debtor.document, debtor.phones,
              loan_ids[0] if len(loan_ids) == 1 else loan_ids, _statuses(l.status for l in loans), balances, total,
              features.days_late,
              segmentation.segment, segmentation.label, segmentation.risk.score, debtor.loan_officer, debtor.group,
              fold(" ".join((debtor.name, debtor.document, _compact(debtor.document), *loan_ids, debtor.loan_officer,
                             debtor.group))),
              " ".join(p.number.lstrip("+") for p in debtor.phones), fold(debtor.name))


_STATUS_SETS: dict[frozenset, frozenset] = {}


def _statuses(statuses: Iterable[str]) -> frozenset[str]:
    """The set of a debtor's loan statuses, one object per distinct set (a frozenset costs ~200 bytes and
    10,000 rows hold a handful of distinct ones; loan statuses are a fixed vocabulary, so this stays small)."""
    found = frozenset(statuses)
    return _STATUS_SETS.setdefault(found, found)


def _compact(document: str) -> str:
    """The document's letters and digits only (``1.023.456-7`` is found as ``10234567``)."""
    return "".join(c for c in document if c.isalnum())


def index_inputs(services) -> tuple:
    """``(segment rules, promise grace days)`` as the appliance's policy and the ledger's settings say
    (the defaults without a policy)."""
    if services.policy is None:
        return DEFAULT_SEGMENTS, int(services.ledger.settings.get("promise_grace_days") or 0)
    policy = services.policy().with_settings(services.ledger.settings.all())
    return policy.segments, policy.promise_grace_days


class Warmer:
    """Builds ``index`` for ``services`` now and every ``every`` seconds in a daemon thread (see the
    module docstring). Stops by itself when the ledger is closed; ``stop()`` stops it."""

    def __init__(self, services, index: DebtorIndex, *, every: float = WARM_EVERY) -> None:
        self.services = services
        self.index = index
        self.every = every
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="cobrador-debtors-index", daemon=True)

    def start(self) -> "Warmer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        after = (getattr(self.services, "extra", None) or {}).get("warm_after")
        if after is not None:  # (a request still builds the index itself meanwhile)
            deadline = time.monotonic() + WARM_AFTER_AT_MOST
            while not after.wait(0.2) and not self._stop.is_set() and time.monotonic() < deadline:
                pass
        wait = 0.0
        while not self._stop.wait(wait):
            wait = self.every
            ledger = self.services.ledger
            if getattr(ledger, "closed", False):
                return
            try:
                segments, grace_days = index_inputs(self.services)
                self.index.get(ledger, now=self.services.now(), segments=segments, grace_days=grace_days)
            except Exception:  # a request builds it anyway; a bug here must not be silent, nor fatal
                if getattr(ledger, "closed", False):
                    return
                log.exception("warming the debtor list failed")


# -- queries ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Page:
    """One page of a filtered list: its rows, the page number, how many pages and rows matched."""

    rows: tuple[Row, ...]
    number: int
    pages: int
    matched: int


def select(rows: Iterable[Row], *, q: str = "", segment: str = "", status: str = "", officer: str = "",
           days_late: str = "", page: int = 1) -> Page:
    """Filter ``rows`` (already in the order wanted: :meth:`Built.ordered`; every given filter must
    hold) and cut one page of :data:`PAGE_SIZE` rows.

    ``q`` matches the name, document (also without its dots and dashes), loan ids, officer or group
    without accents or case, or — when it has at least three digits — a phone's digits (``300 123``
    finds ``+573001234567``). A ``page`` past the end gives the last page."""
    needle = fold(q)
    digits = "".join(c for c in q if c.isascii() and c.isdigit())
    by_digits = len(digits) >= 3
    bucket = DAYS_LATE_BUCKETS.get(days_late)
    low, high = (bucket[1], bucket[2] if bucket[2] is not None else 1 << 30) if bucket else (0, 1 << 30)
    if not (needle or segment or status or officer or bucket):
        found = rows if isinstance(rows, (tuple, list)) else tuple(rows)
    else:
        found = [r for r in rows
                 if (not segment or r.segment == segment)
                 and (not status or status in r.statuses)
                 and (not officer or r.officer == officer)
                 and low <= r.days_late <= high
                 and (not needle or needle in r.text or (by_digits and digits in r.digits))]
    pages = max(1, -(-len(found) // PAGE_SIZE))
    number = min(max(1, page), pages)
    start = (number - 1) * PAGE_SIZE
    return Page(tuple(found[start:start + PAGE_SIZE]), number, pages, len(found))
