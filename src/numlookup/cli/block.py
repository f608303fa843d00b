"""`numlookup block`: block rules, answered IMSI_LOOKUP_BLOCKED.

A rule blocks every number under an E.164 prefix, for one account or (without
--account) for every account.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from numlookup.cli._common import CommandError, prefix_arg, store_from_args, table
from numlookup.store.base import BlockRule

if TYPE_CHECKING:
    from numlookup.cli._common import Subparsers

EVERY_ACCOUNT = "*"  # how `list` shows a rule without an account


def register(commands: Subparsers) -> None:
    parser = commands.add_parser(
        "block",
        help="manage block rules (IMSI_LOOKUP_BLOCKED)",
        description="Block lookups of numbers under a prefix, for one account or all."
        " The running server picks changes up within a second.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")

    add = actions.add_parser("add", help="add a block rule")
    add.add_argument("prefix", metavar="PREFIX", help="E.164 prefix, country code first")
    add.add_argument("--account", metavar="USER", help="only for this account (default: all)")
    add.set_defaults(func=cmd_add)

    listing = actions.add_parser("list", help="list the block rules")
    listing.set_defaults(func=cmd_list)

    remove = actions.add_parser("remove", help="remove a block rule")
    remove.add_argument("prefix", metavar="PREFIX")
    remove.add_argument("--account", metavar="USER", help="the rule of this account")
    remove.set_defaults(func=cmd_remove)


def _rule(args: argparse.Namespace) -> BlockRule:
    return BlockRule(prefix=prefix_arg(args.prefix), account=args.account)


def _describe(rule: BlockRule) -> str:
    whom = "every account" if rule.account is None else f"account {rule.account}"
    return f"{rule.prefix} for {whom}"


def cmd_add(args: argparse.Namespace) -> int:
    rule = _rule(args)
    with store_from_args(args) as store:
        added = store.add_block(rule)
    print(f"blocked {_describe(rule)}" if added else f"already blocked: {_describe(rule)}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    with store_from_args(args) as store:
        rules = store.list_blocks()
    rows = [
        (rule.prefix, EVERY_ACCOUNT if rule.account is None else rule.account) for rule in rules
    ]
    print(table(("prefix", "account"), rows))
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    rule = _rule(args)
    with store_from_args(args) as store:
        removed = store.remove_block(rule)
    if not removed:
        raise CommandError(f"no block rule {_describe(rule)}")
    print(f"unblocked {_describe(rule)}")
    return 0
