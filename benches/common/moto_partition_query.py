"""moto's server for the scale bench: scripts/moto_server_serial.py (same arguments), with a
table Query that reads its own partition only.

moto answers a Query by sorting every item of the table, then keeping the partition's: a pass
over N customers cost time in N squared to record (0.4 s per customer at 400 customers of 20
devices, where the pass itself spends a few milliseconds on each). The items, their order and
the pages are the same; only the time differs.
"""

import os
import runpy
import sys

from moto.dynamodb.models.table import Table

_query = Table.query


def _partition_query(self, hash_key, *args, **kwargs):
    # `index_name` is the seventh argument after `hash_key` (moto's own call passes it so).
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    if index_name or hash_key is None:
        return _query(self, hash_key, *args, **kwargs)

    def partition():
        items = self.items.get(hash_key)
        if items is None:
            return []
        if self.range_key_attr:
            return sorted(items.values(), key=lambda item: item.range_key)
        return [items]

    self.all_items = partition
    try:
        return _query(self, hash_key, *args, **kwargs)
    finally:
        del self.all_items


Table.query = _partition_query

if __name__ == "__main__":
    serial = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "moto_server_serial.py")
    sys.argv[0] = serial
    runpy.run_path(serial, run_name="__main__")
