"""Text encodings, told by the byte order mark: UTF-8 (with or without a BOM) and UTF-16/UTF-32 with a BOM
(what Excel writes for "Unicode text"). UTF-16 and UTF-32 files are transcoded to UTF-8 as they are read."""

from __future__ import annotations

import pyarrow as pa

UTF8_BOM = b"\xef\xbb\xbf"
# Longest first: a UTF-32 LE BOM starts with the UTF-16 LE one.
BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
    (UTF8_BOM, "utf-8"),
)


def detect(head: bytes) -> str:
    """``utf-8`` unless the bytes start with a UTF-16 or UTF-32 byte order mark."""
    for bom, encoding in BOMS:
        if head.startswith(bom):
            return encoding
    return "utf-8"


def as_utf8(stream: pa.NativeFile, encoding: str) -> pa.NativeFile:
    """The stream's text as UTF-8 (the codec drops the BOM of UTF-16/32; a UTF-8 BOM stays for the reader)."""
    if encoding == "utf-8":
        return stream
    return pa.transcoding_input_stream(stream, encoding, "utf-8")


def strip_utf8_bom(data: bytes) -> bytes:
    return data[len(UTF8_BOM) :] if data.startswith(UTF8_BOM) else data


def decode_text(data: bytes) -> str:
    """A whole (small) text file as a string, in the encoding its BOM names; raises on invalid bytes."""
    encoding = detect(data)
    if encoding == "utf-8":
        return strip_utf8_bom(data).decode("utf-8")
    return data.decode(encoding)
