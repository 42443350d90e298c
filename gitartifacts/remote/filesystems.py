"""fsspec file systems for remotes and references, with bounded request timeouts.

Credentials never come from here: s3fs and gcsfs find them in the environment and the usual
AWS and gcloud configuration.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from gitartifacts.remote.urls import EXTRAS, check_options, missing_extra
from gitartifacts.settings import gcs_endpoint, network_timeout

# Per request; the stall watchdog (see watchdog.py) bounds a whole step.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
S3_CONFIG = {
    "retries": {"max_attempts": 3, "mode": "standard"},
    "max_pool_connections": 32,
}
PROBE_TIMEOUT = 5.0


def filesystem(
    protocol: str,
    options: Mapping[str, Any] | None = None,
    *,
    version_aware: bool = False,
    timeout: float | None = None,
    kind: str = "remotes",
) -> Any:
    """A fresh fsspec file system for `protocol` with these (non-secret) options, its
    requests under connect and read timeouts no longer than the stall limit `timeout`;
    a missing client library is a one-line error naming the extra to install (`kind`: what
    the user named, remotes or references)."""
    try:
        return _filesystem(protocol, options, version_aware, timeout)
    except ImportError:
        if protocol not in EXTRAS:
            raise
        raise missing_extra(protocol, kind) from None


def _filesystem(
    protocol: str, options: Mapping[str, Any] | None, version_aware: bool, timeout: float | None
) -> Any:
    opts = check_options(protocol, options)
    limit = timeout or network_timeout({}, os.environ)
    connect, read = min(CONNECT_TIMEOUT, limit), min(READ_TIMEOUT, limit)
    if protocol == "s3":
        return _s3_filesystem(opts, version_aware, connect, read)
    if protocol == "gs":
        return _gcs_filesystem(opts, version_aware, read)
    import fsspec

    if protocol in ("http", "https"):
        import aiohttp

        client = dict(opts.pop("client_kwargs", None) or {})
        client.setdefault("timeout", aiohttp.ClientTimeout(sock_connect=connect, sock_read=read))
        return fsspec.filesystem(protocol, skip_instance_cache=True, client_kwargs=client, **opts)
    return fsspec.filesystem(protocol, skip_instance_cache=True)


def _s3_filesystem(opts: dict[str, Any], version_aware: bool, connect: float, read: float) -> Any:
    import s3fs

    client_kwargs = dict(opts.pop("client_kwargs", None) or {})
    region = opts.pop("region", None) or opts.pop("region_name", None)
    # us-east-1 is the default, and naming it in client_kwargs breaks bucket creation.
    if region and region != "us-east-1":
        client_kwargs["region_name"] = region
    config = {
        **S3_CONFIG,
        "connect_timeout": connect,
        "read_timeout": read,
        **(opts.pop("config_kwargs", None) or {}),
    }
    return s3fs.S3FileSystem(
        skip_instance_cache=True,
        use_listings_cache=False,
        version_aware=version_aware,
        client_kwargs=client_kwargs,
        config_kwargs=config,
        **opts,
    )


def _gcs_filesystem(opts: dict[str, Any], version_aware: bool, read: float) -> Any:
    # Else gcsfs asks every bucket for its layout over gRPC, which hangs on emulators.
    os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
    import logging

    import gcsfs

    # gcsfs logs every exhausted retry with a traceback; our error says it in one line.
    logging.getLogger("gcsfs").addHandler(logging.NullHandler())
    endpoint = opts.get("endpoint_url") or gcs_endpoint(os.environ)
    if endpoint:
        # gcsfs retries a refused connection for half a minute; fail in seconds instead.
        _probe(endpoint)
    return gcsfs.GCSFileSystem(
        skip_instance_cache=True,
        use_listings_cache=False,
        version_aware=version_aware,
        requests_timeout=read,
        **opts,
    )


def _probe(endpoint: str) -> None:
    import socket

    parts = urlsplit(endpoint if "://" in endpoint else f"http://{endpoint}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname or "localhost", port), PROBE_TIMEOUT).close()
    except OSError as exc:
        raise ConnectionError(f"cannot connect to {parts.hostname}:{port}") from exc
