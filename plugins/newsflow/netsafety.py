"""Address safety for fetching: refuse destinations on loopback, private, link-local and other internal ranges.

Checked on every redirect hop, on IP literals and again after DNS resolution (so DNS rebinding cannot slip through).
"""

from __future__ import annotations

import ipaddress
import os
import socket

import idna
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver


class RefusedAddress(Exception):
    """The destination resolves to an address newsflow must not reach."""

    def __init__(self, host: str, address: str, why: str):
        super().__init__(f"{host} resolves to {address} ({why})")
        self.host, self.address, self.why = host, address, why


def address_problem(address: str) -> str | None:
    """Why an IP address is off limits, or None when it is an ordinary public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private or (isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10")):
        return "private"
    if not ip.is_global:
        return "not global"
    return None


def allowed_private(settings_hosts: list[str] | None = None) -> frozenset[str]:
    """HOST:PORT pairs that may be private (the demo site, test servers), from settings and the environment."""
    from newsflow.config import ConfigError, host_port_problem

    env = os.environ.get("NEWSFLOW_ALLOW_PRIVATE_HOSTS", "")
    items = [h.strip().lower() for h in env.split(",") if h.strip()]
    # as the sources file's entries are checked: a typo must not leave the host refused in silence
    for item in items:
        problem = host_port_problem(item)
        if problem:
            raise ConfigError(f"NEWSFLOW_ALLOW_PRIVATE_HOSTS={env!r}: {problem} (HOST:PORT,HOST:PORT)")
    items += [h.strip().lower() for h in settings_hosts or []]
    return frozenset(items)


def host_refusal(host: str, port: int, allowed: frozenset[str], resolve: bool = True) -> str | None:
    """Why a fetch of HOST:PORT would be refused (`loopback`, `private`, ...), or None; for `newsflow check`, which
    reports what a run would do without fetching. A name that does not resolve is None: a run may resolve it."""
    try:
        check_ip_literal(host, port, allowed)
    except RefusedAddress as refused:
        return refused.why
    if _is_ip(host) or not resolve or f"{host.lower()}:{port}" in allowed:
        return None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    for *_, sockaddr in infos:
        address = str(sockaddr[0])
        if f"{address}:{port}" not in allowed and (why := address_problem(address)):
            return why
    return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        return False


def check_ip_literal(host: str, port: int, allowed: frozenset[str]) -> None:
    """aiohttp skips the resolver for IP literals, so those are checked here before connecting, as aiohttp connects
    to them: yarl encodes a host outside ASCII with IDNA's UTS 46 mapping, which makes full-width digits
    (１２７.０.０.１, a redirect's or a feed's) the IP literal 127.0.0.1."""
    bare = host.strip("[]")
    if not bare.isascii():
        try:
            bare = idna.encode(bare, uts46=True).decode("ascii")
        except UnicodeError:  # no host aiohttp could connect to
            return
    if not _is_ip(bare) or f"{host.lower()}:{port}" in allowed or f"{bare}:{port}" in allowed:
        return
    why = address_problem(bare)
    if why:
        raise RefusedAddress(host, bare, why)


class SafeResolver(AbstractResolver):
    """Resolves names, then refuses the whole name if any address is internal (unless HOST:PORT is allowed)."""

    def __init__(self, allowed: frozenset[str]):
        self._inner = ThreadedResolver()
        self._allowed = allowed

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        if f"{host.lower()}:{port}" in self._allowed:
            return results
        for result in results:
            if f"{result['host']}:{port}" in self._allowed:
                continue
            why = address_problem(result["host"])
            if why:
                raise RefusedAddress(host, result["host"], why)
        return results

    async def close(self) -> None:
        await self._inner.close()
