"""The domain: who owes what, who is contacted, when, how, and what replies mean.

- ``scheduler.model``: the appliance's vocabulary as plain dataclasses
  (debtor, phone, loan, instalment, payment, promise, contact, reply).
- ``rules``, ``ladder``, ``planner`` (pure), ``templates``, ``dispatcher``,
  ``replies``, ``clock``: the reminder engine (later issues).

May use ``modem`` (the PDU planner, the radio's interface); never
``firmware_py``, ``webui`` or TinyDB files.
"""
