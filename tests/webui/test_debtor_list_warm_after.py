"""The appliance warms the debtor list once its dispatcher has started (``services.extra["warm_after"]``): not
before (the dispatcher's recovery reads the contact log at start, and systemd's READY waits for it), and at once
after; a request still builds the list itself meanwhile."""

from __future__ import annotations

import threading
import time

from scheduler.model import Debtor, Phone, debtor_id_for
from webui import create_app
from webui.services import Services

from conftest import NOW


def test_the_list_is_warmed_once_the_engine_runs(ledger):
    ledger.import_batch([Debtor(debtor_id_for(str(10_000_000 + n)), f"Deudor {n}", str(10_000_000 + n),
                                (Phone(f"+57300{n:07d}"),)) for n in range(3)], [], source="t")
    engine_up = threading.Event()
    services = Services(ledger=ledger, cooperative="Cooperativa", version="test", now=lambda: NOW,
                        extra={"warm_after": engine_up})
    app = create_app(services)  # not testing: as the appliance starts it
    warmer = app.extensions["cobrador.debtors.warmer"]
    index = app.extensions["cobrador.debtors.index"]
    try:
        time.sleep(0.6)
        assert index.builds == 0  # the engine is still starting
        engine_up.set()
        deadline = time.monotonic() + 10
        while index.builds == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert index.builds == 1 and index.recomputed == 3
    finally:
        warmer.stop()
