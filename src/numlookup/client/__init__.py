"""The Number Lookup client: sync and async, with failover between servers.

from numlookup import Client

with Client(["http://primary:3700", "http://backup:3700"],
            username="demo", password="demo") as client:
    answer = client.lookup("+46708100200")
    answer.result, answer.mcc, answer.mnc, answer.server
"""

from numlookup.client._client import AsyncClient, Client, ClientSettings, lookup_path
from numlookup.client._exceptions import (
    AuthenticationError,
    ClientError,
    LookupClientError,
    ResponseError,
    ServerFailure,
    ServersUnavailable,
)
from numlookup.client._failover import RECHECK
from numlookup.client._result import LookupResult, parse_body

__all__ = [
    "RECHECK",
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "ClientError",
    "ClientSettings",
    "LookupClientError",
    "LookupResult",
    "ResponseError",
    "ServerFailure",
    "ServersUnavailable",
    "lookup_path",
    "parse_body",
]
