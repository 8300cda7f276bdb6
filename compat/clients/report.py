"""The result lines every Python client check prints, in one place: `ok - LABEL (time)`
or `not ok - LABEL` followed by the end of the traceback, indented; compat/run.sh
counts them. A check is any callable: an exception (an assertion or the client's own
error) fails it, and the run goes on with the next.
"""

import sys
import time
import traceback


class Report:
    """Runs checks, prints their lines, and counts the failures."""

    def __init__(self):
        self.failures = 0

    def run(self, label, fn, *args, timed=True, traceback_lines=12):
        started = time.monotonic()
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - any failure is reported, not raised
            self.failures += 1
            print(f"not ok - {label}")
            for line in traceback.format_exc().splitlines()[-traceback_lines:]:
                print(f"    {line}")
        else:
            took = f" ({time.monotonic() - started:.2f}s)" if timed else ""
            print(f"ok - {label}{took}")
        sys.stdout.flush()

    def status(self):
        """The exit status: 1 if any check failed."""
        return 1 if self.failures else 0


def eq(got, want, what=""):
    """Asserts equality, saying what differs."""
    prefix = f"{what}: " if what else ""
    assert got == want, f"{prefix}got {got!r}, want {want!r}"
