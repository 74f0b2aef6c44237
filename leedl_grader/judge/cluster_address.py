"""The scheduler's address: which ones leedl reaches, and how.

A Dask worker runs whatever it is sent (as root, for the strict sandbox), so a scheduler off this
machine is reached over TLS only, configured through Dask's own settings; plain TCP only on this
machine. Everything here is decided before anything is written.
"""

from __future__ import annotations

import ipaddress

from .. import extras


class DistributedError(Exception):
    """A user-facing problem with the cluster (address, TLS, no worker able to grade)."""


def check(scheduler: str) -> None:
    """Refuse, before anything is written, what :func:`connect` would refuse."""
    require_dask()
    if scheduler != "local":
        security_for(scheduler)


def require_dask() -> None:
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise DistributedError(f"--scheduler needs Dask: {extras.command('dask')}") from None


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def security_for(address: str):
    """Dask's ``Security`` for ``address``; refuses plain TCP to anything but this machine."""
    from distributed import Security
    from distributed.comm import parse_address, parse_host_port

    scheme, rest = parse_address(address)
    try:
        host, _ = parse_host_port(rest, default_port=8786)
    except (ValueError, TypeError):
        raise DistributedError(f"{address!r} is not a scheduler address (e.g. tls://host:8786)") from None
    if scheme not in ("tcp", "tls"):
        raise DistributedError(f"{address!r}: leedl reaches a scheduler over tls:// (or tcp:// on this machine)")
    if scheme == "tcp":
        if not _loopback(host):
            raise DistributedError(
                f"refusing plain tcp:// to {host}: a Dask worker runs whatever it is sent, so a scheduler "
                f"off this machine must be reached over tls:// with certificates (Dask's "
                f"distributed.comm.tls settings; see the README)")
        return Security()
    security = Security(require_encryption=True)
    missing = [name for name, value in (("ca-file", security.tls_ca_file), ("client.cert", security.tls_client_cert))
               if not value]
    if missing:
        raise DistributedError(
            "tls:// needs Dask's TLS settings, missing here: "
            + ", ".join(f"distributed.comm.tls.{m}" for m in missing)
            + " (in ~/.config/dask/*.yaml or DASK_DISTRIBUTED__COMM__TLS__* variables; see the README)")
    return security
