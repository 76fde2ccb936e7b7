"""recsys_core stays pure: importing every module of it never loads prefect."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_recsys_core_never_imports_prefect():
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in (ROOT / "recsys_core").rglob("*.py")
    )
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + (
            "bad = [m for m in sys.modules if m == 'prefect' or m.startswith('prefect.')]\n"
            "print(bad)\nsys.exit(1 if bad else 0)\n"
        )
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(modules) > 10  # the walk really found the package


def test_no_prefect_import_statement_in_core():
    offenders = [
        str(p)
        for p in (ROOT / "recsys_core").rglob("*.py")
        if "import prefect" in p.read_text() or "from prefect" in p.read_text()
    ]
    assert offenders == []
