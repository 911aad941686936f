"""Reading an S3 object's bytes once: its footer kept, small objects kept whole.

pyarrow finds a Parquet file's footer by reading the file's last 64 KiB (``FOOTER_READ``): on a file a little
larger, those bytes are mostly column data, which the read of the columns then fetches again, and a file
opened again later in the same step fetches its footer again. ``open_kept`` reads an object's last 64 KiB once
and serves any later read of them from memory (the footer read, and the column chunks that lie in them), the
rest by byte ranges from the object; an object no larger is read whole, once.

``KeptFileIO`` is pyiceberg's own pyarrow FileIO doing this for the files of Iceberg tables on S3. Every file
an Iceberg table references is immutable (metadata JSON, manifest lists, manifests, data files: a commit writes
new files under new names and never rewrites one), so what was read of one is kept by its location for the
process (``KEPT_BYTES`` at most, least recently used out first): the table metadata JSON, manifest lists and
manifests, loaded again at each access of a table, are fetched once, and so is the footer (the last 64 KiB, all
of a small file) of a data file scanned more than once; column chunks read again are fetched again. Which metadata file is current is still asked of the catalog at every ``load_table``: a commit by this
or another writer is always seen.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import pyarrow as pa
from pyiceberg.io import InputStream
from pyiceberg.io.pyarrow import PyArrowFile, PyArrowFileIO

# pyarrow reads a Parquet file's last 64 KiB to find its footer: a smaller object is fetched whole by that read.
FOOTER_READ = 64 * 1024
# Metadata files (JSON, Avro) up to this size are kept whole: a table's metadata is read whole anyway.
WHOLE_METADATA = 8 * 1024 * 1024
# What the process keeps of Iceberg files, at most.
KEPT_BYTES = 32 * 1024 * 1024


class _TailKept:
    """A Python file over a pyarrow random access file whose last bytes (``tail``) are held: reads of them are
    answered from memory, the bytes before them fetched (only the part of a read that lies before them)."""

    def __init__(self, source: pa.NativeFile, size: int, tail: pa.Buffer):
        self._source, self._size, self._tail = source, size, tail
        self._tail_start = size - tail.size
        self._position = 0
        self.closed = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._position, 2: self._size}[whence]
        self._position = base + offset
        return self._position

    def read(self, nbytes: int | None = None) -> pa.Buffer:
        start = self._position
        end = self._size if nbytes is None or nbytes < 0 else min(self._size, start + nbytes)
        if end <= start:
            return pa.py_buffer(b"")
        self._position = end
        if start >= self._tail_start:
            return self._tail.slice(start - self._tail_start, end - start)
        if end <= self._tail_start:
            return pa.py_buffer(self._source.read_at(end - start, start))
        head = self._source.read_at(self._tail_start - start, start)
        return pa.py_buffer(head + self._tail.slice(0, end - self._tail_start).to_pybytes())

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._source.close()


def read_tail(source: pa.NativeFile, size: int) -> pa.Buffer:
    """The object's last ``FOOTER_READ`` bytes (all of it when smaller), in one ranged GET."""
    length = min(size, FOOTER_READ)
    return pa.py_buffer(source.read_at(length, size - length))


def open_kept(source: pa.NativeFile | None, size: int, tail: pa.Buffer) -> pa.NativeFile:
    """``source`` (an opened object of ``size`` bytes) with its last bytes ``tail`` answered from memory; the
    bytes themselves when ``tail`` is all of them (``source`` may then be None)."""
    if tail.size >= size:
        if source is not None:
            source.close()
        return pa.BufferReader(tail)
    return pa.PythonFile(_TailKept(source, size, tail), mode="r")


class _Kept:
    """What the process keeps of immutable files, by location, least recently used out first."""

    def __init__(self, budget: int):
        self.budget, self.used = budget, 0
        self._kept: OrderedDict[str, tuple[int, pa.Buffer]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, location: str) -> tuple[int, pa.Buffer] | None:
        with self._lock:
            kept = self._kept.get(location)
            if kept is not None:
                self._kept.move_to_end(location)
            return kept

    def put(self, location: str, size: int, data: pa.Buffer) -> None:
        if data.size > self.budget:
            return
        with self._lock:
            self._drop(location)
            self._kept[location] = (size, data)
            self.used += data.size
            while self.used > self.budget:
                self._drop(next(iter(self._kept)))

    def forget(self, location: str) -> None:
        with self._lock:
            self._drop(location)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self.used = 0

    def _drop(self, location: str) -> None:
        gone = self._kept.pop(location, None)
        if gone is not None:
            self.used -= gone[1].size


KEPT = _Kept(KEPT_BYTES)


def _is_metadata(location: str) -> bool:
    return location.endswith((".metadata.json", ".avro", ".metadata.json.gz"))


class KeptFile(PyArrowFile):
    """An Iceberg file read through ``KEPT``: whole when small or metadata, else its last 64 KiB and ranges."""

    def open(self, seekable: bool = True) -> InputStream:
        kept = KEPT.get(self.location)
        if kept is not None:
            size, data = kept
            if data.size >= size:
                return pa.BufferReader(data)
            return open_kept(super().open(seekable=True), size, data)
        source = super().open(seekable=True)
        size = source.size()
        if size <= FOOTER_READ or (_is_metadata(self.location) and size <= WHOLE_METADATA):
            data = pa.py_buffer(source.read_at(size, 0))
            source.close()
            KEPT.put(self.location, size, data)
            return pa.BufferReader(data)
        tail = read_tail(source, size)
        KEPT.put(self.location, size, tail)
        return open_kept(source, size, tail)


class KeptFileIO(PyArrowFileIO):
    """pyiceberg's pyarrow FileIO whose reads go through ``KEPT`` (``py-io-impl`` of the Glue catalog)."""

    def new_input(self, location: str) -> PyArrowFile:
        opened = super().new_input(location)
        return KeptFile(opened.location, opened._path, opened._filesystem, opened._buffer_size)

    def delete(self, location) -> None:
        KEPT.forget(location if isinstance(location, str) else location.location)
        super().delete(location)
