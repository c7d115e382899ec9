"""The panel on the box: status LEDs and a button, through gpiozero.

A ``Panel`` takes a ``pin_factory`` so tests use gpiozero's ``MockFactory``.
Imports nothing else of Cobrador's.
"""
