"""`numlookup account`: add, list, show, change and remove client accounts.

A password is never shown: `list` and `show` print everything else.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from numlookup.cli._common import CommandError, prefixes_arg, store_from_args, table
from numlookup.errors import AccountNotFound
from numlookup.service.passwords import hash_password
from numlookup.store.base import SERVICES, Account, Store

if TYPE_CHECKING:
    from numlookup.cli._common import Subparsers


def register(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "account",
        help="manage client accounts",
        description="Manage the accounts that may send lookups. The running server"
        " picks changes up within a second.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="add an account")
    add.add_argument("username", metavar="USER")
    _password_option(add)
    add.add_argument("--service", choices=SERVICES, default="portability")
    add.add_argument(
        "--max-ongoing",
        type=int,
        default=100,
        metavar="N",
        help="requests in progress at once (default: 100)",
    )
    add.add_argument(
        "--range",
        dest="ranges",
        action="extend",
        nargs="+",
        default=[],
        metavar="PREFIX",
        help="accept only numbers under these E.164 prefixes (default: all numbers)",
    )
    add.add_argument("--disabled", action="store_true", help="add it disabled")
    add.set_defaults(func=cmd_add)

    listing = actions.add_parser("list", help="list the accounts")
    listing.set_defaults(func=cmd_list)

    show = actions.add_parser("show", help="show one account")
    show.add_argument("username", metavar="USER")
    show.set_defaults(func=cmd_show)

    change = actions.add_parser("set", help="change an account's settings")
    change.add_argument("username", metavar="USER")
    change.add_argument("--service", choices=SERVICES)
    change.add_argument("--max-ongoing", type=int, metavar="N")
    ranges = change.add_mutually_exclusive_group()
    ranges.add_argument(
        "--ranges", metavar="P,P", help="accept only numbers under these prefixes (comma-separated)"
    )
    ranges.add_argument("--no-ranges", action="store_true", help="accept every number")
    enabled = change.add_mutually_exclusive_group()
    enabled.add_argument("--enable", dest="enabled", action="store_const", const=True)
    enabled.add_argument("--disable", dest="enabled", action="store_const", const=False)
    change.set_defaults(func=cmd_set)

    passwd = actions.add_parser("passwd", help="set an account's password")
    passwd.add_argument("username", metavar="USER")
    _password_option(passwd)
    passwd.set_defaults(func=cmd_passwd)

    remove = actions.add_parser("remove", help="remove an account and its block rules")
    remove.add_argument("username", metavar="USER")
    remove.set_defaults(func=cmd_remove)


def _password_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password",
        metavar="P",
        help="the password (default: asked for on a terminal, else one line of standard input)",
    )


# ------------------------------------------------------------------ checks


def check_username(username: str) -> str:
    # RFC 7617 §2: the user-id of HTTP Basic authentication cannot contain ':'.
    if not username:
        raise CommandError("the user name is empty")
    if ":" in username or any(ch.isspace() or not ch.isprintable() for ch in username):
        raise CommandError(
            f"user name {username!r}: no ':', spaces or control characters (RFC 7617)"
        )
    return username


def check_max_ongoing(value: int) -> int:
    if value < 1:
        raise CommandError(f"--max-ongoing {value}: must be at least 1")
    return value


def read_password(given: str | None) -> str:
    """--password, else a prompt (twice) on a terminal, else one line of standard input."""
    if given is not None:
        password = given
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise CommandError("the passwords differ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise CommandError("the password is empty")
    return password


# ---------------------------------------------------------------- commands


def _ranges_text(account: Account) -> str:
    return ",".join(account.accepted_ranges) or "all"


def cmd_add(args: argparse.Namespace) -> int:
    username = check_username(args.username)
    max_ongoing = check_max_ongoing(args.max_ongoing)
    ranges = prefixes_arg(args.ranges)
    password = read_password(args.password)
    account = Account(
        username=username,
        password_hash=hash_password(password),
        service=args.service,
        max_ongoing=max_ongoing,
        accepted_ranges=ranges,
        enabled=not args.disabled,
    )
    with store_from_args(args) as store:
        store.add_account(account)
    print(f"account {username} added")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with store_from_args(args) as store:
        accounts = store.list_accounts()
    rows = [
        (
            a.username,
            a.service,
            str(a.max_ongoing),
            _ranges_text(a),
            "yes" if a.enabled else "no",
        )
        for a in accounts
    ]
    print(table(("user", "service", "max_ongoing", "ranges", "enabled"), rows))
    return 0


def _get(store: Store, username: str) -> Account:
    account = store.get_account(username)
    if account is None:
        raise AccountNotFound(f"no account {username!r}")
    return account


def cmd_show(args: argparse.Namespace) -> int:
    with store_from_args(args) as store:
        account = _get(store, args.username)
    print(
        table(
            ("user", account.username),
            [
                ("service", account.service),
                ("max_ongoing", str(account.max_ongoing)),
                ("ranges", _ranges_text(account)),
                ("enabled", "yes" if account.enabled else "no"),
            ],
        )
    )
    return 0


def cmd_set(args: argparse.Namespace) -> int:
    ranges: tuple[str, ...] | None = None
    if args.ranges is not None:
        ranges = prefixes_arg([args.ranges])
        if not ranges:
            raise CommandError("--ranges: no prefix given (--no-ranges accepts every number)")
    if args.no_ranges:
        ranges = ()
    if args.max_ongoing is not None:
        check_max_ongoing(args.max_ongoing)
    if (args.service, args.max_ongoing, ranges, args.enabled) == (None, None, None, None):
        raise CommandError(
            "nothing to change: give --service, --max-ongoing, --ranges, --no-ranges,"
            " --enable or --disable"
        )
    with store_from_args(args) as store:
        account = _get(store, args.username)
        store.update_account(
            replace(
                account,
                service=account.service if args.service is None else args.service,
                max_ongoing=account.max_ongoing if args.max_ongoing is None else args.max_ongoing,
                accepted_ranges=account.accepted_ranges if ranges is None else ranges,
                enabled=account.enabled if args.enabled is None else args.enabled,
            )
        )
    print(f"account {args.username} updated")
    return 0


def cmd_passwd(args: argparse.Namespace) -> int:
    with store_from_args(args) as store:
        account = _get(store, args.username)
        password_hash = hash_password(read_password(args.password))
        store.update_account(replace(account, password_hash=password_hash))
    print(f"password of {args.username} changed")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    with store_from_args(args) as store:
        store.remove_account(args.username)
    print(f"account {args.username} removed")
    return 0
