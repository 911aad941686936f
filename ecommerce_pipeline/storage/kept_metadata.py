"""Iceberg metadata read once by the process: table metadata JSON, manifest lists and manifests.

Every file an Iceberg table's metadata consists of is immutable: a commit writes new files under new names and
never rewrites one. pyiceberg reads and decodes them again at every use all the same: the metadata JSON at every
``load_table``, and the manifest list and every manifest at every scan plan (a read of some dates, the list of a
table's files, each commit's look at what it replaces). A step plans its tables' scans 5 to 40 times, and a
plan of a small table cost 10-20 ms, most of it decoding Avro files it had decoded before.

Here what a location decodes to is kept for the process and given again, least recently used out first. Which
metadata file is current is still asked of the catalog at every load, so another writer's commit is always seen;
a new commit's manifest list and manifests are new files, read the first time they are used.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

# Parsed table metadata files kept, by location.
KEPT_METADATA = 64
# Manifest lists kept (each a handful of ``ManifestFile`` records, which pyiceberg itself keeps by path).
KEPT_MANIFEST_LISTS = 256
# Manifest entries kept, counted over all manifests: one per data file, its partition and column statistics, a
# few kilobytes each. A table keeps at most a few manifests (``tables.TABLE_PROPERTIES`` merges them), so this
# holds the current files of every table of a store kept for years.
KEPT_MANIFEST_ENTRIES = 20_000


class _Kept:
    """A thread-safe map from a location to what it decodes to, bounded by ``limit`` in ``weight`` units."""

    def __init__(self, limit: int, weight=lambda value: 1):
        self.limit, self.weight = limit, weight
        self.values: OrderedDict = OrderedDict()
        self.held = 0
        self.lock = threading.Lock()

    def get(self, key):
        with self.lock:
            if key in self.values:
                self.values.move_to_end(key)
                return self.values[key]
        return None

    def put(self, key, value) -> None:
        with self.lock:
            if key in self.values:
                return
            self.values[key] = value
            self.held += self.weight(value)
            while self.held > self.limit and len(self.values) > 1:
                self.held -= self.weight(self.values.popitem(last=False)[1])

    def clear(self) -> None:
        with self.lock:
            self.values.clear()
            self.held = 0


_metadata = _Kept(KEPT_METADATA)
_manifest_lists = _Kept(KEPT_MANIFEST_LISTS)
_manifest_entries = _Kept(KEPT_MANIFEST_ENTRIES, weight=len)


def forget_kept_metadata() -> None:
    """Drop everything kept, as a new process starts (for a test that counts the files a process fetches)."""
    for kept in (_metadata, _manifest_lists, _manifest_entries):
        kept.clear()


def _keep_parsed_metadata() -> None:
    """The parsed ``TableMetadata`` of a location (a frozen model: pyiceberg's updates make new ones)."""
    from pyiceberg.serializers import FromInputFile

    parse = FromInputFile.table_metadata
    if getattr(parse, "kept", False):
        return

    def table_metadata(input_file, encoding: str = "utf-8"):
        key = (input_file.location, encoding)
        metadata = _metadata.get(key)
        if metadata is None:
            metadata = parse(input_file, encoding)
            _metadata.put(key, metadata)
        return metadata

    table_metadata.kept = True
    table_metadata.parse = parse  # kept for the test that compares the two
    FromInputFile.table_metadata = staticmethod(table_metadata)


def _keep_read_manifests() -> None:
    """A snapshot's manifest list and a manifest's entries, by location.

    A manifest's entries are decoded with what they inherit from the manifest list's record of the manifest
    (sequence numbers, the snapshot that added it, the partition spec): that record is part of the key, so an
    entry is only ever given with the values pyiceberg would give it. pyiceberg never changes an entry once it
    is read (its commits write new entries that point at the same data file), and every call gets a list of
    its own."""
    from pyiceberg import manifest
    from pyiceberg.table import snapshots

    read_list, fetch = snapshots._manifests, manifest.ManifestFile.fetch_manifest_entry
    if getattr(fetch, "kept", False):
        return

    def manifests(io, manifest_list: str):
        found = _manifest_lists.get(manifest_list)
        if found is None:
            found = tuple(read_list(io, manifest_list))
            _manifest_lists.put(manifest_list, found)
        return found

    def fetch_manifest_entry(self, io, discard_deleted: bool = True):
        key = (self.manifest_path, self.sequence_number, self.added_snapshot_id, self.partition_spec_id)
        entries = _manifest_entries.get(key)
        if entries is None:
            entries = tuple(fetch(self, io, discard_deleted=False))
            _manifest_entries.put(key, entries)
        if discard_deleted:
            return [e for e in entries if e.status != manifest.ManifestEntryStatus.DELETED]
        return list(entries)

    fetch_manifest_entry.kept = True
    fetch_manifest_entry.fetch = fetch  # kept for the test that compares the two
    snapshots._manifests = manifests
    manifest.ManifestFile.fetch_manifest_entry = fetch_manifest_entry


_keep_parsed_metadata()
_keep_read_manifests()
