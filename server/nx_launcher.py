"""Start the embedded nx-27017 server with a fix for one of its bugs.

nx-27017 0.8.1 passes a datetime given to `$set` on an existing document straight to SQLite,
which stores its str() ("2026-11-23 02:00:00"), so the field stops being a date and every range
query on it silently misses; a boolean likewise comes back as 0 or 1. Dates inside sub-documents and inserted documents are stored right.
We patch the three places in its update translator to encode both the way it encodes
sub-documents. CityGate's code stays plain MongoDB; tests/test_datastore_conformance.py checks
the behaviour, and this launcher warns (and runs unpatched) if the package's code has moved on.
"""

from __future__ import annotations

import importlib
import inspect
import sys

BUGGY = "isinstance(converted_val, (dict, list))"
FIXED = "isinstance(converted_val, (dict, list, bool, __import__('datetime').datetime))"


def patch_datetime_set() -> bool:
    module = importlib.import_module("neosqlite.collection.query_helper._sql_updates")
    source = inspect.getsource(module)
    if source.count(BUGGY) == 0:
        return False
    namespace = dict(vars(module))
    exec(compile(source.replace(BUGGY, FIXED), module.__file__, "exec"), namespace)  # noqa: S102
    fixed_class, live_class = namespace["SqlUpdatesMixin"], module.SqlUpdatesMixin
    # Classes built on the mixin already hold the original class object: mend its methods in place.
    for name, member in vars(fixed_class).items():
        if inspect.isfunction(member):
            member.__globals__.update({k: v for k, v in vars(module).items() if k not in member.__globals__})
            setattr(live_class, name, member)
    return True


def main() -> int:
    if not patch_datetime_set():
        print("nx_launcher: nx-27017's update code changed; running it unpatched", file=sys.stderr)
    from nx_27017.nx_27017 import main as nx_main

    sys.argv[0] = "nx-27017"
    return nx_main() or 0


if __name__ == "__main__":
    sys.exit(main())
