"""Ingest: turning a landing file (any supported format, encoding and compression) into numbered raw
records and rejects. One module per format (``delimited``, ``json_lines``, ``json_array``, ``parquet``),
``sources`` for compression and archives, ``encoding`` for byte order marks, ``dispatch`` to choose."""

from ecommerce_pipeline.ingest.dispatch import (
    CHUNK_ROWS,
    SUPPORTED_SUFFIXES,
    is_supported,
    parse_landing,
    parse_landing_chunks,
    parse_landing_file,
    unsupported_reason,
)
from ecommerce_pipeline.ingest.records import MAX_FIELD_CHARS, REJECT_SCHEMA, ParsedFile
from ecommerce_pipeline.ingest.sources import MEMBER_SEPARATOR, Source, file_bytes

__all__ = [
    "CHUNK_ROWS",
    "MAX_FIELD_CHARS",
    "MEMBER_SEPARATOR",
    "REJECT_SCHEMA",
    "SUPPORTED_SUFFIXES",
    "ParsedFile",
    "Source",
    "file_bytes",
    "is_supported",
    "parse_landing",
    "parse_landing_chunks",
    "parse_landing_file",
    "unsupported_reason",
]
