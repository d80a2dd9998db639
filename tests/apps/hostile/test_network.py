"""A hostile app reaching out over the network, each route to its own listener this test
holds on the host (TCP and UDP on loopback, Unix sockets abstract and by path), and on a Dask
cluster to the scheduler, to run a task outside the sandbox. Judged by the listeners: did any
connection or datagram arrive; and by the file the Dask task would write."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest

from .conftest import Attack, Target
from .observe import Listeners

TCP = ("py-tcp", "libc-tcp", "disarmed-tcp")
UDP = ("py-udp", "libc-udp", "dns-udp")
NET_ROUTES = (*TCP, *UDP, "unix-abstract", "unix-path")


@pytest.fixture(scope="module")
def network_attack(
    target: Target, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Attack, dict[str, bytes], Path]:
    marker = uuid.uuid4().hex[:10]
    folder = tmp_path_factory.mktemp("listeners")
    listeners = Listeners(folder, marker, TCP, UDP)
    drop = folder / f"dask-escape-{marker}"
    try:
        attack = target.attack(
            "network",
            "all",
            marker=marker,
            tcp=listeners.ports(socket.SOCK_STREAM),
            udp=listeners.ports(socket.SOCK_DGRAM),
            unix={"abstract": listeners.abstract, "path": listeners.path},
            scheduler=target.scheduler,
            drop=str(drop),
        )
        reached = listeners.reached()
    finally:
        listeners.close()
    return attack, reached, drop


@pytest.mark.parametrize("route", NET_ROUTES)
def test_nothing_arrives_from_the_sandbox(
    network_attack: tuple[Attack, dict[str, bytes], Path], route: str
) -> None:
    _, reached, _ = network_attack
    assert route not in reached, f"route {route} got through: {reached[route]!r}"


def test_the_dask_scheduler_is_out_of_reach(
    network_attack: tuple[Attack, dict[str, bytes], Path], target: Target
) -> None:
    if target.scheduler is None:
        pytest.skip("only a Dask cluster has a scheduler to reach")
    _, _, drop = network_attack
    assert not drop.exists(), "a task submitted from inside the sandbox ran on a Dask worker"


def test_a_socket_is_reported_as_a_violation(
    network_attack: tuple[Attack, dict[str, bytes], Path],
) -> None:
    attack, _, _ = network_attack
    assert attack.record.status == "sandbox-violation", attack.record.message
    assert "network" in (attack.record.message or "")
