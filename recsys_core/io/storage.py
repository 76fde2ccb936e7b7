"""Where snapshots and inputs live: a local folder or an object store, behind one interface.

``pyarrow.fs`` is the one abstraction. pyarrow is already a core dependency and its S3,
GCS, Azure and HDFS clients are the ones pandas and pyarrow readers use; a scheme pyarrow
lacks goes through fsspec (``pyarrow.fs.FSSpecHandler``) when fsspec and its plugin are
installed. Credentials come from each store's standard environment (``AWS_*`` and
``~/.aws`` for S3), never from code or parameters. pyarrow does not read
``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3`` (apache/arrow#49643) while boto3, the AWS
CLI, DuckDB and Polars do, so :func:`open_store` passes them on: that is how an
S3-compatible server (MinIO, a local moto server) is reached.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs

from recsys_core.errors import InputError
from recsys_core.io.atomic import CHUNK, link_or_copy, replace_bytes, sha256_stream


def is_uri(location: str | Path) -> bool:
    """True for ``scheme://…`` locations other than ``file://``."""
    text = str(location)
    return "://" in text and not text.startswith("file://")


def _s3_filesystem() -> pafs.S3FileSystem:
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    return pafs.S3FileSystem(endpoint_override=endpoint or None, region=region or None)


def _remote(location: str) -> tuple[pafs.FileSystem, str]:
    scheme, _, rest = location.partition("://")
    if scheme in ("s3", "s3a"):
        # from_uri would ask AWS for the bucket's region, unreachable behind a custom endpoint.
        return _s3_filesystem(), rest.split("?", 1)[0].rstrip("/")
    try:
        return pafs.FileSystem.from_uri(location)
    except pa.ArrowInvalid:  # a scheme pyarrow does not know: try fsspec's registry
        import fsspec

        fs, path = fsspec.core.url_to_fs(location)
        return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), path.rstrip("/")


@dataclass(frozen=True)
class Store:
    """A folder (local path or object-store prefix): ``root`` inside ``fs``; ``location``
    is how the user named it (a path or URI), used in every message."""

    fs: pafs.FileSystem
    root: str
    location: str

    @property
    def local(self) -> bool:
        """True on a local disk, where rename is atomic and files can be hard-linked."""
        return isinstance(self.fs, pafs.LocalFileSystem)

    def path(self, *parts: str) -> str:
        """The filesystem path of ``parts`` under the root."""
        return "/".join([self.root, *parts])

    def uri(self, *parts: str) -> str:
        """``parts`` under the root as the user would write it (path or URI)."""
        return "/".join([self.location.rstrip("/"), *parts])

    def local_path(self, *parts: str) -> Path:
        """``parts`` as a local :class:`Path` (local stores only)."""
        if not self.local:
            raise ValueError(f"{self.location} is not on a local disk")
        return Path(self.path(*parts))

    def child(self, *parts: str) -> Store:
        """The store of a subfolder."""
        return Store(self.fs, self.path(*parts), self.uri(*parts))

    def is_file(self, *parts: str) -> bool:
        return self.fs.get_file_info(self.path(*parts)).type == pafs.FileType.File

    def list_dir(self, *parts: str) -> list[pafs.FileInfo]:
        """Entries directly under ``parts`` (empty when it does not exist)."""
        selector = pafs.FileSelector(self.path(*parts), allow_not_found=True)
        return self.fs.get_file_info(selector)

    def read_bytes(self, *parts: str) -> bytes:
        with self.fs.open_input_stream(self.path(*parts)) as handle:
            return handle.read()

    def sha256(self, *parts: str) -> str:
        """Hex sha256 of one file, streamed."""
        with self.fs.open_input_stream(self.path(*parts)) as handle:
            return sha256_stream(handle)

    def write_bytes(self, data: bytes, *parts: str) -> None:
        """Replace one file whole: write + fsync + rename locally, one PUT on an object
        store (the object appears only when complete)."""
        if self.local:
            replace_bytes(self.local_path(*parts), data)
            return
        with self.fs.open_output_stream(self.path(*parts)) as handle:
            handle.write(data)

    def put_file(self, source: str | Path, *parts: str) -> None:
        """Place a local file at ``parts``: a hard link locally, one upload remotely."""
        if self.local:
            link_or_copy(source, self.local_path(*parts))
            return
        with open(source, "rb") as src, self.fs.open_output_stream(self.path(*parts)) as dst:
            while block := src.read(CHUNK):
                dst.write(block)

    def get_file(self, target: Path, *parts: str) -> None:
        """Download one file to a local path (written beside it, then renamed)."""
        partial = target.with_name(f".{target.name}.partial")
        with self.fs.open_input_stream(self.path(*parts)) as src, open(partial, "wb") as dst:
            while block := src.read(CHUNK):
                dst.write(block)
        os.replace(partial, target)

    def delete(self, *parts: str) -> None:
        """Remove one file; a missing one is fine."""
        try:
            self.fs.delete_file(self.path(*parts))
        except FileNotFoundError:
            pass

    def delete_tree(self, *parts: str) -> None:
        """Remove a folder and everything under it; a missing one is fine."""
        try:
            self.fs.delete_dir(self.path(*parts))
        except FileNotFoundError:
            pass


def open_store(location: str | Path) -> Store:
    """The :class:`Store` for a local path or a URI (``s3://bucket/prefix``, ``gs://…``)."""
    text = str(location)
    if not is_uri(text):
        root = Path(text.removeprefix("file://")).expanduser().resolve()
        return Store(pafs.LocalFileSystem(), root.as_posix(), str(root))
    fs, root = _remote(text)
    return Store(fs, root, text.split("?", 1)[0].rstrip("/"))


def output_location(location: str | Path) -> str:
    """How an output is named in manifests and messages: a URI as given, a path resolved."""
    return open_store(location).location


def as_store(location: str | Path | Store) -> Store:
    """``location`` opened as a :class:`Store` (a Store is returned as it is)."""
    return location if isinstance(location, Store) else open_store(location)


def local_input(location: str, cache_dir: Path) -> Path:
    """A local file holding ``location``'s bytes: the path itself when local, else a fresh
    download into ``cache_dir`` (one file per URI, replaced whole on every call, so it is
    never stale; its sha256 is what the run is keyed on)."""
    if not is_uri(location):
        return Path(location).expanduser().resolve()
    store = open_store(location)
    if store.fs.get_file_info(store.root).type != pafs.FileType.File:
        raise InputError(location, "an existing input file (input_path)")
    target = cache_dir / hashlib.sha256(location.encode()).hexdigest()[:16]
    target.mkdir(parents=True, exist_ok=True)
    target = target / store.root.rsplit("/", 1)[-1]
    store.get_file(target)
    return target
