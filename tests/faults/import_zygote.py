"""Forks real ``cobrador import`` processes for tests/faults/test_kill_storm.py.

    python tests/faults/import_zygote.py

imports the appliance once, prints ``{"zygote": <pid>}``, then reads one JSON line per import to run
(``{"file": CSV, "data": DIR, "out": FILE}``), forks a process that runs ``cobrador import CSV --data DIR
--json`` (``firmware_py.cli.main``, exactly what the command runs; stdout to FILE, stderr to FILE.err),
prints ``{"pid": <pid>}``, waits for it and prints ``{"exit": <pid>, "status": <wait status>}``.

Same scheme as tests/e2e/dispatch_child.py's ``--zygote``: a forked process is as real as an exec'ed one
(SIGKILL and all) and starts in milliseconds instead of the second and more Python takes to import the
appliance, so a hundred kills fit in CI. The JSON report on stdout is the import's acknowledgement: it is
printed only after the batch is durable.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def zygote() -> int:
    from firmware_py.cli import main
    import firmware_py.importer, firmware_py.ledger  # noqa: F401,E401 (warm every module the import uses)

    print(json.dumps({"zygote": os.getpid()}), flush=True)
    for line in sys.stdin:
        order = json.loads(line)
        pid = os.fork()
        if pid == 0:                           # the importing process
            code = 1
            try:
                with open(order["out"], "w") as out, open(order["out"] + ".err", "w") as err:
                    os.dup2(out.fileno(), 1)
                    os.dup2(err.fileno(), 2)
                    sys.stdout = os.fdopen(1, "w", buffering=1)
                    sys.stderr = os.fdopen(2, "w", buffering=1)
                    code = main(["import", order["file"], "--data", order["data"], "--json"])
            except BaseException:
                import traceback
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({"exit": pid, "status": status}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(zygote())
