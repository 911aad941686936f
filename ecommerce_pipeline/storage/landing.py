"""The landing store: raw export files at ``<landing>/<entity>/<YYYY-MM-DD>/<file name>``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from ecommerce_pipeline.contract import ENTITIES


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


class LandingKeyError(ValueError):
    pass


def parse_landing_key(key: str) -> tuple[str, date]:
    """Entity and business day of a landing key; raises LandingKeyError naming what is wrong."""
    parts = key.strip("/").split("/")
    if len(parts) < 3:
        raise LandingKeyError(f"{key!r} is not <entity>/<YYYY-MM-DD>/<file name>")
    entity, folder = parts[0], parts[1]
    if entity not in ENTITIES:
        raise LandingKeyError(f"{key!r}: unknown entity {entity!r}; expected one of {', '.join(ENTITIES)}")
    try:
        day = date.fromisoformat(folder)
    except ValueError:
        raise LandingKeyError(f"{key!r}: date folder {folder!r} is not YYYY-MM-DD") from None
    return entity, day


def is_hidden(name: str) -> bool:
    return name.startswith((".", "_"))


class LandingStore(ABC):
    @abstractmethod
    def list_files(self, entity: str, day: date) -> list[LandingFile]: ...

    @abstractmethod
    def read_bytes(self, file: LandingFile) -> bytes: ...

    @abstractmethod
    def location(self) -> str: ...

    def source(self, file: LandingFile) -> bytes | Path:
        """What the parser reads: a local path (streamed, never held whole) or the file's bytes."""
        return self.read_bytes(file)


class LocalLandingStore(LandingStore):
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def list_files(self, entity: str, day: date) -> list[LandingFile]:
        folder = self.root / entity / day.isoformat()
        if not folder.is_dir():
            return []
        files = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not is_hidden(p.name)):
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
