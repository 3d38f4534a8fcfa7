"""kombu's file-system transport (the embedded broker), made to never hand a
worker a message that is still being written.

kombu 5.7.0's ``Channel._put`` (kombu/transport/filesystem.py) opens the
message file under its final name, then locks it and writes it; ``_get``
moves any file with that name out of the folder and reads it without taking
the lock. A worker that polls in between reads an empty or partial file:
``JSONDecodeError`` in the consumer, the worker's consumer restarts, and the
message is gone. The more often the folder is polled, the likelier it is.

Here a message is written under a name ``_get`` skips, then renamed into
place: a rename within a folder is atomic, so a message file is whole as
soon as it can be seen.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]  # kombu's own signature
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # Starts with a dot: _get only takes names whose part after the first
        # dot is "<queue>.msg".
        partial = os.path.join(self.data_folder_out, f".{name}.partial")
        try:
            with open(partial, "wb", buffering=0) as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            try:
                os.remove(partial)
            except OSError:
                pass
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
