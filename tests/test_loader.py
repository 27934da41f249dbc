from __future__ import annotations

import pytest

from lambdasec.collectors.cloudformation.loader import (
    LineDict,
    TemplateError,
    load_json,
    load_template_text,
    load_yaml,
)


def test_yaml_keeps_key_lines_and_expands_short_intrinsics() -> None:
    doc = load_yaml(
        "Resources:\n"
        "  Fn:\n"
        "    Properties:\n"
        "      Role: !GetAtt Role.Arn\n"
        "      Name: !Sub '${AWS::StackName}-fn'\n"
        "      Layers: [!Ref Layer]\n"
        "      Version: 2012-10-17\n"
    )
    props = doc["Resources"]["Fn"]["Properties"]
    assert isinstance(props, LineDict)
    assert doc["Resources"].key_lines == {"Fn": 2}
    assert props.key_lines == {"Role": 4, "Name": 5, "Layers": 6, "Version": 7}
    assert props["Role"] == {"Fn::GetAtt": ["Role", "Arn"]}
    assert props["Name"] == {"Fn::Sub": "${AWS::StackName}-fn"}
    assert props["Layers"] == [{"Ref": "Layer"}]
    assert props["Version"] == "2012-10-17"  # not a datetime.date


def test_yaml_refuses_arbitrary_tags() -> None:
    with pytest.raises(TemplateError, match="line 1: could not determine a constructor"):
        load_yaml("a: !!python/object/apply:os.system ['true']\n")


def test_yaml_alias_bomb_is_refused_without_expanding() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        previous = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([previous] * 10)}]")
    with pytest.raises(TemplateError, match="alias bomb"):
        load_yaml("\n".join(lines) + "\n")


def test_small_aliases_are_fine() -> None:
    doc = load_yaml("base: &b {Runtime: python3.12}\nother: *b\n")
    assert doc["other"] == {"Runtime": "python3.12"}


def test_malformed_yaml_reports_the_line() -> None:
    with pytest.raises(TemplateError, match=r"invalid YAML: line 4"):
        load_yaml("Resources:\n  Fn:\n    Type: [unclosed\n")


def test_deep_nesting_is_a_clean_error() -> None:
    with pytest.raises(TemplateError):
        load_yaml("a: " + "[" * 100_000 + "]" * 100_000 + "\n")


def test_json_with_lines_via_the_fallback_decoder() -> None:
    text = '{\n\t"Resources": {\n\t\t"Fn": {\n\t\t\t"Type": "AWS::Lambda::Function", "X": "a\\/b"\n\t\t}\n\t}\n}\n'
    doc = load_json(text)
    assert doc["Resources"].key_lines == {"Fn": 3}
    assert doc["Resources"]["Fn"].key_lines == {"Type": 4, "X": 4}
    assert doc["Resources"]["Fn"]["X"] == "a/b"
    assert load_template_text(text, is_json=True) == doc


def test_invalid_json_is_a_clean_error() -> None:
    with pytest.raises(TemplateError, match="invalid JSON: line 2"):
        load_template_text('{"a":\n ,}', is_json=True)
