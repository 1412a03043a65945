"""Scenario files are read with limits: hostile YAML is refused with where and why."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from twin.safe_yaml import YamlLimits, YamlRefused, load_yaml
from twin.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parent.parent
_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi")
)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("a: " + "[" * 10_000 + "]" * 10_000, "nested deeper than 40 levels"),
        ("a: 1\nb: 2\na: 3\n", "line 3, column 1: key 'a' given twice (first at line 1)"),
        ("a: " + "9" * 5000, "a number of 5000 digits"),
        (_BOMB, "values once its aliases are expanded"),
        ("x: 1\n" * 300_000, "characters (at most 1,000,000)"),
    ],
)
def test_hostile_yaml_is_refused_at_once_naming_the_place(tmp_path: Path, text: str, reason: str) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_text(text, encoding="utf-8")
    start = time.process_time()
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert time.process_time() - start < 5  # not a hang: the limits stop it early
    message = str(caught.value)
    assert message.startswith(f"{path}: refused:") and reason in message and "\n" not in message


def test_many_aliases_are_refused() -> None:
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * 101) + "]\n"
    with pytest.raises(YamlRefused, match="more than 100 aliases"):
        load_yaml(text)


def test_plain_yaml_reads_as_pyyaml_reads_it() -> None:
    text = "base: &b {x: 1, y: 2}\nk:\n  <<: *b\n  y: 3\nlist: [1, 2.5, .inf, null, true, '007']\n"
    assert load_yaml(text) == {"base": {"x": 1, "y": 2}, "k": {"x": 1, "y": 3}, "list": [1, 2.5, float("inf"), None, True, "007"]}
    assert load_yaml("") is None


def test_the_limits_are_settings() -> None:
    # the mapping, three lists and the number: five levels
    assert load_yaml("a: [[[1]]]", YamlLimits(max_depth=5)) == {"a": [[[1]]]}
    with pytest.raises(YamlRefused, match="deeper than 4"):
        load_yaml("a: [[[1]]]", YamlLimits(max_depth=4))


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_scenario_passes_the_limits(path: Path) -> None:
    assert load_scenario(path).name
