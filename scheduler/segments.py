"""Segments and risk: which ladder and tone a debtor gets, and why — every number explained.

:func:`debtor_features` reduces a debtor's loans, payments, promises and
replies to a few facts (:class:`Features`): days late, amount outstanding,
share of instalments paid late, average days late, broken promises.
:func:`risk_score` turns them into a 0–100 score whose reasons list every
point added. :class:`SegmentRule` s are data (configurable): the first rule
whose conditions all hold names the segment, its ladder and its tone.

:func:`best_hour` learns the hour a debtor answers or pays at from the
contact log and payment times, and says why (or that there is too little
to learn from).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo

from scheduler.errors import PolicyError
from scheduler.fastbuild import frozen_builder
from scheduler.model import Loan, Payment, Promise, promise_status


@dataclass(frozen=True, slots=True)
class Features:
    """What segmentation looks at, for one debtor on ``today``."""

    days_late: int
    outstanding: Decimal | None  # None: not worked out (debtor_features(amounts=False))
    overdue: Decimal | None
    share_paid_late: float
    average_days_late: float
    broken_promises: int
    products: frozenset[str]
    tags: frozenset[str]
    officer: str
    instalments_due: int


_ZERO = Decimal(0)
_new_features = frozen_builder(Features)  # one per debtor per plan


def debtor_features(loans: Iterable[Loan], payments: Iterable[Payment], promises: Iterable[Promise],
                    today: date, *, tags: Iterable[str] = (), officer: str = "", grace_days: int = 1,
                    amounts: bool = True) -> Features:
    """Features of a debtor (see :class:`Features`). Lateness history counts instalments already due:
    an instalment is "paid late" if it is still unpaid after its due date or if the payments that
    covered it (oldest first) are dated after it; imported paid amounts without dates count as on time.

    One pass over each loan's instalments gives the loan's days late, outstanding and overdue
    amounts (the same sums, in the same order, as :class:`~scheduler.model.Loan`'s properties) and
    its lateness history; payment dates are only allocated for a loan that has dated payments.

    ``amounts=False`` (for rules that read no amount: see :func:`rules_read_amounts`): ``outstanding`` and
    ``overdue`` are ``None``, and a loan's instalments not yet due are not read (they are in due-date order)."""
    loans = [l for l in loans if l.status == "active"]
    payments = [p for p in payments if p.counts] if payments else []
    days_late = 0
    outstanding = overdue = _ZERO
    late = due_count = 0
    late_days_total = 0
    by_loan: dict[str, list[Payment]] = {}
    for payment in payments:
        by_loan.setdefault(payment.loan_external_id, []).append(payment)
    for loan in loans:
        dated = by_loan.get(loan.external_id) if by_loan else None
        # without unreconciled dated payments no instalment gets a cover date (see _cover_dates)
        paid_on = _cover_dates(loan, sorted(dated, key=lambda p: p.date)) if dated else {}
        loan_outstanding = loan_overdue = _ZERO
        for instalment in loan.instalments:
            due = instalment.due_date
            if amounts:
                owed = instalment.amount - instalment.paid_amount  # Instalment.outstanding, without the call
                if owed < _ZERO:
                    owed = _ZERO
                loan_outstanding += owed
                if due >= today:
                    continue
                loan_overdue += owed
                unpaid = owed > 0
            elif due >= today:
                break  # the rest are not due yet either (instalments are in due-date order)
            else:
                unpaid = instalment.amount > instalment.paid_amount
            due_count += 1
            if unpaid:
                late += 1
                days = (today - due).days
                late_days_total += days
                if days > days_late:
                    days_late = days
            elif paid_on and (covered := paid_on.get(instalment.number)) is not None and covered > due:
                late += 1
                late_days_total += (covered - due).days
        outstanding += loan_outstanding
        overdue += loan_overdue
    broken = sum(1 for p in promises if promise_status(p, payments, today, grace_days=grace_days) == "broken") \
        if promises else 0
    return _new_features(days_late, outstanding if amounts else None, overdue if amounts else None,
                         late / due_count if due_count else 0.0, late_days_total / due_count if due_count else 0.0,
                         broken, frozenset(l.product for l in loans if l.product), frozenset(tags), officer, due_count)


def rules_read_amounts(rules: Iterable["SegmentRule"]) -> bool:
    """Whether any of ``rules`` reads an amount of :class:`Features` (a bound on the outstanding amount; the
    risk score a ``min_risk`` asks for reads none)."""
    return any(rule.min_outstanding is not None or rule.max_outstanding is not None for rule in rules)


def _cover_dates(loan: Loan, payments: list[Payment]) -> dict[int, date]:
    """Instalment number -> the date of the dated payment that completed it (oldest-first allocation).
    Amounts already paid in the file (no date) are allocated first."""
    undated = loan.paid - sum((p.amount for p in payments if not p.reconciled), _ZERO)
    remaining = max(undated, _ZERO)
    out: dict[int, date] = {}
    queue = [[p.date, p.amount] for p in payments if not p.reconciled]
    for instalment in sorted(loan.instalments, key=lambda i: i.number):
        need = instalment.amount
        take = min(need, remaining)
        remaining -= take
        need -= take
        when = None
        while need > 0 and queue:
            take = min(need, queue[0][1])
            queue[0][1] -= take
            need -= take
            when = queue[0][0]
            if queue[0][1] <= 0:
                queue.pop(0)
        if need <= 0 and when is not None:
            out[instalment.number] = when
    return out


@dataclass(frozen=True)
class Risk:
    """A 0–100 score and the reasons (in the language asked: Spanish by default) that add up to it."""

    score: int
    reasons: tuple[str, ...]


def risk_score(features: Features, language: str = "es") -> Risk:
    """An explainable score: each reason names the fact and the points it adds (capped at 100), in
    ``language`` (``"es"`` or ``"en"``)."""
    texts = _RISK_TEXTS["en" if language == "en" else "es"]
    points = _risk_points(features, texts)
    score = min(100, sum(p for p, _ in points))
    return Risk(score, tuple(reason for _, reason in points) or (texts["none"],))


def risk_points(features: Features) -> int:
    """``risk_score(features).score``, without writing the reasons (what a segment rule's ``min_risk``
    compares)."""
    return min(100, sum(p for p, _ in _risk_points(features, None)))


_RISK_TEXTS = {
    "es": {"late": "{days} días de atraso ({band}): +{points}", "bands": ("más de 90", "31 a 90", "8 a 30", "1 a 7"),
           "broken": "{count} promesa(s) de pago incumplida(s): +{points}",
           "share": "pagó tarde {share:.0%} de las cuotas vencidas: +{points}",
           "average": "atraso promedio de {days:.0f} días por cuota: +{points}",
           "none": "sin atrasos ni promesas incumplidas"},
    "en": {"late": "{days} days late ({band}): +{points}", "bands": ("over 90", "31 to 90", "8 to 30", "1 to 7"),
           "broken": "{count} broken promise(s) to pay: +{points}",
           "share": "paid {share:.0%} of the instalments due late: +{points}",
           "average": "{days:.0f} days late on average per instalment: +{points}",
           "none": "no late payments or broken promises"},
}


def _risk_points(features: Features, texts: Mapping[str, Any] | None) -> list[tuple[int, str]]:
    """The points each fact adds and, given ``texts`` (one language of :data:`_RISK_TEXTS`), the reason
    saying so (else ``""``)."""
    points: list[tuple[int, str]] = []
    d = features.days_late
    for floor, add, band in ((90, 50, 0), (30, 35, 1), (7, 20, 2), (0, 10, 3)):
        if d > floor:
            points.append((add, texts["late"].format(days=d, band=texts["bands"][band], points=add) if texts else ""))
            break
    if features.broken_promises:
        add = min(30, 15 * features.broken_promises)
        points.append((add, texts["broken"].format(count=features.broken_promises, points=add) if texts else ""))
    if features.instalments_due >= 2 and features.share_paid_late >= 0.25:
        add = round(20 * features.share_paid_late)
        points.append((add, texts["share"].format(share=features.share_paid_late, points=add) if texts else ""))
    if features.average_days_late >= 10:
        points.append((10, texts["average"].format(days=features.average_days_late, points=10) if texts else ""))
    return points


# -- segment rules -----------------------------------------------------------------------------------------------------
_RULE_KEYS = {"label", "ladder", "tone", "min_days_late", "max_days_late", "min_outstanding", "max_outstanding",
              "products", "tags", "officers", "min_share_paid_late", "min_broken_promises", "min_risk"}


@dataclass(frozen=True)
class SegmentRule:
    """A segment: its name, label, ladder and tone, and the conditions (all must hold; ``None`` = any)."""

    name: str
    label: str
    ladder: str
    tone: str = ""
    min_days_late: int | None = None
    max_days_late: int | None = None
    min_outstanding: Decimal | None = None
    max_outstanding: Decimal | None = None
    products: frozenset[str] = frozenset()
    tags: frozenset[str] = frozenset()
    officers: frozenset[str] = frozenset()
    min_share_paid_late: float | None = None
    min_broken_promises: int | None = None
    min_risk: int | None = None

    def matches(self, features: Features, risk: Risk) -> bool:
        return self.matches_features(features) and (self.min_risk is None or risk.score >= self.min_risk)

    def matches_features(self, features: Features) -> bool:
        """Every condition but ``min_risk`` holds."""
        f = features
        return ((self.min_days_late is None or f.days_late >= self.min_days_late)
                and (self.max_days_late is None or f.days_late <= self.max_days_late)
                and (self.min_outstanding is None or f.outstanding >= self.min_outstanding)
                and (self.max_outstanding is None or f.outstanding <= self.max_outstanding)
                and (not self.products or bool(self.products & f.products))
                and (not self.tags or bool(self.tags & f.tags))
                and (not self.officers or f.officer in self.officers)
                and (self.min_share_paid_late is None or f.share_paid_late >= self.min_share_paid_late)
                and (self.min_broken_promises is None or f.broken_promises >= self.min_broken_promises))


DEFAULT_SEGMENTS: tuple[SegmentRule, ...] = (
    SegmentRule("mora_grave", "Mora grave", "mora_grave", "firme", min_days_late=31),
    SegmentRule("mora_grave", "Mora grave", "mora_grave", "firme", min_days_late=1, min_broken_promises=2),
    SegmentRule("mora_temprana", "Mora temprana", "mora_temprana", "firme", min_days_late=1),
    SegmentRule("ocasional", "Ocasional", "ocasional", "amable", min_share_paid_late=0.25),
    SegmentRule("ocasional", "Ocasional", "ocasional", "amable", min_broken_promises=1),
    SegmentRule("al_dia", "Al día", "al_dia", "amable"),
)
"""Checked in order; the last one matches everyone."""


@dataclass(frozen=True)
class Segmentation:
    """A debtor's segment, the rule's label and ladder, and the risk behind it."""

    segment: str
    label: str
    ladder: str
    risk: Risk
    features: Features = field(repr=False, compare=False, default=None)  # type: ignore[assignment]


NO_SEGMENT = ("sin_segmento", "Sin segmento", "ocasional")
"""(segment, label, ladder) of a debtor no rule matches."""


def segment_for(features: Features, rules: Iterable[SegmentRule] = DEFAULT_SEGMENTS, *,
                language: str = "es") -> Segmentation:
    """The first matching rule (the defaults end with a catch-all); the risk's reasons in ``language``."""
    risk = risk_score(features, language)
    for rule in rules:
        if rule.matches(features, risk):
            return Segmentation(rule.name, rule.label, rule.ladder, risk, features)
    return Segmentation(*NO_SEGMENT, risk, features)


def segment_rule_for(features: Features, rules: Iterable[SegmentRule] = DEFAULT_SEGMENTS) -> SegmentRule | None:
    """The rule :func:`segment_for` chooses (``None``: none matches, :data:`NO_SEGMENT`), scoring the
    risk only if a rule whose other conditions hold asks for a ``min_risk`` (what the planner needs:
    no reasons are written)."""
    score = None
    for rule in rules:
        if not rule.matches_features(features):
            continue
        if rule.min_risk is not None:
            if score is None:
                score = risk_points(features)
            if score < rule.min_risk:
                continue
        return rule
    return None


def segments_from_config(raw: list | None, ladders: set[str], *, key: str = "segments") -> tuple[SegmentRule, ...]:
    """``[[segments]]`` tables (checked in order) or the defaults. A final catch-all using the
    ``ocasional`` ladder is added when the list has none. Raises :class:`PolicyError` naming the key."""
    if not raw:
        rules = DEFAULT_SEGMENTS
    else:
        if not isinstance(raw, list):
            raise PolicyError(f"«{key}» debe ser una lista de tablas [[segments]].", key=key)
        rules = tuple(_rule(item, f"{key}[{i}]") for i, item in enumerate(raw))
    for index, rule in enumerate(rules):
        if rule.ladder not in ladders:
            raise PolicyError(f"«{key}[{index}].ladder»: la escalera «{rule.ladder}» no existe; escaleras: "
                              f"{', '.join(sorted(ladders))}.", key=f"{key}[{index}].ladder")
    return rules


def _rule(item: Any, where: str) -> SegmentRule:
    if not isinstance(item, Mapping) or not isinstance(item.get("name"), str) or not item["name"]:
        raise PolicyError(f"«{where}» debe ser una tabla con «name» y «ladder».", key=f"{where}.name")
    for name in item:
        if name not in _RULE_KEYS | {"name"}:
            raise PolicyError(f"«{where}.{name}» no existe; claves posibles: {', '.join(sorted(_RULE_KEYS))}.",
                              key=f"{where}.{name}")
    kwargs: dict[str, Any] = {}
    for name in ("min_days_late", "max_days_late", "min_broken_promises", "min_risk"):
        if name in item:
            value = item[name]
            if isinstance(value, bool) or not isinstance(value, int):
                raise PolicyError(f"«{where}.{name}» debe ser un número entero.", key=f"{where}.{name}")
            kwargs[name] = value
    for name in ("min_outstanding", "max_outstanding"):
        if name in item:
            try:
                kwargs[name] = Decimal(str(item[name]))
            except ArithmeticError:
                raise PolicyError(f"«{where}.{name}» debe ser un monto.", key=f"{where}.{name}") from None
    if "min_share_paid_late" in item:
        value = item["min_share_paid_late"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise PolicyError(f"«{where}.min_share_paid_late» debe estar entre 0 y 1.", key=f"{where}.min_share_paid_late")
        kwargs["min_share_paid_late"] = float(value)
    for name in ("products", "tags", "officers"):
        if name in item:
            value = item[name]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise PolicyError(f"«{where}.{name}» debe ser una lista de textos.", key=f"{where}.{name}")
            kwargs[name] = frozenset(value)
    ladder = item.get("ladder", item["name"])
    return SegmentRule(item["name"], str(item.get("label", item["name"])), str(ladder), str(item.get("tone", "")),
                       **kwargs)


# -- best hour ---------------------------------------------------------------------------------------------------------
MIN_OBSERVATIONS = 3


@dataclass(frozen=True)
class BestHour:
    """The hour to contact a debtor at (``None``: use the ladder's) and why (Spanish)."""

    hour: time | None
    reason: str


def best_hour(reply_times: Iterable[datetime], payment_times: Iterable[datetime], zone: ZoneInfo) -> BestHour:
    """The local hour the debtor most often replied (``reply_times``: the instants of their replies) or paid at,
    once there are :data:`MIN_OBSERVATIONS` observations; ties go to the earlier hour. The planner still keeps
    it inside the legal window."""
    hours: Counter[int] = Counter()
    for moment in reply_times:
        hours[moment.astimezone(zone).hour] += 1
    for moment in payment_times:
        hours[moment.astimezone(zone).hour] += 1
    total = sum(hours.values())
    if total < MIN_OBSERVATIONS:
        return BestHour(None, f"pocos datos ({total} respuestas o pagos con hora): se usa la hora de la escalera")
    hour, count = min(hours.items(), key=lambda kv: (-kv[1], kv[0]))
    return BestHour(time(hour, 0), f"respondió o pagó {count} de {total} veces entre las {hour:02d}:00 y las "
                                   f"{(hour + 1) % 24:02d}:00")
