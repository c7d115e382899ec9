"""Portfolio and campaign figures (scheduler.kpis) on a small portfolio computed by hand.

The portfolio, read on 2026-11-26 over the 30 days 2026-10-28 .. 2026-11-26:

| loan | debtor | instalments (due, amount, paid)                         | owes | days late | bucket |
|------|--------|---------------------------------------------------------|------|-----------|--------|
| L1   | d1     | 09-01 100/0, 10-01 100/0, 12-01 100/0                   | 300  | 86        | 61–90  |
| L2   | d2     | 11-20 200/0, 12-20 200/0                                | 400  | 6         | 1–30   |
| L3   | d3     | 07-01 500/50 (50 paid on 10-01)                         | 450  | 148       | >90    |
| L4   | d4     | 11-10 100/100 (paid on 11-09), 12-10 100/0              | 100  | 0         | al día |
| L5   | d4     | 10-15 300/300 (paid on 11-05), status "paid"            | 0    | —         | —      |

PAR30 = (300 + 450) / 1250 = 0.6; PAR90 = 450 / 1250 = 0.36.
Due in the period: L2 11-20 200 + L4 11-10 100 = 300; collected: 100 (L4) + 300 (L5) = 400.
Overdue when the period began (balances of 10-27): L1 200 + L3 450 + L5 300 (its payment of 11-05 given
back) = 950; recovered: L5 300 (L4's payment paid an instalment not yet due) -> 300 / 950.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from scheduler import kpis
from scheduler.kpis import AGING_BUCKETS, Period
from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Payment, Phone, Promise
from scheduler.segments import DEFAULT_SEGMENTS

TODAY = date(2026, 11, 26)
PERIOD = Period(date(2026, 10, 28), TODAY)
ZONE = ZoneInfo("America/Bogota")
D = Decimal


def at(day: str, hour: int = 15) -> datetime:
    return datetime.fromisoformat(f"2026-{day}T{hour:02d}:00:00").replace(tzinfo=timezone.utc)


def inst(number, due, amount, paid=0):
    return Instalment(number, date.fromisoformat(f"2026-{due}"), D(amount), D(paid))


DEBTORS = tuple(Debtor(f"d{i}", f"Deudor {i}", phones=(Phone(f"+57300111000{i}"),)) for i in range(1, 5))
LOANS = (
    Loan("L1", "d1", instalments=(inst(1, "09-01", 100), inst(2, "10-01", 100), inst(3, "12-01", 100))),
    Loan("L2", "d2", instalments=(inst(1, "11-20", 200), inst(2, "12-20", 200))),
    Loan("L3", "d3", instalments=(inst(1, "07-01", 500, 50),)),
    Loan("L4", "d4", instalments=(inst(1, "11-10", 100, 100), inst(2, "12-10", 100))),
    Loan("L5", "d4", instalments=(inst(1, "10-15", 300, 300),), status="paid"),
)
PAYMENTS = (
    Payment("p3", "L3", "d3", D(50), date(2026, 10, 1), "import", reconciled=True),
    Payment("p5", "L5", "d4", D(300), date(2026, 11, 5), "web", recorded_at=at("11-05")),
    Payment("p4", "L4", "d4", D(100), date(2026, 11, 9), "web", recorded_at=at("11-09")),
    Payment("claim", "L1", "d1", D(50), date(2026, 11, 15), "sms", status="pending", recorded_at=at("11-15")),
)
PROMISES = (
    Promise("pr1", "d2", date(2026, 11, 23), D(200), "sms", at("11-20")),   # unpaid -> broken on 11-26
    Promise("pr2", "d4", date(2026, 11, 9), D(100), "web", at("11-05")),    # paid 11-09 -> kept
    Promise("pr0", "d1", date(2026, 9, 20), D(100), "sms", at("09-15")),    # made before the period
)


def send(contact_id, debtor, when, template, *, outcome="sent", delivered=False, step="+3"):
    events = [ContactEvent(when, debtor, "sending", contact_id=contact_id, detail=f"paso {step}, plantilla {template}")]
    if outcome:
        events.append(ContactEvent(when + timedelta(seconds=5), debtor, outcome, contact_id=contact_id))
    if delivered:
        events.append(ContactEvent(when + timedelta(minutes=1), debtor, "delivered", contact_id=contact_id))
    return events


def reply(debtor, when):
    return ContactEvent(when, debtor, "reply", direction="inbound", text="ok")


EVENTS = (
    send("c4", "d1", at("10-20"), "mora_amable", delivered=True)       # before the period
    + [reply("d1", at("10-21"))]                                        # credited to c4, not counted
    + send("c1", "d1", at("11-02"), "mora_amable", delivered=True)
    + [reply("d1", at("11-03"))]                                        # within 3 days: c1 replied
    + send("c2", "d2", at("11-18"), "recordatorio_manana", step="-1")   # pr1 (11-20) is credited to it
    + [ContactEvent(at("11-19"), "d2", "expired", contact_id="c2")]
    + send("c3", "d3", at("11-19"), "mora_firme", outcome="failed")     # never left: not a reminder
    + send("c5", "d3", at("11-20", 10), "mora_firme", delivered=True)
    + [reply("d3", at("11-24", 10))]                                    # 4 days later: not credited
    + [ContactEvent(at("11-21"), "d3", "sent", contact_id="auto:d3:1")]  # an automatic answer
)


def states(day=TODAY):
    by_loan = {}
    for p in PAYMENTS:
        by_loan.setdefault(p.loan_external_id, []).append(p)
    return [kpis.loan_state(loan, by_loan.get(loan.external_id, ()), day) for loan in LOANS]


def test_period_is_inclusive_and_validated():
    period = Period.last_days(TODAY)
    assert period == PERIOD and period.days == 30
    assert date(2026, 10, 28) in period and TODAY in period and date(2026, 10, 27) not in period
    with pytest.raises(ValueError):
        Period(TODAY, TODAY - timedelta(days=1))
    with pytest.raises(ValueError):
        Period(at("11-01"), TODAY)  # a datetime is not a day


def test_ratio_is_none_without_denominator():
    assert kpis.ratio(1, 0) is None and kpis.ratio(0, 0) is None
    assert kpis.ratio(1, 4) == D("0.25")


def test_balances_at_a_past_day_give_back_later_payments_oldest_first():
    loan = LOANS[3]
    assert kpis.outstanding_at(loan, PAYMENTS, date(2026, 11, 9)) == (D(0), D(100))   # paid that day
    assert kpis.outstanding_at(loan, PAYMENTS, date(2026, 11, 8)) == (D(100), D(100))
    assert kpis.outstanding_at(LOANS[2], PAYMENTS, date(2026, 9, 30)) == (D(500),)
    pending_only = kpis.outstanding_at(LOANS[0], PAYMENTS, date(2026, 11, 1))        # a pending claim never counts
    assert pending_only == (D(100), D(100), D(100))
    assert kpis.days_late_at(LOANS[0].instalments, pending_only, TODAY) == 86


def test_par30_par90_and_aging_by_hand():
    s = states()
    par30, par90 = kpis.par(s, 30), kpis.par(s, 90)
    assert par30.outstanding == D(1250) and par30.at_risk == D(750) and par30.ratio == D("0.6")
    assert par90.at_risk == D(450) and par90.ratio == D("0.36")
    rows = {row.bucket.key: (row.loans, row.outstanding) for row in kpis.aging(s)}
    assert rows == {"al_dia": (1, D(100)), "1_30": (1, D(400)), "31_60": (0, D(0)), "61_90": (1, D(300)),
                    "mas_90": (1, D(450))}
    assert sum(row.share for row in kpis.aging(s)) == 1


def test_par_and_aging_at_a_past_day():
    # on 11-08 L4's instalment of 11-10 was not due yet and L1 was 68 days late: nothing changes bucket but L2,
    # which was not late yet (its first instalment is due 11-20).
    s = states(date(2026, 11, 8))
    rows = {row.bucket.key: row.loans for row in kpis.aging(s)}
    assert rows == {"al_dia": 2, "1_30": 0, "31_60": 0, "61_90": 1, "mas_90": 1}
    assert kpis.par(s, 30).at_risk == D(750) and kpis.par(s, 30).outstanding == D(1350)  # L4 owed 200 then


@pytest.mark.parametrize("days,bucket", [(0, "al_dia"), (1, "1_30"), (30, "1_30"), (31, "31_60"), (60, "31_60"),
                                         (61, "61_90"), (90, "61_90"), (91, "mas_90"), (400, "mas_90")])
def test_aging_bucket_boundaries(days, bucket):
    loan = Loan("X", "d1", instalments=(Instalment(1, TODAY - timedelta(days=days), D(10)),))
    state = kpis.loan_state(loan, (), TODAY)
    assert state.days_late == days
    assert next(b for b in AGING_BUCKETS if b.holds(days)).key == bucket
    assert [r.loans for r in kpis.aging([state]) if r.bucket.key == bucket] == [1]
    assert (kpis.par([state], 30).at_risk == D(10)) == (days > 30)
    assert (kpis.par([state], 90).at_risk == D(10)) == (days > 90)


def test_collected_vs_due_and_recovery_by_hand():
    money = kpis.collections(LOANS, PAYMENTS, PERIOD)
    assert money.due == D(300) and money.collected == D(400)
    assert money.overdue_at_start == D(950) and money.recovered == D(300)
    assert money.collection_rate == D(400) / D(300)
    assert money.recovery_rate == D(300) / D(950)


def test_a_cancelled_loan_counts_for_nothing():
    cancelled = Loan("LX", "d1", instalments=(inst(1, "11-01", 100),), status="cancelled")
    assert kpis.collections([cancelled], [], PERIOD) == kpis.Collections()
    assert kpis.par([kpis.loan_state(cancelled, (), TODAY)], 30).outstanding == 0


def test_reminders_are_what_the_modem_accepted_with_their_template():
    found = {r.contact_id: r for r in kpis.reminders(EVENTS)}
    assert set(found) == {"c4", "c1", "c2", "c5"}                   # c3 failed, auto answers are not reminders
    assert found["c1"].template == "mora_amable" and found["c1"].delivered
    assert found["c2"].template == "recordatorio_manana" and not found["c2"].delivered
    assert found["c1"].sent_at == at("11-02") + timedelta(seconds=5)


def test_replies_and_promises_are_credited_to_the_latest_reminder_in_the_window():
    found = kpis.reminders(EVENTS)
    replies = [(e.debtor_id, e.at) for e in EVENTS if e.kind == "reply"]
    assert kpis.credit(found, replies, kpis.REPLY_WINDOW) == {"c4": 1, "c1": 1}
    assert kpis.credit(found, [("d2", at("11-20"))], kpis.PROMISE_WINDOW) == {"c2": 1}
    assert kpis.credit(found, [("d2", at("11-18"))], kpis.PROMISE_WINDOW) == {}  # before the reminder


def test_promise_figures_use_promise_status():
    figures = kpis.promise_figures(PROMISES[:2], PAYMENTS, TODAY, grace_days=1)
    assert (figures.made, figures.kept, figures.broken, figures.pending) == (2, 1, 1, 0)
    assert figures.kept_rate == D("0.5")
    assert kpis.PromiseFigures().kept_rate is None


def segments():
    return kpis.segments_of(DEBTORS, LOANS, PAYMENTS, PROMISES, DEFAULT_SEGMENTS, TODAY)


def test_segments_follow_the_rules():
    found = segments()
    assert found.of == {"d1": "mora_grave", "d2": "mora_temprana", "d3": "mora_grave", "d4": "al_dia"}
    assert [key for key, _ in found.order] == ["mora_grave", "mora_temprana", "ocasional", "al_dia", "sin_segmento"]


def report():
    return kpis.build_report(loans=LOANS, payments=PAYMENTS, promises=PROMISES, events=EVENTS, period=PERIOD,
                             today=TODAY, zone=ZONE, segments=segments(), grace_days=1)


def test_report_totals_by_hand():
    found = report()
    total = found.total
    assert found.as_of == TODAY and found.currency == "COP"
    assert (total.contacts.sent, total.contacts.delivered, total.contacts.replied, total.contacts.promised) == (3, 2, 1, 1)
    assert total.contacts.delivery_rate == D(2) / D(3) and total.contacts.reply_rate == D(1) / D(3)
    assert (total.promises.made, total.promises.kept, total.promises.broken) == (2, 1, 1)
    assert total.collections.collected == D(400) and total.collections.due == D(300)
    assert total.par30.ratio == D("0.6") and total.par90.ratio == D("0.36")
    assert total.loans == 4  # active ones


def test_report_by_segment_and_by_template():
    found = report()
    rows = {row.key: row for row in found.segments}
    assert list(rows) == ["mora_grave", "mora_temprana", "al_dia"]   # a segment with nothing is left out
    grave = rows["mora_grave"]
    assert grave.par30.ratio == 1 and grave.par90.ratio == D("0.6") and grave.contacts.sent == 2
    assert grave.collections.overdue_at_start == D(650) and grave.collections.recovered == 0
    assert rows["al_dia"].collections.recovered == D(300) and rows["al_dia"].promises.kept == 1
    assert rows["mora_temprana"].promises.broken == 1
    templates = {row.key: row for row in found.templates}
    assert set(templates) == {"mora_amable", "recordatorio_manana", "mora_firme"}
    assert templates["mora_amable"].contacts.reply_rate == 1
    assert templates["recordatorio_manana"].contacts.promise_rate == 1
    assert templates["recordatorio_manana"].promises.kept_rate == 0
    assert templates["mora_firme"].contacts.delivery_rate == 1 and templates["mora_firme"].collections is None


def test_an_empty_portfolio_has_no_rates():
    found = kpis.build_report(loans=(), payments=(), promises=(), events=(), period=PERIOD, today=TODAY, zone=ZONE,
                              segments=kpis.segments_of((), (), (), (), DEFAULT_SEGMENTS, TODAY))
    assert found.total.par30.ratio is None and found.total.contacts.delivery_rate is None
    assert found.total.collections.collection_rate is None and found.segments == () and found.currency == ""


def test_a_past_period_reads_par_at_its_last_day():
    period = Period(date(2026, 10, 1), date(2026, 11, 8))
    found = kpis.build_report(loans=LOANS, payments=PAYMENTS, promises=PROMISES, events=EVENTS, period=period,
                              today=TODAY, zone=ZONE, segments=segments())
    assert found.as_of == date(2026, 11, 8)
    assert found.total.par30.outstanding == D(1350)
