"""The embedded stand-in broker: kombu's filesystem transport, made safe for several processes.

kombu's `_put` creates a message file under its final name and only then writes it, so a worker
polling at that instant can take an empty file; one undecodable message stops the worker
("Unrecoverable error: JSONDecodeError") and with it `make run`. Here a message is written under
a hidden name and renamed into place, which is atomic on one filesystem. A consumer claims a
message by renaming it into the processed folder beside the queue rather than into /tmp, which
may be another filesystem where `shutil.move` copies and two consumers could both take it.

Selected by settings (`CELERY_BROKER_TRANSPORT`) when Redis is neither configured nor answering.
"""

import contextlib
import os
import tempfile
import uuid
from queue import Empty
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        folder = self.data_folder_out
        # Zero-padded so that the consumer's name sort stays first in, first out.
        name = f"{round(monotonic() * 1000):015d}_{uuid.uuid4()}.{queue}.msg"
        # The hidden name never matches "<anything>.<queue>.msg", so no consumer sees it half-written.
        fd, staging = tempfile.mkstemp(prefix=".", suffix=".part", dir=folder)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(staging, os.path.join(folder, name))
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(staging)
            raise ChannelError(f"Cannot add a message to {folder!r}") from exc

    def _get(self, queue):
        wanted = f"{queue}.msg"
        for filename in sorted(os.listdir(self.data_folder_in)):
            if filename.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(self.processed_folder, filename)
            try:
                os.rename(os.path.join(self.data_folder_in, filename), claimed)
            except FileNotFoundError:  # another consumer claimed it first
                continue
            try:
                with open(claimed, "rb") as file:
                    payload = file.read()
                if not self.store_processed:
                    os.remove(claimed)
            except OSError as exc:
                raise ChannelError(f"Cannot read {claimed!r} from the queue") from exc
            return loads(bytes_to_str(payload))
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel
