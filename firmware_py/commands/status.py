"""``cobrador status [--json]``: is the service running, and how are the modem, the SIM, the queue, the clock,
the data and the disk.

While the service runs it holds the modem, so the command reads what the service publishes every 10 s in
``DATA/status.json`` (:mod:`firmware_py.status_file`); a file older than a minute, or none, means the
service is not running. The ledger's counts come from a read-only open (which works while the service
writes) and the disk space from the data folder itself. Exit status: 0 when the service runs, 3 when it
does not (as ``systemctl status``), 1 on an error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from firmware_py.cli import _, add_data_option, cli_language, existing_data_dir

NOT_RUNNING = 3


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("status", parents=[common],
                              help=_("muestra el estado del equipo: servicio, módem, envíos, reloj, datos y disco"),
                              description=_("Muestra si el servicio está funcionando y el estado del módem, la SIM, "
                                            "los envíos pendientes, el reloj, los datos y el espacio en disco. "
                                            "Termina con 3 si el servicio no está funcionando."))
    add_data_option(p)
    p.add_argument("--json", action="store_true", help=_("todo en JSON, para otros programas"))
    p.set_defaults(func=main)


def main(args: argparse.Namespace, config) -> int:
    from firmware_py.status_file import read_status

    config = config.with_overrides(data_dir=args.data)
    folder = existing_data_dir(config)
    published = read_status(folder)
    ledger_counts, ledger_error = _ledger_counts(folder)
    disk = _disk(folder)
    running = published is not None and published.running
    if args.json:
        json.dump({"data_dir": str(folder.resolve()),
                   "service": {"running": running,
                               "age_seconds": None if published is None or published.age == float("inf")
                               else round(published.age, 1),
                               "published": published.data if published is not None else None},
                   "ledger": ledger_counts, "ledger_error": ledger_error, "disk": disk},
                  sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
        return 0 if running else NOT_RUNNING
    zone = ZoneInfo(config.cooperative.timezone)
    for line in describe(published, ledger_counts, ledger_error, disk, zone=zone):
        print(line)
    return 0 if running else NOT_RUNNING


def _ledger_counts(folder: Path) -> tuple[dict | None, str | None]:
    from firmware_py.errors import CobradorError
    from firmware_py.ledger import Ledger

    if not (folder / "ledger").is_dir():
        return None, None
    try:
        with Ledger.open(folder, read_only=True) as ledger:
            return ledger.stats(), None
    except CobradorError as exc:
        return None, str(exc)


def _disk(folder: Path) -> dict | None:
    from firmware_py.status_file import free_space

    space = free_space(folder)
    if space is None:
        return None
    return {"path": str(folder.resolve()), "free_bytes": space[0], "total_bytes": space[1]}


def size(count: int) -> str:
    """A size in bytes for people: ``12,3 GB`` (Spanish decimal comma) or ``12.3 GB``."""
    value = float(count)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            break
        value /= 1000
    text = f"{value:.0f} {unit}" if unit in ("B", "kB") else f"{value:.1f} {unit}"
    return text if cli_language() == "en" else text.replace(".", ",")


def when(value, zone) -> str:
    """An ISO instant from the status file, in the cooperative's time zone."""
    from firmware_py.status_file import parse_time

    moment = parse_time(value)
    return moment.astimezone(zone).strftime("%d/%m/%Y %H:%M") if moment is not None else "?"


def modem_state(modem: dict | None) -> str:
    """The modem's state in words (the service's own Spanish detail follows it)."""
    if not modem:
        return _("sin datos")
    words = {"connected": _("conectado"), "starting": _("conectando"), "disconnected": _("sin comunicación"),
             "needs-attention": _("necesita atención"), "stopped": _("detenido")}
    state = words.get(modem.get("state"), str(modem.get("state")))
    where = _("módem simulado") if modem.get("simulated") else (modem.get("port") or "?")
    return f"{state} ({where})"


def describe(published, counts: dict | None, ledger_error: str | None, disk: dict | None, *, zone) -> list[str]:
    """The readable report, one line per subject."""
    lines = []
    if published is None:
        lines.append(_("Servicio: no está funcionando (no ha publicado ningún estado en esta carpeta de datos). "
                       "Arránquelo con «sudo systemctl start cobrador»."))
    elif not published.running:
        since = when(published.data.get("written_at"), zone)
        lines.append(_("Servicio: no está funcionando (su último estado es del {time}). Arránquelo con «sudo "
                       "systemctl start cobrador» y, si no arranca, vea «journalctl -u cobrador».")
                     .format(time=since))
    else:
        data = published.data
        lines.append(_("Servicio: funcionando (Cobrador {version}, proceso {pid}, desde el {since}; estado de hace "
                       "{age} s).").format(version=data.get("version", "?"), pid=data.get("pid", "?"),
                                           since=when(data.get("started_at"), zone), age=max(0, round(published.age))))
        lines += _running_lines(data, zone)
    if counts is not None:
        lines.append(_("Datos: {debtors} deudores, {loans} préstamos, {payments} pagos, {promises} promesas, "
                       "{contacts} contactos registrados.").format(**counts))
    elif ledger_error:
        lines.append(_("Datos: no se pudieron leer: {error}").format(error=ledger_error))
    else:
        lines.append(_("Datos: todavía no hay datos de cobranza (importe la lista de préstamos)."))
    if disk is not None:
        lines.append(_("Disco: {free} libres de {total} en {path}.")
                     .format(free=size(disk["free_bytes"]), total=size(disk["total_bytes"]), path=disk["path"]))
    return lines


def sim_health_lines(health: dict | None, zone) -> list[str]:
    """The prepaid balance and the SIM's alert (:mod:`firmware_py.sim_health`), when the service checked them."""
    if not health:
        return []
    lines = []
    balance = health.get("balance") or {}
    if balance.get("amount") is not None:
        shown = f"{balance.get('currency') or ''} {balance['amount']}".strip()
        lines.append(_("Saldo: {amount} (consultado el {time}){low}.")
                     .format(amount=shown, time=when(balance.get("at"), zone),
                             low=_(", BAJO") if health.get("low_balance") else ""))
    elif balance.get("raw"):
        lines.append(_("Saldo: respuesta del operador no entendida: «{text}».").format(text=balance["raw"][:160]))
    if balance.get("error") and balance.get("amount") is not None and balance.get("error_at"):
        lines.append(_("Saldo: la última consulta falló ({error}).").format(error=balance["error"]))
    elif balance.get("error") and not balance.get("raw"):
        lines.append(_("Saldo: no se pudo consultar ({error}).").format(error=balance["error"]))
    if health.get("alert"):
        lines.append(_("ALERTA: {alert}").format(alert=health["alert"]))
    return lines


def _running_lines(data: dict, zone) -> list[str]:
    lines = []
    modem = data.get("modem")
    detail = f" — {modem['detail']}" if modem and modem.get("detail") else ""
    lines.append(_("Módem: {state}").format(state=modem_state(modem)) + detail)
    sim = data.get("sim") or {}
    if sim:
        signal = sim.get("signal_dbm")
        lines.append(_("SIM: operador {operator}, señal {signal}.")
                     .format(operator=sim.get("operator") or _("ninguno (sin registrar en la red)"),
                             signal=f"{signal} dBm" if signal is not None else _("desconocida")))
    lines += sim_health_lines(data.get("sim_health"), zone)
    if data.get("sending_paused"):
        lines.append(_("Envíos: EN PAUSA (reanúdelos con «cobrador resume» o desde la página web)."))
    queue = data.get("queue")
    if queue:
        lines.append(_("Cola: {due} para enviar ahora, {waiting} en espera (calculado el {time}).")
                     .format(due=queue.get("due_now", 0), waiting=queue.get("waiting", 0),
                             time=when(queue.get("planned_at"), zone)))
    last = data.get("last_send")
    if last:
        kinds = {"sent": _("enviado"), "failed": _("fallido"), "uncertain": _("incierto"),
                 "retry": _("se reintentará")}
        lines.append(_("Último envío: {time} ({outcome}).")
                     .format(time=when(last.get("at"), zone), outcome=kinds.get(last.get("kind"), last.get("kind"))))
    else:
        lines.append(_("Último envío: ninguno en el último mes."))
    clock = data.get("clock")
    if clock:
        if clock.get("trusted"):
            lines.append(_("Reloj: confiable ({detail}).").format(detail=clock.get("detail", "")))
        else:
            lines.append(_("Reloj: NO confiable ({detail}); no se envía nada hasta que la red móvil o el personal "
                           "confirmen la hora.").format(detail=clock.get("detail", "")))
    return lines
