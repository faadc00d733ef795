"""EIP-712 hashing for Hyperliquid's fixed types, by direct Keccak (no generic machinery).

Two domains are used: ``Exchange`` (chain id 1337) for the phantom agent that wraps every L1
action hash, and ``HyperliquidSignTransaction`` (chain id from the action's
``signatureChainId``) for user-signed actions.  Only atomic field types occur
(``string``, ``address``, ``bool``, ``uintN``/``intN``, ``bytes``, ``bytesN``), so a struct
hash is ``keccak(typeHash ‖ enc(field1) ‖ …)`` with 32-byte words.

:func:`typed_data` renders the same thing as the JSON typed-data document that generic
tools (eth-account, wallets) consume; the baseline backend signs that.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from ..errors import InvalidInputError
from ._keccak import keccak256
from .wallet import normalize_address

__all__ = [
    "AGENT_FIELDS",
    "AGENT_TYPE_HASH",
    "EIP712_DOMAIN_FIELDS",
    "EIP712_DOMAIN_TYPE_HASH",
    "EXCHANGE_CHAIN_ID",
    "EXCHANGE_DOMAIN_SEPARATOR",
    "MULTI_SIG_EXTRA_FIELDS",
    "SEND_MULTI_SIG_FIELDS",
    "SEND_MULTI_SIG_PRIMARY_TYPE",
    "USER_SIGNED_TYPES",
    "agent_struct_hash",
    "chain_id_from_hex",
    "domain_separator",
    "eip712_digest",
    "encode_type",
    "exchange_domain",
    "l1_digest_from_hash",
    "multi_sig_inner_fields",
    "struct_hash",
    "type_hash",
    "typed_data",
    "user_signed_digest",
    "user_signed_domain",
    "user_signed_type",
]

Fields = tuple[tuple[str, str], ...]

EIP712_DOMAIN_FIELDS: Fields = (
    ("name", "string"),
    ("version", "string"),
    ("chainId", "uint256"),
    ("verifyingContract", "address"),
)
AGENT_FIELDS: Fields = (("source", "string"), ("connectionId", "bytes32"))
EXCHANGE_CHAIN_ID = 1337
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"

_INT_BITS = "|".join(str(b) for b in range(256, 7, -8))
_ATOMIC = re.compile(rf"string|address|bool|bytes|bytes([1-9]|[12][0-9]|3[0-2])|u?int({_INT_BITS})?")
_HEX = frozenset("0123456789abcdefABCDEF")


def encode_type(primary_type: str, fields: Sequence[tuple[str, str]]) -> str:
    """``Primary(type1 name1,type2 name2,…)`` — the EIP-712 type string."""
    return f"{primary_type}({','.join(f'{t} {n}' for n, t in fields)})"


@lru_cache(maxsize=256)
def _type_hash_cached(primary_type: str, fields: Fields) -> bytes:
    for name, typ in fields:
        if _ATOMIC.fullmatch(typ) is None:
            raise InvalidInputError(
                f"fields.{name}", "an atomic EIP-712 type (string, address, bool, uintN, bytes…)", typ
            )
    return keccak256(encode_type(primary_type, fields).encode())


def _as_fields(fields: Sequence[tuple[str, str]] | Sequence[Mapping[str, str]]) -> Fields:
    out = []
    for f in fields:
        if isinstance(f, Mapping):
            out.append((f["name"], f["type"]))
        else:
            name, typ = f
            out.append((name, typ))
    return tuple(out)


def type_hash(primary_type: str, fields: Sequence[tuple[str, str]]) -> bytes:
    """keccak256 of the type string."""
    return _type_hash_cached(primary_type, _as_fields(fields))


EIP712_DOMAIN_TYPE_HASH = type_hash("EIP712Domain", EIP712_DOMAIN_FIELDS)
AGENT_TYPE_HASH = type_hash("Agent", AGENT_FIELDS)


def _hex_bytes(value: Any, field: str, expected: str) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str) and value[:2] in ("0x", "0X") and len(value) % 2 == 0 and _HEX.issuperset(value[2:]):
        return bytes.fromhex(value[2:])
    raise InvalidInputError(field, expected, value)


def _integer(value: Any) -> bool:
    """An ``int`` or a subclass of it (an ``IntEnum``: JSON and the hash read the plain value), not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def _encode_value(typ: str, value: Any, field: str) -> bytes:
    if typ == "string":
        if not isinstance(value, str):  # (a str subclass is hashed, and goes in JSON, as its plain text)
            raise InvalidInputError(field, "a string", value)
        return keccak256(str.encode(value, "utf-8"))
    if typ == "address":
        return b"\x00" * 12 + bytes.fromhex(normalize_address(value, field)[2:])
    if typ == "bool":
        if type(value) is not bool:
            raise InvalidInputError(field, "a bool", value)
        return (b"\x00" * 31) + (b"\x01" if value else b"\x00")
    if typ.startswith("uint"):
        bits = int(typ[4:] or 256)
        if not _integer(value) or not 0 <= value < (1 << bits):
            raise InvalidInputError(field, f"an integer in 0..2**{bits}-1", value)
        return int.to_bytes(value, 32, "big")
    if typ.startswith("int"):
        bits = int(typ[3:] or 256)
        if not _integer(value) or not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
            raise InvalidInputError(field, f"a signed {bits}-bit integer", value)
        return int.to_bytes(value, 32, "big", signed=True)
    if typ == "bytes":
        return keccak256(_hex_bytes(value, field, "0x-prefixed hex bytes"))
    # bytesN
    size = int(typ[5:])
    raw = _hex_bytes(value, field, f"{size} bytes as 0x-prefixed hex")
    if len(raw) != size:
        raise InvalidInputError(field, f"{size} bytes as 0x-prefixed hex", value)
    return raw.ljust(32, b"\x00")


def struct_hash(primary_type: str, fields: Sequence[tuple[str, str]], message: Mapping[str, Any]) -> bytes:
    """hashStruct(message) for a struct of atomic fields; keys not in ``fields`` are ignored."""
    fs = _as_fields(fields)
    if not isinstance(message, Mapping):
        raise InvalidInputError("action", "a mapping", type(message).__name__)
    parts = [_type_hash_cached(primary_type, fs)]
    for name, typ in fs:
        if name not in message:
            raise InvalidInputError(f"action.{name}", f"a value for EIP-712 field {typ} {name}", None)
        parts.append(_encode_value(typ, message[name], f"action.{name}"))
    return keccak256(b"".join(parts))


def exchange_domain() -> dict[str, Any]:
    """The ``Exchange`` domain of the phantom agent."""
    return {"name": "Exchange", "version": "1", "chainId": EXCHANGE_CHAIN_ID, "verifyingContract": ZERO_ADDRESS}


def user_signed_domain(chain_id: int) -> dict[str, Any]:
    """The ``HyperliquidSignTransaction`` domain for ``chain_id``."""
    return {
        "name": "HyperliquidSignTransaction",
        "version": "1",
        "chainId": chain_id,
        "verifyingContract": ZERO_ADDRESS,
    }


@lru_cache(maxsize=64)
def _domain_separator_cached(name: str, version: str, chain_id: int, verifying_contract: str) -> bytes:
    return struct_hash(
        "EIP712Domain",
        EIP712_DOMAIN_FIELDS,
        {"name": name, "version": version, "chainId": chain_id, "verifyingContract": verifying_contract},
    )


def domain_separator(domain: Mapping[str, Any]) -> bytes:
    """hashStruct(EIP712Domain) for a domain with name, version, chainId, verifyingContract."""
    return _domain_separator_cached(domain["name"], domain["version"], domain["chainId"], domain["verifyingContract"])


EXCHANGE_DOMAIN_SEPARATOR = domain_separator(exchange_domain())

_SOURCE_HASH = {True: keccak256(b"a"), False: keccak256(b"b")}
#: typeHash ‖ keccak(source): the constant prefix of the phantom agent's struct.
_AGENT_PREFIX = {k: AGENT_TYPE_HASH + v for k, v in _SOURCE_HASH.items()}
_EXCHANGE_DIGEST_PREFIX = b"\x19\x01" + EXCHANGE_DOMAIN_SEPARATOR


def agent_struct_hash(connection_id: bytes, is_mainnet: bool) -> bytes:
    """hashStruct(Agent{source: "a"|"b", connectionId})."""
    return keccak256(_AGENT_PREFIX[bool(is_mainnet)] + connection_id)


def l1_digest_from_hash(connection_id: bytes, is_mainnet: bool) -> bytes:
    """The signed digest of an L1 action given its action hash."""
    if type(connection_id) is not bytes or len(connection_id) != 32:
        raise InvalidInputError("action_hash", "32 bytes", connection_id)
    return keccak256(_EXCHANGE_DIGEST_PREFIX + keccak256(_AGENT_PREFIX[bool(is_mainnet)] + connection_id))


def eip712_digest(domain_sep: bytes, struct: bytes) -> bytes:
    """keccak256(0x1901 ‖ domainSeparator ‖ hashStruct)."""
    return keccak256(b"\x19\x01" + domain_sep + struct)


def chain_id_from_hex(value: Any, field: str = "action.signatureChainId") -> int:
    """Parse ``signatureChainId`` (``"0x66eee"``)."""
    if not isinstance(value, str) or value[:2] not in ("0x", "0X") or len(value) < 3 or not _HEX.issuperset(value[2:]):
        raise InvalidInputError(field, 'a 0x-prefixed hex chain id such as "0x66eee"', value)
    return int(value, 16)


def user_signed_digest(action: Mapping[str, Any], *, primary_type: str, fields: Sequence[tuple[str, str]]) -> bytes:
    """The digest of a user-signed action: the action itself is the EIP-712 message.

    ``chainId`` comes from ``action["signatureChainId"]``; only ``fields`` (in that order)
    are hashed.
    """
    if not isinstance(action, Mapping):
        raise InvalidInputError("action", "a mapping", type(action).__name__)
    chain_id = chain_id_from_hex(action.get("signatureChainId"))
    sep = _domain_separator_cached("HyperliquidSignTransaction", "1", chain_id, ZERO_ADDRESS)
    return eip712_digest(sep, struct_hash(primary_type, fields, action))


def typed_data(
    domain: Mapping[str, Any], primary_type: str, fields: Sequence[tuple[str, str]], message: Mapping[str, Any]
) -> dict[str, Any]:
    """The full typed-data document (``types``, ``primaryType``, ``domain``, ``message``)."""
    return {
        "types": {
            "EIP712Domain": [{"name": n, "type": t} for n, t in EIP712_DOMAIN_FIELDS],
            primary_type: [{"name": n, "type": t} for n, t in _as_fields(fields)],
        },
        "primaryType": primary_type,
        "domain": dict(domain),
        "message": dict(message),
    }


def _f(spec: str) -> Fields:
    return tuple((p.split()[1], p.split()[0]) for p in spec.split(","))


#: action ``type`` → (EIP-712 primary type, fields in order) for every user-signed action.
USER_SIGNED_TYPES: Mapping[str, tuple[str, Fields]] = {
    "usdSend": (
        "HyperliquidTransaction:UsdSend",
        _f("string hyperliquidChain,string destination,string amount,uint64 time"),
    ),
    "spotSend": (
        "HyperliquidTransaction:SpotSend",
        _f("string hyperliquidChain,string destination,string token,string amount,uint64 time"),
    ),
    "withdraw3": (
        "HyperliquidTransaction:Withdraw",
        _f("string hyperliquidChain,string destination,string amount,uint64 time"),
    ),
    "usdClassTransfer": (
        "HyperliquidTransaction:UsdClassTransfer",
        _f("string hyperliquidChain,string amount,bool toPerp,uint64 nonce"),
    ),
    "sendAsset": (
        "HyperliquidTransaction:SendAsset",
        _f(
            "string hyperliquidChain,string destination,string sourceDex,string destinationDex,string token,"
            "string amount,string fromSubAccount,uint64 nonce"
        ),
    ),
    "approveAgent": (
        "HyperliquidTransaction:ApproveAgent",
        _f("string hyperliquidChain,address agentAddress,string agentName,uint64 nonce"),
    ),
    "approveBuilderFee": (
        "HyperliquidTransaction:ApproveBuilderFee",
        _f("string hyperliquidChain,string maxFeeRate,address builder,uint64 nonce"),
    ),
    "tokenDelegate": (
        "HyperliquidTransaction:TokenDelegate",
        _f("string hyperliquidChain,address validator,uint64 wei,bool isUndelegate,uint64 nonce"),
    ),
    "convertToMultiSigUser": (
        "HyperliquidTransaction:ConvertToMultiSigUser",
        _f("string hyperliquidChain,string signers,uint64 nonce"),
    ),
    "userDexAbstraction": (
        "HyperliquidTransaction:UserDexAbstraction",
        _f("string hyperliquidChain,address user,bool enabled,uint64 nonce"),
    ),
    "userSetAbstraction": (
        "HyperliquidTransaction:UserSetAbstraction",
        _f("string hyperliquidChain,address user,string abstraction,uint64 nonce"),
    ),
    "cDeposit": ("HyperliquidTransaction:CDeposit", _f("string hyperliquidChain,uint64 wei,uint64 nonce")),
    "cWithdraw": ("HyperliquidTransaction:CWithdraw", _f("string hyperliquidChain,uint64 wei,uint64 nonce")),
    "linkStakingUser": (
        "HyperliquidTransaction:LinkStakingUser",
        _f("string hyperliquidChain,address user,bool isFinalize,uint64 nonce"),
    ),
    "userPortfolioMargin": (
        "HyperliquidTransaction:UserPortfolioMargin",
        _f("string hyperliquidChain,address user,bool enabled,uint64 nonce"),
    ),
    "sendToEvmWithData": (
        "HyperliquidTransaction:SendToEvmWithData",
        _f(
            "string hyperliquidChain,string token,string amount,string sourceDex,string destinationRecipient,"
            "string addressEncoding,uint32 destinationChainId,uint64 gasLimit,bytes data,uint64 nonce"
        ),
    ),
}

SEND_MULTI_SIG_PRIMARY_TYPE = "HyperliquidTransaction:SendMultiSig"
SEND_MULTI_SIG_FIELDS: Fields = _f("string hyperliquidChain,bytes32 multiSigActionHash,uint64 nonce")
#: The two fields inserted after ``hyperliquidChain`` when a user-signed action is signed as
#: a multi-sig inner action.
MULTI_SIG_EXTRA_FIELDS: Fields = (("payloadMultiSigUser", "address"), ("outerSigner", "address"))


def user_signed_type(action_type: str) -> tuple[str, Fields]:
    """(primary type, fields) of the user-signed action ``action_type`` (e.g. ``"usdSend"``)."""
    try:
        return USER_SIGNED_TYPES[action_type]
    except KeyError:
        raise InvalidInputError(
            "action.type", "a user-signed action type (" + ", ".join(sorted(USER_SIGNED_TYPES)) + ")", action_type
        ) from None


def multi_sig_inner_fields(fields: Sequence[tuple[str, str]]) -> Fields:
    """``fields`` with ``payloadMultiSigUser`` and ``outerSigner`` inserted after ``hyperliquidChain``."""
    fs = _as_fields(fields)
    for i, (name, _typ) in enumerate(fs):
        if name == "hyperliquidChain":
            return fs[: i + 1] + MULTI_SIG_EXTRA_FIELDS + fs[i + 1 :]
    raise InvalidInputError("fields", "a type list containing hyperliquidChain", [n for n, _ in fs])
