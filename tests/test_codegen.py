"""The spec loader's validation, the generator's determinism and the staleness check."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hyperliquid_client.codegen.cli import main as codegen_main
from hyperliquid_client.codegen.loader import SpecError, load_spec, snake_case
from hyperliquid_client.codegen.render import check_output, generate
from hyperliquid_client.codegen.typeexpr import TypeExprError, parse_type

ROOT = Path(__file__).resolve().parents[1]

TYPES = """\
types:
  Level:
    doc: A level.
    fields:
      px: decimal
      sz: {type: decimal, doc: Size.}
      n: int
  Book:
    doc: A book.
    fields:
      coin: str
      levels: "tuple[list[Level], list[Level]]"
      spread: {type: decimal, optional: true}
  Delta:
    doc: A delta.
    union:
      tag: type
      variants: {deposit: Deposit}
  Deposit:
    doc: A deposit.
    fields:
      type: str
      usdc: decimal
"""

ENDPOINT = """\
wire: book
summary: A book.
weight: 2
params:
  - wire: coin
    type: coin
    doc: Coin.
  - wire: nSigFigs
    type: int
    required: false
    choices: [2, 3]
    doc: Figures.
response: Book | null
sample:
  params: {coin: BTC}
  response: {coin: BTC, levels: [[{px: "1.5", sz: "2", n: 1}], []]}
"""

CHANNEL = """\
wire: book
summary: Books.
params:
  - wire: coin
    type: coin
    doc: Coin.
message: Book
route: [[coin, coin]]
sample:
  params: {coin: BTC}
  message: {coin: BTC, levels: [[], []]}
"""


EXCHANGE = """\
wire: ladder
summary: Place a ladder of orders.
weight: 1
signing: l1
vault: true
response: any
action:
  ladder: {type: Ladder, flatten: true, doc: The ladder.}
  tag: {type: str, optional: true, doc: A tag.}
methods:
  ladder:
    summary: Place a ladder.
    params: [coin, is_buy, levels]
    example:
      params: {coin: BTC, is_buy: true, levels: [{px: 97000, sz: "0.001"}]}
      action: {type: ladder, ladder: {a: 0, b: true, levels: [{p: "97000", s: "0.001"}]}}
requests:
  Ladder:
    doc: A ladder.
    fields:
      a: {type: asset, name: coin, doc: The market.}
      b: {type: bool, name: is_buy, doc: Buy.}
      levels: {type: "list[Level]", doc: The levels.}
  Level:
    doc: One level.
    fields:
      p: {type: price(a), name: px, doc: Price.}
      s: {type: size(a), name: sz, doc: Size.}
sample:
  params: {ladder: {a: 3, b: false, levels: [{p: "1.5", s: "2"}]}, tag: x}
  action: {type: ladder, ladder: {a: 3, b: false, levels: [{p: "1.5", s: "2"}]}, tag: x}
"""


META = """\
wire: meta
summary: Perp metadata (its sample is the metadata of the generated high-level tests).
weight: 20
response: any
sample:
  response: {universe: [{name: BTC, szDecimals: 5, maxLeverage: 40}]}
"""


def make_spec(
    tmp_path: Path, *, types: str = TYPES, endpoint: str = ENDPOINT, channel: str = CHANNEL, exchange: str | None = None
) -> Path:
    root = tmp_path / "spec"
    (root / "types").mkdir(parents=True)
    (root / "info").mkdir()
    (root / "channels").mkdir()
    (root / "types" / "t.yaml").write_text(types)
    (root / "info" / "book.yaml").write_text(endpoint)
    (root / "channels" / "book.yaml").write_text(channel)
    if exchange is not None:
        (root / "exchange").mkdir()
        (root / "exchange" / "ladder.yaml").write_text(exchange)
    return root


def problems(root: Path) -> list[str]:
    with pytest.raises(SpecError) as info:
        load_spec(root)
    return [str(i) for i in info.value.issues]


def test_valid_spec_loads(tmp_path: Path) -> None:
    spec = load_spec(make_spec(tmp_path))
    assert [e.name for e in spec.endpoints] == ["book"]
    ep = spec.endpoints[0]
    assert [p.name for p in ep.params] == ["coin", "n_sig_figs"]
    assert ep.response.canonical() == "Book | null"
    assert [t.name for t in spec.types] == ["Book", "Delta", "Deposit", "Level"]
    assert spec.channels[0].route == (("coin", "coin"),)


def test_unknown_key_names_file_and_path(tmp_path: Path) -> None:
    root = make_spec(tmp_path, endpoint=ENDPOINT.replace("weight: 2", "weight: 2\nwieght: 3"))
    msgs = problems(root)
    assert any(m.startswith(f"{root}/info/book.yaml: wieght: unknown key") for m in msgs), msgs


def test_weight_per_item_is_a_positive_number_of_items(tmp_path: Path) -> None:
    spec = load_spec(make_spec(tmp_path, endpoint=ENDPOINT.replace("weight: 2", "weight: 2\nweight_per_item: 20")))
    assert spec.endpoints[0].weight_per_item == 20
    for bad in ('"+1 per 20 items"', "0"):
        root = make_spec(
            tmp_path / bad[:2], endpoint=ENDPOINT.replace("weight: 2", f"weight: 2\nweight_per_item: {bad}")
        )
        msgs = problems(root)
        assert any("info/book.yaml: weight_per_item: expected a positive integer" in m for m in msgs), msgs


def test_unknown_nested_key(tmp_path: Path) -> None:
    root = make_spec(tmp_path, endpoint=ENDPOINT.replace("    doc: Figures.", "    doc: Figures.\n    optionl: true"))
    msgs = problems(root)
    assert any("info/book.yaml: params[1].optionl: unknown key" in m for m in msgs), msgs


def test_missing_required_key(tmp_path: Path) -> None:
    root = make_spec(tmp_path, endpoint=ENDPOINT.replace("summary: A book.\n", ""))
    msgs = problems(root)
    assert any("info/book.yaml: summary: missing required key" in m for m in msgs), msgs


def test_wrong_type(tmp_path: Path) -> None:
    root = make_spec(tmp_path, endpoint=ENDPOINT.replace("weight: 2", "weight: heavy"))
    msgs = problems(root)
    assert any("info/book.yaml: weight: expected an integer, got str 'heavy'" in m for m in msgs), msgs


def test_wrong_param_type(tmp_path: Path) -> None:
    root = make_spec(tmp_path, endpoint=ENDPOINT.replace("type: coin", "type: integer", 1))
    msgs = problems(root)
    assert any("info/book.yaml: params[0].type: expected one of" in m and "got 'integer'" in m for m in msgs), msgs


def test_duplicate_param_name(tmp_path: Path) -> None:
    dup = ENDPOINT.replace(
        "  - wire: nSigFigs", "  - wire: coin2\n    name: coin\n    type: str\n    doc: x.\n  - wire: nSigFigs"
    )
    msgs = problems(make_spec(tmp_path, endpoint=dup))
    assert any("params[1].name: duplicate parameter name 'coin'" in m for m in msgs), msgs


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    root = make_spec(tmp_path, endpoint=ENDPOINT + "weight: 3\n")
    msgs = problems(root)
    assert any("info/book.yaml" in m and "duplicate key 'weight'" in m for m in msgs), msgs


def test_duplicate_type_name(tmp_path: Path) -> None:
    root = make_spec(tmp_path)
    (root / "types" / "u.yaml").write_text("types:\n  Level:\n    doc: Again.\n    fields: {a: int}\n")
    msgs = problems(root)
    assert any("types/u.yaml: types.Level: duplicate type name (already defined in" in m for m in msgs), msgs


def test_duplicate_endpoint_name(tmp_path: Path) -> None:
    root = make_spec(tmp_path)
    (root / "info" / "book2.yaml").write_text(ENDPOINT.replace("wire: book", "wire: book2\nname: book"))
    msgs = problems(root)
    assert any("info/book2.yaml: name: duplicate info name 'book'" in m for m in msgs), msgs


def test_duplicate_field_python_name(tmp_path: Path) -> None:
    root = make_spec(tmp_path, types=TYPES.replace("      n: int", "      n: int\n      N: int"))
    msgs = problems(root)
    assert any("types.Level.fields.N: duplicate field name 'n'" in m for m in msgs), msgs


def test_unknown_type_reference_with_hint(tmp_path: Path) -> None:
    root = make_spec(tmp_path, endpoint=ENDPOINT.replace("response: Book | null", "response: book | null"))
    msgs = problems(root)
    assert any("info/book.yaml: response: reference to unknown type 'book' (did you mean 'Book'?)" in m for m in msgs)


def test_unknown_type_in_types_file(tmp_path: Path) -> None:
    root = make_spec(tmp_path, types=TYPES.replace("variants: {deposit: Deposit}", "variants: {deposit: Deposi}"))
    msgs = problems(root)
    assert any(
        "types/t.yaml: types.Delta.union.variants.deposit: reference to unknown type 'Deposi'" in m for m in msgs
    )


def test_bad_type_expression(tmp_path: Path) -> None:
    root = make_spec(tmp_path, endpoint=ENDPOINT.replace("response: Book | null", "response: list[Book"))
    msgs = problems(root)
    assert any("info/book.yaml: response: expected a type expression" in m for m in msgs), msgs


def test_missing_sample_for_required_param(tmp_path: Path) -> None:
    root = make_spec(tmp_path, endpoint=ENDPOINT.replace("  params: {coin: BTC}\n", ""))
    msgs = problems(root)
    assert any("sample.params.coin: missing sample value for required parameter" in m for m in msgs), msgs


def test_file_name_must_match_wire(tmp_path: Path) -> None:
    root = make_spec(tmp_path)
    (root / "info" / "book.yaml").rename(root / "info" / "other.yaml")
    msgs = problems(root)
    assert any("info/other.yaml: wire: expected the file name 'other'" in m for m in msgs), msgs


@pytest.mark.parametrize("text", ["", "# only a comment\n"])
def test_empty_spec_file_is_an_error(tmp_path: Path, text: str) -> None:
    root = make_spec(tmp_path, endpoint=text)
    msgs = problems(root)
    assert any("info/book.yaml: <root>: expected a mapping, got an empty document" in m for m in msgs), msgs


def test_unknown_folder(tmp_path: Path) -> None:
    root = make_spec(tmp_path)
    (root / "infos").mkdir()
    msgs = problems(root)
    assert any(m.startswith(f"{root}/infos: <root>: unknown folder") for m in msgs), msgs


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    bad = ENDPOINT.replace("weight: 2", "weight: x").replace("summary: A book.\n", "")
    assert len(problems(make_spec(tmp_path, endpoint=bad))) >= 2


def test_an_echo_names_a_parameter_of_its_request(tmp_path: Path) -> None:
    """``echo`` maps an answer field to the request parameter it repeats: one naming no parameter is refused, naming
    the file and the key path; a valid one reaches the registry."""
    bad = ENDPOINT.replace("response: Book | null\n", "response: Book | null\necho: {coin: symbol}\n")
    assert any("book.yaml: echo.coin: expected the wire name of a parameter (coin, nSigFigs), got 'symbol'" in m
               for m in problems(make_spec(tmp_path, endpoint=bad)))  # fmt: skip
    good = ENDPOINT.replace("response: Book | null\n", "response: Book | null\necho: {coin: coin}\n")
    spec = load_spec(make_spec(tmp_path / "good", endpoint=good))
    assert [e.echo for e in spec.endpoints if e.wire == "book"] == [(("coin", "coin"),)]


def test_cli_reports_errors_and_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = make_spec(tmp_path, endpoint=ENDPOINT.replace("weight: 2", "weight: x"))
    assert codegen_main(["validate", "--spec", str(root)]) == 2
    assert "weight: expected an integer" in capsys.readouterr().err


def test_type_expressions() -> None:
    assert parse_type("list[tuple[int, L2Level]] | null").python() == "tuple[tuple[int, L2Level], ...] | None"
    assert parse_type("map[decimal]").python() == "Mapping[str, Decimal]"
    for bad in ("list[int, str]", "int | str", "null", "list[]", "tuple", "a b"):
        with pytest.raises(TypeExprError):
            parse_type(bad)


def test_snake_case() -> None:
    assert snake_case("nSigFigs") == "n_sig_figs"
    assert snake_case("l2Book") == "l2_book"
    assert snake_case("userFillsByTime") == "user_fills_by_time"
    assert snake_case("CSignerAction") == "c_signer_action"


def test_generation_is_deterministic(tmp_path: Path) -> None:
    spec = load_spec(make_spec(tmp_path))
    a, b = tmp_path / "a", tmp_path / "b"
    generate(spec, a)
    generate(load_spec(tmp_path / "spec"), b)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*.py"))
    assert files_a == sorted(p.relative_to(b) for p in b.rglob("*.py"))
    assert files_a, "nothing generated"
    for rel in files_a:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    assert check_output(spec, a) == []


def test_output_does_not_depend_on_where_the_spec_lives(tmp_path: Path) -> None:
    root = make_spec(tmp_path)
    elsewhere = tmp_path / "deeper" / "copy" / "spec"
    shutil.copytree(root, elsewhere)
    generate(load_spec(root), tmp_path / "a")
    generate(load_spec(elsewhere), tmp_path / "b")
    for path in (tmp_path / "a").rglob("*.py"):
        assert path.read_bytes() == (tmp_path / "b" / path.relative_to(tmp_path / "a")).read_bytes(), path


def test_staleness_check_detects_edits_and_extra_files(tmp_path: Path) -> None:
    spec = load_spec(make_spec(tmp_path))
    out = tmp_path / "out"
    generate(spec, out)
    (out / "info.py").write_text((out / "info.py").read_text() + "\n# hand edit\n")
    (out / "stray.py").write_text("x = 1\n")
    (out / "models.py").unlink()
    found = check_output(spec, out)
    assert any(p.startswith("stale:") and p.endswith("info.py") for p in found)
    assert any(p.startswith("missing:") and p.endswith("models.py") for p in found)
    assert any(p.startswith("not generated") and p.endswith("stray.py") for p in found)


def test_committed_generated_code_is_up_to_date() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hyperliquid_client.codegen", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_generated_code_from_a_small_spec_works(tmp_path: Path) -> None:
    """Generate a tiny package and run its generated tests in a subprocess."""
    root = make_spec(tmp_path)
    pkg = tmp_path / "pkgroot"
    shutil.copytree(
        ROOT / "hyperliquid_client", pkg / "hyperliquid_client", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.rmtree(pkg / "hyperliquid_client" / "generated")
    generate(load_spec(root), pkg / "hyperliquid_client" / "generated")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_mode=auto",
            "hyperliquid_client/generated/tests",
        ],
        cwd=pkg,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(pkg), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " passed" in proc.stdout


# ---------------------------------------------------------------------------------------------- samples and choices
@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # a sample parameter value the generated method would refuse
        ("params: {coin: BTC}", "params: {coin: 5}", "book.yaml: sample.params.coin: expected a non-empty coin name"),
        ("params: {coin: BTC}", "params: {coin: BTC, n_sig_figs: x}", "sample.params.n_sig_figs: expected an integer"),
        # a sample value outside the parameter's choices
        ("params: {coin: BTC}", "params: {coin: BTC, n_sig_figs: 5}", "sample.params.n_sig_figs: 5 is not one of"),
        # choices of the wrong type, and a default outside the choices
        ("choices: [2, 3]", "choices: [2, three]", "params[1].choices[1]: expected an integer, got 'three'"),
        ("choices: [2, 3]", "choices: [2, 3]\n    default: 4", "params[1].default: 4 is not one of the choices"),
        # a rule naming no sibling parameter, or malformed
        ("choices: [2, 3]", "choices: [2, 3]\n    not_after: depth", "params[1].not_after: 'depth' is not another"),
        ("choices: [2, 3]", "choices: [2, 3]\n    only_with: {n_sig_figs: 5}", "params[1].only_with: 'n_sig_figs' is"),
        ("choices: [2, 3]", "choices: [2, 3]\n    only_with: [coin]", "params[1].only_with: expected one"),
        # a sample response that does not match the response type
        ('px: "1.5"', "px: 1.5", "sample.response.levels[0][0].px: expected a decimal string, got float 1.5"),
        ("response: {coin: BTC, ", "response: {coin: 7, ", "sample.response.coin: expected a string, got int 7"),
        ("levels: [[{px", "levels: [[], [], [{px", "sample.response.levels: expected a list of 2 items"),
        ("response: {coin: BTC, levels: [[{px", "response: {levels: [[{px", "sample.response.coin: missing required"),
        ('levels: [[{px: "1.5", sz: "2", n: 1}], []]}', "levels: []}", "sample.response.levels: expected a list of 2"),
        (
            '  response: {coin: BTC, levels: [[{px: "1.5", sz: "2", n: 1}], []]}',
            "  response: [BTC]",
            "sample.response: expected a mapping (Book), got list",
        ),
    ],
)
def test_bad_samples_and_choices_are_spec_errors(tmp_path: Path, old: str, new: str, expected: str) -> None:
    endpoint = ENDPOINT.replace(old, new, 1)
    assert endpoint != ENDPOINT
    msgs = problems(make_spec(tmp_path, endpoint=endpoint))
    assert any(expected in m for m in msgs), msgs


def test_bad_channel_message_sample_and_union_tags(tmp_path: Path) -> None:
    channel = CHANNEL.replace("message: {coin: BTC, levels: [[], []]}", "message: {coin: BTC, levels: [[], [1]]}")
    msgs = problems(make_spec(tmp_path, channel=channel))
    assert any(
        "channels/book.yaml: sample.message.levels[1][0]: expected a mapping (Level), got int 1" in m for m in msgs
    )
    union = ENDPOINT.replace("response: Book | null", "response: Delta").replace(
        '  response: {coin: BTC, levels: [[{px: "1.5", sz: "2", n: 1}], []]}', "  response: {type: withdraw}"
    )
    msgs = problems(make_spec(tmp_path / "u", endpoint=union))
    assert any("sample.response.type: expected one of the Delta variants deposit, got 'withdraw'" in m for m in msgs)


def test_bad_sample_exits_2_naming_file_and_path_without_a_traceback(tmp_path: Path) -> None:
    root = make_spec(tmp_path, endpoint=ENDPOINT.replace("params: {coin: BTC}", "params: {coin: 5}"))
    for argv in (
        [
            sys.executable,
            "-m",
            "hyperliquid_client.codegen",
            "generate",
            "--spec",
            str(root),
            "--out",
            str(tmp_path / "o"),
        ],
        [sys.executable, "-m", "hyperliquid_client", "codegen", "--spec", str(root), "--out", str(tmp_path / "o")],
    ):
        proc = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=ROOT)
        assert proc.returncode == 2, proc.stderr
        assert "Traceback" not in proc.stderr
        assert f"{root / 'info' / 'book.yaml'}: sample.params.coin: expected a non-empty coin name" in proc.stderr
        assert not (tmp_path / "o").exists()


def test_recovery_page_size_and_stale_threshold(tmp_path: Path) -> None:
    root = make_spec(
        tmp_path,
        endpoint=ENDPOINT.replace("weight: 2", "weight: 2\nmax_items: 500"),
        channel=CHANNEL.replace("message: Book", "message: Book\nrecovery: book\nstale_after: 15"),
    )
    spec = load_spec(root)
    assert spec.endpoints[0].max_items == 500
    assert (spec.channels[0].recovery, spec.channels[0].stale_after) == ("book", 15.0)


def test_recovery_must_name_an_info_request_and_stale_after_be_positive(tmp_path: Path) -> None:
    root = make_spec(tmp_path, channel=CHANNEL.replace("message: Book", "message: Book\nrecovery: bok\nstale_after: 0"))
    msgs = problems(root)
    assert any("channels/book.yaml: recovery: expected the wire name of an info request, got 'bok'" in m for m in msgs)
    assert any("channels/book.yaml: stale_after:" in m for m in msgs)


# ---------------------------------------------------------------------------------------------- requests
def test_an_exchange_action_with_a_nested_payload_loads(tmp_path: Path) -> None:
    spec = load_spec(make_spec(tmp_path, exchange=EXCHANGE))
    (ladder,) = spec.by_context("exchange")
    assert ladder.action is not None and [f.wire for f in ladder.action.fields] == ["ladder", "tag"]
    assert spec.requests.needs("Level") == ("a",)  # the price and size rules of the enclosing ladder's asset
    assert [p.name for p in ladder.params] == ["ladder", "tag"]


@pytest.mark.parametrize(
    ("change", "where", "message"),
    [
        (("type: price(a)", "type: prise(a)"), "requests.Level.fields.p.type", "unknown semantic type 'prise'"),
        (('type: "list[Level]"', 'type: "list[Levl]"'), "requests.Ladder.fields.levels.type",
         "reference to unknown request type 'Levl' (did you mean 'Level'?)"),
        (("type: size(a)", 'type: "size(a, b, c)"'), "requests.Level.fields.s.type", "size takes 1..2 argument(s)"),
        (("tag: x}\n", "tag: x, extra: 1}\n"), "sample.params.extra", "unknown parameter"),
        (("action: {type: ladder, ladder: {a: 3, b: false", "action: {type: ladder, ladder: {b: false, a: 3"),
         "sample.action", "not in the spec's key order: sample.action.ladder: keys ['b', 'a', 'levels']"),
        (("    params: [coin, is_buy, levels]\n    example:", "    params: [coin, is_buy, levels]\n    exampl:"),
         "methods.ladder.exampl", "unknown key"),
        (("signing: l1", "signing: user_signed"), "action",
         "a user-signed action continues with signatureChainId and hyperliquidChain"),
        (("tag: {type: str, optional: true,", "tag: {type: str, optional: true, default: a,"), "action.tag",
         "'optional' (omitted when None) and 'default' exclude each other"),
    ],
)  # fmt: skip
def test_request_spec_problems_name_the_file_and_key_path(
    tmp_path: Path, change: tuple[str, str], where: str, message: str
) -> None:
    assert change[0] in EXCHANGE
    root = make_spec(tmp_path, exchange=EXCHANGE.replace(*change))
    msgs = problems(root)
    assert any(f"exchange/ladder.yaml: {where}: " in m and message in m for m in msgs), msgs


def test_a_method_taking_one_element_needs_an_example(tmp_path: Path) -> None:
    head, _, tail = EXCHANGE.partition("    example:")
    text = head + "requests:" + tail.partition("requests:")[2].partition("sample:")[0]
    text = text.replace(
        "  ladder: {type: Ladder, flatten: true, doc: The ladder.}", '  ladders: {type: "list[Ladder]", doc: L.}'
    )
    text = text.replace("    params: [coin, is_buy, levels]\n", "    single: ladders\n")
    text += "sample:\n  params: {ladders: []}\n  action: {type: ladder, ladders: []}\n"
    msgs = problems(make_spec(tmp_path, exchange=text))
    assert any("methods.ladder.example: missing" in m for m in msgs), msgs


def test_generated_code_of_an_exchange_action_works(tmp_path: Path) -> None:
    """The worked example of docs/spec-format.md as a test: one YAML file gives tested wire-level and
    high-level methods (the generated tests run in a subprocess)."""
    root = make_spec(tmp_path, exchange=EXCHANGE)
    (root / "info" / "meta.yaml").write_text(META)
    pkg = tmp_path / "pkgroot"
    shutil.copytree(
        ROOT / "hyperliquid_client", pkg / "hyperliquid_client", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.rmtree(pkg / "hyperliquid_client" / "generated")
    generate(load_spec(root), pkg / "hyperliquid_client" / "generated")
    source = (pkg / "hyperliquid_client" / "generated" / "exchange.py").read_text()
    assert (
        "def ladder(\n        self,\n        coin: str,\n        is_buy: bool,\n        levels: Sequence[Level"
        in source
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "asyncio_mode=auto",
         "hyperliquid_client/generated/tests/test_exchange.py"],
        cwd=pkg, capture_output=True, text=True, check=False, env={"PYTHONPATH": str(pkg), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " passed" in proc.stdout
