"""``cobrador plan``: what would go out now, and why the rest does not.

Runs the planner (``scheduler.planner.plan``) on the ledger at an instant —
now, or ``--at`` — and prints the decisions: a readable Spanish table (the
sends, then the first waits and skips, with a count of every reason), or
with ``--json`` a JSON list with every decision (``debtor``, ``loan``,
``channel``, ``at`` with its offset, ``action`` and ``reason`` among the
rest). Nothing is sent and nothing is written.

Without ``--at`` the appliance's clock is judged first, as the running
service judges it (:func:`clock_trust`); an untrusted clock turns every
send into a wait, as it would in the running appliance.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from datetime import datetime, timedelta, timezone

from firmware_py.cli import _, add_data_option, existing_data_dir
from firmware_py.errors import CobradorError

SHOWN = 40


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("plan", parents=[common],
                              help=_("muestra qué recordatorios saldrían ahora y por qué"),
                              description=_("Muestra las decisiones del planificador: qué se enviaría ahora, qué "
                                            "espera (y hasta cuándo) y qué se omite, cada una con su motivo. No "
                                            "envía ni guarda nada."))
    add_data_option(p)
    p.add_argument("--at", metavar=_("FECHA-HORA"), default=None,
                   help=_("planificar para este instante en lugar de ahora (ISO 8601, por ejemplo "
                          "2026-12-15T09:00-05:00; sin zona se toma la de la cooperativa)"))
    p.add_argument("--json", action="store_true", help=_("lista JSON con todas las decisiones"))
    p.add_argument("--debtor", metavar="ID", default=None,
                   help=_("solo este deudor (su id, por ejemplo d-1a2b…)"))
    p.add_argument("--all", action="store_true", help=_("mostrar todas las decisiones, no solo las primeras"))
    p.set_defaults(func=main)


def parse_instant(text: str, zone: str) -> datetime:
    """An ISO 8601 instant; without an offset it is read in ``zone``. Raises CobradorError."""
    from zoneinfo import ZoneInfo

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CobradorError(_("--at: fecha y hora inválidas «{text}»; use por ejemplo 2026-12-15T09:00 o "
                              "2026-12-15T09:00-05:00.").format(text=text)) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(zone))


def main(args: argparse.Namespace, config) -> int:
    from firmware_py.ledger import Ledger
    from scheduler.clock import ClockTrust
    from scheduler.planner import HISTORY_DAYS, plan

    config = config.with_overrides(data_dir=args.data)
    existing_data_dir(config)
    if args.at:
        now = parse_instant(args.at, config.cooperative.timezone)
        clock = ClockTrust(True, "given", "hora indicada con --at")
    else:
        now = datetime.now(timezone.utc)
        clock = clock_trust(config.data_dir, now)
    if not (config.data_dir / "ledger").is_dir():
        raise CobradorError(_("No hay datos en {folder}: importe primero la lista de préstamos "
                              "(cobrador import ARCHIVO) o indique la carpeta con --data.")
                            .format(folder=config.data_dir))
    with Ledger.open(config.data_dir, read_only=True) as ledger:  # only reads: works on a read-only card
        snapshot = ledger.snapshot(contacts_since=now - timedelta(days=HISTORY_DAYS))
        if args.debtor and snapshot.debtor(args.debtor) is None:
            raise CobradorError(_("No existe el deudor «{debtor}».").format(debtor=args.debtor))
        policy = config.policy(clock).with_settings(snapshot.settings)
        decisions = plan(snapshot, policy, now, debtor_ids=[args.debtor] if args.debtor else None)
    if args.json:
        json.dump([d.to_dict() for d in decisions], sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return 0
    _print_table(decisions, snapshot, now, policy, everything=args.all or bool(args.debtor),
                 texts=bool(args.debtor))
    return 0


def clock_trust(data_dir, now: datetime):
    """The clock's trust at ``now`` as the service judges it: the system's synchronisation, and — while the
    service runs — the network time its modem gives and a confirmation by staff, read from the status it
    publishes (a plan made beside a running appliance must not call its clock untrusted because this command
    has no modem to ask)."""
    from firmware_py.status_file import parse_time, running_service
    from firmware_py.timekeeping import system_clock_trust

    network_now, staff = None, False
    service = running_service(data_dir, now=now)
    if service is not None and isinstance(service.data.get("clock"), dict):
        clock = service.data["clock"]
        network, written = parse_time(clock.get("network_time")), parse_time(service.data.get("written_at"))
        if network is not None and written is not None:
            network_now = network + (now - written)  # the network's time, carried to now
        staff = clock.get("source") == "staff" and clock.get("trusted") is True
    return system_clock_trust(now, network_now=network_now, confirmed_by_staff=staff)


def _print_table(decisions, snapshot, now, policy, *, everything: bool, texts: bool) -> None:
    from zoneinfo import ZoneInfo

    from scheduler.reasons import describe

    local_now = now.astimezone(ZoneInfo(policy.timezone))  # the office's time, as the table's
    counts = Counter(d.action for d in decisions)
    print(f"Plan para el {local_now:%d/%m/%Y %H:%M} (hora de {policy.timezone}): {counts['send']} para enviar, "
          f"{counts['wait']} en espera, {counts['skip']} omitidos.")
    if not policy.clock.trusted:
        print(f"Aviso: {policy.clock.detail}. Mientras tanto no se envía nada (use --at para simular una hora).")
    if policy.paused:
        print("Aviso: los envíos están en pausa.")
    reasons = Counter((d.action, d.reason) for d in decisions if d.action != "send")
    if reasons:
        print("Motivos:")
        for (action, reason), count in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0][0])):
            print(f"  {_ACTION[action]:<8} {count:>6}  {describe(reason)}")
    for action in ("send", "wait", "skip"):
        rows = [d for d in decisions if d.action == action]
        if not rows:
            continue
        print(f"\n{_TITLE[action]} ({len(rows)}):")
        print(f"  {'cuándo':<17} {'deudor':<24} {'crédito':<12} {'paso':<6} {'canal':<6} {'teléfono':<14} motivo")
        shown = rows if everything else rows[:SHOWN]
        for d in shown:
            debtor = snapshot.debtor(d.debtor_id)
            name = (debtor.name if debtor else d.debtor_id)[:24]
            print(f"  {d.at:%d/%m/%Y %H:%M} {name:<24} {d.loan[:12]:<12} {d.step or '-':<6} {d.channel or '-':<6} "
                  f"{d.phone or '-':<14} {describe(d.reason)}{' — ' + d.detail if d.detail else ''}")
            if texts and d.text:
                print(f"      «{d.text}»")
        if len(rows) > len(shown):
            print(f"  … y {len(rows) - len(shown)} más (use --all o --json para verlas todas).")


_ACTION = {"send": "enviar", "wait": "espera", "skip": "omitido"}
_TITLE = {"send": "Para enviar ahora", "wait": "En espera", "skip": "Omitidos"}
