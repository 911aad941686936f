"""A ``.json`` file holding one JSON array of objects (what many APIs and tools export).

The whole array is read at once (such files are small; large exports come as JSON Lines or CSV).
Each element is a record numbered by its position in the array (1 = first); an element that is not
an object is a ``malformed_row`` reject. Numbers keep their literal digits, as in JSON Lines.
"""

from __future__ import annotations

import json

from ecommerce_pipeline.ingest.encoding import decode_text
from ecommerce_pipeline.ingest.json_lines import loads, objects_to_records, read_json_lines
from ecommerce_pipeline.ingest.records import ParsedFile


def starts_with_array(data: bytes) -> bool:
    try:
        return decode_text(data[:64]).lstrip().startswith("[")
    except UnicodeDecodeError:
        return data.lstrip()[:1] == b"["


def read_json(name: str, data: bytes) -> ParsedFile:
    """A JSON array file, or JSON Lines when the file does not start with ``[``."""
    if not starts_with_array(data):
        return read_json_lines(name, data)
    # An invalid array cannot be split into rows: the whole file is unreadable (raises).
    elements = loads(decode_text(data))
    if not isinstance(elements, list):
        raise ValueError("the file is not a JSON array of objects")
    objects, rejects = [], []
    for position, element in enumerate(elements, start=1):
        if isinstance(element, dict):
            objects.append((position, element))
        else:
            raw = json.dumps({"_raw_element": element}, ensure_ascii=False)
            rejects.append((position, "malformed_row", "the array element is not a JSON object", raw))
    return objects_to_records(name, objects, rejects)
