"""The synthetic plate and container-code generator: every format and condition, labels
that are canonical, determinism and the named sets. No OCR is run here (test_camera.py
reads scenes); these checks take a few seconds."""

from __future__ import annotations

import csv
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from controllers.codes import container_code, country_of, iso6346_check_digit, normalise_plate, plate_format
from hardware_bridge import plate_scenes
from hardware_bridge.plate_scenes import (
    CONDITIONS,
    CONTAINER_FORMATS,
    LABEL_COLUMNS,
    LAYOUTS,
    PLATE_FORMATS,
    SETS,
    Scene,
    plan,
    plate_scene,
    plate_text,
)

# the controllers' name for each format the generator draws that they name otherwise
READ_AS = {"cn_blue": "cn_standard", "cn_yellow": "cn_standard", "cn_trailer": "cn_use", "cn_special": "cn_use"}
FORMAT_LAYOUTS = [(country, fmt, layout) for country, formats in PLATE_FORMATS.items() for fmt in formats for layout in LAYOUTS[fmt]]


def _inside(scene: Scene) -> bool:
    x, y, w, h = scene.bbox
    return x >= 0 and y >= 0 and w > 4 and h > 4 and x + w <= scene.image.shape[1] and y + h <= scene.image.shape[0]


@pytest.fixture(scope="module")
def development() -> list[Scene]:
    spec = SETS["development"]
    return list(plate_scenes.plate_scenes(60, spec.seed, spec.variety)) + list(plate_scenes.container_scenes(24, spec.seed, spec.variety))


@pytest.fixture(scope="module")
def test_set() -> list[Scene]:
    spec = SETS["test"]
    return list(plate_scenes.plate_scenes(60, spec.seed, spec.variety)) + list(plate_scenes.container_scenes(24, spec.seed, spec.variety))


@pytest.mark.parametrize(("country", "fmt", "layout"), FORMAT_LAYOUTS)
def test_every_plate_format_renders_in_each_of_its_layouts(country: str, fmt: str, layout: str) -> None:
    for k, condition in enumerate(("clean", "night", "mud")):
        scene = plate_scene(country, random.Random(f"{fmt}{layout}{k}"), format=fmt, layout=layout, condition=condition, variety="standard")  # type: ignore[arg-type]
        assert scene.image.shape == (720, 1280, 3) and scene.image.dtype == np.uint8
        assert (scene.kind, scene.country, scene.format, scene.layout, scene.condition) == ("plate", country, fmt, layout, condition)
        assert plate_scenes.drawn_as(scene.text) == ("cn_blue" if fmt == "cn_yellow" else fmt)
        assert plate_format(scene.text) == READ_AS.get(fmt, fmt)  # the controllers' name for it
        assert _inside(scene), scene.bbox


@pytest.mark.parametrize("fmt", CONTAINER_FORMATS)
def test_every_container_format_renders(fmt: str) -> None:
    for condition in ("clean", "tilt", "perspective", "far"):
        scene = plate_scenes.container_scene(random.Random(f"{fmt}{condition}"), format=fmt, condition=condition, variety="wide")
        assert scene.image.shape == (720, 1280, 3)
        assert scene.layout == ("vertical" if fmt == "iso6346_vertical" else "horizontal")
        assert container_code(scene.text) == scene.text and _inside(scene), scene.bbox
        x, y, w, h = scene.bbox
        assert (h > 2 * w) if scene.layout == "vertical" else (w > 2 * h)


@pytest.mark.parametrize(("country", "fmt"), [(c, f) for c, formats in PLATE_FORMATS.items() for f in formats])
def test_every_plate_label_normalises_to_itself(country: str, fmt: str) -> None:
    rng = random.Random(fmt)
    texts = [plate_text(country, rng, two_line=k % 2 == 1, format=fmt) for k in range(60)]  # type: ignore[arg-type]
    assert {t for t in texts if normalise_plate(t) != t} == set()
    assert all(country_of(t) == country for t in texts)
    if fmt == "cn_special":
        assert {t[-1] for t in texts} == set("学警港澳") and all(t.startswith("粤Z·") for t in texts if t[-1] in "港澳")
    if fmt == "cn_new_energy":
        assert any(t[3] in "DF" for t in texts) and any(t[-1] in "DF" for t in texts) and all(len(t) == 9 for t in texts)


def test_labels_of_a_set_are_canonical_and_the_check_digit_right(development: list[Scene], test_set: list[Scene]) -> None:
    for scene in development + test_set:
        if scene.kind == "container":
            assert container_code(scene.text) == scene.text
            assert iso6346_check_digit(scene.text[:10]) == int(scene.text[10])
        else:
            assert normalise_plate(scene.text) == scene.text, scene
            assert scene.format in PLATE_FORMATS[scene.country]  # type: ignore[index]
    guangxi = [s for s in development + test_set if s.country == "china" and s.text[0] == "桂"]
    assert 0.2 < len(guangxi) / sum(s.country == "china" for s in development + test_set) < 0.65


def test_every_condition_and_format_is_in_a_60_scene_set(development: list[Scene], test_set: list[Scene]) -> None:
    for scenes in (development, test_set):
        plates = [s for s in scenes if s.kind == "plate"]
        assert len(plates) == 60 and Counter(s.country for s in plates) == {"vietnam": 30, "china": 30}
        assert {s.condition for s in plates} == set(CONDITIONS)
        assert {s.format for s in plates} == {f for formats in PLATE_FORMATS.values() for f in formats}
        codes = [s for s in scenes if s.kind == "container"]
        assert {s.condition for s in codes} == set(CONDITIONS) and {s.format for s in codes} == set(CONTAINER_FORMATS)


def test_a_300_scene_set_holds_every_format_and_condition_pair_twice() -> None:
    pairs = Counter(plan("plate", i)[1:] for i in range(300))
    assert len(pairs) == sum(len(f) for f in PLATE_FORMATS.values()) * len(CONDITIONS)
    assert min(pairs.values()) >= 2
    codes = Counter(plan("container", i)[1:] for i in range(40))
    assert len(codes) == len(CONTAINER_FORMATS) * len(CONDITIONS)


def test_bboxes_lie_inside_the_frame(development: list[Scene], test_set: list[Scene]) -> None:
    bad = [(s.format, s.condition, s.bbox) for s in development + test_set if not _inside(s)]
    assert bad == []


def test_far_plates_are_60_to_110_px_wide(development: list[Scene], test_set: list[Scene]) -> None:
    far = [s for s in development + test_set if s.kind == "plate" and s.condition == "far"]
    assert far and all(50 <= s.bbox[2] <= 125 for s in far), [s.bbox for s in far]


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_scenes(tmp_path: Path) -> None:
    a = plate_scenes.write_set(tmp_path / "a", 4, 7, 2, "wide")
    b = plate_scenes.write_set(tmp_path / "b", 4, 7, 2, "wide")
    c = plate_scenes.write_set(tmp_path / "c", 4, 8, 2, "wide")
    files = sorted(p.name for p in a.parent.iterdir())
    assert len(files) == 7 and files == sorted(p.name for p in b.parent.iterdir())
    assert all((a.parent / f).read_bytes() == (b.parent / f).read_bytes() for f in files)
    assert all((a.parent / f).read_bytes() != (c.parent / f).read_bytes() for f in files if f.endswith(".jpg"))
    one = next(plate_scenes.plate_scenes(3, 7, "wide"))
    assert np.array_equal(one.image, next(plate_scenes.plate_scenes(1, 7, "wide")).image)  # scene i does not depend on the count


def test_development_and_test_sets_differ(development: list[Scene], test_set: list[Scene]) -> None:
    assert SETS["development"].seed != SETS["test"].seed and SETS["test"].variety == "wide"
    assert all(d.text != t.text for d, t in zip(development, test_set))
    # the pairs of formats and conditions match scene by scene: only what is drawn differs
    assert [(d.format, d.condition) for d in development] == [(t.format, t.condition) for t in test_set]


def test_the_labels_file_has_every_column(tmp_path: Path) -> None:
    assert plate_scenes.main(["--out", str(tmp_path / "dev"), "--set", "development", "--count", "4", "--containers", "2"]) == 0
    with (tmp_path / "dev" / "labels.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == LABEL_COLUMNS == ("file", "kind", "country", "text", "layout", "format", "colour", "condition")
    assert [r["file"] for r in rows] == [f"plate_{i:04d}.jpg" for i in range(4)] + ["container_0000.jpg", "container_0001.jpg"]
    assert [r["country"] for r in rows] == ["vietnam", "china", "vietnam", "china", "", ""]
    assert all(r["condition"] in CONDITIONS and r["colour"] and r["layout"] in LAYOUTS[r["format"]] for r in rows)
    again = tmp_path / "again"
    assert plate_scenes.main(["--out", str(again), "--seed", "1", "--variety", "standard", "--count", "4", "--containers", "2"]) == 0
    assert (again / "plate_0003.jpg").read_bytes() == (tmp_path / "dev" / "plate_0003.jpg").read_bytes()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--out", "x", "--set", "holdout"], "argument --set: invalid choice: 'holdout'"),
        (["--out", "x", "--count", "-3"], "argument --count: must be 0 or more, got -3"),
        (["--out", "x", "--containers", "some"], "argument --containers: expected a whole number, got 'some'"),
        (["--out", "x", "--variety", "odd"], "argument --variety: invalid choice: 'odd'"),
        (["--out", "x", "--set", "test", "--seed", "3"], "--set test: fixes the seed and the variety"),
        (["--count", "3"], "the following arguments are required: --out"),
    ],
)
def test_bad_flags_are_refused_in_one_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        plate_scenes.main(argv)
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("python -m hardware_bridge.plate_scenes: error: ") and message in error


def test_a_given_plate_is_drawn_in_its_own_format() -> None:
    # the twin's camera frames pass the declared plate (checkpoint/bridged.py)
    for text, fmt, layout in [
        ("12C-123.45", "vn_5digit", "one_line"), ("12C1-123.45", "vn_5digit", "one_line"), ("29LD-123.45", "vn_2letter", "one_line"),
        ("12R-123.45", "vn_trailer", "one_line"), ("12C-1234", "vn_4digit", "one_line"), ("桂A·12345", "cn_blue", "one_line"),
        ("桂A·D12345", "cn_new_energy", "one_line"), ("桂A·1234挂", "cn_trailer", "two_line"), ("粤Z·1234港", "cn_special", "one_line"),
    ]:
        scene = plate_scene(country_of(text), random.Random(1), text=text)
        assert (scene.text, scene.format, scene.layout, scene.condition) == (text, fmt, layout, "mild")
    assert plate_scene("china", random.Random(1), text="桂A·12345", format="cn_yellow", layout="two_line").colour == "yellow"
    with pytest.raises(ValueError, match="no canonical plate of china"):
        plate_scene("china", random.Random(1), text="12C-123.45")
    with pytest.raises(ValueError, match="two-line plate"):
        plate_scene("china", random.Random(1), text="桂A·12345", two_line=True)
    with pytest.raises(ValueError, match="condition: 'fog'"):
        plate_scene("vietnam", random.Random(1), condition="fog")
