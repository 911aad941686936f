"""Compression and archives: a landing file becomes one or more readable files, each opened as a stream.

- ``name.<format>.gz``: one file, decompressed as it is read (a 1 GB ``.csv.gz`` is never inflated in memory).
- ``name.zip``: every member is a file of its own, named ``<archive>!<member>`` in lineage and quarantine;
  folders and hidden members (``.DS_Store``, ``__MACOSX/``) are skipped like hidden landing files. A member
  may itself be gzip-compressed; an archive inside an archive is not read (its member is quarantined whole).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pyarrow as pa

# A landing file's bytes, or the path of a local file.
Source = bytes | Path

COMPRESSIONS = {".gz": "gzip"}
ARCHIVES = (".zip",)
MEMBER_SEPARATOR = "!"


@dataclass(frozen=True)
class FileSource:
    """One readable file: its name in lineage, the suffix that chooses its reader, and a way to open it."""

    name: str
    suffix: str  # the format's suffix once compression is taken off: ".csv", ".jsonl", ...
    open: Callable[[], pa.NativeFile]  # a fresh stream of the file's (decompressed) bytes
    local_path: Path | None = None  # set when the bytes are a plain local file (read by path, fastest)

    def read_all(self) -> bytes:
        with self.open() as stream:
            return stream.read()


def split_suffix(name: str) -> tuple[str, str | None]:
    """The format suffix and the compression (``None`` when plain): ``a.csv.gz`` -> (".csv", "gzip")."""
    path = PurePosixPath(name.rsplit("/", 1)[-1])
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        return (suffixes[-2] if len(suffixes) > 1 else ""), COMPRESSIONS[suffixes[-1]]
    return (suffixes[-1] if suffixes else ""), None


def is_archive(name: str) -> bool:
    return split_suffix(name) == (".zip", None)


def _is_hidden_member(member: str) -> bool:
    return any(part.startswith((".", "_")) for part in member.split("/") if part)


def _opener(raw: Callable[[], pa.NativeFile], compression: str | None) -> Callable[[], pa.NativeFile]:
    if compression is None:
        return raw
    return lambda: pa.CompressedInputStream(raw(), compression)


def _raw_opener(source: Source) -> Callable[[], pa.NativeFile]:
    if isinstance(source, bytes):
        return lambda: pa.BufferReader(source)
    return lambda: pa.OSFile(str(source))


def single_file(name: str, source: Source) -> FileSource:
    suffix, compression = split_suffix(name)
    local = source if isinstance(source, Path) and compression is None else None
    return FileSource(name, suffix, _opener(_raw_opener(source), compression), local)


def _open_member(source: Source, member: str) -> pa.NativeFile:
    """A zip member as an Arrow stream, decompressed as it is read. Closing the archive here is safe: zipfile
    keeps the underlying file open until the member's stream is closed too."""
    archive = _archive(source)
    try:
        return pa.PythonFile(archive.open(member), mode="r")
    finally:
        archive.close()


def _archive(source: Source) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)


def archive_members(name: str, source: Source) -> list[FileSource]:
    """Every readable member of a zip archive, in archive order; raises when the archive cannot be opened."""
    with _archive(source) as archive:
        members = [i.filename for i in archive.infolist() if not i.is_dir() and not _is_hidden_member(i.filename)]
    files = []
    for member in members:
        suffix, compression = split_suffix(member)
        raw = lambda m=member: _open_member(source, m)  # noqa: E731 - one opener per member
        files.append(FileSource(f"{name}{MEMBER_SEPARATOR}{member}", suffix, _opener(raw, compression)))
    return files


def file_bytes(name: str, data: bytes) -> bytes:
    """The bytes of the file ``name`` names, given its landing file's bytes: a zip member's own bytes for
    ``archive.zip!member`` (as kept in quarantine), else ``data`` itself."""
    _, sep, member = name.partition(MEMBER_SEPARATOR)
    if not sep:
        return data
    with _archive(data) as zf:
        return zf.read(member)
