"""The README's configuration reference is generated from the models (`make docs`)."""

from __future__ import annotations

from pathlib import Path

from palisade.config.doc import BEGIN, END, main, reference_table

README = Path(__file__).parents[1] / "README.md"


def test_the_readme_reference_is_current() -> None:
    block = README.read_text(encoding="utf-8").partition(BEGIN)[2].partition(END)[0]
    assert block.strip() == reference_table(), "README.md is stale: run `make docs`"


def test_every_key_is_listed_once() -> None:
    keys = [line.split("|")[1].strip() for line in reference_table().splitlines()[2:]]
    assert len(keys) == len(set(keys))
    assert "`store.sqlite_path`" in keys
    assert all(line.count("|") >= 4 for line in reference_table().splitlines())


def test_check_mode_fails_on_a_stale_readme(tmp_path: Path) -> None:
    stale = tmp_path / "README.md"
    stale.write_text(f"# x\n\n{BEGIN}\n| key | default | meaning |\n{END}\n")
    assert main(["--check", "--readme", str(stale)]) == 1
    assert main(["--readme", str(stale)]) == 0
    assert main(["--check", "--readme", str(stale)]) == 0
    assert reference_table() in stale.read_text()
