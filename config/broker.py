"""The embedded default's Celery broker: kombu's filesystem transport, with atomic writes.

kombu creates a message file and then writes into it; a worker polling in between reads an
empty file and dies on the JSON error (seen at a 50 ms poll). Here a message is written under
a name the reader ignores and renamed into place, so a reader sees all of it or nothing.
"""

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class AtomicChannel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.partial"  # "<ms>_<uuid>.<queue>.msg.partial": not a message name
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class AtomicFilesystemTransport(filesystem.Transport):
    Channel = AtomicChannel
