"""The README stays short and starts with the two commands; the documentation's generated
pages match the code and the results they come from; the site builds with --strict."""

import os
import subprocess
import sys

from tests.conftest import ROOT, names_an_existing_test


def test_the_readme_is_short_and_starts_with_the_two_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 250
    assert lines[3].startswith("make run") and lines[4].startswith("make test")


def test_every_readme_link_to_a_file_leads_somewhere():
    import re

    text = (ROOT / "README.md").read_text()
    targets = [t for t in re.findall(r"\]\(([^)#]+)\)", text) if "://" not in t]
    assert targets
    assert [t for t in targets if not (ROOT / t).exists()] == []


def test_every_guarantee_names_tests_that_exist():
    from tests.guarantees import GUARANTEES

    assert len(GUARANTEES) >= 20
    for guarantee in GUARANTEES:
        assert guarantee.proofs, guarantee.promise
        for proof in guarantee.proofs:
            assert names_an_existing_test(proof), proof


def test_the_readme_s_guarantees_name_test_files_that_exist():
    import re

    text = (ROOT / "README.md").read_text()
    table = text[text.index("## What it guarantees") :].split("\n## ")[0]
    named = re.findall(r"`(tests/[^`]+)`", table)
    assert len(named) >= 10
    assert [n for n in named if not names_an_existing_test(n)] == []


def test_every_exception_the_project_defines_is_in_the_error_catalogue():
    import ast

    from docs.errors_page import ENTRIES

    defined = set()
    for folder in ("recsys_core", "tasks", "flows"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                bases = [
                    getattr(b, "id", getattr(b, "attr", "")) for b in getattr(node, "bases", [])
                ]
                if isinstance(node, ast.ClassDef) and any(
                    b.endswith(("Error", "Exception", "Failed", "Locked", "Rows")) for b in bases
                ):
                    defined.add(node.name)
    catalogued = {e.error.__name__ for e in ENTRIES if not isinstance(e.error, str)}
    assert {"InputError", "OutputLocked", "QualityGateFailed"} <= defined
    assert defined - catalogued == set()


def test_the_generated_pages_are_current():
    result = subprocess.run(
        [sys.executable, "docs/generate.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_site_builds_strict(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "reference" / "parameters" / "index.html").exists()
