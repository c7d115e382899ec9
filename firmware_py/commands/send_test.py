"""``cobrador send-test NUMBER [--text TEXT]``: one SMS now, to see that the modem, the SIM and the operator work.

The number is read as the import reads it (:func:`firmware_py.importer.parsing.parse_phone`, with the
cooperative's country: ``300 123 4567`` or ``+57 300 123 4567``). The modem belongs to the service while it
runs, so the command refuses then (and says how to stop it); ``--simulate`` uses the built-in simulated
modem instead and works at any time. It prints the outcome — sent with the operator's message reference,
failed with the modem's error in Spanish, or uncertain — then waits up to ``--wait`` seconds (60) for the
delivery report. Exit status 0 when the message went out (and was not reported undeliverable), else 1.
"""

from __future__ import annotations

import argparse
import queue
import time

from firmware_py.cli import _, add_data_option, positive_number
from firmware_py.errors import CobradorError

WAIT = 60
DEFAULT_TEXT = "Prueba de Cobrador: si recibe este mensaje, el modem del equipo envia bien. No hace falta responder."
"""The test message: for the person who receives it, so in Spanish whatever the command's language; without
accents, so it fits in one GSM-7 SMS."""


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("send-test", parents=[common], help=_("envía un SMS de prueba ahora"),
                              description=_("Envía un SMS de prueba por el módem y espera el aviso de entrega. El "
                                            "servicio debe estar detenido (tiene el módem); con --simulate se usa el "
                                            "módem simulado."))
    p.add_argument("number", metavar=_("NÚMERO"),
                   help=_("teléfono de destino, como en la lista de préstamos (300 123 4567) o con el código del país "
                          "(+57 300 123 4567)"))
    p.add_argument("--text", metavar=_("TEXTO"), default=None, help=_("texto del mensaje (por defecto uno de prueba)"))
    p.add_argument("--simulate", action="store_true", help=_("enviar por el módem simulado"))
    p.add_argument("--wait", metavar=_("SEGUNDOS"), type=positive_number, default=WAIT,
                   help=_("cuánto esperar el aviso de entrega (por defecto 60 s)"))
    add_data_option(p)
    p.set_defaults(func=main)


def main(args: argparse.Namespace, config, *, simulator=None) -> int:
    """``simulator``: a running :class:`modem.simulator.Simulator` to send through (tests script its network)."""
    from firmware_py.commands.doctor import ModemSession
    from firmware_py.status_file import running_service

    config = config.with_overrides(data_dir=args.data)
    number = normalise(args.number, config.cooperative.country)
    simulate = args.simulate or simulator is not None
    if not simulate and running_service(config.data_dir) is not None:
        raise CobradorError(_("El servicio Cobrador está funcionando y tiene el módem. Deténgalo («sudo systemctl stop "
                              "cobrador»), pruebe de nuevo y arránquelo después («sudo systemctl start cobrador»); "
                              "con --simulate se prueba el módem simulado sin detenerlo."))
    text = args.text if args.text is not None else DEFAULT_TEXT
    if not text.strip():
        raise CobradorError(_("El texto del mensaje está vacío."))
    with ModemSession(config, simulate=simulate, simulator=simulator) as session:
        return send_and_report(session.modem, number, text, wait=args.wait)


def normalise(number: str, country: str) -> str:
    """``number`` in E.164 (``+573001234567``), read with the cooperative's country; CobradorError if invalid."""
    from firmware_py.importer.parsing import ParseError, parse_phone

    try:
        parsed = parse_phone(number, country)
    except ParseError as exc:
        raise CobradorError(_("Número inválido «{number}» ({reason}). Escríbalo como en la lista de préstamos (por "
                              "ejemplo 300 123 4567) o con el código del país (+57 300 123 4567).")
                            .format(number=number, reason=exc)) from None
    if not parsed.mobile:
        print(_("Aviso: {number} es un teléfono fijo; puede que no reciba SMS.").format(number=parsed.e164))
    return parsed.e164


def send_and_report(modem, number: str, text: str, *, wait: float = WAIT) -> int:
    """Send ``text`` to ``number`` through an open ``modem``, print the outcome and wait for the report."""
    from modem.errors import ModemError, PduError

    print(_("Enviando a {number}…").format(number=number), flush=True)
    try:
        sent = modem.send_sms(number, text)
    except PduError as exc:
        raise CobradorError(_("Ese texto o ese número no se pueden enviar por SMS ({error}).").format(error=exc)) \
            from None
    except ModemError as exc:
        raise CobradorError(_("No se envió nada: {reason}. Puede volver a intentarlo.")
                            .format(reason=modem_error(exc))) from None
    if sent.state == "failed":
        print(_("✗ No se envió: {reason}.").format(reason=modem_error(sent.error)))
        return 1
    if sent.state == "uncertain":
        print(_("? Resultado incierto: el módem no confirmó si el mensaje salió ({reason}). Pregunte al destinatario "
                "antes de volver a intentarlo.").format(reason=modem_error(sent.error)))
        return 1
    print(_("✓ Enviado: el operador aceptó el mensaje (referencia {reference}).")
          .format(reference=", ".join(str(r) for r in sent.references)), flush=True)
    print(_("Esperando el aviso de entrega (hasta {seconds} s)…").format(seconds=int(wait)), flush=True)
    state = wait_report(modem, sent.message_id, wait)
    if state == "delivered":
        print(_("✓ Entregado al teléfono."))
        return 0
    if state == "failed":
        print(_("✗ El operador no pudo entregarlo: el número no existe, está bloqueado o no recibe SMS."))
        return 1
    if state == "expired":
        print(_("✗ El operador dejó de intentarlo sin entregarlo (teléfono apagado o sin señal mucho tiempo)."))
        return 1
    print(_("Sin aviso de entrega en {seconds} s: el teléfono puede estar apagado o sin señal (el operador sigue "
            "intentándolo), o el operador no envía avisos de entrega.").format(seconds=int(wait)))
    return 0


def wait_report(modem, message_id: str, wait: float) -> str | None:
    """The final delivery state of ``message_id`` (delivered / failed / expired), or None within ``wait`` s."""
    from modem.events import DeliveryUpdate

    deadline = time.monotonic() + wait
    told_pending = False
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            event = modem.events.get(timeout=min(remaining, 1.0))
        except queue.Empty:
            continue
        if not isinstance(event, DeliveryUpdate) or event.message_id != message_id:
            continue
        if event.final:
            return event.state
        if event.state == "pending" and not told_pending:
            told_pending = True
            print(_("El operador todavía intenta entregarlo…"), flush=True)


def modem_error(exc) -> str:
    """The modem's error in Spanish words, with its code for the technician."""
    from modem.errors import CmeError, CmsError, CommandError, CommandTimeout, ModemDisconnected

    if isinstance(exc, CommandTimeout):
        return _("el módem no respondió a tiempo")
    if isinstance(exc, ModemDisconnected):
        return _("se perdió la comunicación con el módem")
    if isinstance(exc, CmsError):
        reason = CMS_REASONS.get(exc.code)
    elif isinstance(exc, CmeError):
        reason = CME_REASONS.get(exc.code)
    else:
        reason = None
    if isinstance(exc, CommandError):
        code = f"{exc.kind} {exc.code}" if exc.code is not None else exc.kind
        words = reason() if reason else _("error del módem")
        return f"{words} ({code})"
    return _("error del módem ({error})").format(error=exc)


# Each a function, so the words follow the command's language when they are used.
CMS_REASONS = {
    1: lambda: _("el número no existe"),
    8: lambda: _("el operador no permite este envío"),
    10: lambda: _("envío bloqueado por el operador"),
    21: lambda: _("el operador rechazó el mensaje"),
    27: lambda: _("el destino no está disponible"),
    28: lambda: _("número desconocido para la red"),
    29: lambda: _("el operador rechazó el mensaje"),
    38: lambda: _("la red no funciona en este momento"),
    41: lambda: _("falla temporal de la red"),
    42: lambda: _("la red está congestionada"),
    47: lambda: _("la red no tiene recursos en este momento"),
    50: lambda: _("la línea no tiene el servicio de SMS"),
    69: lambda: _("el operador no ofrece este servicio"),
    96: lambda: _("el número de destino no es válido"),
    304: lambda: _("el módem no aceptó el formato del mensaje"),
    305: lambda: _("el módem no aceptó el texto del mensaje"),
    310: lambda: _("no hay SIM en el módem"),
    311: lambda: _("la SIM pide el PIN"),
    313: lambda: _("falla de la SIM"),
    322: lambda: _("la memoria de mensajes del módem está llena"),
    330: lambda: _("la SIM no tiene número de centro de mensajes (SMSC)"),
    331: lambda: _("sin servicio de red"),
    332: lambda: _("la red no respondió a tiempo"),
    500: lambda: _("error desconocido del módem"),
}
CME_REASONS = {
    10: lambda: _("no hay SIM en el módem"),
    11: lambda: _("la SIM pide el PIN"),
    13: lambda: _("falla de la SIM"),
    30: lambda: _("sin servicio de red"),
    31: lambda: _("la red no respondió a tiempo"),
}
