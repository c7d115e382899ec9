"""Planner speed vs portfolio size (1k, 10k, 100k loans). Prints one JSON object per line.

Each size gets a fresh in-memory ledger (``Ledger.memory()``) filled with a
realistic portfolio built directly from ``scheduler.model`` records (faster
to set up than a CSV import, same records):

- ~1.25 loans per debtor (some debtors have two or three), 1 to 24
  instalments (monthly, fortnightly or weekly), most past instalments paid,
  some late, some partly paid, a few loans closed;
- debtors in five time zones and jurisdictions (mostly Colombia; Peru,
  Mexico, Chile, the United States), a few with two phones or a phone
  authorised for calls, ~3% sharing a phone with another debtor, a few
  opted out;
- a contact log over the last 30 days: the ladder steps already sent for
  each loan (``planned``/``sending``/``sent``/``delivered`` with the
  planner's contact ids, some ``failed``), a few manual notes of calls,
  replies from ~12% of debtors (some reply often enough to learn a best
  hour);
- in-app payments (web, confirmed, with the time they were recorded) for
  ~8% of debtors and promises to pay (pending, kept or broken) for ~6%.

Measured (``now`` is a Tuesday, 10:00 in Bogotá):

- ``snapshot_s``: ``ledger.snapshot(contacts_since=now - HISTORY_DAYS)``;
- ``plan_s`` / ``plan_us_per_loan``: ``plan(snapshot, policy, now)`` alone
  (median of ``--runs`` runs after one warm-up);
- ``plan_growth``: plan time at the largest size over the one 10x smaller
  (linear: ~10);
- ``replan_s``: what the appliance pays on each later plan (:class:`~scheduler.planner.Planner`, which
  gives a debtor's decisions again while they cannot have changed): one minute after a first plan, on
  the same ledger (a dispatcher tick with nothing new: median of ``--runs``), and ``replan_after_sends_s``
  one minute after the dispatcher sent what the first plan said to send (every ``send`` logged
  ``sending`` then ``sent``; one sample per run, each after a first plan of its own);
- ``plan_peak_memory_mb``: what planning the largest size allocates at its
  peak (tracemalloc, a separate run) and the process's peak RSS (VmHWM).

Target: ``plan`` under 2 s at 100k loans, linear growth (a first plan — after a start, or a change of
the configuration — decides every loan; later plans decide only what changed).

Run: .venv/bin/python tests/benchmarks/bench_planner.py [--sizes 1000,10000,100000] [--runs 3] [--profile N]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
import tracemalloc
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from firmware_py.ledger import Ledger  # noqa: E402
from scheduler.clock import ClockTrust  # noqa: E402
from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Phone, debtor_id_for  # noqa: E402
from scheduler.planner import HISTORY_DAYS, SEND, Planner, contact_id, plan  # noqa: E402
from scheduler.policy import load_policy  # noqa: E402

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=timezone.utc)  # Tuesday 10:00 in Bogotá
TARGET_S_100K = 2.0
ZONES = (("America/Bogota", "CO", 70), ("America/Lima", "PE", 10), ("America/Mexico_City", "MX", 10),
         ("America/Santiago", "CL", 5), ("America/New_York", "US", 5))
STEP_OFFSETS = (-7, -3, -1, 0, 3, 7, 15, 30)
NAMES = ("María", "José", "Luz Dary", "Ana", "Juan", "Rosa", "Héctor", "Nubia", "Óscar", "Yolanda", "Wilson")
SURNAMES = ("Quispe", "Muñoz", "Peña", "Rojas", "Álvarez", "Cárdenas", "Huanca", "Gómez", "Ríos", "Zúñiga")


def _zone(rng: random.Random) -> tuple[str, str]:
    pick = rng.randrange(100)
    for name, country, weight in ZONES:
        if pick < weight:
            return name, country
        pick -= weight
    return ZONES[0][:2]


def portfolio(loan_count: int, seed: int = 1):
    """``(debtors, loans, payments, promises, contacts, opt_outs)`` for ``loan_count`` loans around ``NOW``:
    payments are ``(loan id, amount, date, recorded_at)`` to record in the app, promises
    ``(debtor id, due date, amount, made_at, loan id)``."""
    rng = random.Random(seed)
    today = NOW.date()
    debtors, loans, payments, promises, contacts, opt_outs = [], [], [], [], [], []
    number = 0
    while len(loans) < loan_count:
        n = len(debtors)
        zone_name, country = _zone(rng)
        zone = ZoneInfo(zone_name)
        if debtors and rng.random() < 0.03:  # a phone shared with the previous debtor (a neighbour, a shop)
            phones = (Phone(debtors[-1].phones[0].number, personal=False),)
        else:
            channels = frozenset({"sms", "call"}) if rng.random() < 0.2 else frozenset({"sms"})
            phones = (Phone(f"+57300{number:07d}", channels=channels),)
            number += 1
            if rng.random() < 0.1:
                phones += (Phone(f"+57300{number:07d}", personal=rng.random() < 0.5),)
                number += 1
        document = str(10_000_000 + n)
        debtor = Debtor(debtor_id_for(document), f"{rng.choice(NAMES)} {rng.choice(SURNAMES)}", document, phones,
                        language="en" if country == "US" else "es", timezone=zone_name, jurisdiction=country,
                        loan_officer=f"Asesor {n % 40}", group=f"G{n % 900}")
        debtors.append(debtor)
        if rng.random() < 0.01:
            opt_outs.append(phones[0].number)
        own = 1 if rng.random() < 0.78 else (2 if rng.random() < 0.8 else 3)
        own_loans = []
        for _ in range(min(own, loan_count - len(loans))):
            loan = _loan(f"CR-{len(loans):07d}", debtor.id, rng, today)
            loans.append(loan)
            own_loans.append(loan)
        _history(debtor, own_loans, zone, rng, today, contacts, payments, promises)
    return debtors, loans, payments, promises, contacts, opt_outs


def _loan(external_id: str, debtor_id: str, rng: random.Random, today: date) -> Loan:
    count = rng.choice((1, 3, 6, 12, 12, 24))
    period = rng.choice((30, 30, 30, 15, 7))
    first = today - timedelta(days=rng.randrange(0, period * count)) + timedelta(days=rng.randrange(-20, 45))
    amount = Decimal(rng.randrange(20, 600) * 1000)
    habit = rng.random()  # < 0.7 pays on time, < 0.9 sometimes late, else behind
    instalments = []
    for k in range(count):
        due = first + timedelta(days=period * k)
        paid = Decimal(0)
        if due < today - timedelta(days=rng.randrange(0, 12)):
            if habit < 0.7 or (habit < 0.9 and rng.random() < 0.8) or rng.random() < 0.3:
                paid = amount
            elif rng.random() < 0.2:
                paid = amount / 2
        instalments.append(Instalment(k + 1, due, amount, paid))
    status = "active" if rng.random() < 0.96 else rng.choice(("paid", "written_off"))
    return Loan(external_id, debtor_id, rng.choice(("Microcrédito", "Consumo", "Agro")), "COP", tuple(instalments),
                status)


def _history(debtor: Debtor, loans: list[Loan], zone: ZoneInfo, rng: random.Random, today: date,
             contacts: list, payments: list, promises: list) -> None:
    """The last 30 days of one debtor: steps sent, notes, replies, payments in the app, promises."""
    phone = debtor.phones[0].number
    since = today - timedelta(days=30)
    for loan in loans:
        unpaid = loan.oldest_unpaid()
        if unpaid is None or loan.status != "active":
            continue
        for offset in STEP_OFFSETS:
            day = unpaid.due_date + timedelta(days=offset)
            if not since <= day < today or rng.random() < 0.2:
                continue
            at = datetime(day.year, day.month, day.day, 9, rng.randrange(0, 50), tzinfo=zone)
            cid = contact_id(debtor.id, loan.external_id, unpaid.number, f"{offset:+d}" if offset else "0")
            channel = "call" if offset in (7, 30) and rng.random() < 0.3 else "sms"
            common = dict(channel=channel, phone=phone, contact_id=cid, loan_external_id=loan.external_id)
            contacts.append(ContactEvent(at, debtor.id, "planned", direction="internal", **common))
            contacts.append(ContactEvent(at + timedelta(seconds=1), debtor.id, "sending", **common))
            if rng.random() < 0.05:
                contacts.append(ContactEvent(at + timedelta(seconds=20), debtor.id, "failed", detail="CMS 500",
                                             **common))
                continue
            contacts.append(ContactEvent(at + timedelta(seconds=5), debtor.id, "sent", **common))
            if channel == "sms" and rng.random() < 0.8:
                contacts.append(ContactEvent(at + timedelta(seconds=40), debtor.id, "delivered", **common))
    if rng.random() < 0.03:  # an officer's note of a phone call
        at = datetime.combine(today - timedelta(days=rng.randrange(1, 30)), datetime.min.time(), tzinfo=zone)
        contacts.append(ContactEvent(at + timedelta(hours=rng.randrange(8, 18)), debtor.id, "sent", channel="call",
                                     phone=phone, detail="llamada manual"))
    if rng.random() < 0.12:
        hour = rng.randrange(7, 21)
        for _ in range(rng.choice((1, 1, 2, 3, 4))):
            day = today - timedelta(days=rng.randrange(0, 30))
            at = datetime(day.year, day.month, day.day, hour, rng.randrange(60), tzinfo=zone)
            if at < NOW:
                contacts.append(ContactEvent(at, debtor.id, "reply", direction="inbound", phone=phone,
                                             text=rng.choice(("PAGUÉ", "SALDO", "PROMESA 20/03", "ok gracias"))))
    active = [loan for loan in loans if loan.status == "active" and loan.oldest_unpaid() is not None]
    if active and rng.random() < 0.08:
        loan = active[0]
        for _ in range(rng.choice((1, 1, 2, 3))):
            day = today - timedelta(days=rng.randrange(0, 20))
            recorded = datetime(day.year, day.month, day.day, rng.randrange(8, 18), rng.randrange(60), tzinfo=zone)
            payments.append((loan.external_id, loan.oldest_unpaid().amount / 4, day, recorded))
    if active and rng.random() < 0.06:
        made = NOW - timedelta(days=rng.randrange(1, 25), hours=rng.randrange(0, 8))
        promises.append((debtor.id, today + timedelta(days=rng.randrange(-12, 10)),
                         Decimal(rng.randrange(10, 200) * 1000), made, active[0].external_id))


def build_ledger(loan_count: int) -> tuple[Ledger, dict]:
    """A memory ledger holding the portfolio, and what it holds."""
    debtors, loans, payments, promises, contacts, opt_outs = portfolio(loan_count)
    ledger = Ledger.memory(clock=lambda: NOW)
    ledger.import_batch(debtors, loans, source="bench", now=NOW - timedelta(days=31))
    contacts.sort(key=lambda e: e.at)
    ledger.append_contacts(replace(event, id=f"ev-{n}") for n, event in enumerate(contacts))
    for n, (loan_id, amount, day, recorded) in enumerate(payments):
        ledger.record_payment(loan_id, amount, day, now=recorded, payment_id=f"pay-{n}")
    for n, (debtor_id, due, amount, made, loan_id) in enumerate(promises):
        ledger.record_promise(debtor_id, due, amount, loan_external_id=loan_id, now=made, promise_id=f"prm-{n}")
    for number in opt_outs:
        ledger.record_opt_out(number, now=NOW - timedelta(days=3))
    return ledger, {"loans": len(loans), "debtors": len(debtors), "contact_events": len(contacts),
                    "app_payments": len(payments), "promises": len(promises), "opt_outs": len(opt_outs),
                    "shared_phones": sum(1 for d in debtors if not d.phones[0].personal)}


def timed(fn, runs: int) -> tuple[float, object]:
    """Median seconds of ``runs`` calls after one warm-up, and the last result."""
    result = fn()
    samples = []
    for _ in range(runs):
        gc.collect()
        started = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), result


def replans(ledger: Ledger, snapshot, policy, decisions, runs: int) -> tuple[float, int, float, int]:
    """``(replan seconds, debtors reused, replan-after-sends seconds, sends logged)`` (see the docstring).
    The sends are logged in the ledger (it is not used afterwards but for its size)."""
    later = NOW + timedelta(minutes=1)
    planner = Planner()
    planner.plan(snapshot, policy, NOW)
    replan_s, _ = timed(lambda: planner.plan(snapshot, policy, later), runs)
    reused = planner.reused
    sends = [d for d in decisions if d.action == SEND]
    events = []
    for n, d in enumerate(sends):
        for seconds, kind in ((1, "sending"), (4, "sent")):
            events.append(ContactEvent(NOW + timedelta(seconds=seconds), d.debtor_id, kind, channel=d.channel,
                                       phone=d.phone, contact_id=d.contact_id, loan_external_id=d.loan,
                                       id=f"bench-send-{n}-{kind}"))
    ledger.append_contacts(events)
    after = ledger.snapshot(contacts_since=later - timedelta(days=HISTORY_DAYS))
    samples = []
    for _ in range(runs):
        planner = Planner()
        planner.plan(snapshot, policy, NOW)
        gc.collect()
        started = time.perf_counter()
        planner.plan(after, policy, later)
        samples.append(time.perf_counter() - started)
    return replan_s, reused, statistics.median(samples), len(sends)


def emit(name: str, value, unit: str, parameters: dict, target=None, **extra) -> None:
    print(json.dumps({"name": name, "value": value, "unit": unit, "parameters": parameters, "target": target,
                      **extra}, ensure_ascii=False), flush=True)


def peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        return round(next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="print the N costliest functions of one plan at the largest size (cProfile, stderr)")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    policy0 = load_policy({"rules": {"profile": "CO"}}, country="CO", cooperative_name="Coop Esperanza",
                          clock=ClockTrust(True, "given", "benchmark"))
    since = NOW - timedelta(days=HISTORY_DAYS)
    plan_s: dict[int, float] = {}
    for size in sizes:
        started = time.perf_counter()
        ledger, world = build_ledger(size)
        build_s = time.perf_counter() - started
        snapshot_s, snapshot = timed(lambda: ledger.snapshot(contacts_since=since), args.runs)
        policy = policy0.with_settings(snapshot.settings)
        seconds, decisions = timed(lambda: plan(snapshot, policy, NOW), args.runs)
        plan_s[size] = seconds
        actions = {a: sum(1 for d in decisions if d.action == a) for a in ("send", "wait", "skip")}
        params = {**world, "now": NOW.isoformat(), "runs": args.runs, "build_s": round(build_s, 1)}
        emit("snapshot_s", round(snapshot_s, 3), "s", params, None,
             us_per_loan=round(snapshot_s / size * 1e6, 1), snapshot_contacts=len(snapshot.contacts))
        target = TARGET_S_100K * size / 100_000
        emit("plan_s", round(seconds, 3), "s", {**params, "decisions": len(decisions), **actions},
             round(target, 3), ok=seconds <= target)
        emit("plan_us_per_loan", round(seconds / size * 1e6, 1), "µs/loan", {"loans": size},
             round(TARGET_S_100K / 100_000 * 1e6, 1), ok=seconds / size <= TARGET_S_100K / 100_000)
        replan_s, reused, after_sends_s, sends = replans(ledger, snapshot, policy, decisions, args.runs)
        emit("replan_s", round(replan_s, 3), "s", {"loans": size, "debtors_reused": reused,
             "measured": "Planner.plan one minute after a first plan, same ledger"}, round(target, 3),
             ok=replan_s <= target)
        emit("replan_after_sends_s", round(after_sends_s, 3), "s", {"loans": size, "sends_logged": sends,
             "measured": "Planner.plan one minute after a first plan, its sends logged"}, round(target, 3),
             ok=after_sends_s <= target)
        if size == sizes[-1]:
            if args.profile:
                import cProfile
                import pstats

                profiler = cProfile.Profile()
                profiler.runcall(plan, snapshot, policy, NOW)
                pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(args.profile)
            del decisions
            gc.collect()
            tracemalloc.start()
            plan(snapshot, policy, NOW)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            emit("plan_peak_memory_mb", round(peak / 2**20, 1), "MB", {"loans": size, "measured": "tracemalloc peak "
                 "of one plan() (its allocations only: the ledger and snapshot are not counted)"}, None,
                 process_peak_rss_mb=peak_rss_mb())
        ledger.close()
        del ledger, snapshot
        gc.collect()
    for small in sizes:
        large = small * 10
        if large in plan_s:
            ratio = plan_s[large] / plan_s[small]
            emit("plan_growth", round(ratio, 2), "ratio", {"from_loans": small, "to_loans": large}, 10.0,
                 ok=ratio <= 12.0)


if __name__ == "__main__":
    main()
