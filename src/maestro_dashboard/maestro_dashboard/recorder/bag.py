"""A rosbag2-compatible MCAP writer for serialized (CDR) ROS 2 messages, and recovery of a truncated file.

The writer stores what rosbag2's MCAP plugin stores: profile ``ros2``, schemas in ``ros2msg`` encoding, messages in
``cdr``, one channel per topic with its offered QoS as metadata. Chunks are small and the file is flushed after each
one, so a process killed mid-trial leaves every completed chunk on disk; :func:`recover_mcap` turns such a file back
into a complete, indexed MCAP.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from mcap.writer import CompressionType, Writer

from maestro_dashboard.recorder.msgdefs import full_definition

LIBRARY = "maestro_dashboard bag_recorder"


def _compression() -> CompressionType:
    try:
        import zstandard  # noqa: F401

        return CompressionType.ZSTD
    except ImportError:
        try:
            import lz4  # noqa: F401

            return CompressionType.LZ4
        except ImportError:
            return CompressionType.NONE


class _FlushingFile:
    """A binary file that flushes to the OS after each write of a whole chunk (large writes)."""

    def __init__(self, f: IO[bytes], flush_bytes: int) -> None:
        self._f = f
        self._flush_bytes = flush_bytes
        self._pending = 0

    def write(self, data: bytes) -> int:
        n = self._f.write(data)
        self._pending += len(data)
        if self._pending >= self._flush_bytes:
            self._f.flush()
            self._pending = 0
        return n

    def tell(self) -> int:
        return self._f.tell()

    def flush(self) -> None:
        self._f.flush()

    def close(self) -> None:
        self._f.close()


class McapBagWriter:
    """Write serialized ROS 2 messages to one MCAP file (thread-safe; meant to be used from one writer thread)."""

    def __init__(self, path: str | Path, chunk_size: int = 1 << 20) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = _FlushingFile(open(self.path, "wb"), max(64 * 1024, chunk_size // 2))
        self._writer = Writer(self._file, chunk_size=chunk_size, compression=_compression())  # type: ignore[arg-type]
        self._writer.start(profile="ros2", library=LIBRARY)
        self._schemas: dict[str, int] = {}
        self._channels: dict[str, int] = {}
        self._seq: dict[str, int] = {}
        self._lock = threading.Lock()
        self.messages = 0
        self.bytes = 0
        self.closed = False

    def add_topic(self, topic: str, type_name: str, qos_yaml: str = "") -> None:
        """Register ``topic`` with ROS type ``type_name`` (e.g. 'sensor_msgs/msg/Image'); idempotent."""
        with self._lock:
            if topic in self._channels:
                return
            if type_name not in self._schemas:
                self._schemas[type_name] = self._writer.register_schema(
                    name=type_name, encoding="ros2msg", data=full_definition(type_name).encode())
            meta = {"offered_qos_profiles": qos_yaml} if qos_yaml else {}
            self._channels[topic] = self._writer.register_channel(
                topic=topic, message_encoding="cdr", schema_id=self._schemas[type_name], metadata=meta)
            self._seq[topic] = 0

    def has_topic(self, topic: str) -> bool:
        """True once ``topic`` is registered."""
        return topic in self._channels

    def write(self, topic: str, data: bytes, log_time_ns: int, publish_time_ns: int | None = None) -> None:
        """Append one serialized message of a registered topic."""
        with self._lock:
            if self.closed:
                return
            self._seq[topic] += 1
            self._writer.add_message(channel_id=self._channels[topic], log_time=int(log_time_ns), data=bytes(data),
                                     publish_time=int(publish_time_ns if publish_time_ns is not None else log_time_ns),
                                     sequence=self._seq[topic])
            self.messages += 1
            self.bytes += len(data)

    def topics(self) -> dict[str, int]:
        """Messages written per topic."""
        return dict(self._seq)

    def close(self) -> None:
        """Write the summary and footer (the file is complete and indexed afterwards); idempotent."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            try:
                self._writer.finish()
            finally:
                self._file.flush()
                self._file.close()


def iter_bag(path: str | Path, topics: list[str] | None = None) -> Iterator[tuple[str, int, Any]]:
    """Decoded messages of an MCAP bag: (topic, log time ns, message object), in log-time order."""
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    with open(path, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        for _schema, channel, message, decoded in reader.iter_decoded_messages(topics=topics, log_time_order=True):
            yield channel.topic, message.log_time, decoded


def recover_mcap(src: str | Path, dst: str | Path) -> dict[str, Any]:
    """Copy every complete record of a (possibly truncated) MCAP into a new, finished MCAP.

    Returns {"messages": n, "truncated": bool, "error": str}. Use it on a bag whose recorder was killed (SIGKILL, power
    loss) before it could write the summary.
    """
    from mcap.records import Channel, Message, Schema
    from mcap.stream_reader import StreamReader

    stats: dict[str, Any] = {"messages": 0, "truncated": False, "error": ""}
    with open(src, "rb") as f_in, open(dst, "wb") as f_out:
        w = Writer(f_out, compression=_compression())
        w.start(profile="ros2", library=LIBRARY + " (recovered)")
        schema_ids: dict[int, int] = {}
        channel_ids: dict[int, int] = {}
        try:
            for rec in StreamReader(f_in, emit_chunks=False).records:
                if isinstance(rec, Schema) and rec.id not in schema_ids:
                    schema_ids[rec.id] = w.register_schema(rec.name, rec.encoding, rec.data)
                elif isinstance(rec, Channel) and rec.id not in channel_ids:
                    channel_ids[rec.id] = w.register_channel(rec.topic, rec.message_encoding,
                                                             schema_ids.get(rec.schema_id, 0), dict(rec.metadata))
                elif isinstance(rec, Message) and rec.channel_id in channel_ids:
                    w.add_message(channel_ids[rec.channel_id], rec.log_time, rec.data, rec.publish_time, rec.sequence)
                    stats["messages"] += 1
        except Exception as exc:
            stats["truncated"] = True
            stats["error"] = f"{type(exc).__name__}: {exc}"
        w.finish()
    return stats
