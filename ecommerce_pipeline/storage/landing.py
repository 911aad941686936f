"""The landing store: raw export files at ``<landing>/<entity>/<YYYY-MM-DD>/<file name>``."""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ecommerce_pipeline.contract import ENTITIES
from ecommerce_pipeline.ingest import is_supported, unsupported_reason

DAY_FOLDER = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class LandingFile:
    key: str  # relative to the landing root: "orders/2025-01-01/orders.csv"
    entity: str
    day: date
    size: int
    version: str  # changes when the file is re-uploaded under the same key

    @property
    def fingerprint(self) -> str:
        return f"{self.key}:{self.size}:{self.version}"


@dataclass(frozen=True)
class LandedObject:
    """A file somewhere in the landing store, as the arrival sensor remembers it."""

    key: str  # relative to the landing root: "orders/2025-01-01/orders.csv"
    version: str  # changes when the file is replaced under the same key


class LandingKeyError(ValueError):
    pass


def parse_landing_key(key: str) -> tuple[str, date]:
    """Entity and business day of a landing key; raises LandingKeyError naming what is wrong."""
    parts = key.strip("/").split("/")
    if len(parts) < 3:
        raise LandingKeyError(f"{key!r} is not <entity>/<YYYY-MM-DD>/<file name>")
    entity, folder = parts[0], parts[1]
    if entity not in ENTITIES:
        hint = f" (entity folders are lower case: {entity.lower()!r})" if entity.lower() in ENTITIES else ""
        raise LandingKeyError(f"{key!r}: unknown entity {entity!r}{hint}; expected one of {', '.join(ENTITIES)}")
    try:
        if not DAY_FOLDER.match(folder):
            raise ValueError(folder)
        day = date.fromisoformat(folder)
    except ValueError:
        raise LandingKeyError(f"{key!r}: date folder {folder!r} is not YYYY-MM-DD (a calendar day)") from None
    return entity, day


def _is_day(folder: str) -> bool:
    """Whether a folder name is a calendar day written YYYY-MM-DD."""
    try:
        return bool(DAY_FOLDER.match(folder)) and date.fromisoformat(folder) is not None
    except ValueError:
        return False


def is_hidden_key(key: str) -> bool:
    """A key with a hidden file or folder anywhere in it (``.staging/``, ``_temporary/``, ``.DS_Store``)."""
    return any(is_hidden(part) for part in key.strip("/").split("/"))


def unused_reason(key: str) -> str | None:
    """Why the pipeline will not read the landing key as data, or None when it will.

    Hidden keys are never data (and are not reported); an unsupported file type is still quarantined whole
    as ``unparseable_file`` by bronze, so it is reported here and in quarantine.
    """
    if is_hidden_key(key):
        return None
    try:
        parse_landing_key(key)
    except LandingKeyError as exc:
        return f"not read: {exc}"
    name = key.rsplit("/", 1)[-1]
    if not is_supported(name):
        return f"quarantined whole as unparseable_file: {unsupported_reason(name)}"
    return None


def unused_paths(keys: list[str]) -> dict[str, str]:
    """Every landing key the pipeline does not read as data, with the reason."""
    return {k: reason for k in sorted(keys) if (reason := unused_reason(k)) is not None}


def unused_paths_for(entity: str, unused: dict[str, str]) -> dict[str, str]:
    """The unused paths that concern ``entity``: those under its folder (whatever the case) and those of no entity."""
    known = {e.lower() for e in ENTITIES}
    mine = {}
    for key, reason in unused.items():
        top = key.split("/", 1)[0].lower()
        if top == entity or top not in known:
            mine[key] = reason
    return mine


def is_hidden(name: str) -> bool:
    return name.startswith((".", "_"))


class LandingStore(ABC):
    @abstractmethod
    def list_files(self, entity: str, day: date) -> list[LandingFile]: ...

    @abstractmethod
    def read_bytes(self, file: LandingFile) -> bytes: ...

    @abstractmethod
    def location(self) -> str: ...

    @abstractmethod
    def list_objects(self) -> list[LandedObject]:
        """Every file in the store, hidden ones excluded, with a version that changes when it is replaced."""

    def list_keys(self, days: Iterable[date] | None = None) -> list[str]:
        """Every file's key in the store, hidden ones excluded (for reporting what is not used).

        With ``days`` (a run's), the date folders of known entities for other days are not walked: their
        files were reported by their own day's run (a file added there later brings that day to run again).
        Everything else is: a run then lists a few folders of names, not every file of years of landing days.
        """
        if days is None:
            return [o.key for o in self.list_objects()]
        wanted = {d.isoformat() for d in days}
        keys, pending = [], [""]
        while pending:
            files, folders = self._children(pending.pop())
            keys += files
            for folder in folders:
                parts = folder.strip("/").split("/")
                if is_hidden(parts[-1]):
                    continue
                if len(parts) == 2 and parts[0] in ENTITIES and _is_day(parts[1]) and parts[1] not in wanted:
                    continue
                pending.append(folder)
        return sorted(k for k in keys if not is_hidden_key(k))

    @abstractmethod
    def _children(self, prefix: str) -> tuple[list[str], list[str]]:
        """One level under ``prefix`` ('' or 'a/b/'): the files' keys and the folders (ending in '/')."""

    def source(self, file: LandingFile) -> bytes | Path:
        """What the parser reads: a local path (streamed, never held whole) or the file's bytes."""
        return self.read_bytes(file)


class LocalLandingStore(LandingStore):
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _children(self, prefix: str) -> tuple[list[str], list[str]]:
        folder = self.root / prefix
        if not folder.is_dir():
            return [], []
        files, folders = [], []
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_dir():
                    folders.append(f"{prefix}{entry.name}/")
                elif entry.is_file():
                    files.append(f"{prefix}{entry.name}")
        return files, folders

    def list_files(self, entity: str, day: date) -> list[LandingFile]:
        folder = self.root / entity / day.isoformat()
        if not folder.is_dir():
            return []
        files = []
        for path in sorted(
            p for p in folder.rglob("*") if p.is_file() and not is_hidden_key(p.relative_to(folder).as_posix())
        ):
            stat = path.stat()
            key = path.relative_to(self.root).as_posix()
            files.append(LandingFile(key, entity, day, stat.st_size, str(stat.st_mtime_ns)))
        return files

    def read_bytes(self, file: LandingFile) -> bytes:
        return (self.root / file.key).read_bytes()

    def source(self, file: LandingFile) -> Path:
        return self.root / file.key

    def location(self) -> str:
        return str(self.root.resolve())

    def list_objects(self) -> list[LandedObject]:
        if not self.root.is_dir():
            return []
        objects = []
        for path in sorted(p for p in self.root.rglob("*") if p.is_file()):
            key = path.relative_to(self.root).as_posix()
            if not is_hidden_key(key):
                stat = path.stat()
                objects.append(LandedObject(key, f"{stat.st_size}:{stat.st_mtime_ns}"))
        return objects
