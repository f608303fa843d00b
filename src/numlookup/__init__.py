"""numlookup: a Number Lookup server (MSISDN -> serving network MCC+MNC)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from numlookup.results import Outcome, ResultCode

if TYPE_CHECKING:
    from numlookup.client import AsyncClient, Client, LookupResult

__all__ = ["AsyncClient", "Client", "LookupResult", "Outcome", "ResultCode", "__version__"]
__version__ = "0.1.0"

_CLIENT_NAMES = frozenset({"AsyncClient", "Client", "LookupResult"})


def __getattr__(name: str) -> Any:
    # The client (and httpx with it) is imported on first use, not by the server.
    if name in _CLIENT_NAMES:
        from numlookup import client

        return getattr(client, name)
    raise AttributeError(f"module 'numlookup' has no attribute {name!r}")
