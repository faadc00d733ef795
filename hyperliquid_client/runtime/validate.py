"""Validation of request parameters, called by generated methods before anything is sent.

Each function takes the parameter's public name (for the error message) and the value, and
returns the value in its wire form or raises :class:`~hyperliquid_client.runtime.errors.InvalidInputError`.
The parameter types are those of the spec format (``docs/spec-format.md``).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeVar

from hyperliquid_client.runtime.errors import InvalidInputError
from hyperliquid_client.runtime.record import Record
from hyperliquid_client.runtime.record import record as _record

if TYPE_CHECKING:
    from hyperliquid_client.runtime.markets import BuildContext

__all__ = [
    "PARAM_TYPES",
    "HANDED_OVER",
    "REQUEST_TYPES",
    "RequestType",
    "address",
    "address_text",
    "amount",
    "boolean",
    "check_choices",
    "cloid",
    "coin",
    "decimal",
    "decimal_to_wire",
    "hash32",
    "integer",
    "list_of",
    "oid_or_cloid",
    "passthrough",
    "string",
    "timestamp",
    "to_decimal",
    "variant",
    "choice",
    "choices_text",
    "client_order_id",
    "fixed",
    "flag",
    "near_float",
    "record",
    "uint",
    "usd_amount",
    "usd_micro",
    "usd_micro_signed",
    "wire_record",
]

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
_CLOID = re.compile(r"0x[0-9a-fA-F]{32}")


def string(name: str, value: Any) -> str:
    """Any string."""
    if not isinstance(value, str):
        raise InvalidInputError(name, "a string", value)
    return value


def coin(name: str, value: Any) -> str:
    """A coin or market name: non-empty, no surrounding whitespace (``BTC``, ``PURR/USDC``, ``@1``, ``xyz:SP500``)."""
    if not isinstance(value, str) or not value or str.strip(value) != value:
        raise InvalidInputError(name, "a non-empty coin name such as 'BTC', 'PURR/USDC' or '@107'", value)
    return value


def integer(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (bool rejected), optionally bounded."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(name, "an integer", value)
    if minimum is not None and value < minimum:
        raise InvalidInputError(name, f"an integer >= {minimum}", value)
    if maximum is not None and value > maximum:
        raise InvalidInputError(name, f"an integer <= {maximum}", value)
    return value


def timestamp(name: str, value: Any) -> int:
    """A time in milliseconds since the epoch (a non-negative 64-bit integer)."""
    return integer(name, value, minimum=0, maximum=2**63 - 1)


def boolean(name: str, value: Any) -> bool:
    """A boolean."""
    if not isinstance(value, bool):
        raise InvalidInputError(name, "a boolean", value)
    return value


def address(name: str, value: Any) -> str:
    """An EVM address ``0x`` + 40 hex digits; returned lowercase (the API's canonical form)."""
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise InvalidInputError(name, "an address: '0x' followed by 40 hex digits", value)
    _checksum(name, value)
    return str.lower(value)  # (a str's own method: exact text whatever the class)


def address_text(name: str, value: Any) -> str:
    """An EVM address whose exact text is signed (EIP-712 ``string`` fields): validated, case kept."""
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise InvalidInputError(name, "an address: '0x' followed by 40 hex digits", value)
    _checksum(name, value)
    return value


def _checksum(name: str, value: str) -> None:
    """A mixed-case address must be its EIP-55 checksum (see ``signing.wallet.refuse_bad_checksum``)."""
    digits = value[2:]
    if digits != str.lower(digits) and digits != str.upper(digits):
        from hyperliquid_client.runtime.signing.wallet import refuse_bad_checksum  # (only for a mixed-case one)

        refuse_bad_checksum(name, value)


def amount(name: str, value: Any) -> str:
    """A non-negative amount sent as a string: strings pass verbatim (their text is signed), numbers
    become plain decimal strings."""
    text = decimal(name, value)
    if text.startswith("-"):
        raise InvalidInputError(name, "a non-negative amount", value)
    return str.strip(value) if isinstance(value, str) else text


def hash32(name: str, value: Any) -> str:
    """A 32-byte hash ``0x`` + 64 hex digits; returned lowercase."""
    if not isinstance(value, str) or not _HASH.fullmatch(value):
        raise InvalidInputError(name, "a hash: '0x' followed by 64 hex digits", value)
    return str.lower(value)  # (a str's own method: exact text whatever the class)


def cloid(name: str, value: Any) -> str:
    """A client order id: ``0x`` + 32 hex digits of either case, returned in lowercase (as the exchange
    answers it, and as it is signed)."""
    if not isinstance(value, str) or not _CLOID.fullmatch(value):
        raise InvalidInputError(name, "a client order id: '0x' followed by 32 hex digits", value)
    return str.lower(value)  # (a str's own method: exact text whatever the class)


def oid_or_cloid(name: str, value: Any) -> int | str:
    """An order id (non-negative integer) or a client order id."""
    if isinstance(value, int) and not isinstance(value, bool):
        return integer(name, value, minimum=0, maximum=_U64_MAX)
    if isinstance(value, str):
        return cloid(name, value)
    raise InvalidInputError(name, "an order id (int) or a client order id ('0x' + 32 hex digits)", value)


_NUMBER_EXPECTED = "a finite number (int, float, Decimal or decimal string)"
_INFINITIES = (math.inf, -math.inf)


def to_decimal(value: Any, field: str) -> Decimal:
    """``value`` (int, float, Decimal or decimal string) as an exact, finite :class:`Decimal`.

    Floats are taken by their shortest repr (``0.1`` → ``Decimal("0.1")``).  Booleans, NaN,
    infinities and malformed strings raise :class:`InvalidInputError` naming ``field``.
    """
    if value.__class__ is float:  # the common case first
        if value != value or value in _INFINITIES:
            raise InvalidInputError(field, _NUMBER_EXPECTED, value)
        d = Decimal(repr(value))
        if d.adjusted() >= _MAX_DIGITS:
            raise InvalidInputError(field, f"a number below 1e{_MAX_DIGITS}", value)
        return d
    if isinstance(value, bool):
        raise InvalidInputError(field, _NUMBER_EXPECTED, value)
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, float):
        d = Decimal(repr(value)) if value == value and value not in (float("inf"), float("-inf")) else Decimal("NaN")
    elif isinstance(value, str):
        text = str.strip(value)  # (exact text whatever the class)
        if not text or "_" in text or not text.isascii():  # Decimal() would take "1_000" and "٣"
            raise InvalidInputError(field, _NUMBER_EXPECTED, value, detail="ASCII digits only")
        try:
            d = Decimal(text)
        except InvalidOperation:
            raise InvalidInputError(field, _NUMBER_EXPECTED, value) from None
    else:
        raise InvalidInputError(field, _NUMBER_EXPECTED, value)
    if not d.is_finite():
        raise InvalidInputError(field, _NUMBER_EXPECTED, value)
    if d.adjusted() >= _MAX_DIGITS:
        raise InvalidInputError(field, f"a number below 1e{_MAX_DIGITS}", value)
    return d


#: No price, size or amount of the exchange comes near this many integer digits; beyond it the
#: value is a mistake (and the exchange's fixed-point arithmetic could not hold it).
_MAX_DIGITS = 18


def _a(words: str) -> str:
    """``words`` after its article: "an amount", "a USDC amount", "an OrderRequest"."""
    return f"{'an' if words[:1] in 'aeioAEIO' else 'a'} {words}"


def exact(d: Decimal) -> Context:
    """A decimal context in which rounding ``d`` to a step (``quantize``) or scaling it (``scaleb``) is exact, whatever
    the thread's own context (its precision, rounding and traps are the caller's, who may have changed them)."""
    return Context(
        prec=max(60, len(d.as_tuple().digits) + 10),
        rounding=ROUND_HALF_EVEN,
        Emin=MIN_EMIN,
        Emax=MAX_EMAX,
        traps=[InvalidOperation],
    )


def step(exp: int) -> Decimal:
    """``10**exp`` (exact, whatever the thread's decimal context)."""
    return Decimal((0, (1,), exp))


def decimal_to_wire(d: Decimal) -> str:
    """Exact decimal text of ``d``: no exponent, no trailing zeros (``Decimal("1.50")`` → ``"1.5"``)."""
    if not d.is_finite():
        raise ValueError(f"not a finite number: {d!r}")
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", ""):
        text = "0"
    return text


def decimal(name: str, value: Any) -> str:
    """A finite number (int, float, Decimal or decimal string) as a plain decimal string."""
    return decimal_to_wire(to_decimal(value, name))


def check_choices(name: str, value: Any, choices: Collection[Any]) -> Any:
    """``value`` must be one of ``choices``."""
    if value not in choices:
        shown = ", ".join(repr(c) for c in choices)
        raise InvalidInputError(name, f"one of {shown}", value)
    return value


def only_with(name: str, value: Any, other: str, other_value: Any, required: Any) -> None:
    """``value`` (when given) needs ``other`` to be ``required`` (spec key ``only_with``)."""
    if value is not None and other_value != required:
        raise InvalidInputError(name, f"None unless {other}={required!r}", value, detail=f"{other} is {other_value!r}")


def not_after(name: str, value: Any, other: str, other_value: Any) -> None:
    """``value`` must not exceed ``other`` when both are given (spec key ``not_after``)."""
    if value is not None and other_value is not None and value > other_value:
        raise InvalidInputError(name, f"at most {other} ({other_value!r})", value)


#: Parameter types of the spec format and their validators.
PARAM_TYPES = {
    "str": "string",
    "coin": "coin",
    "int": "integer",
    "time": "timestamp",
    "bool": "boolean",
    "address": "address",
    "address_text": "address_text",
    "amount": "amount",
    "hash": "hash32",
    "cloid": "cloid",
    "oid_or_cloid": "oid_or_cloid",
    "decimal": "decimal",
    "any": "passthrough",
}


def passthrough(name: str, value: Any) -> Any:
    """Any JSON-serialisable value, sent as given."""
    return value


def variant(name: str, value: Any) -> dict[str, Any]:
    """A one-key mapping ``{variant name: payload}`` merged into an action (deploy and validator actions)."""
    if not isinstance(value, dict) or len(value) != 1 or not all(isinstance(k, str) and k for k in value):
        raise InvalidInputError(name, "a mapping with exactly one variant key, e.g. {'registerSpot': {...}}", value)
    return dict(value)


def list_of(name: str, value: Any, item: Any) -> list[Any]:
    """A list (or tuple) whose items are validated by ``item(name[i], x)``."""
    if not isinstance(value, list | tuple):
        raise InvalidInputError(name, "a list", value)
    return [item(f"{name}[{i}]", x) for i, x in enumerate(value)]


# ---------------------------------------------------------------------------------------------- requests
# The semantic types of exchange requests (docs/spec-format.md, "Semantic types").  Each one is one
# function; at the wire level (``ctx`` None) it checks the value in its wire form, at the high level it
# converts what a user writes (coin names, numbers) through the build context.  Functions that need
# market metadata live in :mod:`hyperliquid_client.runtime.markets`.

T = TypeVar("T")
_NUMBER = "Decimal | str | int | float"
_U64_MAX = 2**64 - 1
_FEE_RATE = re.compile(r"(?:0|[1-9]\d*)(?:\.\d+)?%")
_HEX = re.compile(r"0x(?:[0-9a-fA-F]{2})*")
#: Largest builder fee, in tenths of a basis point (1%).
MAX_BUILDER_FEE = 1000
#: Decimals of USDC amounts on the perp balance (micro-USDC).
USD_DECIMALS = 6


@_record
class RequestType(Record):
    """A semantic type of the request spec: its function and its Python annotations."""

    fn: str
    high: str
    wire: str
    ctx: bool = False
    args: tuple[int, int] = (0, 0)
    same: bool = True


#: Semantic types of exchange requests: ``fn`` is ``v.<name>`` (this module) or ``m.<name>``
#: (:mod:`~hyperliquid_client.runtime.markets`); ``high``/``wire`` are the Python annotations of
#: the two generated layers; ``same`` says whether a value means the same on both layers.
REQUEST_TYPES: dict[str, RequestType] = {
    "str": RequestType("v.string", "str", "str"),
    "int": RequestType("v.integer", "int", "int"),
    "uint": RequestType("v.uint", "int", "int"),
    "bool": RequestType("v.boolean", "bool", "bool"),
    "flag": RequestType("v.flag", "bool", "bool"),
    "address": RequestType("v.address", "str", "str"),
    "address_text": RequestType("v.address_text", "str", "str"),
    "cloid": RequestType("v.client_order_id", "str | int | bytes", "str"),
    "oid_or_cloid": RequestType("v.oid_or_cloid", "int | str", "int | str"),
    "time_ms": RequestType("v.timestamp", "int", "int"),
    "decimal_text": RequestType("v.amount", _NUMBER, _NUMBER),
    "signed_decimal_text": RequestType("v.signed_amount", _NUMBER, _NUMBER),
    "fee_rate": RequestType("v.fee_rate", "str", "str"),
    "builder_fee": RequestType("v.builder_fee", "int", "int"),
    "hex": RequestType("v.hex_data", "str", "str"),
    "usd_amount": RequestType("v.usd_amount", _NUMBER, _NUMBER, ctx=True, same=False),
    "usd_micro": RequestType("v.usd_micro", _NUMBER, "int", ctx=True, same=False),
    "usd_micro_signed": RequestType("v.usd_micro_signed", _NUMBER, "int", ctx=True, same=False),
    "usd_micro_or_zero": RequestType("v.usd_micro_or_zero", _NUMBER, "int", ctx=True, same=False),
    "twap_minutes": RequestType("v.twap_minutes", "int", "int"),
    "exchange_action": RequestType("v.exchange_action", "Mapping[str, Any]", "Mapping[str, Any]"),
    "sub_account": RequestType("v.sub_account", "str | None", "str", ctx=True, same=False),
    "user": RequestType("v.user", "str | None", "str", ctx=True, same=False),
    "usd_class_amount": RequestType("v.usd_class_amount", _NUMBER, "str", ctx=True, args=(1, 1), same=False),
    "multi_sig_signers": RequestType("v.multi_sig_signers", "str", "str", ctx=True, args=(2, 2), same=False),
    "asset": RequestType("m.asset", "str", "int", ctx=True, same=False),
    "price": RequestType("m.price", _NUMBER, _NUMBER, ctx=True, args=(1, 1), same=False),
    "size": RequestType("m.size", _NUMBER, _NUMBER, ctx=True, args=(1, 2), same=False),
    "leverage": RequestType("m.leverage", "int", "int", ctx=True, args=(1, 1), same=False),
    "token": RequestType("m.token", "str", "str", ctx=True, same=False),
    "token_amount": RequestType("m.token_amount", _NUMBER, _NUMBER, ctx=True, args=(1, 1), same=False),
}


#: Semantic types whose validator hands the caller's mapping over as given (its values unchecked): an action holding
#: one is not JSON by construction, so the "once" signer check walks it (``signing.check.verify_body``).
HANDED_OVER = frozenset({"exchange_action"})


def uint(name: str, value: Any) -> int:
    """A non-negative integer that fits in 64 bits."""
    return integer(name, value, minimum=0, maximum=_U64_MAX)


def flag(name: str, value: Any) -> bool | None:
    """A flag the exchange wants **omitted** when false: ``True`` or ``None``."""
    return True if boolean(name, value) else None


def client_order_id(name: str, value: Any) -> str:
    """A client order id: ``0x`` + 32 hex digits (sent lowercase), an int below 2**128 or 16 bytes."""
    from hyperliquid_client.runtime.signing.wire import normalize_cloid

    return normalize_cloid(value, name)


def signed_amount(name: str, value: Any) -> str:
    """A decimal that may be negative, sent as text (strings verbatim)."""
    text = decimal(name, value)
    return str.strip(value) if isinstance(value, str) else text


def fee_rate(name: str, value: Any) -> str:
    """A fee rate as a percent string (``"0.001%"``)."""
    if not isinstance(value, str) or not _FEE_RATE.fullmatch(value):
        raise InvalidInputError(name, "a percentage string such as '0.001%'", value)
    return value


def builder_fee(name: str, value: Any) -> int:
    """A builder fee in tenths of a basis point (0 .. 1000)."""
    fee = integer(name, value, minimum=0)
    if fee > MAX_BUILDER_FEE:
        raise InvalidInputError(name, f"a fee of at most {MAX_BUILDER_FEE} tenths of a basis point", fee)
    return fee


def hex_data(name: str, value: Any) -> str:
    """Bytes as ``0x`` + an even number of hex digits."""
    if not isinstance(value, str) or not _HEX.fullmatch(value):
        raise InvalidInputError(name, "bytes as '0x' followed by an even number of hex digits", value)
    return value


def near_float(value: Any, near: Decimal) -> bool:
    """True when ``value`` is a float within float noise (4 ulp) of ``near``."""
    return isinstance(value, float) and abs(value - float(near)) <= 4 * math.ulp(value)


def fixed(name: str, value: Any, places: int, what: str, *, sign: int = 1) -> Decimal:
    """``value`` with at most ``places`` decimals; ``sign`` 1: positive, 0: non-zero (either sign).

    A float within float noise of such a value (``0.1 + 0.2`` for 6 decimals) is taken as it;
    anything else with more decimals is refused naming the nearest allowed value (the smallest one where the
    nearest is 0: ``5e-324`` is too fine an amount, not float noise of no amount).
    """
    d = to_decimal(value, name)
    if (sign == 1 and d <= 0) or d == 0:
        raise InvalidInputError(name, f"{_a('positive' if sign == 1 else 'non-zero')} {what}", value)
    unit = step(-places)
    near = d.quantize(unit, rounding=ROUND_HALF_EVEN, context=exact(d))
    if near != d:
        if not near or not near_float(value, near):
            smallest = decimal_to_wire(unit.copy_sign(d))
            detail = f"nearest {decimal_to_wire(near)}" if near else f"the smallest is {smallest}"
            raise InvalidInputError(name, f"{_a(what)} with at most {places} decimal places", value, detail=detail)
        d = near
    return d


def usd_amount(ctx: BuildContext | None, name: str, value: Any) -> str:
    """A USDC amount sent as text: positive, at most 6 decimals (strings verbatim on the wire level)."""
    if ctx is None:
        return amount(name, value)
    return decimal_to_wire(fixed(name, value, USD_DECIMALS, "USDC amount"))


def usd_micro(ctx: BuildContext | None, name: str, value: Any) -> int:
    """A positive USDC amount as integer micro-USDC (``1.5`` → ``1500000``); wire: the integer."""
    if ctx is None:
        return uint(name, value)
    d = fixed(name, value, USD_DECIMALS, "USDC amount")
    return int(d.scaleb(USD_DECIMALS, context=exact(d)))


def usd_micro_or_zero(ctx: BuildContext | None, name: str, value: Any) -> int:
    """A USDC amount that may be 0 as integer micro-USDC; wire: the integer."""
    if ctx is None or to_decimal(value, name) == 0:
        return uint(name, 0 if ctx is not None else value)
    return usd_micro(ctx, name, value)


def twap_minutes(name: str, value: Any) -> int:
    """The running time of a TWAP order: 5 to 1440 minutes."""
    return integer(name, value, minimum=5, maximum=1440)


def exchange_action(name: str, value: Any) -> dict[str, Any]:
    """An exchange action (a mapping with its ``type``), e.g. the inner action of a multi-sig."""
    if not isinstance(value, Mapping) or not isinstance(value.get("type"), str):
        raise InvalidInputError(name, "an exchange action: a mapping with its 'type'", value)
    return dict(value)


def usd_micro_signed(ctx: BuildContext | None, name: str, value: Any) -> int:
    """A non-zero USDC amount (negative removes) as integer micro-USDC; wire: the integer."""
    if ctx is None:
        return integer(name, value, minimum=-(2**63), maximum=2**63 - 1)
    d = fixed(name, value, USD_DECIMALS, "USDC amount", sign=0)
    return int(d.scaleb(USD_DECIMALS, context=exact(d)))


def sub_account(ctx: BuildContext | None, name: str, value: Any) -> str:
    """A sub-account address or ``""`` (the account itself); high level: ``None`` is the client's vault."""
    if value == "" or (ctx is None and value is None):
        return ""
    if ctx is None:
        return address_text(name, value)
    if value is None:
        return ctx.vault or ""
    return address(name, value)


def user(ctx: BuildContext | None, name: str, value: Any) -> str:
    """A user address (lowercase); high level: ``None`` is the client's account."""
    if ctx is not None and value is None:
        if ctx.user is None:
            raise InvalidInputError(name, "an address (no wallet or account_address configured)")
        return ctx.user
    return address(name, value)


def usd_class_amount(ctx: BuildContext | None, name: str, value: Any, vault: Any) -> str:
    """``usdClassTransfer.amount``: the USDC amount, with ``" subaccount:<address>"`` appended when
    acting for a sub-account (``vault``, default the client's vault); wire: the text as given."""
    if ctx is None:
        return string(name, value)
    text = usd_amount(ctx, name, value)
    target = address("vault_address", vault) if vault is not None else ctx.vault
    return f"{text} subaccount:{target}" if target else text


def multi_sig_signers(ctx: BuildContext | None, name: str, value: Any, users: Any, threshold: Any) -> str:
    """``convertToMultiSigUser.signers``: Python-``json.dumps`` text of ``{"authorizedUsers": sorted
    lowercase addresses, "threshold": n}``, or ``"null"`` (both ``None``) to convert back.  Wire: the text."""
    if ctx is None:
        return string(name, value)
    if users is None:
        if threshold is not None:
            raise InvalidInputError("threshold", "None when converting back to a normal user", threshold)
        return "null"
    if isinstance(users, str) or not isinstance(users, Collection):
        raise InvalidInputError("authorized_users", "a list of addresses", users)
    listed = sorted({address(f"authorized_users[{i}]", u) for i, u in enumerate(users)})
    if not listed:
        raise InvalidInputError("authorized_users", "at least one address", users)
    n = integer("threshold", threshold, minimum=1)
    if n > len(listed):
        raise InvalidInputError("threshold", f"at most the number of authorized users ({len(listed)})", n)
    return json.dumps({"authorizedUsers": listed, "threshold": n})


def choices_text(choices: Collection[Any]) -> str:
    """``'a' or 'b'`` / ``one of 'a', 'b' or 'c'``."""
    shown = [repr(c) for c in choices]
    if len(shown) == 1:
        return shown[0]
    text = ", ".join(shown[:-1]) + " or " + shown[-1]
    return text if len(shown) == 2 else "one of " + text


def choice(name: str, value: Any, choices: Collection[Any]) -> Any:
    """``value`` must be one of ``choices`` (an enum of the spec)."""
    if value not in choices or isinstance(value, bool):
        raise InvalidInputError(name, choices_text(choices), value)
    return value


def record(name: str, value: Any, cls: type[T], wire_names: Mapping[str, str]) -> T:
    """An instance of the request class ``cls`` from an instance, a mapping of its Python (or wire)
    field names, or a sequence of its fields in constructor order."""
    if isinstance(value, cls):
        return value
    try:
        if isinstance(value, Mapping):
            return cls(**{wire_names.get(k, k): v for k, v in value.items()})
        if isinstance(value, list | tuple):
            return cls(*value)
    except TypeError as exc:
        raise InvalidInputError(name, f"{_a(cls.__name__)} ({exc})", value) from None
    raise InvalidInputError(name, f"{_a(cls.__name__)} or a mapping of its fields", value)


def wire_record(name: str, value: Any, keys: Collection[str]) -> Mapping[str, Any]:
    """A wire-level record: a mapping whose keys are among ``keys`` (unknown keys are refused)."""
    if not isinstance(value, Mapping):
        raise InvalidInputError(name, "a mapping with keys " + ", ".join(keys), value)
    unknown = [k for k in value if k not in keys]
    if unknown:
        raise InvalidInputError(name, "a mapping with keys " + ", ".join(keys), value, detail=f"unknown {unknown}")
    return value


def wire_key(name: str, value: Mapping[str, Any], key: str) -> Any:
    """A required key of a wire-level record."""
    try:
        return value[key]
    except KeyError:
        raise InvalidInputError(f"{name}.{key}" if name else key, "a value (missing key)") from None


def one_of(
    name: str, value: Any, tags: Sequence[str], units: Collection[str], classes: Mapping[type, str]
) -> tuple[str, Any]:
    """A value of a tagged union: a unit tag, an instance of a variant's class, or ``{tag: payload}``."""
    if isinstance(value, str) and value in units:
        return value, None
    tag = classes.get(type(value))
    if tag is not None:
        return tag, value
    if isinstance(value, Mapping) and len(value) == 1:
        key = next(iter(value))
        if key in tags:
            return key, value[key]
    shown = [repr(t) if t in units else f"{{{t!r}: ...}}" for t in tags]
    raise InvalidInputError(name, "one of " + ", ".join(shown), value)


def items(name: str, value: Any, item: Callable[[str, Any], T], *, nonempty: bool = False) -> list[T]:
    """A list (or tuple) converted item by item (``item(name[i], x)``)."""
    if not isinstance(value, list | tuple) or (nonempty and not value):
        raise InvalidInputError(name, "a non-empty list" if nonempty else "a list", value)
    return [item(f"{name}[{i}]", x) for i, x in enumerate(value)]


def pairs(name: str, value: Any, key: Callable[[str, Any], Any], val: Callable[[str, Any], Any]) -> list[list[Any]]:
    """``[[key, value], ...]`` sorted by key, from a mapping or a sequence of pairs."""
    source = list(value.items()) if isinstance(value, Mapping) else value
    if not isinstance(source, list | tuple):
        raise InvalidInputError(name, "a mapping or a list of [key, value] pairs", value)
    out = []
    for i, pair in enumerate(source):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise InvalidInputError(f"{name}[{i}]", "a [key, value] pair", pair)
        out.append([key(f"{name}[{i}][0]", pair[0]), val(f"{name}[{i}][1]", pair[1])])
    out.sort(key=lambda p: p[0])
    return out


def fixed_tuple(name: str, value: Any, parts: Sequence[Callable[[str, Any], Any]]) -> list[Any]:
    """A fixed-length array whose parts are converted in order."""
    if not isinstance(value, list | tuple) or len(value) != len(parts):
        raise InvalidInputError(name, f"a list of {len(parts)} values", value)
    return [fn(f"{name}[{i}]", x) for i, (fn, x) in enumerate(zip(parts, value, strict=True))]


def sorted_unique(name: str, value: Any, item: Callable[[str, Any], Any]) -> list[Any]:
    """A list converted item by item, duplicates dropped, sorted."""
    return sorted(set(items(name, value, item)))


def json_text(value: Any) -> str:
    """The JSON text of a converted value (Python ``json.dumps`` spacing); ``None`` is ``"null"``."""
    return json.dumps(value)


def tagged(units: Collection[str], tag: str, payload: Any) -> Any:
    """A tagged-union value on the wire: the bare tag of a unit variant, else ``{tag: payload}``."""
    return tag if tag in units else {tag: payload}
