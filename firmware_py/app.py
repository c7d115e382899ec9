"""The appliance: wiring and lifecycle.

``Appliance(config)`` owns every long-lived part (data directory, modem or
simulated modem, web server) and is a context manager: leaving the ``with``
block, SIGTERM or Ctrl-C stop everything in reverse order. ``close()`` is safe
to call twice.
"""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

from waitress.server import create_server

from firmware_py import __version__
from firmware_py.config import Config
from firmware_py.errors import CobradorError

log = logging.getLogger("cobrador.app")


class Appliance:
    """The running Cobrador box.

    ``simulate`` forces the built-in simulated modem; ``demo`` loads the demo
    dataset into an empty ledger (only together with the simulated modem).
    """

    def __init__(self, config: Config, *, simulate: bool = False, demo: bool = False):
        self.config = config
        self.simulate = simulate
        self.demo = demo
        self.data_dir = Path(config.data_dir)
        self._server = None
        self._closed = False

    # -- lifecycle -----------------------------------------------------------
    def __enter__(self) -> "Appliance":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        """Prepare the data directory and the web server (does not block)."""
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CobradorError(f"No se puede crear el directorio de datos {self.data_dir}: {exc.strerror}.") from exc
        from webui import create_app

        app = create_app(self.services())
        try:
            self._server = create_server(app, host=self.config.web.host, port=self.config.web.port, threads=4)
        except OSError as exc:
            raise CobradorError(
                f"No se puede abrir la página web en {self.config.web.host}:{self.config.web.port}: {exc.strerror}. "
                "¿Hay otro Cobrador funcionando? Pruebe con --port."
            ) from exc
        log.info("cobrador %s started; data in %s", __version__, self.data_dir.resolve())

    @property
    def url(self) -> str:
        host = self.config.web.host
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        port = self._server.effective_port if self._server else self.config.web.port
        return f"http://{shown}:{port}/"

    def services(self) -> dict:
        """The objects the web UI works through (see ``webui.create_app``)."""
        return {"version": __version__, "data_dir": str(self.data_dir), "simulated_modem": self.simulate}

    def serve_forever(self) -> None:
        """Serve the web UI until SIGTERM/SIGINT or :meth:`stop`."""
        if self._server is None:
            self.start()
        if threading.current_thread() is threading.main_thread():
            # waitress's loop ends cleanly on SystemExit/KeyboardInterrupt raised in the main thread.
            signal.signal(signal.SIGTERM, _raise_system_exit)
        print(f"Cobrador está funcionando: abra {self.url} en el navegador (Ctrl-C para salir).", flush=True)
        self._server.run()
        log.info("stopping")

    def close(self) -> None:
        """Stop every part; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._server is not None:
            self._server.close()
        log.info("cobrador stopped")


def _raise_system_exit(signum, frame):
    raise SystemExit(0)
