"""The embedded default's broker never lets a worker read a half-written message."""

import os

from kombu import Connection

from config.broker import AtomicFilesystemTransport


def test_messages_appear_whole_or_not_at_all(tmp_path, monkeypatch):
    seen_while_writing = []
    real_replace = os.replace

    def replace(src, dst):
        # Just before the rename, a polling worker finds no message file for the queue yet.
        seen_while_writing.append(
            sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".celery.msg"))
        )
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    options = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path)}
    with Connection(
        "filesystem://", transport=AtomicFilesystemTransport, transport_options=options
    ) as conn:
        queue = conn.SimpleQueue("celery")
        queue.put({"task": "ping", "n": 1})
        message = queue.get(timeout=1)
        assert message.payload == {"task": "ping", "n": 1}
        message.ack()
        queue.close()
    assert seen_while_writing == [[]]
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".partial"]
