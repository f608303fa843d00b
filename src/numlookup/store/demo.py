"""The demo account and data set that a new database gets (config `seed_demo`).

Account `demo`, password `demo`: service portability, 100 requests at once,
every number range accepted. Account `demo-rt`, password `demo`: the same on
the realtime service.

The data set (`numlookup/data/demo/`, the CSV format of numlookup.store.csvimport):

- `ranges.csv`: mobile number ranges of Sweden (46), Norway (47), Denmark (45),
  Finland (358), Germany (49), the UK (44), France (33) and the US (1), each
  with the MCC+MNC of the network that holds it. The networks are real and in
  the E.212 table; the German and Swedish prefixes follow the operators'
  well-known series (49151/49160/49170 Telekom 26201, 49152/49162/49172
  Vodafone 26202, 49176/49179 O2 26207, 46708 Telenor 24008), while the UK,
  French and US prefixes are examples of each operator's blocks, not a copy
  of the national plans.
- `ported.csv`: a dozen numbers ported away from their range's network, e.g.
  46708100200 (in Telenor's 46708) now on 24004.

So 46708100100 answers 24008 (its range) and 46708100200 answers 24004 (ported).
"""

from __future__ import annotations

from importlib import resources

from numlookup.service.passwords import hash_password
from numlookup.store.base import Account, Store
from numlookup.store.csvimport import import_ported, import_ranges

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"
DEMO_RT_USERNAME = "demo-rt"


def demo_account() -> Account:
    return Account(
        username=DEMO_USERNAME,
        password_hash=hash_password(DEMO_PASSWORD),
        service="portability",
        max_ongoing=100,
        accepted_ranges=(),
        enabled=True,
    )


def demo_realtime_account() -> Account:
    """`demo-rt` / `demo`: the Real-Time Lookup service (answered by hlr-sim under `make serve`)."""
    return Account(
        username=DEMO_RT_USERNAME,
        password_hash=hash_password(DEMO_PASSWORD),
        service="realtime",
        max_ongoing=100,
    )


def seed(store: Store) -> None:
    """Add the demo account if absent, and the demo data to empty portability tables.

    Data already in the store is never replaced: a table is filled only when it
    has no rows.
    """
    if store.get_account(DEMO_USERNAME) is None:
        store.add_account(demo_account())
    if store.get_account(DEMO_RT_USERNAME) is None:
        store.add_account(demo_realtime_account())
    ported, ranges = store.portability_counts()
    folder = resources.files("numlookup").joinpath("data", "demo")
    if ranges == 0:
        with resources.as_file(folder.joinpath("ranges.csv")) as path:
            import_ranges(store, path)
    if ported == 0:
        with resources.as_file(folder.joinpath("ported.csv")) as path:
            import_ported(store, path)
