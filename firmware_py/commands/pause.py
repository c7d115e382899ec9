"""``cobrador pause`` and ``cobrador resume``: stop or restart every send (the ledger setting ``sending_paused``,
the same switch as the web page's and the panel button's).

The running service holds the ledger (one writer at a time), so when it runs the command leaves a request in
``DATA/control/`` (:mod:`firmware_py.control`) and waits up to :data:`WAIT` seconds for the service to apply
it (it also wakes the dispatcher). When no one holds the ledger the command opens it and sets the setting
itself; the service reads it when it starts. Either way the user is told which happened.
"""

from __future__ import annotations

import argparse

from firmware_py.cli import _, add_data_option, existing_data_dir
from firmware_py.errors import CobradorError

WAIT = 10.0


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("pause", parents=[common], help=_("pone en pausa todos los envíos"),
                              description=_("Pone en pausa todos los envíos (SMS y llamadas) hasta «cobrador "
                                            "resume». Funciona con el servicio en marcha o detenido."))
    add_data_option(p)
    p.set_defaults(func=main, paused=True)
    p = subparsers.add_parser("resume", parents=[common], help=_("reanuda los envíos en pausa"),
                              description=_("Reanuda los envíos puestos en pausa. Funciona con el servicio en "
                                            "marcha o detenido."))
    add_data_option(p)
    p.set_defaults(func=main, paused=False)


def main(args: argparse.Namespace, config) -> int:
    config = config.with_overrides(data_dir=args.data)
    return set_paused(existing_data_dir(config), args.paused)


def set_paused(folder, paused: bool, *, wait: float = WAIT) -> int:
    """Pause (``paused``) or resume sending in the data folder ``folder``; prints what happened."""
    from firmware_py import control
    from firmware_py.errors import LedgerLocked
    from firmware_py.ledger import Ledger

    try:
        ledger = Ledger.open(folder)
    except LedgerLocked:
        return _ask_the_service(folder, paused, wait)
    with ledger:
        ledger.settings.set("sending_paused", paused)
    for name in (control.PAUSE, control.RESUME):   # an older wish left for the service is superseded
        control.withdraw(folder, name)
    control.give_to_owner(folder / "ledger", folder)
    if paused:
        print(_("Envíos en pausa. El servicio no está funcionando: se guardó directamente en los datos y seguirán "
                "en pausa cuando arranque."))
    else:
        print(_("Envíos reanudados. El servicio no está funcionando: se guardó directamente en los datos y enviará "
                "cuando arranque."))
    return 0


def _ask_the_service(folder, paused: bool, wait: float) -> int:
    from firmware_py import control

    name = control.PAUSE if paused else control.RESUME
    try:
        request_id = control.write_request(folder, name)
    except OSError as exc:
        raise CobradorError(_("No se pudo dejar la solicitud al servicio en {folder} ({error}). Use el mismo usuario "
                              "que el servicio (sudo -u cobrador cobrador …) o sudo.")
                            .format(folder=control.control_dir(folder), error=exc.strerror or exc)) from None
    answer = control.wait_answer(folder, name, request_id, timeout=wait)
    if answer is None:
        print(_("El servicio no respondió en {seconds:.0f} s. La solicitud queda pendiente y se aplicará en cuanto "
                "el servicio la lea (o cuando vuelva a arrancar). Compruebe su estado con «cobrador status».")
              .format(seconds=wait))
        return 1
    if not answer.get("ok"):
        raise CobradorError(_("El servicio no pudo aplicar la solicitud: {message}")
                            .format(message=answer.get("message", "?")))
    if paused:
        print(_("Envíos en pausa: el servicio en funcionamiento aplicó la solicitud."))
    else:
        print(_("Envíos reanudados: el servicio en funcionamiento aplicó la solicitud y enviará lo pendiente."))
    return 0
