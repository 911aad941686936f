"""Choose the reader for a landing file by its name, and turn every failure into rejects.

``parse_landing`` yields one stream of chunks per file the landing file holds (a zip archive holds
several); ``validate_batch`` in bronze consumes exactly that shape.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from ecommerce_pipeline.ingest.delimited import read_delimited
from ecommerce_pipeline.ingest.json_array import read_json
from ecommerce_pipeline.ingest.json_lines import read_json_lines
from ecommerce_pipeline.ingest.parquet import read_parquet
from ecommerce_pipeline.ingest.records import ParsedFile, duplicate_names, reject_oversized, unreadable
from ecommerce_pipeline.ingest.sources import (
    ARCHIVES,
    COMPRESSIONS,
    FileSource,
    Source,
    archive_members,
    is_archive,
    single_file,
    split_suffix,
)

# Rows parsed and validated at a time: a day's memory follows this, not the size of its files.
CHUNK_ROWS = 500_000

DELIMITED_SUFFIXES = (".csv", ".tsv", ".txt")
JSON_LINES_SUFFIXES = (".jsonl", ".ndjson")
JSON_SUFFIXES = (".json",)
PARQUET_SUFFIXES = (".parquet", ".pq")
FORMAT_SUFFIXES = DELIMITED_SUFFIXES + JSON_LINES_SUFFIXES + JSON_SUFFIXES + PARQUET_SUFFIXES
SUPPORTED_SUFFIXES = FORMAT_SUFFIXES + tuple(COMPRESSIONS) + ARCHIVES


def is_supported(name: str) -> bool:
    """Whether a landing file's name says it is something a reader exists for."""
    suffix, _ = split_suffix(name)
    return suffix in FORMAT_SUFFIXES or is_archive(name)


def unsupported_reason(name: str) -> str:
    suffix, compression = split_suffix(name)
    what = (suffix or "(none)") + (" inside .gz" if compression else "")
    if compression and suffix in ARCHIVES:
        what = "an archive inside .gz"
    return (
        f"unsupported file type {what}; expected one of {', '.join(FORMAT_SUFFIXES)}, "
        f"optionally compressed ({', '.join(COMPRESSIONS)}), or a {', '.join(ARCHIVES)} archive of them"
    )


def parse_landing(name: str, source: Source, chunk_rows: int = CHUNK_ROWS) -> Iterator[Iterator[ParsedFile]]:
    """One stream of chunks per file in the landing file ``name``: the file itself, or each member of an archive.

    An archive that cannot be opened is one unreadable file under the archive's own name.
    """
    if is_archive(name):
        try:
            members = archive_members(name, source)
        except Exception as exc:  # a broken archive quarantines the archive, never the day
            yield iter([unreadable(name, exc)])
            return
        for member in members:
            yield _file_chunks(member, chunk_rows)
        return
    yield _file_chunks(single_file(name, source), chunk_rows)


def parse_landing_chunks(name: str, source: Source, chunk_rows: int = CHUNK_ROWS) -> Iterator[ParsedFile]:
    """Every chunk of every file in ``name`` in order (an archive's members one after another)."""
    for chunks in parse_landing(name, source, chunk_rows):
        yield from chunks


def parse_landing_file(name: str, source: Source) -> ParsedFile:
    """A single (non-archive) file as one ``ParsedFile`` (its chunks put together)."""
    import pyarrow as pa

    chunks = list(parse_landing_chunks(name, source))
    if chunks[-1].unreadable:
        return chunks[-1]
    if len(chunks) == 1:
        return chunks[0]
    return ParsedFile(
        name,
        pa.concat_tables([c.records for c in chunks]),
        pa.concat_tables([c.rejects for c in chunks]),
        chunks[0].duplicate_columns,
    )


def _with_duplicates(parsed: ParsedFile) -> ParsedFile:
    if not parsed.duplicate_columns:
        parsed.duplicate_columns = duplicate_names([c for c in parsed.records.column_names if c != "_source_row"])
    return parsed


def _file_chunks(file: FileSource, chunk_rows: int) -> Iterator[ParsedFile]:
    """A file's chunks; a file that turns out unreadable, even after some chunks, ends with a chunk holding
    only its ``unparseable_file`` reject (the consumer discards that file's earlier chunks)."""
    try:
        if file.suffix in DELIMITED_SUFFIXES:
            for chunk in _read_ahead(read_delimited(file, chunk_rows)):
                yield reject_oversized(_with_duplicates(chunk))
            return
        if file.suffix in PARQUET_SUFFIXES:
            parsed = read_parquet(file.name, file.read_all())
        elif file.suffix in JSON_LINES_SUFFIXES:
            parsed = read_json_lines(file.name, file.read_all())
        elif file.suffix in JSON_SUFFIXES:
            parsed = read_json(file.name, file.read_all())
        else:
            raise ValueError(unsupported_reason(file.name.rsplit("!", 1)[-1]))
    except Exception as exc:  # any reader failure quarantines the whole file, never the day
        yield unreadable(file.name, exc)
        return
    yield reject_oversized(_with_duplicates(parsed))


def _read_ahead(chunks: Iterator[ParsedFile]) -> Iterator[ParsedFile]:
    """Yield ``chunks`` while a thread parses the next one, so parsing overlaps the caller's validation
    (pyarrow and DuckDB release the GIL). A parser error is raised here, in the caller's thread."""
    ready: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def offer(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks:
                if not offer(("chunk", chunk)):
                    return
            offer(("end", None))
        except Exception as exc:
            offer(("error", exc))
        finally:
            chunks.close()

    thread = threading.Thread(target=produce, name="landing-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = ready.get()
            if kind == "error":
                raise value
            if kind == "end":
                return
            yield value
    finally:
        stop.set()
        thread.join()
