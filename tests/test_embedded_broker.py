"""The embedded broker (a folder of message files) never hands a worker a
message that is still being written (openllm_site/filesystem_transport.py)."""

from __future__ import annotations

import os

from kombu import Connection
from kombu.transport import filesystem as kombu_filesystem

from openllm_site import filesystem_transport


def test_a_message_file_is_whole_as_soon_as_a_worker_can_see_it(tmp_path, monkeypatch):
    folder = tmp_path / "queue"
    folder.mkdir()
    seen: list[str] = []

    def dumps_and_look(payload, _dumps=filesystem_transport.dumps):
        # While the message is being written: what a polling worker would take.
        seen.extend(name for name in os.listdir(folder) if name.partition(".")[2] == "jobs.msg")
        return _dumps(payload)

    monkeypatch.setattr(filesystem_transport, "dumps", dumps_and_look)
    monkeypatch.setattr(kombu_filesystem, "dumps", dumps_and_look)
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder), "control_folder": str(tmp_path)}
    with Connection(transport=filesystem_transport.Transport, transport_options=options) as connection:
        channel = connection.default_channel
        channel._put("jobs", {"body": "Un message en français. " * 50})
        assert seen == []
        assert channel._get("jobs") == {"body": "Un message en français. " * 50}
        assert os.listdir(folder) == []
