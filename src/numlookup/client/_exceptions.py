"""What numlookup.Client and numlookup.AsyncClient raise.

    NumlookupError                       (numlookup.errors)
    ├── HttpError                        (numlookup.errors) answered with its own HTTP status
    │   └── ClientError                  HTTP 4xx: the request itself is wrong; not retried
    │       └── AuthenticationError      HTTP 401: credentials refused, or account disabled
    └── LookupClientError                base of everything the client raises
        ├── ClientError                  (as above)
        ├── ResponseError                HTTP 200 with a body that is not `result=<known code>`
        └── ServersUnavailable           no server answered within the deadline;
                                         `failures` names each server and why

An answer (HTTP 200 with a `result=` body) is never an exception, whatever its
code: `TIMEOUT` or `SYSTEM_FAILURE` come back as a LookupResult with `ok` False.
Errors of httpx are translated here at the boundary (`raise ... from exc`).
"""

from __future__ import annotations

from dataclasses import dataclass

from numlookup.errors import HttpError, NumlookupError


class LookupClientError(NumlookupError):
    """Base of every error the lookup client raises."""


class ClientError(LookupClientError, HttpError):
    """A 4xx answer: retrying elsewhere would not help. `status` is the HTTP status."""

    def __init__(self, status: int, reason: str, server: str, detail: str = "") -> None:
        HttpError.__init__(self, status, reason, detail)
        self.server = server
        self.args = (f"{server}: {status} {reason}" + (f": {detail}" if detail else ""),)


class AuthenticationError(ClientError):
    """401 Unauthorized: wrong user or password, or a disabled account."""


class ResponseError(LookupClientError):
    """A 200 answer whose body does not parse (no `result=`, or an unknown code)."""

    def __init__(self, message: str, body: str, server: str = "") -> None:
        where = f"{server}: " if server else ""
        super().__init__(f"{where}{message}: {body!r}")
        self.body = body
        self.server = server


@dataclass(frozen=True, slots=True)
class ServerFailure:
    """Why one server gave no answer: a connection error, a timeout, a 5xx, the deadline."""

    server: str
    reason: str

    def __str__(self) -> str:
        return f"{self.server}: {self.reason}"


class ServersUnavailable(LookupClientError):
    """Every server failed (or the deadline passed first); `failures` says how, in order."""

    def __init__(self, failures: tuple[ServerFailure, ...]) -> None:
        listed = "; ".join(str(failure) for failure in failures) or "no server tried"
        super().__init__(f"no server answered: {listed}")
        self.failures = failures
