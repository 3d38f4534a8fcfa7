"""kombu's Redis transport, made to survive a Redis restart while a task runs.

Selected by ``CELERY_BROKER_TRANSPORT`` in the settings for ``redis://`` and
``rediss://`` brokers. Without it (kombu 5.7.0, celery 5.7.0), a worker whose
broker restarts during an acks-late task dies with ``Unrecoverable error:
AttributeError("'NoneType' object has no attribute 'hostname'")``:

1. Redis goes away. The event loop first notices it on another socket than
   the task consumer's (the pub/sub socket of remote control or gossip), so
   the consumer channel still waits for a ``BRPOP`` reply (``_in_poll``).
2. celery's consumer calls ``connection.collect()``
   (celery/worker/consumer/consumer.py:476). The first thing
   ``kombu.transport.redis.Channel.close`` does (kombu/transport/redis.py:1892)
   is read that reply; the socket is dead, ``_brpop_read`` raises
   ``ConnectionError``, ``Connection.maybe_close_channel`` swallows it and the
   channel stays open with its unacknowledged message.
   ``collect()`` then detaches the transport from its connection
   (``Connection._do_close_transport``, kombu/connection.py:429:
   ``transport.client = None``).
3. celery then calls ``connection.close()`` (consumer.py:487), which closes the
   channel again. This time it gets as far as giving back the unacknowledged
   message ("Restoring 1 unacknowledged message(s)",
   kombu/transport/virtual/base.py:806), which needs a new Redis pool, whose
   parameters come from ``transport.client`` (kombu/transport/redis.py:1959):
   ``None.hostname``. ``ignore_errors`` only ignores connection errors, celery's
   ``Consumer.start`` only retries those too, so the ``AttributeError`` ends
   the worker.

The same detached transport also made the late acknowledgement of a task that
outlived the connection fail (``QoS.ack`` needs a pool as well).

Both links are cut here: a dead socket no longer stops ``close()`` half-way,
and a transport keeps the parameters of the connection it was made for, so
the old channel can still give back or acknowledge its messages. Same family
as kombu issues #582 and #970.
"""

from __future__ import annotations

from queue import Empty

from kombu.transport import redis


class Channel(redis.Channel):
    def close(self) -> None:
        if self._in_poll and not self.closed:
            try:
                self._brpop_read()
            except Empty:
                pass
            except self.connection_errors:
                # The pending reply died with the socket: there is nothing to
                # drain, and the channel must still be closed (and its
                # unacknowledged messages given back) now, while the
                # transport still knows where Redis is.
                pass
        super().close()


class Transport(redis.Transport):
    Channel = Channel
    _client = None

    @property
    def client(self):
        return self._client

    @client.setter
    def client(self, value) -> None:
        # kombu sets None to detach a closed connection; its channels may
        # still have messages to give back or acknowledge, through a new
        # pool built from these parameters. The closed connection no longer
        # points back at this transport, so keeping it makes no cycle.
        if value is not None:
            self._client = value
