"""Row conversions that the SQL engines share: an account as columns and back."""

from __future__ import annotations

from numlookup.store.base import Account

# Columns after username, in this order: password_hash, service, max_ongoing,
# accepted_ranges (comma-separated prefixes), enabled.
AccountValues = tuple[str, str, int, str, bool]


def account_from_row(row: tuple[str, str, str, int, str, int | bool]) -> Account:
    username, password_hash, service, max_ongoing, ranges, enabled = row
    return Account(
        username=username,
        password_hash=password_hash,
        service=service,
        max_ongoing=max_ongoing,
        accepted_ranges=tuple(ranges.split(",")) if ranges else (),
        enabled=bool(enabled),
    )


def account_values(account: Account) -> AccountValues:
    """The columns after username (sqlite3 stores the bool as 0/1)."""
    return (
        account.password_hash,
        account.service,
        account.max_ongoing,
        ",".join(account.accepted_ranges),
        account.enabled,
    )
