"""Shared fixtures. Prefect state goes to a temporary home so runs never leak caches."""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Before anything imports prefect: cached results live under PREFECT_HOME/storage and
# would otherwise leak between test sessions (../shared/PREFECT_NOTES.md).
_PREFECT_HOME = tempfile.mkdtemp(prefix="recsys-test-prefect-")
atexit.register(shutil.rmtree, _PREFECT_HOME, ignore_errors=True)
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ.pop("PREFECT_API_URL", None)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
GOWALLA = SHARED / "data" / "gowalla" / "train.txt"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding a slow test first, the order otherwise kept: under ``make test``'s
    workers (pytest-xdist, a file at a time) the long files start early, so one worker is
    not left finishing a two-minute test alone while the other idles."""
    slow_files = {item.nodeid.split("::")[0] for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.nodeid.split("::")[0] not in slow_files)


def names_an_existing_test(reference: str) -> bool:
    """Whether ``reference`` (``tests/…py`` or ``tests/…py::test_name``) names a test file,
    and the test function in it, that exist."""
    import ast

    path, _, name = reference.partition("::")
    if not (ROOT / path).is_file():
        return False
    tree = ast.parse((ROOT / path).read_text())
    defined = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    return not name or name in defined


@pytest.fixture(scope="session")
def prefect_harness():
    """One throw-away Prefect API for the whole session (entering takes 12-40 s here)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def prefect_api_url(prefect_harness) -> str:
    """The harness's API, for a subprocess to use (``PREFECT_API_URL``) instead of starting
    and migrating a server of its own (10-30 s each here)."""
    from prefect.settings import get_current_settings

    return str(get_current_settings().api.url)


@pytest.fixture(scope="session")
def synthetic_adjacency(tmp_path_factory) -> Path:
    from recsys_core.data.synthetic import synthetic_pairs, write_adjacency

    users, items = synthetic_pairs(n_users=300, n_items=200, seed=0)
    return write_adjacency(
        tmp_path_factory.mktemp("data") / "train.txt", users, items, id_offset=1000
    )


@pytest.fixture(scope="session")
def gowalla() -> Path:
    if not GOWALLA.is_file():
        pytest.skip(f"real data absent: {GOWALLA} (../shared is not beside this clone)")
    return GOWALLA


@pytest.fixture(scope="session")
def s3_endpoint():
    """A local S3-compatible server for the session (moto; skipped when not installed)."""
    pytest.importorskip("moto.server")
    from tests.s3_server import moto_server

    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3_bucket(s3_endpoint, monkeypatch, request) -> str:
    """A fresh bucket on the local server; AWS_* point there, as a user would set them."""
    import uuid

    import pyarrow.fs as pafs

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ALLOW_HTTP", "true")  # Polars' object_store, plain-HTTP endpoint
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    pafs.S3FileSystem(endpoint_override=s3_endpoint, allow_bucket_creation=True).create_dir(bucket)
    return bucket
