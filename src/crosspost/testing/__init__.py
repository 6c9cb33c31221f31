"""Test helpers shipped with crosspost, for its own tests and for every adapter's.

`ScriptedHTTPServer` is a real HTTP server on 127.0.0.1: adapters are tested through their
real HTTP code against it (mock at the socket, not inside the code). `FaultPlan` makes it fail
the requests that publish, by seeded probability or by ordinal, in each way a network does,
and its `Ledger` keeps what it accepted, so a test can compare what the network holds with
what crosspost believes. It binds only to the loopback interface and is never used by the
daemon.
"""

from crosspost.testing.faults import KINDS, Accepted, FaultPlan, Ledger
from crosspost.testing.server import CLOSE, RESET, Answer, ScriptedHTTPServer

__all__ = [
    "CLOSE",
    "KINDS",
    "RESET",
    "Accepted",
    "Answer",
    "FaultPlan",
    "Ledger",
    "ScriptedHTTPServer",
]
