"""Reaches out over the network, every route in one run, each to its own listener the test
opened on the host: TCP to loopback (Python's socket, libc, and Python with the hook off),
UDP (Python, libc), a DNS query (to the test's UDP port, and a real lookup with the hook
off), Unix sockets (abstract and by path, from libc), and — on a Dask cluster — the
scheduler, to run a function on a worker outside the sandbox."""

from __future__ import annotations

import json
import socket
from typing import Any

from tweeling.sdk import Context, Inputs, Outputs

from . import tricks


def _py_tcp(port: int, route: str) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
        return conn.send(route.encode())


def _py_udp(port: int, payload: bytes) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        return sock.sendto(payload, ("127.0.0.1", port))


def _dask(address: str, drop: str) -> str:
    from distributed import Client

    def escape(path: str) -> str:
        with open(path, "w") as handle:
            handle.write("written by a Dask task a sandboxed app submitted")
        return path

    with Client(address, timeout=3) as client:
        return str(client.submit(escape, drop, pure=False).result(timeout=5))


def run(inputs: Inputs, parameters: dict[str, Any], context: Context) -> Outputs:
    plan = json.loads(parameters["plan"])
    tcp, udp, unix = plan["tcp"], plan["udp"], plan["unix"]
    journal = tricks.Journal()
    journal.attempt("py-tcp", lambda: _py_tcp(tcp["py-tcp"], "py-tcp"))
    journal.attempt("libc-tcp", lambda: tricks.libc_connect("127.0.0.1", tcp["libc-tcp"], b"libc"))
    journal.attempt("py-udp", lambda: _py_udp(udp["py-udp"], b"py-udp"))
    journal.attempt("libc-udp", lambda: tricks.libc_sendto("127.0.0.1", udp["libc-udp"], b"libc"))
    query = tricks.dns_query(f"hostile-{plan['marker']}.example")
    journal.attempt("dns-udp", lambda: tricks.libc_sendto("127.0.0.1", udp["dns-udp"], query))
    journal.attempt(
        "unix-abstract", lambda: tricks.libc_unix_connect(b"\0" + unix["abstract"].encode(), b"x")
    )
    journal.attempt("unix-path", lambda: tricks.libc_unix_connect(unix["path"].encode(), b"x"))

    def with_hook_off() -> str:
        with tricks.disarmed("gc"):
            _py_tcp(tcp["disarmed-tcp"], "disarmed-tcp")
            return str(socket.getaddrinfo(f"hostile-{plan['marker']}.example", 80))

    journal.attempt("disarmed-tcp", with_hook_off)
    if plan.get("scheduler"):
        journal.attempt("dask-scheduler", lambda: _dask(plan["scheduler"], plan["drop"]))
    out = Outputs()
    out.indicator("loot", journal.text())
    return out
