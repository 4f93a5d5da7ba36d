"""The docs name what exists: every lab fault in the README and in docs/lab.md."""

from __future__ import annotations

from pathlib import Path

from lab.faults import FAULTS

ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_and_the_lab_docs_list_every_fault():
    readme = (ROOT / "README.md").read_text()
    lab = (ROOT / "docs" / "lab.md").read_text()
    for fault in FAULTS:
        assert fault in readme, fault
        assert f"`{fault}`" in lab, fault


def test_the_readme_claims_no_folder_that_does_not_exist():
    readme = (ROOT / "README.md").read_text()
    for line in readme.splitlines():
        if line.startswith("| `") and "coming" not in line:
            for folder in line.split("|")[1].replace("`", "").split(","):
                assert (ROOT / folder.strip().rstrip("/")).is_dir(), folder


def test_the_config_reference_is_current():
    from bot.config_reference import reference
    stale = "docs/config.md is stale: run `make docs`"
    assert (ROOT / "docs" / "config.md").read_text() == reference(), stale
