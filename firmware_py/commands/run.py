"""``cobrador run``: start the appliance and serve the web UI until stopped."""

from __future__ import annotations

import argparse

from firmware_py.cli import _, add_data_option, port_number


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("run", parents=[common], help=_("arranca el equipo y sirve la página web"),
                              description=_("Arranca Cobrador: módem (o el simulado), planificador y página web."))
    add_data_option(p)
    p.add_argument("--simulate", action="store_true",
                   help=_("usar el módem simulado aunque haya un módem conectado"))
    p.add_argument("--demo", action="store_true",
                   help=_("cargar datos de demostración si el registro está vacío (solo con el módem simulado)"))
    p.add_argument("--host", metavar=_("DIRECCIÓN"), default=None,
                   help=_("dirección donde escuchar (por defecto 127.0.0.1)"))
    p.add_argument("--port", metavar="N", type=port_number, default=None, help=_("puerto HTTP (por defecto 8080)"))
    p.set_defaults(func=main, daemon=True)  # logs at INFO (config log_level) by default


def main(args: argparse.Namespace, config) -> int:
    from firmware_py.memory import FreeMemoryReturner, return_large_blocks

    return_large_blocks()  # before anything large is allocated: freed big blocks are not kept resident
    returner = FreeMemoryReturner().start()  # and the heaps' free pages given back every few seconds
    from firmware_py.app import Appliance

    config = config.with_overrides(data_dir=args.data, host=args.host, port=args.port)
    try:
        with Appliance(config, simulate=args.simulate, demo=args.demo) as appliance:
            appliance.serve_forever()
    finally:
        returner.stop()
    return 0
