"""``cobrador run``: start the appliance and serve the web UI until stopped."""

from __future__ import annotations

import argparse

from firmware_py.cli import add_data_option


def register(subparsers, common: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser("run", parents=[common], help="arranca el equipo y sirve la página web",
                              description="Arranca Cobrador: módem (o el simulado), planificador y página web.")
    add_data_option(p)
    p.add_argument("--simulate", action="store_true",
                   help="usar el módem simulado aunque haya un módem conectado")
    p.add_argument("--demo", action="store_true",
                   help="cargar datos de demostración si el registro está vacío (solo con el módem simulado)")
    p.add_argument("--host", metavar="ADDR", default=None, help="dirección donde escuchar (por defecto 127.0.0.1)")
    p.add_argument("--port", metavar="N", type=int, default=None, help="puerto HTTP (por defecto 8080)")
    p.set_defaults(func=main, daemon=True)  # logs at INFO (config log_level) by default


def main(args: argparse.Namespace, config) -> int:
    from firmware_py.app import Appliance

    config = config.with_overrides(data_dir=args.data, host=args.host, port=args.port)
    with Appliance(config, simulate=args.simulate, demo=args.demo) as appliance:
        appliance.serve_forever()
    return 0
