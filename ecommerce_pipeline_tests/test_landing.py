import io
import json

import pyarrow as pa
import pyarrow.parquet as pq

from ecommerce_pipeline.ingest import parse_landing_file


def rows(parsed):
    return parsed.records.drop(["_source_row"]).to_pylist()


def test_csv_with_bom_keeps_values_as_strings_and_numbers_rows_by_line():
    parsed = parse_landing_file("x.csv", b"\xef\xbb\xbfa,b\n1,002\n3,4\n")
    assert parsed.records.column_names == ["a", "b", "_source_row"]
    assert rows(parsed) == [{"a": "1", "b": "002"}, {"a": "3", "b": "4"}]
    assert parsed.records.column("_source_row").to_pylist() == [2, 3]
    assert parsed.landing_rows == 2


def test_semicolon_delimiter_is_detected_from_the_header():
    parsed = parse_landing_file("x.csv", b"a;b\n1;2\n")
    assert rows(parsed) == [{"a": "1", "b": "2"}]


def test_truncated_and_overlong_rows_are_rejected_with_their_line_numbers():
    parsed = parse_landing_file("x.csv", b"a,b,c\n1,2,3\n4,5\n6,7,8\n9,10,11,12\n")
    assert parsed.records.column("_source_row").to_pylist() == [2, 4]
    assert parsed.rejects.column("_source_row").to_pylist() == [3, 5]
    assert set(parsed.rejects.column("rule").to_pylist()) == {"malformed_row"}
    assert json.loads(parsed.rejects.column("raw_record")[0].as_py()) == {"_raw_line": "4,5"}
    assert parsed.landing_rows == 4


def test_blank_lines_are_not_rows_and_do_not_shift_numbering():
    parsed = parse_landing_file("x.csv", b"a,b\n1,2\n\n3,4\n")
    assert parsed.records.column("_source_row").to_pylist() == [2, 4]
    assert parsed.rejects.num_rows == 0


def test_invalid_utf8_rejects_only_that_row():
    parsed = parse_landing_file("x.csv", b"a,b\n1,ok\n2,\xff\xfe\n3,fine\n")
    assert parsed.records.column("a").to_pylist() == ["1", "3"]
    assert parsed.rejects.to_pylist()[0]["_source_row"] == 3
    assert parsed.rejects.to_pylist()[0]["rule"] == "invalid_utf8"


def test_empty_and_header_only_files_have_no_rows():
    assert parse_landing_file("x.csv", b"").landing_rows == 0
    header_only = parse_landing_file("x.csv", b"a,b\n")
    assert header_only.landing_rows == 0
    assert header_only.records.column_names == ["a", "b", "_source_row"]


def test_jsonl_keeps_raw_timestamps_and_rejects_bad_lines():
    data = b'{"a": 1, "ts": "2025-01-01T10:00:00+02:00"}\n{oops\n[1, 2]\n{"a": "x", "extra": {"n": 1}}\n'
    parsed = parse_landing_file("x.jsonl", data)
    assert rows(parsed) == [
        {"a": "1", "ts": "2025-01-01T10:00:00+02:00", "extra": None},
        {"a": "x", "ts": None, "extra": '{"n": 1}'},
    ]
    assert parsed.records.column("_source_row").to_pylist() == [1, 4]
    assert parsed.rejects.column("_source_row").to_pylist() == [2, 3]


def test_clean_jsonl_takes_the_fast_path_with_identical_results():
    data = b'{"a": 1, "ts": "2025-01-01T10:00:00Z", "p": 2.5}\n{"a": 2, "ts": "2025-01-01T11:00:00Z", "p": 3}\n'
    parsed = parse_landing_file("x.jsonl", data)
    assert sorted(rows(parsed), key=lambda r: r["a"]) == [
        {"a": "1", "ts": "2025-01-01T10:00:00Z", "p": "2.5"},
        {"a": "2", "ts": "2025-01-01T11:00:00Z", "p": "3"},
    ]


def test_parquet_values_become_strings():
    sink = io.BytesIO()
    pq.write_table(pa.table({"qty": [1, 2], "flag": [True, None]}), sink)
    parsed = parse_landing_file("x.parquet", sink.getvalue())
    assert rows(parsed) == [{"qty": "1", "flag": "true"}, {"qty": "2", "flag": None}]
    assert parsed.records.column("_source_row").to_pylist() == [1, 2]


def test_a_corrupt_file_becomes_one_reject_naming_the_parser_error():
    parsed = parse_landing_file("x.parquet", b"not parquet at all")
    assert parsed.records.num_rows == 0
    (reject,) = parsed.rejects.to_pylist()
    assert reject["_source_row"] == 0 and reject["rule"] == "unparseable_file"
    assert "Parquet" in reject["detail"]


def test_unsupported_suffix_is_quarantined_not_raised():
    parsed = parse_landing_file("x.xlsx", b"PK...")
    assert parsed.rejects.column("rule").to_pylist() == ["unparseable_file"]
    assert "unsupported file type" in parsed.rejects.column("detail")[0].as_py()


MESSY_CSV = (
    b"\xef\xbb\xbfa,b,c\n"
    + b"".join(b"%d,x,y\n" % i for i in range(1, 8))
    + b"9,10\n"  # line 9: truncated
    + b"\n"  # line 10: blank
    + b"11,\xff,z\n"  # line 11: not UTF-8
    + b"".join(b"%d,x,y\n" % i for i in range(12, 20))
    + b"20,x,y,extra\n"  # line 20: overlong
    + b"21,x,y\n"
)


def test_a_file_parsed_in_chunks_numbers_rows_exactly_as_when_parsed_whole(tmp_path):
    from ecommerce_pipeline.ingest import parse_landing_chunks

    whole = parse_landing_file("x.csv", MESSY_CSV)
    assert whole.records.column("_source_row").to_pylist() == [*range(2, 9), *range(12, 20), 21]
    assert whole.rejects.select(["_source_row", "rule"]).to_pylist() == [
        {"_source_row": 9, "rule": "malformed_row"},
        {"_source_row": 11, "rule": "invalid_utf8"},
        {"_source_row": 20, "rule": "malformed_row"},
    ]
    path = tmp_path / "x.csv"
    path.write_bytes(MESSY_CSV)
    for source in (MESSY_CSV, path):
        chunks = list(parse_landing_chunks("x.csv", source, chunk_rows=3))
        assert len(chunks) > 3
        assert pa.concat_tables([c.records for c in chunks]).equals(whole.records)
        assert pa.concat_tables([c.rejects for c in chunks]).sort_by("_source_row").equals(whole.rejects)
        assert sum(c.landing_rows for c in chunks) == whole.landing_rows == 19


def test_a_local_path_and_the_same_bytes_parse_alike_for_every_format(tmp_path):
    sink = io.BytesIO()
    pq.write_table(pa.table({"a": [1, 2]}), sink)
    for name, data in (
        ("x.csv", b"a,b\n1,2\n"),
        ("x.jsonl", b'{"a": 1}\n'),
        ("x.parquet", sink.getvalue()),
        ("empty.csv", b""),
        ("blank.csv", b"  \n\n"),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        from_path, from_bytes = parse_landing_file(name, path), parse_landing_file(name, data)
        assert from_path.records.equals(from_bytes.records) and from_path.rejects.equals(from_bytes.rejects), name


def test_a_gzip_and_a_utf16_and_a_sep_hinted_csv_stream_in_chunks_like_the_plain_file(tmp_path):
    """Compressed, transcoded and Excel-hinted CSV go through the same streaming reader: chunks of
    ``chunk_rows``, the same records, row numbers and rejects as the plain file (shifted by the hint line)."""
    import gzip

    from ecommerce_pipeline.ingest import parse_landing_chunks

    whole = parse_landing_file("x.csv", MESSY_CSV)
    variants = {
        "x.csv.gz": gzip.compress(MESSY_CSV),
        "x.txt": b"\xff\xfe" + MESSY_CSV.replace(b"\xff", b"?").decode().encode("utf-16-le"),
    }
    for name, data in variants.items():
        path = tmp_path / name
        path.write_bytes(data)
        chunks = list(parse_landing_chunks(name, path, chunk_rows=3))
        assert len(chunks) > 3, name
        rows = pa.concat_tables([c.records for c in chunks]).column("_source_row").to_pylist()
        expected = whole.records.column("_source_row").to_pylist()
        if name == "x.txt":  # line 11 is valid text in UTF-16 ('?' instead of the invalid byte)
            expected = sorted([*expected, 11])
        assert rows == expected, name
    hinted = parse_landing_file("x.csv", b"sep=;\na;b\n1;2\n3;4\n")
    assert hinted.records.select(["a", "b", "_source_row"]).to_pylist() == [
        {"a": "1", "b": "2", "_source_row": 3},
        {"a": "3", "b": "4", "_source_row": 4},
    ]


def test_a_broken_gzip_or_zip_is_one_unreadable_file():
    from ecommerce_pipeline.ingest import parse_landing

    for name in ("x.csv.gz", "x.zip"):
        (chunks,) = list(parse_landing(name, b"\x1f\x8b broken"))
        (parsed,) = list(chunks)
        assert parsed.unreadable and parsed.name == name
