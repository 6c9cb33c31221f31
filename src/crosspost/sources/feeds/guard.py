"""Where a feed fetch may connect, and for how long: enforced under httpx, on the socket.

A feed's URL is written in the config, but where it redirects is chosen by whoever runs the
blog, and a redirect to ``http://169.254.169.254/`` (a cloud's metadata service) or to a
loopback admin page would make the daemon fetch it. So every connection a fetch makes is
checked after DNS resolution, against the kinds of address the fetch may reach: public
addresses always, and a loopback, private, link-local or multicast address only when the
feed's own configured URL is one of that kind (a blog on the local network stays usable).
The check runs at connect time, on the address actually dialled, so a name that resolves
differently the second time gains nothing.

httpx's timeouts are per read: a server that sends one byte a second never trips them. The
streams here clamp every read and write to what is left of one deadline for the whole
fetch, headers included.

The policy is per thread: each feed poll runs in its own worker thread (see `scheduler`).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import typing
from dataclasses import dataclass

import httpcore
from httpcore._backends.sync import SyncBackend, SyncStream

_LOCAL = threading.local()


class BlockedAddress(httpcore.ConnectError):
    """The fetch would connect to an address of a kind it may not reach."""


@dataclass(frozen=True)
class Policy:
    allowed: frozenset[str]  # kinds of address, see `kind_of`
    deadline: float  # time.monotonic() after which nothing more is read


def kind_of(address: str) -> str:
    """ "public", "loopback", "private", "link-local", "multicast" or "reserved"."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback or ip.is_unspecified:  # 0.0.0.0 reaches this machine too
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private or ip in ipaddress.ip_network("100.64.0.0/10"):
        return "private"
    if ip.is_reserved or not ip.is_global:
        return "reserved"
    return "public"


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (an IP literal resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]")).compressed]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def policy_for(host: str, port: int, seconds: float) -> Policy:
    """Public addresses, plus the kinds the configured URL's own host resolves to."""
    try:
        kinds = {kind_of(address) for address in resolve(host, port)}
    except OSError:
        kinds = set()  # the fetch will fail to resolve it too, and say so
    return Policy(frozenset({"public"} | kinds), time.monotonic() + seconds)


def use(policy: Policy | None) -> None:
    _LOCAL.policy = policy


def check(host: str, port: int) -> list[str]:
    """The addresses of `host` this thread's fetch may dial; BlockedAddress if none."""
    policy: Policy | None = getattr(_LOCAL, "policy", None)
    addresses = resolve(host, port)
    if policy is None:
        return addresses
    allowed = [a for a in addresses if kind_of(a) in policy.allowed]
    if not allowed:
        kinds = ", ".join(sorted({kind_of(a) for a in addresses}))
        raise BlockedAddress(
            f"{host} is a {kinds} address, which this feed may not reach (only its own "
            "configured host's kind of address, or public ones)"
        )
    return allowed


def expired() -> bool:
    """Whether this thread's fetch has run out of time."""
    policy: Policy | None = getattr(_LOCAL, "policy", None)
    return policy is not None and time.monotonic() >= policy.deadline - 0.05


def _remaining(timeout: float | None) -> float | None:
    policy: Policy | None = getattr(_LOCAL, "policy", None)
    if policy is None:
        return timeout
    left = policy.deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the fetch's deadline passed")
    return left if timeout is None else min(timeout, left)


class GuardedStream(SyncStream):
    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return super().read(max_bytes, _remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        super().write(buffer, _remaining(timeout))

    def start_tls(
        self,
        ssl_context: typing.Any,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        secured = super().start_tls(ssl_context, server_hostname, _remaining(timeout))
        return GuardedStream(secured._sock)  # type: ignore[attr-defined]


class GuardedBackend(SyncBackend):
    """Dials only addresses the thread's policy allows, and returns deadline-bound streams."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = check(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        stream = super().connect_tcp(
            addresses[0], port, _remaining(timeout), local_address, socket_options
        )
        return GuardedStream(stream._sock)  # type: ignore[attr-defined]
