"""The panel on the box: status LEDs and a button, through gpiozero.

A ``Panel`` takes a ``pin_factory`` so tests use gpiozero's ``MockFactory``.
Imports nothing else of Cobrador's; gpiozero itself is imported only when a
:class:`~hardware.panel.Panel` opens its pins, so :class:`~hardware.panel.NullPanel`
works anywhere. Wiring, parts and the LED meanings: ``hardware/README.md``.
"""

from hardware.panel import ALERT_BLINKS, NullPanel, Panel, PanelPins, PanelState

__all__ = ["ALERT_BLINKS", "NullPanel", "Panel", "PanelPins", "PanelState"]
