"""A virtual GSM modem on a pseudo-terminal plus a virtual network of phones.

It is "the hardware" for every modem test and what ``cobrador run`` uses
when no modem is plugged in. Any AT client (our driver, python-gsmmodem,
gammu, minicom) opens :attr:`Simulator.port` and talks real AT commands and
real PDUs; tests script the network and faults through the control API::

    from modem.simulator import Simulator

    with Simulator("sim800", latency=0.1, link="/tmp/ttyGSM") as sim:
        phone = sim.network.phone("+573001234567")
        phone.outcome = "delivered"          # failed | late | never | pending
        ...                                  # a client sends an SMS through sim.port
        sim.network.submitted[-1].text       # the decoded SMS-SUBMIT
        phone.send("SALDO")                  # an SMS from the phone to the modem
        sim.fail_next("AT+CMGS", "+CMS ERROR: 500")
        sim.reboot(); sim.hang(2.0); sim.unplug(); sim.replug()
        sim.set_signal(5); sim.set_registration(2); sim.fill_storage()

Modules: :mod:`.pty_link` (the pty and its symlink), :mod:`.atline` (command
line syntax), :mod:`.device` (the interpreter), :mod:`.handlers` (the
command table, by area), :mod:`.inbox` (routing per AT+CNMI), :mod:`.storage`,
:mod:`.network` (phones, SMSC, reports, USSD, time), :mod:`.persona`
(profile + simulator-only facts), :mod:`.simulator` (thread, timers, control
API), :mod:`.wire` (a dumb raw AT client for tests and debugging),
``python -m modem.simulator`` (the CLI).

Not simulated (on purpose, for now): SMS text mode (``AT+CMGF=1`` answers
``+CMS ERROR: 303``), voice calls (:mod:`.handlers.voice` is where they go),
numeric result codes (``ATV0``), cell broadcast, phonebook entries. (Two traps
real modems set *are* simulated: SIM800's ``AT+CLTS=1`` applies only after
``AT&W`` and a restart, and an unacknowledged ``+CMT`` switches routing off and
comes back later as a stored message.) Bytes the modem prints while no client holds the port open wait
in the pty (a USB modem would drop them): clients should flush input after
opening, as real drivers do.
"""

from modem.simulator.network import OUTCOMES, ReceivedSms, Submission, VirtualNetwork, VirtualPhone
from modem.simulator.persona import PROFILE_NAMES, Persona, persona_for
from modem.simulator.simulator import Simulator
from modem.simulator.storage import StoredMessage

__all__ = [
    "OUTCOMES", "PROFILE_NAMES", "Persona", "ReceivedSms", "Simulator", "StoredMessage", "Submission",
    "VirtualNetwork", "VirtualPhone", "persona_for",
]
