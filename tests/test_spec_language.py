"""The spec language: blocks, repeat/first, when, params, names, extends, set, scale, expressions."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

import archcalc
from archcalc.errors import SpecError
from archcalc.expr import ExprError, evaluate, make_divisible
from archcalc.spec import parse_spec


def spec(text: str, **kwargs):
    return parse_spec(textwrap.dedent(text), **kwargs)


BLOCKS = """
name: t
input: [3, 32, 32]
params: {bn: false}
blocks:
  conv_bn:
    args: {out: channels, k: 3, s: 1}
    layers:
      - {type: conv, out: $out, kernel: $k, stride: $s, padding: $k // 2, bias: false}
      - {type: batchnorm, when: $bn}
  single:
    args: {out: int}
    layers:
      - {type: conv, out: $out, kernel: 1}
layers:
  - {name: stem, use: conv_bn, out: 16}
  - {name: stage, use: conv_bn, out: 32, repeat: 3, first: {s: 2}}
  - {use: single, out: 8}
  - {type: relu, repeat: 2}
"""


def test_blocks_repeat_first_and_names():
    result = archcalc.analyze(spec(BLOCKS))
    names = [r.name for r in result.layers]
    assert names == ["stem", "stage.block1", "stage.block2", "stage.block3", "single1", "relu1.block1",
                     "relu1.block2"]
    # first repetition strided: 32 -> 16, then stays 16
    assert result.row("stage.block1").output_shape == (32, 16, 16)
    assert result.row("stage.block3").output_shape == (32, 16, 16)
    assert result.row("stage.block1").attrs["stride"] == 2
    assert result.row("stage.block2").attrs["stride"] == 1
    groups = {g.name: g for g in result.groups}
    assert groups["stage"].params == sum(r.params for r in result.layers if r.name.startswith("stage."))


def test_when_and_params_override():
    with_bn = archcalc.analyze(spec(BLOCKS, params={"bn": True}))
    assert [r.name for r in with_bn.layers][:3] == ["stem.conv1", "stem.batchnorm1", "stage.block1.conv1"]
    with pytest.raises(SpecError, match="unknown spec parameter"):
        spec(BLOCKS, params={"bm": True})


MEMO = """
name: memo
input: [4, 8, 8]
params: {w: 2, gate: true}
blocks:
  b:
    args: {c: any}
    layers:
      - {type: conv, out: $c * $w, kernel: 1}
      - {type: conv, out: $in_channels + $w, kernel: 1}
      - {type: relu, when: $gate == true}
layers:
  - {use: b, c: 3, repeat: 2}
"""


def test_remembered_expressions_follow_every_value_they_read():
    """Scope.evaluate remembers results by text and by the values *and types* of the names read; shape
    names are read afresh each time. Loads in one process must not see each other's values."""
    from archcalc.spec.scope import _MEMO

    def outs(**params):
        return [r.output_shape[0] for r in archcalc.analyze(spec(MEMO, params=params)).layers if r.type == "conv"]

    # 3*2 = 6; in_channels 6 + 2 = 8; second copy: 3*2 = 6, 6 + 2 = 8
    assert outs() == [6, 8, 6, 8]
    assert any(key[0] == "$c * $w" for key in _MEMO)  # remembered...
    # ... but keyed by the value: w = 5 gives 3*5 = 15, 15 + 5 = 20
    assert outs(w=5) == [15, 20, 15, 20]
    # 1 and true are equal and hash alike in Python, but only 1 is a number here
    with pytest.raises(SpecError, match="non-number"):
        spec(MEMO, params={"w": True})
    assert outs(w=1) == [3, 4, 3, 4]
    # a list value cannot be a key: evaluated (and refused) every time, never remembered
    for _ in range(2):
        with pytest.raises(SpecError, match="non-number"):
            spec(MEMO, params={"w": [1]})
    # a condition: the same text with another value of $gate
    gated = archcalc.analyze(spec(MEMO, params={"gate": False}))
    assert [r.type for r in gated.layers] == ["conv", "conv", "conv", "conv"]


def test_rows_sum_to_totals_and_depth_collapses():
    result = archcalc.analyze(spec(BLOCKS, params={"bn": True}))
    for level in (1, 2, None):
        rows = result.rows_at_depth(level)
        assert sum(r.params for r in rows) == result.totals.params
        assert sum(r.macs for r in rows) == result.totals.macs
        assert sum(r.activation_bytes for r in rows) == result.totals.activation_bytes
    assert [r.name for r in result.rows_at_depth(1)] == ["stem", "stage", "single1", "relu1"]


def test_compound_scaling():
    scaled = spec(BLOCKS, scale={"width": 1.5, "depth": 2.0, "resolution": 64})
    result = archcalc.analyze(scaled)
    assert result.input_shape == (3, 64, 64)
    # channels args 16 -> make_divisible(24) = 24, 32 -> 48; plain int args are not widths: 8 stays
    assert result.row("stem").output_shape[0] == 24
    assert result.row("stage.block1").output_shape[0] == 48
    assert result.row("single1").output_shape[0] == 8
    # repeat 3 -> ceil(3 * 2.0) = 6; repeat 2 -> 4
    assert len([r for r in result.layers if r.name.startswith("stage.")]) == 6
    assert len([r for r in result.layers if r.name.startswith("relu1.")]) == 4


def test_make_divisible():
    assert make_divisible(32 * 1.1) == 32  # int(35.2 + 4) // 8 * 8 = 32 >= 0.9 * 35.2
    assert make_divisible(16 * 1.1) == 16
    assert make_divisible(96 * 1.1) == 104  # 105.6 -> int(109.6)//8*8 = 104
    assert make_divisible(10, 8) == 16  # 8 < 0.9 * 10 -> bumped to 16


@pytest.mark.parametrize("text,env,expected", [
    ("4 * $mid", {"mid": 64}, 256),
    ("$c // 4", {"c": 30}, 7),
    ("max(1, $c // 4)", {"c": 3}, 1),
    ("$c / 2", {"c": 6}, 3),
    ("$xs[1] + 1", {"xs": [1, 2, 3]}, 3),
    ("$s if $v1 else 1", {"s": 2, "v1": False}, 1),
    ("not $bn", {"bn": True}, False),
    ("$a == 2 and $b > 1", {"a": 2, "b": 3}, True),
    ("$name", {"name": "projection"}, "projection"),
    ("make_divisible($c * 1.1)", {"c": 96}, 104),
])
def test_expressions(text, env, expected):
    assert evaluate(text, env) == expected


@pytest.mark.parametrize("text", [
    "$a ** 100", "__import__('os')", "$a.__class__", "[x for x in $a]", "lambda: 1", "open('f')",
    "$missing", "'a' + 'b'", "$a / 0",
])
def test_expressions_refused(text):
    with pytest.raises(ExprError):
        evaluate(text, {"a": 2})


def test_set_patches_by_path():
    text = BLOCKS + "set:\n  stage.block2: {stride: 2}\n"
    result = archcalc.analyze(spec(text))
    assert result.row("stage.block2").output_shape == (32, 8, 8)
    with pytest.raises(SpecError, match="does not have"):
        spec(BLOCKS + "set:\n  stage.block9: {stride: 2}\n")


def test_extends_variant_differs_only_where_declared(tmp_path: Path):
    base = tmp_path / "base.yaml"
    base.write_text(textwrap.dedent(BLOCKS) + textwrap.dedent("""
        references:
          - source: base only
            totals: {params: 1}
        """))
    variant = tmp_path / "variant.yaml"
    variant.write_text("extends: base.yaml\nname: v\nparams: {bn: true}\nset:\n  single1: {out: 4}\n")
    a = archcalc.analyze(archcalc.load_spec(base))
    b = archcalc.analyze(archcalc.load_spec(variant))
    assert archcalc.load_spec(variant).references == []  # figures are not inherited
    only_a = {r.name for r in a.layers} - {r.name for r in b.layers}
    assert only_a == {"stem", "stage.block1", "stage.block2", "stage.block3"}  # now groups conv + bn
    assert b.row("single1").output_shape[0] == 4
    assert b.row("stem.batchnorm1").params == 32


def test_extends_cycle(tmp_path: Path):
    (tmp_path / "a.yaml").write_text("extends: b.yaml\nname: a\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nname: b\n")
    with pytest.raises(SpecError, match="cycle"):
        archcalc.load_spec(tmp_path / "a.yaml")


def test_concat_dense_block_and_branch_names():
    result = archcalc.analyze(spec("""
        name: dense
        input: [64, 8, 8]
        layers:
          - name: dense1
            type: concat
            repeat: 3
            branches:
              - []
              - {name: body, layers: [{type: batchnorm}, {type: relu}, {type: conv, out: 32, kernel: 3, padding: 1}]}
        """))
    # 64 + 3*32 = 160 channels
    assert result.output_shape == (160, 8, 8)
    assert result.row("dense1.block3.body.conv1").input_shape == (128, 8, 8)
    assert result.row("dense1.block3.concat").output_shape == (160, 8, 8)


def test_reserved_and_auto_names():
    with pytest.raises(SpecError, match="reserved"):
        spec("""
            name: r
            input: [4, 8, 8]
            layers:
              - type: residual
                body: [{name: add, type: relu}]
            """)
    result = archcalc.analyze(spec("""
        name: auto
        input: [4, 8, 8]
        layers:
          - {name: relu1, type: sigmoid}
          - {type: relu}
        """))
    assert [r.name for r in result.layers] == ["relu1", "relu2"]  # the automatic name skips a taken one


def test_receptive_field_through_branches():
    result = archcalc.analyze(spec("""
        name: rf
        input: [4, 32, 32]
        layers:
          - type: concat
            branches:
              - [{type: conv, out: 2, kernel: 1}]
              - [{type: conv, out: 2, kernel: 3, padding: 1}, {type: conv, out: 2, kernel: 3, padding: 1}]
        """))
    assert result.layers[-1].receptive_field == (5, 5)  # the widest branch: two 3x3 = 5x5


def test_json_input_via_parse_spec():
    doc = {"name": "j", "input": [3, 8, 8], "layers": [{"type": "conv", "out": 2, "kernel": 3}]}
    assert archcalc.analyze(parse_spec(json.dumps(doc))).output_shape == (2, 6, 6)


def test_printed_figures_keep_the_digits_and_lines():
    loaded = parse_spec(textwrap.dedent("""\
        name: p
        input: [3, 8, 8]
        layers: [{name: c, type: conv, out: 2, kernel: 3}]
        references:
          - source: s
            tolerance: {macs: 0.50}
            rows:
              c: {macs: 0.60, params: 56, output_shape: [2, 6, 6]}
            totals:
              macs: 1.2e+3
        """), filename="p.yaml")
    figures = loaded.printed_figures
    # the digits as printed, which the numbers lose (0.6, 1200.0)
    assert figures.text(0, "rows", "c", "macs") == "0.60"
    assert figures.text(0, "totals", "macs") == "1.2e+3"
    assert figures.text(0, "tolerance", "macs") == "0.50"
    assert figures.text(0, "rows", "c", "params") == "56"
    assert figures.text(0, "rows", "c", "output_shape") is None  # a list, not a printed number
    assert figures.text(0, "source") is None
    # lines: each key's own, else the nearest enclosing one
    assert figures.line(0, "rows", "c", "macs") == 8
    assert figures.line(0, "totals", "macs") == 10
    assert figures.line(0, "rows", "c", "nope") == 8
    assert figures.line(0) == 5 and figures.line() == 5
    assert figures.loc(0, "totals", "macs") == archcalc.errors.Location("p.yaml", 10, "references[0].totals.macs")


def test_analyze_rejects_bad_arguments():
    s = spec(BLOCKS)
    with pytest.raises(ValueError, match="batch_size"):
        archcalc.analyze(s, batch_size=0)
    with pytest.raises(ValueError, match="dtype"):
        archcalc.analyze(s, dtype="float13")


# --------------------------------------------------------------------------- extends: where it may read

TINY = "name: tiny\ninput: [3, 8, 8]\nparams: {out: 4}\nlayers:\n  - {type: conv, out: $out, kernel: 3}\n"


@pytest.fixture
def extends_tree(tmp_path: Path) -> Path:
    """root/specs/base.yaml, root/specs/sub/base2.yaml, root/outside.yaml, root/specs/link.yaml -> outside."""
    specs = tmp_path / "specs"
    (specs / "sub").mkdir(parents=True)
    (specs / "base.yaml").write_text(TINY)
    (specs / "sub" / "base2.yaml").write_text("extends: ../base.yaml\nname: base2\n")
    (tmp_path / "outside.yaml").write_text(TINY)
    (specs / "link.yaml").symlink_to(tmp_path / "outside.yaml")
    return specs


def test_parse_spec_extends_resolves_against_cwd(extends_tree: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(extends_tree)
    assert parse_spec("extends: sub/base2.yaml\nname: v\n").input_shape == (3, 8, 8)
    # without extends_root, an absolute path or one leaving the folder is followed (documented)
    assert parse_spec(f"extends: {extends_tree.parent / 'outside.yaml'}\nname: v\n").name == "v"
    assert parse_spec("extends: ../outside.yaml\nname: v\n").name == "v"


@pytest.mark.parametrize("target", ["base.yaml", "sub/base2.yaml", "./sub/../base.yaml"])
def test_extends_root_allows_paths_inside(extends_tree: Path, target: str):
    spec_ = parse_spec(f"extends: {target}\nname: v\nparams: {{out: 6}}\n", extends_root=extends_tree)
    assert archcalc.analyze(spec_).output_shape == (6, 6, 6)


@pytest.mark.parametrize("target, message", [
    ("ABS", "'extends' names the absolute path {abs!r}; only paths inside {root} are allowed here"),
    ("../outside.yaml", "'extends' names '../outside.yaml', which leads outside {root}"),
    ("sub/../../outside.yaml", "'extends' names 'sub/../../outside.yaml', which leads outside {root}"),
    ("link.yaml", "'extends' names 'link.yaml', which leads outside {root}"),
], ids=["absolute", "dotdot", "dotdot_inside", "symlink"])
def test_extends_root_refuses_paths_leaving_it(extends_tree: Path, target: str, message: str):
    absolute = str(extends_tree.parent / "outside.yaml")
    text = f"name: v\nextends: {absolute if target == 'ABS' else target}\n"
    with pytest.raises(SpecError) as info:
        parse_spec(text, filename="v.yaml", extends_root=extends_tree)
    assert str(info.value) == "v.yaml:2: extends: " + message.format(abs=absolute, root=extends_tree.resolve())


def test_extends_root_applies_to_the_whole_chain(extends_tree: Path):
    (extends_tree / "sub" / "escape.yaml").write_text("extends: ../../outside.yaml\nname: e\n")
    (extends_tree / "v.yaml").write_text("extends: sub/escape.yaml\nname: v\n")
    assert archcalc.load_spec(extends_tree / "v.yaml").name == "v"  # no root: followed
    with pytest.raises(SpecError) as info:
        archcalc.load_spec(extends_tree / "v.yaml", extends_root=extends_tree)
    assert info.value.location.file == str(extends_tree / "sub" / "escape.yaml")
    assert info.value.location.line == 1 and "leads outside" in info.value.message


def test_variant_locations_name_the_file_each_line_belongs_to(extends_tree: Path):
    variant = extends_tree / "v.yaml"
    variant.write_text("# comment\nextends: base.yaml\nname: v\nparams:\n  out: 5\n")
    loaded = archcalc.load_spec(variant)
    where = loaded.layers[0].location
    assert where.file == str(extends_tree / "base.yaml")  # the layer is the base's
    from archcalc.spec.extends import load_with_extends

    raw = load_with_extends(variant, chain=[], root=None)
    assert (raw.location("params").file, raw.location("params").line) == (str(variant), 4)
    assert (raw.location("layers").file, raw.location("layers").line) == (str(extends_tree / "base.yaml"), 4)
    assert (raw["params"].location("out").file, raw["params"].location("out").line) == (str(variant), 5)
    assert raw.location().file == str(variant)


# --------------------------------------------------------------------------- command-line values


@pytest.mark.parametrize("text, message", [
    ("a=" + "[" * 3000, "YAML syntax"),
    ("a=" + "[" * 150 + "]" * 150, "YAML nesting is deeper than 100 levels"),
    ("a=!!float x", "!!float 'x' cannot be read as a number"),
    ("a=!!python/name:os.system", "YAML tag '!!python/name:os.system' is not allowed"),
    ("a", "expected NAME=VALUE pairs"),
])
def test_parse_assignments_refuses_cleanly(text: str, message: str):
    from archcalc.commands.common import parse_assignments

    with pytest.raises(SpecError) as info:
        parse_assignments(text, "--param")
    assert info.value.message.startswith("--param: ") and message in info.value.message
    assert len(info.value.message) < 300  # a long value is shortened, not echoed whole


def test_parse_assignments_values():
    from archcalc.commands.common import parse_assignments

    assert parse_assignments("width=1.1, depth=2,resolution=240,bn=true,day=2012-01-01", "--scale") == {
        "width": 1.1, "depth": 2, "resolution": 240, "bn": True, "day": "2012-01-01"}


def test_validate_defaults_to_specs_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    from archcalc.cli import main

    monkeypatch.chdir(tmp_path)
    assert main(["validate"]) == 2
    assert capsys.readouterr().err == "archcalc: error: no specs given and there is no specs/ directory here\n"
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "tiny.yaml").write_text(TINY)
    assert main(["validate"]) == 0
    assert capsys.readouterr().out == "ok  specs/tiny.yaml  (1 layers, output [4, 6, 6])\n"


# --------------------------------------------------------------------------- the input shape in expressions

INVERTED = """
    name: shaped
    input: [3, 32, 32]
    blocks:
      inverted:
        args: {out: int, t: 6, s: 1}
        layers:
          - type: residual
            shortcut: optional
            body:
              - {name: expand, type: conv, out: $in_channels * $t, kernel: 1, when: "$t != 1"}
              - {name: dw, type: conv, out: $in_channels, kernel: 3, stride: $s, padding: 1, groups: $in_channels}
              - {name: project, type: conv, out: $out, kernel: 1}
    layers:
      - {name: stem, type: conv, out: 16, kernel: 3, stride: 2, padding: 1}
      - {name: stage1, use: inverted, out: 24, t: 6, repeat: 3, first: {s: 2}}
      - {name: head, type: conv, out: "$in_height * 10 + $in_width", kernel: 1}
"""

EXPLICIT = """
    name: explicit
    input: [3, 32, 32]
    blocks:
      inverted:
        args: {cin: int, out: int, t: 6, s: 1}
        layers:
          - type: residual
            shortcut: optional
            body:
              - {name: expand, type: conv, out: $cin * $t, kernel: 1, when: "$t != 1"}
              - {name: dw, type: conv, out: $cin * $t, kernel: 3, stride: $s, padding: 1, groups: $cin * $t}
              - {name: project, type: conv, out: $out, kernel: 1}
    layers:
      - {name: stem, type: conv, out: 16, kernel: 3, stride: 2, padding: 1}
      - {name: stage1, use: inverted, cin: 24, out: 24, t: 6, repeat: 3, first: {cin: 16, s: 2}}
      - {name: head, type: conv, out: 88, kernel: 1}
"""


def test_in_channels_reads_each_entrys_input_and_repeat_chains_the_copies():
    """$in_channels at a layer is its input's channels; in `repeat`, copy k starts from copy k-1's output,
    so no `cin:` argument and no `first: {cin: ...}` are needed."""
    shaped, explicit = archcalc.analyze(spec(INVERTED)), archcalc.analyze(spec(EXPLICIT))
    rows = [(r.name, r.input_shape, r.output_shape, r.params, r.macs) for r in shaped.layers]
    assert rows == [(r.name, r.input_shape, r.output_shape, r.params, r.macs) for r in explicit.layers]
    # the first copy expands 16 -> 96 (t = 6), the later ones 24 -> 144
    expand = {r.name: r.output_shape[0] for r in shaped.layers if r.name.endswith(".expand")}
    assert expand == {"stage1.block1.expand": 96, "stage1.block2.expand": 144, "stage1.block3.expand": 144}
    # $in_height * 10 + $in_width on the 8x8 head input: 88 channels
    assert shaped.output_shape == (88, 8, 8)


def test_in_channels_in_branches_bodies_and_when():
    result = archcalc.analyze(spec("""
        name: branches
        input: [8, 4, 4]
        layers:
          - type: concat
            branches:
              - [{type: conv, out: $in_channels, kernel: 1}]
              - [{type: conv, out: $in_channels // 2, kernel: 1}, {type: conv, out: $in_channels, kernel: 1}]
          - {type: relu, when: "$in_channels == 12"}
          - {type: residual, body: [{type: conv, out: $in_channels, kernel: 1}]}
    """))
    # branch 2's second conv reads its own input (4 channels); the concat joins 8 + 4 = 12
    assert [r.output_shape[0] for r in result.layers if r.type == "conv"] == [8, 4, 4, 12]
    assert any(r.type == "relu" for r in result.layers)


@pytest.mark.parametrize("text, message", [
    ("""
        name: flat
        input: [10]
        layers: [{type: linear, out: $in_height}]
    """, "layers[0].out: $in_height: the input here is [10], which has no height axis"),
    ("""
        name: reserved
        input: [3, 8, 8]
        params: {in_channels: 3}
        layers: [{type: relu}]
    """, "params.in_channels: the parameter name(s) in_channels are reserved"),
    ("""
        name: reserved_arg
        input: [3, 8, 8]
        blocks:
          b: {args: {in_width: int}, layers: [{type: relu}]}
        layers: [{use: b, in_width: 2}]
    """, "declares argument(s) in_width, which are reserved"),
    ("""
        name: patched
        input: [3, 8, 8]
        layers:
          - {name: a, type: conv, out: 4, kernel: 1}
          - {name: b, type: conv, out: $in_channels, kernel: 1}
        set: {a: {out: 6}}
    """, "'set:' patches cannot be combined with expressions that read the input shape"),
])
def test_input_shape_names_refused(text: str, message: str):
    with pytest.raises(SpecError) as info:
        spec(text)
    assert message in str(info.value)


def test_a_broken_earlier_layer_is_reported_where_it_is():
    """Computing $in_channels analyzes the layers before it: their error names their own line."""
    with pytest.raises(archcalc.ArchcalcError) as info:
        spec("""
            name: broken
            input: [3, 8, 8]
            layers:
              - {type: conv, out: 4, kernel: 9}
              - {type: conv, out: $in_channels, kernel: 1}
        """)
    text = str(info.value)
    assert ":5:" in text and "found while computing $in_channels" in text, text


def test_string_params_choose_kinds_and_compare():
    """MobileNetV3's 'RE'/'HS' choices written as words."""
    text = """
        name: words
        input: [4, 8, 8]
        params: {act: HS}
        layers:
          - {type: conv, out: 4, kernel: 1}
          - {type: hardswish, when: "$act == 'HS'"}
          - {type: relu, when: "$act != 'HS'"}
          - {type: "$kind", when: false}
    """.replace('"$kind"', "relu")
    assert [r.type for r in archcalc.analyze(spec(text)).layers] == ["conv", "hardswish"]
    assert [r.type for r in archcalc.analyze(spec(text, params={"act": "RE"})).layers] == ["conv", "relu"]


def test_repeat_index_numbers_the_copies():
    """$repeat_index is each copy's index from 0 (the innermost repeat's), inside blocks too."""
    result = archcalc.analyze(spec("""
        name: indexed
        input: [4, 8, 8]
        blocks:
          b: {args: {base: int}, layers: [{type: conv, out: "$base + $repeat_index", kernel: 1}]}
        layers:
          - {name: s1, use: b, base: 10, repeat: 3}
          - {name: s2, type: conv, out: "20 + 2 * $repeat_index", kernel: 1, repeat: 2}
    """))
    assert [r.output_shape[0] for r in result.layers] == [10, 11, 12, 20, 22]
    with pytest.raises(SpecError, match="repeat_index is the copy's index in a repeat"):
        spec("""
            name: taken
            input: [4, 8, 8]
            params: {repeat_index: 1}
            layers: [{type: relu}]
        """)


def test_depth_view_with_an_empty_group_terminates():
    """A shortcut list whose only layer `when` removed is an empty group: the depth view skips it."""
    result = archcalc.analyze(spec("""
        name: empty
        input: [8, 4, 4]
        layers:
          - name: r
            type: residual
            body: [{type: relu}]
            shortcut: [{type: batchnorm, when: false}]
    """))
    assert [r.name for r in result.rows_at_depth(2)] == ["r.relu1", "r.add"]
    assert [r.name for r in result.rows_at_depth(1)] == ["r"]
