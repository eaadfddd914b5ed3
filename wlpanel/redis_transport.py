"""The Redis broker transport, with one fix: closing a channel whose broker just went away.

kombu's redis `Channel.close()` first reads the reply of a pending BRPOP (kombu#1733). When
Redis has gone away that read raises a connection error, so the first close stops half way: the
channel is neither closed nor are its unacknowledged messages restored. Celery 5.7 then closes
the connection a second time after detaching its transport (`on_connection_error_after_connected`:
`collect()` then `close()`); the second close tries to restore those messages, builds a Redis
pool from a transport whose client is None and raises AttributeError ("'NoneType' object has no
attribute 'hostname'"). That is not a connection error, so the consumer does not reconnect: the
worker logs "Unrecoverable error", stops consuming, finishes its running tasks and exits
(reproduced: a worker idle in BRPOP with a task running when Redis is killed, every time).

Reading nothing from a dead connection is the only possible outcome of that drain, so a
connection error there is treated like an empty reply and the close goes on: the restore then
fails as a connection error (Redis is down; the reconciler re-sends what was lost) and the
consumer reconnects as it does for any other broker loss. Selected by `CELERY_BROKER_TRANSPORT`
for `redis://` brokers (settings.py).
"""

from queue import Empty

from kombu.transport import redis


class Channel(redis.Channel):
    def close(self):
        if self._in_poll:
            try:
                self._brpop_read()
            except (Empty, *self.connection_errors):
                pass  # _brpop_read has cleared _in_poll, so the parent's close skips the drain
        super().close()


class Transport(redis.Transport):
    Channel = Channel
