"""Properties of the driver end to end (through the simulator's pty): what a debtor gets is what we sent,
what a debtor sends is what we hand over — for any text, any part order."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _driver_support import EventLog, make_modem, wait_until
from modem.events import IncomingSms
from modem.pdu import plan
from modem.simulator import Simulator

SPANISH = "abcdefghijklmnñopqrstuvwxyzáéíóúüÁÉÍÓÚÑ¿¡ 0123456789.,;:$%/-()€@\n"
TEXTS = st.one_of(
    st.text(alphabet=SPANISH, min_size=1, max_size=400),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=200),
)


def test_any_text_reaches_the_phone_unchanged():
    with tempfile.TemporaryDirectory() as tmp, Simulator("generic", link=Path(tmp) / "tty", boot_time=0.05) as sim, \
            make_modem(sim, "generic") as modem:
        counter = iter(range(10**6))

        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        @given(TEXTS)
        def check(text):
            number = f"+5730000{next(counter):05d}"
            segments = plan(text).segments
            sent = modem.send_sms(number, text)
            assert sent.state == "sent"
            assert sent.segments == len(sent.parts) == plan(text).segments
            assert len({p.mr for p in sent.parts}) == len(sent.parts)
            phone = sim.network.phone(number)
            wait_until(lambda: phone.received, 5)
            assert [r.text for r in phone.received] == [text]
            assert "".join(s.text for s in sim.network.submitted[-segments:]) == text

        check()


def test_any_text_any_order_is_handed_over_whole():
    with tempfile.TemporaryDirectory() as tmp, Simulator("generic", link=Path(tmp) / "tty", boot_time=0.05) as sim, \
            make_modem(sim, "generic") as modem:
        log = EventLog(modem.events)
        counter = iter(range(10**6))

        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
        @given(TEXTS, st.randoms(use_true_random=False))
        def check(text, rnd):
            sender = f"+5731100{next(counter):05d}"
            segments = plan(text).segments
            order = list(range(1, segments + 1))
            rnd.shuffle(order)
            sim.network.phone(sender).send(text, parts_order=order)
            sms = log.wait(lambda e: isinstance(e, IncomingSms) and e.sender == sender, timeout=5)
            assert sms.text == text and sms.complete and sms.parts_total == segments
            assert sms.ack()

        check()
        assert sim.storage == []
