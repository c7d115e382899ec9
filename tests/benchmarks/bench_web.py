"""Web page latency with a big cooperative's data. Prints one JSON object per line.

A ledger on disk (``Ledger.open`` in a temporary folder) gets 10,000 debtors with one loan of 12
monthly instalments each (a third paid up to date, a third a little late, a third far behind), built
directly as ``scheduler.model`` records, and 250,000 contact-log events spread over the last 12 months
(reminders planned/sent/delivered, some failed, replies and the notes that answer them). The web app
is built on it as the appliance builds it (``webui.create_app(Services(...))`` with the configuration's
policy, a trusted clock and a connected simulated modem) and driven through Flask's test client,
logged in as the administrator. For each page: a few warm-up requests, then ``--requests`` timed
requests (the debtor page cycles through different debtors), reporting p50/p95/mean/max in
milliseconds against the target p95 < 100 ms:

- ``dashboard``: ``/`` (Inicio);
- ``debtor_list``: ``/deudores`` (first page, default sort);
- ``debtor_list_search``: ``/deudores?q=...`` (a search by name);
- ``debtor_page``: ``/deudores/<id>`` (loans, plan, timeline);
- ``visits``: ``/visitas`` (the officers' visit list: every debtor far behind got a visit step in the last
  weeks, part of them already visited).

``first_ms`` is the first request after the data was loaded (caches cold). A page too slow for
``--requests`` stops after ``--budget`` seconds of timed requests (at least 20; ``requests`` says how many).
With ``--profile`` every page that misses the target is profiled (cProfile; 20 requests, 3 for a page over
a second) and the top functions by cumulative time are printed as ``{"bench": "web_profile", ...}`` lines.
``--recent-months`` overrides the ledger's in-memory months (the appliance uses the ledger's default).
The exit status is 1 when a page misses the target.

Run: .venv/bin/python tests/benchmarks/bench_web.py [--debtors 10000] [--contacts 250000] [--requests 200]
[--only dashboard,debtor_page] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import pstats
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "webui"))

from firmware_py.ledger import Ledger  # noqa: E402
from scheduler.clock import ClockTrust  # noqa: E402
from scheduler.model import ContactEvent, Debtor, Instalment, Loan, Phone, debtor_id_for  # noqa: E402
from scheduler.policy import load_policy  # noqa: E402
from webui import create_app  # noqa: E402
from webui.services import Services  # noqa: E402

from webclient import Client  # noqa: E402

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=timezone.utc)   # a Thursday, 10:00 in Bogotá
TODAY = date(2026, 11, 26)
TARGET_P95_MS = 100.0
OFFICERS = [f"Asesor {n}" for n in range(12)]
FIRST_NAMES = ("María", "José", "Luz", "Carlos", "Ana", "Luis", "Rosa", "Jorge", "Carmen", "Pedro", "Sandra",
               "Héctor", "Marta", "Julio", "Teresa", "Ramón")
LAST_NAMES = ("Quispe", "Álvarez", "Muñoz", "Gómez", "Rojas", "Mendoza", "Cárdenas", "Ñañez", "Huanca", "Peña",
              "Ríos", "Torres", "Vargas", "Castro", "Suárez", "Díaz")
TEXTS = ("Cooperativa: María, su cuota 3 de 12 por $125.000 vence el 05/03. Info 3001234567",
         "Cooperativa: le recordamos que su cuota venció hace 3 días. Acérquese a la oficina.",
         "Cooperativa: su cuota vence hoy. Gracias por su puntualidad.")
REPLIES = ("SALDO", "ya pagué 50.000", "PROMESA 30/11", "¿Me pueden llamar?", "ok gracias")


def portfolio(count: int, rng: random.Random) -> tuple[list[Debtor], list[Loan]]:
    """``count`` debtors, one 12-instalment loan each, started in the last 14 months; paid up to date,
    a little late, or far behind (a third each)."""
    debtors, loans = [], []
    for n in range(count):
        document = str(10_000_000 + n)
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)} {rng.choice(LAST_NAMES)} {n}"
        debtor = Debtor(id=debtor_id_for(document), name=name, document=document,
                        phones=(Phone(f"+57300{n:07d}"),), loan_officer=OFFICERS[n % len(OFFICERS)],
                        group=f"Grupo {n % 400}")
        start = TODAY - timedelta(days=rng.randrange(30, 420))
        behind = (0, 1, 4)[n % 3]
        instalments = []
        for k in range(12):
            due = start + timedelta(days=30 * k)
            amount = Decimal(125_000)
            paid = amount if due < TODAY - timedelta(days=30 * behind) else Decimal(0)
            instalments.append(Instalment(k + 1, due, amount, paid))
        debtors.append(debtor)
        loans.append(Loan(external_id=f"L{n:05d}", debtor_id=debtor.id, product="Microcrédito",
                          instalments=tuple(instalments)))
    return debtors, loans


def history(count: int, debtors: list[Debtor], rng: random.Random):
    """``count`` contact-log events over the last 365 days: per contact planned → sending → sent →
    delivered (or failed), now and then a reply and the note that handles it."""
    made = 0
    contact = 0
    while made < count:
        debtor = debtors[rng.randrange(len(debtors))]
        phone = debtor.phones[0].number
        at = NOW - timedelta(days=rng.randrange(365), seconds=rng.randrange(86400))
        contact += 1
        cid = f"{debtor.id}:L:{contact}:0"
        text = TEXTS[contact % len(TEXTS)]
        outcome = "failed" if contact % 17 == 0 else "delivered"
        for step, kind in enumerate(("planned", "sending", "sent", outcome)):
            yield ContactEvent(at=at + timedelta(seconds=step * 5), debtor_id=debtor.id, kind=kind, phone=phone,
                               contact_id=cid, text=text if kind in ("planned", "sending") else "",
                               direction="outbound", detail="paso 0, plantilla vence_hoy" if kind == "sending"
                               else "")
            made += 1
        if contact % 9 == 0 and made < count:
            reply_at = at + timedelta(minutes=rng.randrange(5, 600))
            reply_id = f"sms-in:{contact}"
            yield ContactEvent(at=reply_at, debtor_id=debtor.id, kind="reply", phone=phone, direction="inbound",
                               contact_id=reply_id, text=REPLIES[contact % len(REPLIES)])
            yield ContactEvent(at=reply_at + timedelta(seconds=2), debtor_id=debtor.id, kind="note", phone=phone,
                               direction="internal", contact_id=f"{reply_id}:tratado", reference="other",
                               detail="no se entendió: a la bandeja", text="bandeja" if contact % 2 else "")
            made += 2


def visit_steps(debtors: list[Debtor], rng: random.Random):
    """A visit step for each debtor far behind (every third) in the last 60 days; a third of those visited."""
    from scheduler.visits import DONE_SUFFIX

    for n, debtor in enumerate(debtors):
        if n % 3 != 2:
            continue
        at = NOW - timedelta(days=rng.randrange(60), seconds=rng.randrange(86400))
        cid = f"{debtor.id}:L{n:05d}:1:visita"
        yield ContactEvent(at=at, debtor_id=debtor.id, kind="sent", channel="visit", contact_id=cid,
                           loan_external_id=f"L{n:05d}", detail="en la lista de visitas del asesor")
        if n % 9 == 2:
            yield ContactEvent(at=at + timedelta(days=1), debtor_id=debtor.id, kind="note", channel="visit",
                               direction="internal", contact_id=cid + DONE_SUFFIX, reference="no_estaba",
                               detail="visita hecha: no estaba")


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1)}


def build(workdir: Path, debtors_count: int, contacts_count: int,
          recent_months: int | None = None) -> tuple[Ledger, list[Debtor], dict]:
    rng = random.Random(2026)
    debtors, loans = portfolio(debtors_count, rng)
    options = {} if recent_months is None else {"recent_months": recent_months}
    ledger = Ledger.open(workdir / "data", clock=lambda: NOW, **options)
    t = time.perf_counter()
    ledger.import_batch(debtors, loans, source="bench", now=NOW - timedelta(days=400))
    import_s = time.perf_counter() - t
    t = time.perf_counter()
    ledger.append_contacts(itertools.islice(history(contacts_count, debtors, rng), contacts_count))
    ledger.append_contacts(visit_steps(debtors, rng))
    contacts_s = time.perf_counter() - t
    return ledger, debtors, {"import_s": round(import_s, 2), "contacts_s": round(contacts_s, 2),
                             "contacts": ledger.contact_count}


def make_app(ledger: Ledger):
    from firmware_py.modem_link import ModemStatus

    policy = load_policy({}, country="CO", cooperative_name="Cooperativa La Esperanza",
                         timezone="America/Bogota", clock=ClockTrust(True, "given"))
    status = ModemStatus("connected", "Conectado (módem simulado)", True, "/dev/pts/9", "generic", -71, "Claro CO")
    services = Services(ledger=ledger, cooperative="Cooperativa La Esperanza", version="bench",
                        policy=lambda: policy, modem_status=lambda: status, wake=lambda: None, now=lambda: NOW,
                        country="CO", timezone="America/Bogota")
    app = create_app(services)
    client = Client(app)
    client.setup_admin()
    return app, client


def measure(client: Client, urls, requests: int, warmup: int, budget: float) -> tuple[float, list[float]]:
    """First request's time, then ``requests`` timed ones after ``warmup`` (``urls``: a function of i); a page
    too slow for that stops after ``budget`` seconds of timed requests (with at least 20 samples)."""
    t = time.perf_counter()
    response = client.get(urls(0))
    first = time.perf_counter() - t
    assert response.status_code == 200, (urls(0), response.status_code, response.data[:300])
    for i in range(warmup):
        client.get(urls(i + 1))
    samples = []
    for i in range(requests):
        url = urls(i + warmup + 1)
        t = time.perf_counter()
        response = client.get(url)
        samples.append(time.perf_counter() - t)
        assert response.status_code == 200, (url, response.status_code)
        if len(samples) >= 20 and sum(samples) > budget:
            break
    return first, samples


def profile(client: Client, urls, count: int = 20, top: int = 25) -> list[str]:
    profiler = cProfile.Profile()
    profiler.enable()
    for i in range(count):
        client.get(urls(i))
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(top)
    lines = [line.rstrip() for line in out.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return lines[start:]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--debtors", type=int, default=10_000)
    parser.add_argument("--contacts", type=int, default=250_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="profile the pages that miss the target")
    parser.add_argument("--only", default="", help="comma-separated page names to measure")
    parser.add_argument("--budget", type=float, default=120.0,
                        help="seconds of timed requests per page at most (a slow page gets fewer, at least 20)")
    parser.add_argument("--recent-months", type=int, default=None,
                        help="the ledger's in-memory recent months (default: the ledger's, as the appliance)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="cobrador-bench-web-") as tmp:
        ledger, debtors, built = build(Path(tmp), args.debtors, args.contacts, args.recent_months)
        print(json.dumps({"bench": "web_data", "debtors": args.debtors, "recent_months": args.recent_months,
                          **built}), flush=True)
        try:
            app, client = make_app(ledger)
            rng = random.Random(11)
            sample = [debtors[rng.randrange(len(debtors))] for _ in range(args.requests + args.warmup + 1)]
            names = [d.name.split()[0] + " " + d.name.split()[1] for d in sample]
            pages = {
                "dashboard": lambda i: "/",
                "debtor_list": lambda i: "/deudores",
                "debtor_list_search": lambda i: f"/deudores?q={names[i % len(names)]}",
                "debtor_page": lambda i: f"/deudores/{sample[i % len(sample)].id}",
                "visits": lambda i: "/visitas",
            }
            only = {p for p in args.only.split(",") if p}
            failed = []
            for name, urls in pages.items():
                if only and name not in only:
                    continue
                first, samples = measure(client, urls, args.requests, args.warmup, args.budget)
                stats = percentiles(samples)
                ok = stats["p95_ms"] < TARGET_P95_MS
                print(json.dumps({"bench": "web_page", "page": name, "url": urls(0), "requests": len(samples),
                                  "first_ms": round(first * 1000, 1), **stats, "target_p95_ms": TARGET_P95_MS,
                                  "ok": ok}, ensure_ascii=False), flush=True)
                if not ok:
                    failed.append(name)
                    if args.profile:
                        count = 20 if stats["p50_ms"] < 1000 else 3
                        print(json.dumps({"bench": "web_profile", "page": name, "requests": count,
                                          "top_cumulative": profile(client, urls, count)}, ensure_ascii=False),
                              flush=True)
        finally:
            ledger.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
