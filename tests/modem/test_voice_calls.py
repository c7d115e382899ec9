"""Voice calls end to end: our driver dials the simulator through a real pty, for every profile.

Every outcome (answered with duration and keys, busy, no answer, rejected,
unreachable, failed with its cause or the modem's error), the ring reminder,
inbound calls, an SMS received during a call, a send never interleaved with a
call, and a modem unplugged mid-call. The call-URC parsers are checked with
hypothesis (garbled lines never raise).
"""

from __future__ import annotations

import threading
import time

import pytest
from hypothesis import given, settings, strategies as st

from _driver_support import PROFILE_NAMES, EventLog, make_modem, wait_until
from modem.events import IncomingCall, IncomingSms, ModemStateChanged
from modem.simulator import Simulator
from modem.simulator.calls import CallScript
from modem.voice.call_urcs import KEYS, Signal, parse, parse_cause_text, parse_clcc_list
from modem.voice.calls import OUTCOMES, CallResult, check_number
from modem.voice.watch import outcome_of

ANSWERS, BUSY, SILENT, REJECTS, OFF, UNASSIGNED, HANGS_UP = (
    "+573100000001", "+573100000002", "+573100000003", "+573100000004", "+573100000005",
    "+573100000006", "+573100000007")

SCRIPTS = {
    ANSWERS: CallScript(answer_after=0.3, digits=(("1", 0.1), ("#", 0.2))),
    BUSY: CallScript(busy=True),
    SILENT: CallScript(no_answer=True),
    REJECTS: CallScript(reject=True, reject_after=0.3),
    OFF: CallScript(off=True),
    UNASSIGNED: CallScript(fail_cause=1),
    HANGS_UP: CallScript(answer_after=0.2, hang_up_after=1.2),   # longer than a generic modem's poll
}


@pytest.fixture(scope="module", params=PROFILE_NAMES)
def profile(request):
    return request.param


@pytest.fixture(scope="module")
def sim(profile, tmp_path_factory):
    with Simulator(profile, link=tmp_path_factory.mktemp(profile) / "ttyGSM", boot_time=0.05) as simulator:
        simulator.network.call_setup_delay = 0.1
        simulator.network.no_answer_after = 1.0
        for number, script in SCRIPTS.items():
            simulator.network.phone(number).script = script
        yield simulator


@pytest.fixture(scope="module")
def modem(sim, profile):
    with make_modem(sim, profile) as m:
        yield m


@pytest.fixture
def log(modem):
    while not modem.events.empty():
        modem.events.get_nowait()
    return EventLog(modem.events)


def last_record(sim, number):
    return sim.network.phone(number).calls[-1]


# -- every outcome on every profile --------------------------------------------------------
def test_answered_call_has_its_duration_and_keys(modem, sim, profile):
    result = modem.call(ANSWERS, call_id="c-1", ring_timeout=5.0, listen_after=0.6)
    assert isinstance(result, CallResult)
    assert (result.outcome, result.call_id, result.number) == ("answered", "c-1", ANSWERS)
    assert 0.2 <= result.ring_seconds <= 0.9
    assert 0.5 <= result.talk_seconds <= 1.6
    # the generic modem has no key detection (nothing to report); the others report what was pressed
    assert result.digits == ("" if profile == "generic" else "1#")
    record = last_record(sim, ANSWERS)
    assert record.outcome == "answered" and abs(record.talk - result.talk_seconds) < 0.6
    assert abs(result.started - time.time()) < 10


def test_answered_call_hung_up_by_the_person(modem, sim, profile):
    result = modem.call(HANGS_UP, ring_timeout=5.0, listen_after=3.0)
    assert result.outcome == "answered"
    assert 0.6 <= result.talk_seconds <= 2.0, result        # ended by them at 1.2 s, not by our 3 s
    assert last_record(sim, HANGS_UP).outcome == "answered"


@pytest.mark.parametrize("number, outcome, cause", [
    (BUSY, "busy", 17),
    (SILENT, "no_answer", 19),
    (REJECTS, "rejected", 21),
    (OFF, "unreachable", 20),
    (UNASSIGNED, "failed", 1),
])
def test_unanswered_outcomes(modem, sim, profile, number, outcome, cause):
    result = modem.call(number, call_id="c-2", ring_timeout=5.0)
    assert (result.outcome, result.cause) == (outcome, cause), result
    assert result.talk_seconds == 0.0 and result.digits == ""
    assert result.detail
    if outcome in ("busy", "unreachable", "failed"):
        assert result.ring_seconds == 0.0
    if outcome == "no_answer":
        assert 0.7 <= result.ring_seconds <= 1.6


def test_we_hang_up_after_the_ring_time(modem, sim, profile):
    started = time.monotonic()
    result = modem.call(SILENT, ring_timeout=0.5)
    assert result.outcome == "no_answer" and result.detail == "hung up while it rang"
    assert 0.4 <= result.ring_seconds <= 1.0 and time.monotonic() - started < 2.5
    assert last_record(sim, SILENT).outcome == "hung_up_by_modem"


def test_modem_error_on_dial_is_failed_with_the_code(modem, sim, profile):
    sim.fail_next("ATD", "+CME ERROR: 30")
    result = modem.call(ANSWERS)
    assert result.outcome == "failed" and "30" in result.detail and result.ring_seconds == 0.0


# -- the ring reminder ("llamada perdida") ------------------------------------------------------
def test_ring_reminder_rings_and_hangs_up_before_an_answer(modem, sim, profile):
    number = "+573100000010"
    sim.network.phone(number).script = CallScript(answer_after=5.0)       # would answer at 5 s
    result = modem.ring(number, seconds=0.6, call_id="r-1")
    assert (result.outcome, result.call_id) == ("rang", "r-1")
    assert 0.5 <= result.ring_seconds <= 1.2 and result.talk_seconds == 0.0
    record = last_record(sim, number)
    assert record.outcome == "hung_up_by_modem" and record.talk == 0.0 and 0.4 <= record.rang <= 1.2


@pytest.mark.parametrize("number, outcome", [(BUSY, "busy"), (OFF, "unreachable"), (REJECTS, "rejected"),
                                             (SILENT, "rang")])
def test_ring_reminder_outcomes(modem, sim, profile, number, outcome):
    assert modem.ring(number, seconds=0.6).outcome == outcome


def test_ring_reminder_picked_up_in_time_is_hung_up_at_once(modem, sim, profile):
    number = "+573100000011"
    sim.network.phone(number).script = CallScript(answer_after=0.2)
    result = modem.ring(number, seconds=3.0)
    assert result.outcome == "answered" and result.talk_seconds < 1.0
    assert last_record(sim, number).outcome == "answered"


# -- inbound calls ----------------------------------------------------------------------------------
def test_inbound_call_is_rejected_and_reported(modem, sim, profile, log):
    caller = "+573100000020"
    assert sim.network.call_in(caller, ring_for=5.0)
    event = log.wait(lambda e: isinstance(e, IncomingCall))
    assert (event.number, event.action) == (caller, "rejected")
    wait_until(lambda: sim.network.phone(caller).calls)
    record = last_record(sim, caller)
    assert record.outcome == "rejected" and record.rang < 1.5


def test_inbound_call_answered_when_configured(modem, sim, profile, log):
    caller = "+573100000021"
    modem.voice.incoming_calls, modem.voice.incoming_hold = "answer", 0.3
    try:
        sim.network.call_in(caller, ring_for=5.0)
        event = log.wait(lambda e: isinstance(e, IncomingCall))
        assert (event.number, event.action) == (caller, "answered")
        wait_until(lambda: sim.network.phone(caller).calls)
        assert last_record(sim, caller).outcome == "answered" and 0.2 <= last_record(sim, caller).talk < 1.5
    finally:
        modem.voice.incoming_calls = "reject"


def test_inbound_call_left_ringing_is_reported_once(modem, sim, profile, log):
    caller = "+573100000022"
    modem.voice.incoming_calls = "ignore"
    sim.network.ring_interval = 0.2
    try:
        sim.network.call_in(caller, ring_for=1.0)
        wait_until(lambda: sim.network.phone(caller).calls, 3.0)         # it rang out: the caller gave up
        time.sleep(0.2)
        events = log.of(IncomingCall)
        assert [(e.number, e.action) for e in events][:1] == [(caller, "ignored")]
        assert [e.action for e in events].count("ignored") == 1, events
        assert last_record(sim, caller).outcome == "missed"
    finally:
        modem.voice.incoming_calls = "reject"
        sim.network.ring_interval = 3.0


def test_sms_received_during_a_call(modem, sim, profile, log):
    number = "+573100000030"
    sim.network.phone(number).script = CallScript(answer_after=0.2)
    result = {}
    caller = threading.Thread(target=lambda: result.update(r=modem.call(number, listen_after=1.0)))
    caller.start()
    wait_until(lambda: sim.device.connected_call() is not None)
    sim.network.phone("+573100000031").send("Ya pagué la cuota")
    sms = log.wait(lambda e: isinstance(e, IncomingSms))
    assert sim.device.connected_call() is not None          # it arrived while the call was up
    assert sms.text == "Ya pagué la cuota" and sms.ack()
    caller.join(10)
    assert result["r"].outcome == "answered"


def test_a_send_never_interleaves_with_a_call(modem, sim, profile):
    number = "+573100000032"
    sim.network.phone(number).script = CallScript(answer_after=0.2)
    done = {}

    def place():
        done["call"] = modem.call(number, listen_after=0.8)
        done["call_end"] = time.monotonic()

    caller = threading.Thread(target=place)
    caller.start()
    wait_until(lambda: sim.device.connected_call() is not None)
    sent = modem.send_sms("+573100000033", "Recordatorio de cuota")      # waits for the call to end
    sent_at = time.monotonic()
    caller.join(10)
    assert sent.state == "sent" and done["call"].outcome == "answered"
    assert sent_at >= done["call_end"] - 0.05
    commands = sim.commands
    atd = max(i for i, c in enumerate(commands) if c.startswith(f"ATD{number}"))
    hangup = next(i for i, c in enumerate(commands) if i > atd and c in ("ATH", "AT+CHUP"))
    cmgs = next(i for i, c in enumerate(commands) if i > atd and c.startswith("AT+CMGS"))
    assert cmgs > hangup


def test_bad_numbers_are_refused_before_dialling(modem, sim):
    before = len(sim.commands)
    for bad in ("", "12", "+57 300 123", "abc", "+5730012345678901234567", 573001234567):
        with pytest.raises(ValueError):
            modem.call(bad)
    assert not any(c.startswith("ATD") for c in sim.commands[before:])
    assert check_number(" +573001234567 ") == "+573001234567"


# -- a modem that drops mid-call --------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("profile_name", ["sim800", "quectel-ec25"])
def test_unplugged_mid_call_is_failed_with_detail_and_the_modem_comes_back(profile_name, tmp_path):
    with Simulator(profile_name, link=tmp_path / "ttyGSM", boot_time=0.05) as sim:
        sim.network.call_setup_delay = 0.1
        number = "+573100000040"
        sim.network.phone(number).script = CallScript(answer_after=0.2)
        with make_modem(sim, profile_name) as m:
            log = EventLog(m.events)
            result = {}
            caller = threading.Thread(target=lambda: result.update(r=m.call(number, listen_after=10.0)))
            caller.start()
            wait_until(lambda: sim.device.connected_call() is not None)
            sim.unplug()
            time.sleep(0.3)
            sim.replug()
            caller.join(10)
            r = result["r"]
            assert r.outcome == "failed" and "disconnected" in r.detail, r
            assert sum(1 for c in sim.commands if c.startswith("ATD")) == 1       # never redialled
            log.wait(lambda e: isinstance(e, ModemStateChanged) and e.state == "reinitialised", 10)
            sim.network.phone(number).script = CallScript(busy=True)
            assert m.call(number).outcome == "busy"                               # calls work again


def test_no_modem_no_dial(tmp_path):
    from modem.errors import ModemDisconnected
    with Simulator("generic", link=tmp_path / "ttyGSM", boot_time=0.05) as sim:
        m = make_modem(sim, "generic")
        m.open()
        m.close()
        with pytest.raises(ModemDisconnected):
            m.call("+573001234567")


# -- parsers: every style, and garbage never raises -------------------------------------------------
@pytest.mark.parametrize("name, value, expected", [
    ("+CLCC", '1,0,3,0,0,"+573001",145,""', Signal("alerting", 1, "out", "+573001")),
    ("+CLCC", '2,1,4,0,0,"3001234567",129', Signal("incoming", 2, "in", "3001234567")),
    ("^DSCI", '1,0,0,0,"+573001",145', Signal("connected", 1, "out", "+573001")),
    ("^ORIG", "1,0", Signal("dialing", 1, "out")),
    ("^CONF", "1", Signal("alerting", 1, "out")),
    ("^CONN", "1,0", Signal("connected", 1)),
    ("^CEND", "1,12,104,16", Signal("ended", 1, cause=16, duration=12.0)),
    ("VOICE CALL", "BEGIN", Signal("connected")),
    ("VOICE CALL", "END: 000125", Signal("ended", duration=85.0)),
    ("MO RING", "", Signal("alerting", direction="out")),
    ("MO CONNECTED", "", Signal("connected", direction="out")),
    ("BUSY", "", Signal("result", word="BUSY")),
    ("RING", "", Signal("incoming", direction="in")),
    ("+CLIP", '"+573009",145,"",0,"",0', Signal("incoming", direction="in", number="+573009")),
    ("MISSED_CALL", "09:12AM +573009", Signal("missed", direction="in", number="+573009")),
    ("+DTMF", "5,160", Signal("key", key="5")),
    ("^DTMF", "1,#", Signal("key", 1, key="#")),
    ("+RXDTMF", "*", Signal("key", key="*")),
    ("+QTONEDET", "49", Signal("key", key="1")),
    ("+QTONEDET", "1400", None),
    ("+CLCC", '1,0,9,0,0', None),
    ("^CEND", "x,y", None),
])
def test_parser_table(name, value, expected):
    assert parse(name, value) == ([expected] if expected else [])


NAMES = st.sampled_from(["+CLCC", "^DSCI", "^ORIG", "^CONF", "^CONN", "^CEND", "VOICE CALL", "MO RING",
                         "MO CONNECTED", "BUSY", "NO CARRIER", "RING", "+CRING", "+CLIP", "+CCWA", "MISSED_CALL",
                         "+DTMF", "^DTMF", "+RXDTMF", "+QTONEDET", "+CSQ", ""])


@settings(max_examples=400, deadline=None)
@given(NAMES, st.text(max_size=80))
def test_garbled_call_lines_never_raise(name, value):
    for signal in parse(name, value):
        assert signal.kind in ("dialing", "alerting", "connected", "ended", "result", "incoming", "waiting",
                               "missed", "key")
        assert signal.key is None or signal.key in KEYS
        assert signal.number is None or signal.number.lstrip("+").replace("*", "").replace("#", "").isdigit()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=5))
def test_garbled_lists_and_ceer_never_raise(lines):
    parse_clcc_list(lines)
    parse_clcc_list(["+CLCC:" + line for line in lines])
    cause = parse_cause_text(["+CEER: " + line for line in lines])
    assert cause is None or 0 < cause < 128


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 3), st.integers(0, 1), st.integers(0, 7), st.sampled_from(["", '"+573001234567"', '"300"']),
       st.booleans())
def test_well_formed_clcc_lines_always_parse(index, direction, stat, number, alpha):
    line = f"{index},{direction},{stat},0,0" + (f",{number},145" if number else "") + (',""' if alpha else "")
    (signal,) = parse("+CLCC", line)
    assert signal.index == index and signal.direction == ("out" if direction == 0 else "in")
    assert signal.number == (number.strip('"') if number else None)


def test_ceer_forms():
    assert parse_cause_text(['+CEER: "CC INFO","User busy"']) == 17
    assert parse_cause_text(["+CEER: Call rejected"]) == 21
    assert parse_cause_text(["+CEER: 18"]) == 18
    assert parse_cause_text(["+CEER: No cause information available"]) is None


def test_outcome_table():
    def o(**kw):
        facts = dict(connected=False, alerted=False, cause=None, word=None, we_hung_up=False, ring_mode=False)
        facts.update(kw)
        return outcome_of(**facts)[0]
    assert o(connected=True) == "answered"
    assert o(word="BUSY") == "busy" and o(cause=17) == "busy"
    assert o(word="NO ANSWER") == "no_answer" and o(cause=19, ring_mode=True) == "rang"
    assert o(alerted=True, word="NO CARRIER") == "rejected" and o(cause=21) == "rejected"
    assert o(word="NO CARRIER") == "unreachable" and o(cause=20) == "unreachable" and o(cause=18) == "unreachable"
    assert o(cause=1) == "failed" and o(word="NO DIALTONE") == "failed"
    assert o(we_hung_up=True, alerted=True, ring_mode=True) == "rang"
    assert set(OUTCOMES) == {"answered", "busy", "no_answer", "rejected", "unreachable", "failed", "rang"}


# -- a message played with the audio layer's real player ----------------------------------------------
@pytest.mark.slow
def test_answered_call_plays_the_message_then_listens_for_keys(tmp_path):
    from modem.voice.audio import AudioClip
    from modem.voice.playback import player_for
    with Simulator("quectel-ec25", link=tmp_path / "ttyGSM", boot_time=0.05) as sim:
        sim.network.call_setup_delay = 0.05
        number = "+573100000060"
        sim.network.phone(number).script = CallScript(answer_after=0.2, digits=(("9", 1.0),))
        with make_modem(sim, "quectel-ec25") as m:
            result = m.call(number, call_id="c-60", message=AudioClip.silence(0.6),
                            player=player_for("quectel-ec25"), repeat=2, listen_after=0.5)
        assert result.outcome == "answered" and result.played_seconds == pytest.approx(1.2, abs=0.1)
        assert result.digits == "9"                                   # pressed while the message played
        assert result.talk_seconds >= result.played_seconds + 0.4
        commands = sim.commands
        atd = next(i for i, c in enumerate(commands) if c.startswith("ATD"))
        assert any(c.startswith("AT+QFUPL") for c in commands[:atd])  # uploaded before dialling
        assert sum(1 for c in commands[atd:] if c.startswith("AT+QPSND=1")) == 2
