"""MXNet RecordIO without MXNet: framing, image records, .idx and .lst files, and channel statistics.

Standard library only (plus boto3 clients passed in by `icflow.recordio.s3`), so it runs in the Lambda layer.
"""

from icflow.recordio.errors import RecordIOError
from icflow.recordio.framing import (
    MAGIC,
    RecordHead,
    RecordWriter,
    read_record_at,
    read_records,
    read_records_with_offsets,
    scan_records,
)
from icflow.recordio.image_record import ImageRecord, pack_image_record, unpack_image_record, unpack_labels
from icflow.recordio.index import IndexedRecordReader, IndexedRecordWriter, read_idx
from icflow.recordio.lst import LstEntry, read_lst, write_lst
from icflow.recordio.stats import ChannelStats, LabelTally

__all__ = [
    "MAGIC",
    "ChannelStats",
    "ImageRecord",
    "IndexedRecordReader",
    "IndexedRecordWriter",
    "LabelTally",
    "LstEntry",
    "RecordHead",
    "RecordIOError",
    "RecordWriter",
    "pack_image_record",
    "read_idx",
    "read_lst",
    "read_record_at",
    "read_records",
    "read_records_with_offsets",
    "scan_records",
    "unpack_image_record",
    "unpack_labels",
    "write_lst",
]
