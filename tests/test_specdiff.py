"""``hyperliquid spec diff``: a table of spec edits with the classification each must get, the
rename-vs-remove hints, stable output, ``--fail-on``, git revisions and folders, and a check that
every attribute of the spec model meets a classification rule."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

from hyperliquid_client.cli import main as cli_main
from hyperliquid_client.codegen import specdiff, spectree
from hyperliquid_client.codegen.loader import SpecError, load_spec
from hyperliquid_client.codegen.specdiff import BREAKING, INFO, NON_BREAKING, SIGNING, diff_specs

ROOT = Path(__file__).resolve().parents[1]

BASE: dict[str, str] = {
    "types/market.yaml": """\
types:
  Level:
    doc: One price level.
    fields:
      px: {type: decimal, doc: Price.}
      sz: decimal
      n: int
  Book:
    doc: An order book.
    fields:
      coin: str
      time: int
      levels: "tuple[list[Level], list[Level]]"
      spread: {type: decimal, optional: true}
  Trade:
    doc: A trade.
    fields:
      coin: str
      side: Side
      px: decimal
      tid: int
  Side:
    doc: Buy (B) or sell (A).
    enum: [B, A]
  Ack:
    doc: The answer of an action.
    fields:
      status: str
  Delta:
    doc: A ledger change.
    union:
      tag: type
      variants: {deposit: Deposit, withdraw: Withdraw}
  Deposit:
    doc: A deposit.
    fields:
      type: str
      usdc: decimal
  Withdraw:
    doc: A withdrawal.
    fields:
      type: str
      usdc: decimal
""",
    "info/l2Book.yaml": """\
wire: l2Book
summary: Order book of a coin.
weight: 2
timeout: 5
params:
  - wire: coin
    type: coin
    doc: Coin.
  - wire: nSigFigs
    type: int
    required: false
    choices: [2, 3, 4, 5]
    doc: Significant figures.
response: Book | null
sample:
  params: {coin: BTC}
  response: {coin: BTC, time: 1, levels: [[{px: "1", sz: "2", n: 1}], []]}
""",
    "info/ledger.yaml": """\
wire: ledger
summary: Ledger of a user.
weight: 20
params:
  - wire: user
    type: address
    doc: User.
  - wire: startTime
    type: time
    doc: Start (ms).
  - wire: endTime
    type: time
    required: false
    doc: End (ms).
response: list[Delta]
sample:
  params: {user: "0x0000000000000000000000000000000000000001", start_time: 1}
  response: [{type: deposit, usdc: "1"}]
""",
    "info/recentTrades.yaml": """\
wire: recentTrades
summary: Recent trades of a coin.
weight: 20
cache: {ttl: 1}
params:
  - wire: coin
    type: coin
    doc: Coin.
response: list[Trade]
sample:
  params: {coin: BTC}
  response: [{coin: BTC, side: B, px: "1", tid: 1}]
""",
    "exchange/order.yaml": """\
wire: order
summary: Place orders.
weight: 1
signing: l1
vault: true
batch: orders
response: Ack
action:
  orders: {type: "list[Req]", doc: Orders.}
  grouping: {type: Pick, default: one, doc: Grouping.}
  source: {const: web}
  builder: {type: address, optional: true, doc: Builder.}
methods:
  bulk:
    summary: Place orders.
    params: [orders]
requests:
  Req:
    doc: One order.
    fields:
      a: {type: uint, doc: Asset.}
      k: {type: Kind, doc: Kind.}
  Kind:
    doc: A kind.
    enum: [x, y]
  Pick:
    doc: A grouping.
    oneof:
      one: {type: unit, doc: One.}
      two: {type: unit, doc: Two.}
sample:
  params: {orders: [{a: 1, k: x}], grouping: one}
  action: {type: order, orders: [{a: 1, k: x}], grouping: one, source: web}
""",
    "exchange/usdSend.yaml": """\
wire: usdSend
summary: Send USDC.
weight: 1
signing: user_signed
response: Ack
action:
  signatureChainId: {fill: signatureChainId}
  hyperliquidChain: {fill: hyperliquidChain}
  destination: {type: address_text, doc: Recipient.}
  amount: {type: usd_amount, doc: Amount.}
  time: {type: nonce, doc: Nonce.}
methods:
  usd_send:
    summary: Send USDC.
    example:
      params: {destination: "0x0000000000000000000000000000000000000001", amount: 1}
      action:
        type: usdSend
        signatureChainId: null
        hyperliquidChain: null
        destination: "0x0000000000000000000000000000000000000001"
        amount: "1"
        time: null
eip712:
  primary_type: "HyperliquidTransaction:UsdSend"
  fields: [[hyperliquidChain, string], [destination, string], [amount, string], [time, uint64]]
sample:
  params: {destination: "0x0000000000000000000000000000000000000001", amount: "1"}
  action:
    type: usdSend
    signatureChainId: null
    hyperliquidChain: null
    destination: "0x0000000000000000000000000000000000000001"
    amount: "1"
    time: null
""",
    "channels/trades.yaml": """\
wire: trades
summary: Trades of a coin.
params:
  - wire: coin
    type: coin
    doc: Coin.
message: list[Trade]
route: [[coin, coin]]
sample:
  params: {coin: BTC}
  message: [{coin: BTC, side: B, px: "1", tid: 1}]
""",
}

META = """\
wire: meta
summary: Perpetuals metadata.
weight: 20
response: any
sample:
  response: {universe: []}
"""

Op = tuple[str, ...]


def sub(file: str, old: str, new: str) -> Op:
    return ("sub", file, old, new)


def add(file: str, text: str) -> Op:
    return ("add", file, text)


def rm(file: str) -> Op:
    return ("rm", file)


L2, LEDGER, TRADES, ORDER, USD, TYPES, CH = (
    "info/l2Book.yaml",
    "info/ledger.yaml",
    "info/recentTrades.yaml",
    "exchange/order.yaml",
    "exchange/usdSend.yaml",
    "types/market.yaml",
    "channels/trades.yaml",
)

#: (id, edits, expected {(severity, kind, subject, path)}) — the whole set of changes must match.
EDITS: list[tuple[str, list[Op], set[tuple[str, str, str, str]]]] = [
    # endpoints
    ("endpoint added", [add("info/meta.yaml", META)], {(NON_BREAKING, "added", "info.meta", "")}),
    ("endpoint removed", [rm(TRADES)], {(BREAKING, "removed", "info.recentTrades", "")}),
    (
        "endpoint renamed = removed + added",
        [rm(TRADES), add("info/trades.yaml", BASE[TRADES].replace("wire: recentTrades", "wire: trades"))],
        {(BREAKING, "removed", "info.recentTrades", ""), (NON_BREAKING, "added", "info.trades", "")},
    ),
    # parameters
    (
        "optional parameter added",
        [sub(L2, "\nresponse:", "\n  - {wire: mantissa, type: int, required: false, doc: Mantissa.}\nresponse:")],
        {(NON_BREAKING, "added", "info.l2Book", "params/mantissa")},
    ),
    (
        "required parameter added",
        [
            sub(L2, "\nresponse:", "\n  - {wire: depth, type: int, doc: Depth.}\nresponse:"),
            sub(L2, "params: {coin: BTC}", "params: {coin: BTC, depth: 5}"),
        ],
        {(BREAKING, "added", "info.l2Book", "params/depth")},
    ),
    (
        "parameter removed",
        [sub(LEDGER, "  - wire: endTime\n    type: time\n    required: false\n    doc: End (ms).\n", "")],
        {(BREAKING, "removed", "info.ledger", "params/endTime")},
    ),
    (
        "optional parameter becomes required",
        [
            sub(L2, "    required: false\n    choices", "    choices"),
            sub(L2, "params: {coin: BTC}", "params: {coin: BTC, n_sig_figs: 5}"),
        ],
        {
            (BREAKING, "changed", "info.l2Book", "params/nSigFigs/required"),
            (INFO, "changed", "info.l2Book", "params/nSigFigs/sample"),
        },
    ),
    (
        "required parameter becomes optional",
        [sub(LEDGER, "    type: time\n    doc: Start", "    type: time\n    required: false\n    doc: Start")],
        {(NON_BREAKING, "changed", "info.ledger", "params/startTime/required")},
    ),
    (
        "parameter type changed",
        [
            sub(LEDGER, "    type: time\n    doc: Start", "    type: str\n    doc: Start"),
            sub(LEDGER, "start_time: 1", 'start_time: "1"'),
        ],
        {
            (BREAKING, "changed", "info.ledger", "params/startTime/type"),
            (INFO, "changed", "info.ledger", "params/startTime/sample"),
        },
    ),
    (
        "parameter type widened",
        [sub(L2, "    type: coin\n", "    type: str\n")],
        {(NON_BREAKING, "changed", "info.l2Book", "params/coin/type")},
    ),
    (
        "choice added",
        [sub(L2, "[2, 3, 4, 5]", "[2, 3, 4, 5, 6]")],
        {(NON_BREAKING, "added", "info.l2Book", "params/nSigFigs/choices")},
    ),
    (
        "choice removed",
        [sub(L2, "[2, 3, 4, 5]", "[3, 4, 5]")],
        {(BREAKING, "removed", "info.l2Book", "params/nSigFigs/choices")},
    ),
    (
        "default of an info parameter changed",
        [sub(LEDGER, "    required: false\n    doc: End", "    required: false\n    default: 0\n    doc: End")],
        {(BREAKING, "changed", "info.ledger", "params/endTime/default")},
    ),
    (
        "Python name of a parameter changed",
        [sub(L2, "  - wire: nSigFigs\n", "  - wire: nSigFigs\n    name: figures\n")],
        {(BREAKING, "changed", "info.l2Book", "params/nSigFigs/name")},
    ),
    (
        "parameter renamed on the wire = removed + added",
        [sub(L2, "wire: nSigFigs", "wire: sigFigs\n    name: n_sig_figs")],
        {
            (BREAKING, "removed", "info.l2Book", "params/nSigFigs"),
            (NON_BREAKING, "added", "info.l2Book", "params/sigFigs"),
        },
    ),
    (
        "positional parameters reordered",
        [
            sub(
                LEDGER,
                "  - wire: user\n    type: address\n    doc: User.\n"
                "  - wire: startTime\n    type: time\n    doc: Start (ms).\n",
                "  - wire: startTime\n    type: time\n    doc: Start (ms).\n"
                "  - wire: user\n    type: address\n    doc: User.\n",
            )
        ],
        {(BREAKING, "reordered", "info.ledger", "params")},
    ),
    # responses
    (
        "response field added",
        [
            sub(
                TYPES,
                "      spread: {type: decimal, optional: true}\n",
                "      spread: {type: decimal, optional: true}\n      fast: {type: bool, optional: true}\n",
            )
        ],
        {(NON_BREAKING, "added", "type.Book", "fields/fast")},
    ),
    (
        "response field removed",
        [sub(TYPES, "      px: decimal\n      tid: int\n", "      px: decimal\n")],
        {(BREAKING, "removed", "type.Trade", "fields/tid")},
    ),
    (
        "response field becomes optional",
        [sub(TYPES, "      time: int\n", "      time: {type: int, optional: true}\n")],
        {(BREAKING, "changed", "type.Book", "fields/time/optional")},
    ),
    (
        "response field becomes required",
        [
            sub(TYPES, "spread: {type: decimal, optional: true}", "spread: {type: decimal}"),
            sub(L2, "response: {coin: BTC,", 'response: {spread: "1", coin: BTC,'),
        ],
        {
            (NON_BREAKING, "changed", "type.Book", "fields/spread/optional"),
            (INFO, "changed", "info.l2Book", "sample_response"),
        },
    ),
    (
        "response field type changed",
        [sub(TYPES, "      sz: decimal\n      n: int\n", "      sz: decimal\n      n: decimal\n")],
        {(BREAKING, "changed", "type.Level", "fields/n/type")},
    ),
    (
        "response may be null",
        [sub(TRADES, "response: list[Trade]", "response: list[Trade] | null")],
        {(BREAKING, "changed", "info.recentTrades", "response")},
    ),
    (
        "response is never null any more",
        [sub(L2, "response: Book | null", "response: Book")],
        {(NON_BREAKING, "changed", "info.l2Book", "response")},
    ),
    (
        "response field reordered",
        [
            sub(
                TYPES,
                "      px: {type: decimal, doc: Price.}\n      sz: decimal\n",
                "      sz: decimal\n      px: {type: decimal, doc: Price.}\n",
            )
        ],
        {(INFO, "reordered", "type.Level", "fields")},
    ),
    (
        "Python name of a response field changed",
        [sub(TYPES, "      time: int\n", "      time: {type: int, name: timestamp}\n")],
        {(BREAKING, "changed", "type.Book", "fields/time/name")},
    ),
    (
        "enum value added",
        [sub(TYPES, "enum: [B, A]", "enum: [B, A, X]")],
        {(NON_BREAKING, "added", "type.Side", "enum")},
    ),
    ("enum value removed", [sub(TYPES, "enum: [B, A]", "enum: [B]")], {(BREAKING, "removed", "type.Side", "enum")}),
    (
        "union variant added",
        [sub(TYPES, "{deposit: Deposit, withdraw: Withdraw}", "{deposit: Deposit, withdraw: Withdraw, send: Deposit}")],
        {(NON_BREAKING, "added", "type.Delta", "variants/send")},
    ),
    (
        "union variant removed",
        [sub(TYPES, "{deposit: Deposit, withdraw: Withdraw}", "{deposit: Deposit}")],
        {(BREAKING, "removed", "type.Delta", "variants/withdraw")},
    ),
    (
        "type added",
        [sub(TYPES, "types:\n", "types:\n  Spare:\n    doc: Unused.\n    fields: {a: int}\n")],
        {(NON_BREAKING, "added", "type.Spare", "")},
    ),
    # policies and texts
    ("weight changed", [sub(L2, "weight: 2", "weight: 20")], {(INFO, "changed", "info.l2Book", "weight")}),
    ("timeout changed", [sub(L2, "timeout: 5", "timeout: 10")], {(INFO, "changed", "info.l2Book", "timeout")}),
    (
        "cache policy added",
        [sub(L2, "timeout: 5", "timeout: 5\ncache: {ttl: 0.5}")],
        {(INFO, "changed", "info.l2Book", "cache_ttl")},
    ),
    (
        "summary changed",
        [sub(L2, "Order book of a coin.", "The order book of a coin.")],
        {(INFO, "changed", "info.l2Book", "summary")},
    ),
    (
        "field doc changed",
        [sub(TYPES, "Price.", "Price of the level.")],
        {(INFO, "changed", "type.Level", "fields/px/doc")},
    ),
    ("sample changed", [sub(L2, "n: 1}", "n: 2}")], {(INFO, "changed", "info.l2Book", "sample_response")}),
    # channels
    (
        "channel snapshot flag",
        [sub(CH, "route:", "snapshot: true\nroute:")],
        {(BREAKING, "changed", "channel.trades", "snapshot"), (BREAKING, "changed", "channel.trades", "initial")},
    ),
    (
        "channel route",
        [sub(CH, "route: [[coin, coin]]", "route: [[coin, s]]")],
        {(INFO, "changed", "channel.trades", "route/coin")},
    ),
    ("channel removed", [rm(CH)], {(BREAKING, "removed", "channel.trades", "")}),
    # signed bytes
    (
        "action keys reordered",
        [
            sub(ORDER, "  source: {const: web}\n  builder:", "  builder:"),
            sub(ORDER, "optional: true, doc: Builder.}\n", "optional: true, doc: Builder.}\n  source: {const: web}\n"),
        ],
        {(SIGNING, "reordered", "exchange.order", "action/fields")},
    ),
    (
        "keyword-only parameters reordered with their keys",
        [
            sub(ORDER, "  grouping: {type: Pick, default: one, doc: Grouping.}\n", ""),
            sub(
                ORDER,
                "optional: true, doc: Builder.}\n",
                "optional: true, doc: Builder.}\n  grouping: {type: Pick, default: one, doc: Grouping.}\n",
            ),
            sub(ORDER, "grouping: one, source: web}", "source: web, grouping: one}"),
        ],
        {
            (SIGNING, "reordered", "exchange.order", "action/fields"),
            (INFO, "reordered", "exchange.order", "params"),
            (INFO, "changed", "exchange.order", "sample_response"),
        },
    ),
    (
        "action constant changed",
        [sub(ORDER, "{const: web}", "{const: app}"), sub(ORDER, "source: web}", "source: app}")],
        {
            (SIGNING, "changed", "exchange.order", "action/fields/source/const"),
            (INFO, "changed", "exchange.order", "sample_response"),
        },
    ),
    (
        "omit rule changed",
        [sub(ORDER, "{type: address, optional: true, doc: Builder.}", '{type: "address | null", doc: Builder.}')],
        {
            (SIGNING, "changed", "exchange.order", "action/fields/builder/optional"),
            (SIGNING, "changed", "exchange.order", "action/fields/builder/type"),
            (SIGNING, "changed", "exchange.order", "params/builder/type"),
        },
    ),
    (
        "vault participation changed",
        [sub(ORDER, "vault: true", "vault: false")],
        {
            (SIGNING, "changed", "exchange.order", "action/vault"),
            (SIGNING, "changed", "exchange.order", "action/vault_default"),
        },
    ),
    (
        "EIP-712 fields reordered",
        [sub(USD, "[destination, string], [amount, string]", "[amount, string], [destination, string]")],
        {(SIGNING, "reordered", "exchange.usdSend", "action/eip712_fields")},
    ),
    (
        "EIP-712 field type changed",
        [sub(USD, "[amount, string]", "[amount, uint256]")],
        {(SIGNING, "changed", "exchange.usdSend", "action/eip712_fields/amount")},
    ),
    (
        "EIP-712 primary type changed",
        [sub(USD, "HyperliquidTransaction:UsdSend", "HyperliquidTransaction:UsdSendV2")],
        {(SIGNING, "changed", "exchange.usdSend", "action/primary_type")},
    ),
    (
        "semantic type of a signed field changed",
        [sub(USD, "type: address_text", "type: address")],
        {
            (SIGNING, "changed", "exchange.usdSend", "action/fields/destination/type"),
            (SIGNING, "changed", "exchange.usdSend", "params/destination/type"),
        },
    ),
    (
        "default of a signed field changed",
        [sub(ORDER, "default: one", "default: two")],
        {
            (SIGNING, "changed", "exchange.order", "action/fields/grouping/default"),
            (SIGNING, "changed", "exchange.order", "params/grouping/default"),
        },
    ),
    (
        "optional signed field added",
        [
            sub(
                ORDER,
                "optional: true, doc: Builder.}\n",
                "optional: true, doc: Builder.}\n  referrer: {type: str, optional: true, doc: Referrer.}\n",
            )
        ],
        {
            (SIGNING, "added", "exchange.order", "action/fields/referrer"),
            (NON_BREAKING, "added", "exchange.order", "params/referrer"),
        },
    ),
    (
        "batch parameter dropped",
        [sub(ORDER, "batch: orders\n", "")],
        {(INFO, "changed", "exchange.order", "action/batch_param")},
    ),
    ("action weight changed", [sub(ORDER, "weight: 1", "weight: 2")], {(INFO, "changed", "exchange.order", "weight")}),
    # request types and methods
    (
        "request type field added",
        [
            sub(
                ORDER,
                "      k: {type: Kind, doc: Kind.}\n",
                "      k: {type: Kind, doc: Kind.}\n      c: {type: cloid, optional: true, doc: Id.}\n",
            )
        ],
        {(SIGNING, "added", "request.Req", "fields/c")},
    ),
    (
        "semantic type of a request field changed",
        [sub(ORDER, "a: {type: uint, doc: Asset.}", "a: {type: int, doc: Asset.}")],
        {(SIGNING, "changed", "request.Req", "fields/a/type")},
    ),
    (
        "Python name of a request field changed",
        [sub(ORDER, "a: {type: uint, doc: Asset.}", "a: {type: uint, name: asset, doc: Asset.}")],
        {(BREAKING, "changed", "request.Req", "fields/a/name")},
    ),
    (
        "request enum value added",
        [sub(ORDER, "enum: [x, y]", "enum: [x, y, z]")],
        {(NON_BREAKING, "added", "request.Kind", "values")},
    ),
    (
        "request enum value removed",
        [sub(ORDER, "enum: [x, y]", "enum: [x]")],
        {(BREAKING, "removed", "request.Kind", "values")},
    ),
    (
        "oneof variant added",
        [
            sub(
                ORDER,
                "      two: {type: unit, doc: Two.}\n",
                "      two: {type: unit, doc: Two.}\n      three: {type: unit, doc: Three.}\n",
            )
        ],
        {(NON_BREAKING, "added", "request.Pick", "fields/three")},
    ),
    (
        "method added",
        [
            sub(
                ORDER,
                "    params: [orders]\n",
                "    params: [orders]\n  place:\n    summary: Place orders again.\n    params: [orders]\n",
            )
        ],
        {(NON_BREAKING, "added", "exchange.order", "action/methods/place")},
    ),
    (
        "method renamed = removed + added",
        [sub(ORDER, "  bulk:\n", "  bulk_orders:\n")],
        {
            (BREAKING, "removed", "exchange.order", "action/methods/bulk"),
            (NON_BREAKING, "added", "exchange.order", "action/methods/bulk_orders"),
        },
    ),
]


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def apply(root: Path, ops: list[Op]) -> None:
    for op in ops:
        path = root / op[1]
        if op[0] == "sub":
            text = path.read_text(encoding="utf-8")
            assert text.count(op[2]) == 1, f"edit does not apply exactly once: {op}"
            path.write_text(text.replace(op[2], op[3]), encoding="utf-8")
        elif op[0] == "add":
            path.write_text(op[2], encoding="utf-8")
        else:
            path.unlink()


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(tmp_path_factory.mktemp("base") / "spec", BASE)


@pytest.fixture(scope="module")
def base_spec(base_dir: Path) -> Any:
    return load_spec(base_dir)


def edited(base_dir: Path, tmp_path: Path, ops: list[Op]) -> Path:
    target = tmp_path / "spec"
    shutil.copytree(base_dir, target)
    apply(target, ops)
    return target


def test_the_table_is_big_and_covers_every_severity() -> None:
    assert len(EDITS) >= 25
    assert {sev for _, _, expected in EDITS for sev, *_ in expected} == {SIGNING, BREAKING, NON_BREAKING, INFO}
    assert len({name for name, _, _ in EDITS}) == len(EDITS)


@pytest.mark.parametrize(("name", "ops", "expected"), EDITS, ids=[e[0] for e in EDITS])
def test_edit_is_classified(
    name: str, ops: list[Op], expected: set[tuple[str, str, str, str]], base_dir: Path, base_spec: Any, tmp_path: Path
) -> None:
    new = load_spec(edited(base_dir, tmp_path, ops))
    changes = diff_specs(base_spec, new)
    got = {(c.severity, c.kind, c.subject, "/".join(c.path[2:])) for c in changes}
    assert got == expected
    # and back: undoing the edit is a change too, never "no change"
    assert diff_specs(new, base_spec)


def test_no_change_no_output(base_spec: Any) -> None:
    assert diff_specs(base_spec, base_spec) == []


def _hints(base_dir: Path, base_spec: Any, tmp_path: Path, ops: list[Op]) -> dict[str, str | None]:
    changes = diff_specs(base_spec, load_spec(edited(base_dir, tmp_path, ops)))
    return {f"{c.kind} {c.subject} {'/'.join(c.path[2:])}": c.hint for c in changes}


def test_rename_is_reported_as_remove_and_add_with_a_hint(base_dir: Path, base_spec: Any, tmp_path: Path) -> None:
    ops = [rm(TRADES), add("info/trades.yaml", BASE[TRADES].replace("wire: recentTrades", "wire: trades"))]
    hints = _hints(base_dir, base_spec, tmp_path, ops)
    assert set(hints) == {"removed info.recentTrades ", "added info.trades "}
    assert "`trades`" in (hints["removed info.recentTrades "] or "")
    assert "`recentTrades`" in (hints["added info.trades "] or "")


def test_no_rename_hint_when_shapes_differ(base_dir: Path, base_spec: Any, tmp_path: Path) -> None:
    other = BASE[TRADES].replace("wire: recentTrades", "wire: trades").replace("weight: 20", "weight: 2")
    hints = _hints(base_dir, base_spec, tmp_path, [rm(TRADES), add("info/trades.yaml", other)])
    assert set(hints) == {"removed info.recentTrades ", "added info.trades "}
    assert all(h is None for h in hints.values())


def test_parameter_wire_rename_gets_a_hint(base_dir: Path, base_spec: Any, tmp_path: Path) -> None:
    hints = _hints(base_dir, base_spec, tmp_path, [sub(L2, "wire: nSigFigs", "wire: sigFigs\n    name: n_sig_figs")])
    assert "`sigFigs`" in (hints["removed info.l2Book params/nSigFigs"] or "")


def test_a_type_used_by_a_channel_and_an_endpoint_takes_the_worst(
    base_dir: Path, base_spec: Any, tmp_path: Path
) -> None:
    # Trade is in a response and a channel message: both are outputs; removing a field breaks both
    changes = diff_specs(base_spec, load_spec(edited(base_dir, tmp_path, [sub(TYPES, "      tid: int\n", "")])))
    assert [(c.severity, c.message) for c in changes] == [(BREAKING, "type `Trade`, field `tid` removed")]


def _all_changes(base_dir: Path, base_spec: Any, tmp_path: Path) -> list[specdiff.Change]:
    new_dir = edited(
        base_dir,
        tmp_path,
        [
            sub(L2, "weight: 2", "weight: 20"),
            sub(ORDER, "vault: true", "vault: false"),
            sub(TYPES, "      time: int\n", "      time: {type: int, optional: true}\n"),
            sub(L2, "[2, 3, 4, 5]", "[3, 4, 5, 6]"),
            add("info/meta.yaml", META),
        ],
    )
    return diff_specs(base_spec, load_spec(new_dir))


def test_output_order_is_by_severity_then_subject_and_stable(base_dir: Path, base_spec: Any, tmp_path: Path) -> None:
    changes = _all_changes(base_dir, base_spec, tmp_path)
    ranks = [specdiff.SEVERITIES.index(c.severity) for c in changes]
    assert ranks == sorted(ranks)
    again = diff_specs(base_spec, load_spec(tmp_path / "spec"))
    assert specdiff.render_json(changes, "a", "b") == specdiff.render_json(again, "a", "b")
    md = specdiff.render_markdown(changes, "a", "b")
    assert (
        md.index("### Signing-breaking")
        < md.index("### Breaking")
        < md.index("### Non-breaking")
        < md.index("### Info")
    )
    assert "choice `2` removed" in md and "choice `6` added" in md
    assert "exchange action `order`: vault participation `true` → `false`" in md


def test_json_output_and_summary(base_dir: Path, base_spec: Any, tmp_path: Path) -> None:
    changes = _all_changes(base_dir, base_spec, tmp_path)
    doc = json.loads(specdiff.render_json(changes, "main", "working tree"))
    assert doc["summary"] == {SIGNING: 2, BREAKING: 2, NON_BREAKING: 2, INFO: 1, "total": 7}
    assert doc["changes"][0] == {
        "severity": SIGNING,
        "kind": "changed",
        "subject": "exchange.order",
        "path": "action/vault",
        "message": "exchange action `order`: vault participation `true` → `false` — changes the signed action",
        "old": True,
        "new": False,
    }
    assert specdiff.render_summary(changes, "main", "HEAD") == (
        "main → HEAD: 2 signing-breaking, 2 breaking, 2 non-breaking, 1 info\n"
    )


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = cli_main(["spec", "diff", *argv], out=out)
    return code, out.getvalue()


@pytest.mark.parametrize(
    ("fail_on", "ops", "code"),
    [
        ("signing", [sub(L2, "weight: 2", "weight: 3")], 0),
        ("any", [sub(L2, "weight: 2", "weight: 3")], 1),
        ("breaking", [sub(L2, "weight: 2", "weight: 3")], 0),
        ("breaking", [rm(TRADES)], 1),
        ("signing", [rm(TRADES)], 0),
        ("signing", [sub(ORDER, "vault: true", "vault: false")], 1),
        ("breaking", [sub(ORDER, "vault: true", "vault: false")], 1),
        ("any", [], 0),
    ],
)
def test_fail_on(fail_on: str, ops: list[Op], code: int, base_dir: Path, tmp_path: Path) -> None:
    new_dir = edited(base_dir, tmp_path, ops)
    got, _ = _run(str(base_dir), str(new_dir), "--fail-on", fail_on)
    assert got == code


def test_cli_on_folders_in_each_format(base_dir: Path, tmp_path: Path) -> None:
    new_dir = edited(base_dir, tmp_path, [rm(TRADES)])
    code, md = _run(str(base_dir), str(new_dir))
    assert code == 0 and md.startswith(f"## Spec changes: `{base_dir}` → `{new_dir}`")
    assert "- info `recentTrades` removed" in md
    code, text = _run(str(base_dir), str(new_dir), "--format", "json")
    assert json.loads(text)["summary"]["breaking"] == 1
    code, text = _run(str(base_dir), str(new_dir), "--format", "summary")
    assert text.endswith("0 signing-breaking, 1 breaking, 0 non-breaking, 0 info\n")


def test_cli_reports_bad_sides(base_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = _run("no-such-revision-or-folder", str(base_dir), "--spec", str(base_dir))
    assert code == 2
    assert "'no-such-revision-or-folder' is not a folder, and" in capsys.readouterr().err
    code, _ = _run("no-such-revision-or-folder", "--spec", str(ROOT / "spec"))
    assert code == 2
    assert "'no-such-revision-or-folder' is neither a folder nor a git revision" in capsys.readouterr().err
    broken = edited(base_dir, tmp_path, [sub(L2, "response: Book | null", "response: Bok")])
    code, _ = _run(str(base_dir), str(broken))
    assert code == 2
    assert "reference to unknown type 'Bok'" in capsys.readouterr().err


def _git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=repo, check=True, capture_output=True
    )


def test_git_revisions_and_working_tree(base_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(base_dir, repo / "spec")
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    apply(repo / "spec", [sub(ORDER, "vault: true", "vault: false")])
    _git(repo, "commit", "-q", "-am", "vault off")
    apply(repo / "spec", [add("info/meta.yaml", META)])  # uncommitted
    monkeypatch.chdir(repo)
    code, text = _run("main~1", "main", "--format", "summary")
    assert (code, text) == (0, "main~1 → main: 2 signing-breaking, 0 breaking, 0 non-breaking, 0 info\n")
    code, text = _run("main", "--format", "summary", "--fail-on", "breaking")
    assert (code, text) == (0, "main → working tree: 0 signing-breaking, 0 breaking, 1 non-breaking, 0 info\n")
    code, text = _run("main~1", "--fail-on", "signing")
    assert code == 1 and "## Spec changes: `main~1` → `working tree`" in text


def test_module_entry_point(base_dir: Path, tmp_path: Path) -> None:
    new_dir = edited(base_dir, tmp_path, [sub(L2, "weight: 2", "weight: 3")])
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hyperliquid_client",
            "spec",
            "diff",
            str(base_dir),
            str(new_dir),
            "--format",
            "summary",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 0 and proc.stdout.endswith("0 non-breaking, 1 info\n"), proc.stderr


# ------------------------------------------------------------------------------------------------ rule coverage
def _paths(node: Any, path: tuple[str, ...]) -> list[specdiff._Raw]:
    """Every raw change the differ could produce in this tree (as ``_diff`` produces them)."""
    raw = specdiff._Raw
    out: list[specdiff._Raw] = []
    if isinstance(node, specdiff._Record):
        for k, v in node.items():
            out += _paths(v, (*path, k))
    elif isinstance(node, specdiff._Keyed):
        out.append(raw("reordered", path))
        for k, v in node.items():
            out += [raw("added", (*path, k), new=v, item=True), raw("removed", (*path, k), old=v, item=True)]
            out += _paths(v, (*path, k))
    elif isinstance(node, specdiff._Values):  # an empty one is an empty collection of either kind
        if node:
            out += [raw("added", path, new=node[0]), raw("removed", path, old=node[0]), raw("reordered", path)]
    else:
        out.append(raw("changed", path))
    return out


def test_every_path_of_the_real_spec_meets_a_rule() -> None:
    tree = specdiff.spec_tree(load_spec(ROOT / "spec"))
    fallback = specdiff.RULES[-1]
    raws = [r for r in _paths(tree, ()) if len(r.path) >= 2]
    assert len(raws) > 5000
    unclassified = {(r.kind, "/".join(r.path)) for r in raws if specdiff._rule_for(r) is fallback}
    assert not unclassified, sorted(unclassified)[:20]


def test_roles_of_types_follow_their_use(base_spec: Any) -> None:
    roles = specdiff._roles(specdiff.spec_tree(base_spec))
    assert roles == {
        name: {"output"} for name in ("Ack", "Book", "Level", "Trade", "Side", "Delta", "Deposit", "Withdraw")
    }


WITHDRAW = "    doc: A withdrawal.\n    fields:\n      type: str\n      usdc: decimal\n"


def withdraw(fields: str) -> list[Op]:
    """Replace the fields of ``Withdraw`` (a type no sample uses)."""
    return [sub(TYPES, WITHDRAW, "    doc: A withdrawal.\n    fields:\n" + fields)]


@pytest.mark.parametrize(
    ("role", "ops", "severity"),
    [
        ("signed", withdraw("      type: str\n      usdc: decimal\n      m: int\n"), SIGNING),
        ("signed", withdraw("      usdc: decimal\n      type: str\n"), SIGNING),
        ("signed", [sub(TYPES, "A withdrawal.", "A withdrawal of USDC.")], INFO),
        ("input", withdraw("      type: str\n      usdc: decimal\n      m: int\n"), BREAKING),
        (
            "input",
            withdraw("      type: str\n      usdc: decimal\n      m: {type: int, optional: true}\n"),
            NON_BREAKING,
        ),
        ("input", withdraw("      type: str\n      usdc: {type: decimal, optional: true}\n"), NON_BREAKING),
        ("input", withdraw("      type: str\n      usdc: any\n"), NON_BREAKING),
        ("input", withdraw("      type: str\n      usdc: int\n"), BREAKING),
        ("output", withdraw("      type: str\n      usdc: decimal\n      m: int\n"), NON_BREAKING),
        ("output", withdraw("      type: str\n      usdc: {type: decimal, optional: true}\n"), BREAKING),
    ],
)
def test_a_type_is_judged_by_the_role_it_plays(
    role: str,
    ops: list[Op],
    severity: str,
    base_dir: Path,
    base_spec: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Today's exchange parameters cannot name a type yet: give `Withdraw` the role directly
    monkeypatch.setattr(specdiff, "_roles", lambda tree: {"Withdraw": {role}})
    (change,) = diff_specs(base_spec, load_spec(edited(base_dir, tmp_path, ops)))
    assert change.subject == "type.Withdraw" and change.severity == severity


def test_a_revision_is_read_by_its_own_loader(base_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The base revision's loader knows a key this one does not (a spec format that changed since):
    # that revision's spec is read by that revision's loader, and the format change shows as a change.
    repo = tmp_path / "repo"
    shutil.copytree(base_dir, repo / "spec")
    shutil.copytree(
        ROOT / "hyperliquid_client", repo / "hyperliquid_client", ignore=shutil.ignore_patterns("__pycache__")
    )
    loader = repo / "hyperliquid_client/codegen/loader.py"
    text = loader.read_text(encoding="utf-8")
    old_schema = '        "weight": (True, _int),\n        "weight_per_item"'
    assert text.count(old_schema) == 1
    loader.write_text(
        text.replace(
            old_schema, '        "weight": (True, _int),\n        "legacy": (False, _str),\n        "weight_per_item"'
        )
    )
    apply(repo / "spec", [sub(L2, "weight: 2\n", "weight: 2\nlegacy: kept for old clients\n")])
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "old format")
    apply(repo / "spec", [sub(L2, "legacy: kept for old clients\n", ""), sub(L2, "weight: 2\n", "weight: 3\n")])
    monkeypatch.chdir(repo)
    with pytest.raises(SpecError):  # this revision's loader refuses the committed spec
        load_spec(_committed(repo, tmp_path))
    code, text = _run("main", "--format", "json")
    assert code == 0, text
    assert {(c["severity"], c["path"]) for c in json.loads(text)["changes"]} == {(INFO, "weight")}


def _committed(repo: Path, tmp_path: Path) -> Path:
    """The committed spec, checked out on its own (this revision's loader refuses it)."""
    out = tmp_path / "committed"
    subprocess.run(
        ["git", "worktree", "add", "-q", "--detach", str(out), "main"], cwd=repo, check=True, capture_output=True
    )
    return out / "spec"


def test_a_change_of_the_spec_format_is_info_except_where_bytes_are_signed(base_spec: Any) -> None:
    old, new = specdiff.spec_tree(base_spec), specdiff.spec_tree(base_spec)
    for channel in old["channel"].values():  # the old model had no `initial` ...
        del channel["initial"]
    del old["exchange"]["order"]["action"]["vault"]  # ... nor vault participation
    changes = specdiff.diff_trees(old, new)
    got = {(c.severity, c.subject, "/".join(c.path[2:])) for c in changes}
    assert got == {(INFO, "channel.trades", "initial"), (SIGNING, "exchange.order", "action/vault")}
    assert all(c.message.startswith("spec format: ") for c in changes)


def test_the_encoding_takes_any_shape_of_model() -> None:
    # what a future model may hold: mappings of model objects and plain objects are diffed like the rest
    @attrs.frozen
    class Request:
        name: str
        fields: tuple[str, ...]
        sample: dict[str, Any]

    class Holder:
        def __init__(self, fields: tuple[str, ...]) -> None:
            self.types = {"OrderRequest": Request("OrderRequest", fields, {"a": 1})}
            self._cache = {"never": "encoded"}

    assert spectree.encode(Holder(("a", "b"))) == {
        "r": {
            "types": {
                "k": [
                    [
                        "OrderRequest",
                        {"r": {"name": {"x": "OrderRequest"}, "fields": {"v": ["a", "b"]}, "sample": {"x": {"a": 1}}}},
                    ]
                ]
            }
        }
    }
    old, new = (specdiff._decode(spectree.encode(Holder(f))) for f in (("a", "b"), ("b", "a")))
    raws: list[specdiff._Raw] = []
    specdiff._diff(old, new, ("request",), raws)
    assert raws == [specdiff._Raw("reordered", ("request", "types", "OrderRequest", "fields"), ["a", "b"], ["b", "a"])]
