"""``python -m firmware_py`` is the same as the ``cobrador`` command."""

from firmware_py.cli import main

raise SystemExit(main())
