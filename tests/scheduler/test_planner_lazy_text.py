"""A wait's text is rendered when it is first read, and reads exactly as if it had been rendered at once."""

from __future__ import annotations

import pickle
from dataclasses import replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from firmware_py.ledger.results import LedgerSnapshot
from scheduler.clock import ClockTrust
from scheduler.model import Debtor, Instalment, Loan, Phone, Settings
from scheduler.planner import SEND, WAIT, Decision, plan
from scheduler.policy import load_policy
from scheduler.reasons import Reason

BOGOTA = ZoneInfo("America/Bogota")
NOW = datetime(2026, 12, 15, 10, tzinfo=BOGOTA)  # Tuesday, both loans due today


def _plan():
    debtor = Debtor("d-1", "Ana Pérez", phones=(Phone("+573001234567"),))
    loans = tuple(Loan(lid, "d-1", instalments=(Instalment(1, date(2026, 12, 15), Decimal(amount)),))
                  for lid, amount in (("L1", 150000), ("L2", 80000)))
    snapshot = LedgerSnapshot(seq=1, debtors=(debtor,), loans=loans, payments=(), promises=(), opted_out=frozenset(),
                              settings=Settings({}), contacts=())
    policy = load_policy({"rules": {"profile": "CO"}, "segments": [{"name": "todos", "ladder": "al_dia"}]},
                         cooperative_name="Coop Esperanza", clock=ClockTrust(True, "given"))
    return plan(snapshot, policy, NOW)


def test_a_waits_text_is_rendered_when_read():
    send, wait = sorted(_plan(), key=lambda d: d.action != SEND)
    assert (send.action, wait.action, wait.reason) == (SEND, WAIT, Reason.DAILY_CAP)
    assert isinstance(send._text, str)  # a send's text is ready for the radio
    assert not isinstance(wait._text, str)  # not rendered yet
    assert wait.text == ("Coop Esperanza: Ana, hoy vence su cuota 1/1 de $ 80.000. Medios de pago: la oficina. "
                         "Si ya pago, gracias.")  # transliterated: ó costs a UCS-2 SMS
    assert isinstance(wait._text, str) and wait.text is wait.text  # rendered once, then kept


def test_a_lazy_text_compares_copies_and_serialises_as_the_text():
    lazy = _plan()[1]
    eager = Decision(*(getattr(lazy, name) for name in ("contact_id", "debtor_id", "loan", "instalment", "step",
                                                         "channel", "phone", "template")),
                     "Coop Esperanza: Ana, hoy vence su cuota 1/1 de $ 80.000. Medios de pago: la oficina. "
                     "Si ya pago, gracias.", lazy.at, lazy.action, lazy.reason, lazy.segment, lazy.detail)
    assert _plan()[1] == eager and hash(_plan()[1]) == hash(eager) and repr(_plan()[1]) == repr(eager)
    assert _plan()[1].to_dict() == eager.to_dict()
    assert pickle.loads(pickle.dumps(_plan()[1])) == eager
    assert replace(_plan()[1], at=lazy.at + timedelta(hours=1)).text == eager.text
    assert replace(_plan()[1], text="otro").text == "otro"
    assert list(eager.to_dict()) == ["contact_id", "loan", "instalment", "step", "channel", "phone", "template",
                                     "text", "at", "action", "reason", "segment", "detail", "debtor", "reason_text"]
