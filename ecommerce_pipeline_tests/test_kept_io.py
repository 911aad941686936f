"""``kept_io``: an object's last bytes answered from memory, the rest by ranges; what the process keeps, bounded."""

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ecommerce_pipeline.storage.kept_io import FOOTER_READ, _Kept, open_kept, read_tail


class CountingFile:
    """A random access file over bytes that notes every range asked of it."""

    def __init__(self, data: bytes):
        self.data, self.asked = data, []

    def read_at(self, nbytes: int, offset: int) -> bytes:
        self.asked.append((offset, nbytes))
        return self.data[offset : offset + nbytes]

    def size(self) -> int:
        return len(self.data)

    def close(self) -> None:
        pass


def test_reads_in_the_kept_tail_are_answered_from_memory_and_a_straddling_read_fetches_only_the_rest():
    data = bytes(range(256)) * 1000  # 256,000 bytes
    source = CountingFile(data)
    tail = read_tail(source, len(data))
    assert tail.size == FOOTER_READ and source.asked == [(len(data) - FOOTER_READ, FOOTER_READ)]
    kept = open_kept(source, len(data), tail)
    start = len(data) - FOOTER_READ

    for offset, nbytes in [(start + 10, 100), (start - 50, 200), (5, 40), (0, len(data)), (len(data) - 3, 10)]:
        source.asked.clear()
        assert kept.read_at(nbytes, offset) == data[offset : offset + nbytes]
        assert all(first + n <= start for first, n in source.asked), (offset, nbytes, source.asked)
    kept.seek(start - 4)
    assert kept.read(8) == data[start - 4 : start + 4] and kept.tell() == start + 4
    assert kept.size() == len(data)


def test_a_parquet_file_read_through_its_kept_tail_is_the_same(tmp_path):
    table = pa.table({"a": list(range(50_000)), "b": [f"value {i}" for i in range(50_000)]})
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=10_000)
    fs = pafs.LocalFileSystem()
    size = fs.get_file_info(str(tmp_path / "t.parquet")).size
    source = fs.open_input_file(str(tmp_path / "t.parquet"))
    kept = pq.ParquetFile(open_kept(source, size, read_tail(source, size)), pre_buffer=True)
    assert kept.read().equals(table) and kept.read(columns=["b"]).equals(table.select(["b"]))
    assert pa.Table.from_batches(kept.iter_batches(batch_size=3_000, row_groups=[4])).equals(table.slice(40_000))


def test_a_small_object_is_kept_whole():
    data = b"x" * 1000
    source = CountingFile(data)
    tail = read_tail(source, len(data))
    assert tail.size == len(data)
    assert open_kept(None, len(data), tail).read() == data


def test_what_the_process_keeps_is_bounded_and_the_least_recently_used_goes_first():
    kept = _Kept(budget=100)
    kept.put("a", 40, pa.py_buffer(b"a" * 40))
    kept.put("b", 40, pa.py_buffer(b"b" * 40))
    assert kept.get("a") is not None  # a is now the most recently used
    kept.put("c", 40, pa.py_buffer(b"c" * 40))
    assert kept.get("b") is None and kept.get("a") is not None and kept.get("c") is not None
    assert kept.used == 80
    kept.put("huge", 200, pa.py_buffer(b"h" * 200))  # larger than the budget: not kept
    assert kept.get("huge") is None and kept.used == 80
    kept.forget("a")
    assert kept.get("a") is None and kept.used == 40
