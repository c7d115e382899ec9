"""``cobrador clock restore`` and ``cobrador clock apply``: the two root one-shots that may set the system clock
(:mod:`firmware_py.clockkeeper`).

- ``restore`` runs at boot before the service (``cobrador-clock-restore.service``): when the clock is behind
  the last known time the service saved (``DATA/clock.json``) it is moved forward to it — never backwards.
  Restored time is a floor, not a trusted time: nothing is sent on it.
- ``apply`` runs when the service asks for a correction from the mobile network's time
  (``DATA/clock-request.json``, watched by ``cobrador-clock.path``): the request is checked (fresh, same
  boot, not before the last known time, a plausible step) and applied. No request waiting is not an error
  (the path unit also fires when the request is removed).

Both need to be root (CAP_SYS_TIME); the service itself runs with ``ProtectClock=yes``.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from firmware_py.cli import Choice, _, add_data_option
from firmware_py.errors import CobradorError


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("clock",   # no common options here: each action has them (after its name)
                              help=_("reloj del equipo: restaurar al arrancar o aplicar la hora de la red (como root)"),
                              description=_("Ajustes del reloj que hace el sistema como root (unidades "
                                            "cobrador-clock-restore.service y cobrador-clock.path); normalmente no "
                                            "hace falta ejecutarlos a mano."))
    actions = p.add_subparsers(dest="clock_action", metavar=_("ACCIÓN"), title=_("acciones"))
    actions.type = Choice   # a mistyped action is shown as typed
    actions.required = True
    restore = actions.add_parser(Choice("restore"), parents=[common],
                                 help=_("adelanta el reloj a la última hora conocida si va por detrás"),
                                 description=_("Al arrancar: si el reloj va por detrás de la última hora que guardó "
                                               "Cobrador, lo adelanta a esa hora (nunca lo atrasa)."))
    add_data_option(restore)
    restore.set_defaults(func=main)
    apply = actions.add_parser(Choice("apply"), parents=[common],
                               help=_("aplica la hora de la red que pidió el servicio"),
                               description=_("Aplica la hora de la red móvil que pidió el servicio, después de "
                                             "comprobar que la solicitud es reciente y razonable."))
    add_data_option(apply)
    apply.set_defaults(func=main)


def main(args: argparse.Namespace, config, *, setter=None, now: datetime | None = None) -> int:
    """``setter(moment)`` sets the system clock (default :func:`firmware_py.clockkeeper.set_system_clock`;
    tests give their own)."""
    from firmware_py import clockkeeper

    setter = setter or clockkeeper.set_system_clock
    config = config.with_overrides(data_dir=args.data)
    folder = config.data_dir
    zone = ZoneInfo(config.cooperative.timezone)
    now = now or datetime.now(timezone.utc)
    if args.clock_action == "restore":
        return _restore(folder, now, setter, zone)
    return _apply(folder, now, setter, zone)


def _shown(moment: datetime, zone) -> str:
    return f"{moment.astimezone(zone):%d/%m/%Y %H:%M:%S}"


def _restore(folder, now: datetime, setter, zone) -> int:
    from firmware_py.clockkeeper import ClockKeeper, restore

    try:
        moved = restore(folder, now=now, setter=setter)
    except PermissionError:
        raise CobradorError(_("No se pudo adelantar el reloj: hace falta ser root («sudo cobrador clock "
                              "restore»).")) from None
    if moved is not None:
        print(_("El reloj marcaba {before}, antes de la última hora conocida: se adelantó a {after}. Esa hora no "
                "se usa para enviar hasta que la red móvil o el personal la confirmen.")
              .format(before=_shown(now, zone), after=_shown(moved, zone)))
        return 0
    known = ClockKeeper(folder).last_known()
    if known is None:
        print(_("No hay ninguna hora guardada todavía; el reloj no se cambió."))
    else:
        print(_("El reloj no va por detrás de la última hora conocida ({known}); no se cambió.")
              .format(known=_shown(known, zone)))
    return 0


def _apply(folder, now: datetime, setter, zone) -> int:
    from firmware_py.clockkeeper import REQUEST_FILE, ClockError, apply_request

    if not (folder / REQUEST_FILE).exists():
        print(_("No hay ninguna solicitud de hora pendiente; nada que hacer."))
        return 0
    try:
        target = apply_request(folder, now=now, setter=setter)
    except ClockError as exc:
        raise CobradorError(str(exc)) from None
    except PermissionError:
        raise CobradorError(_("No se pudo poner el reloj en hora: hace falta ser root («sudo cobrador clock "
                              "apply»). La solicitud se descartó; el servicio la repetirá.")) from None
    print(_("Reloj puesto a la hora de la red móvil: {time}.").format(time=_shown(target, zone)))
    return 0
