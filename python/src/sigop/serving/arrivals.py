"""A stream's messages with a time limit on each: a client that sends nothing does not keep its slot.

gRPC's request iterator blocks until the client's next message, with no
timeout of its own. ``within`` reads it on a thread of its own and hands
messages over one at a time (so gRPC's flow control still holds the client
back), raising ``StreamIdle`` when the first message takes longer than
``first`` seconds or a later one longer than ``idle`` seconds from when the
handler asked for it: time the server spends classifying never counts
against the client. The reader ends with the call, however it ends.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator

from ..limits import StreamIdle

__all__ = ["within"]

_END = object()


def within(messages: Iterable, first: float, idle: float) -> Iterator:
    handed: queue.Queue = queue.Queue(maxsize=1)
    done = threading.Event()

    def hand(item) -> bool:
        while not done.is_set():
            try:
                handed.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for message in messages:
                if not hand((message, None)):
                    return
            hand((_END, None))
        except BaseException as e:  # the call was cancelled, or ended: the handler re-raises it
            hand((_END, e))

    threading.Thread(target=read, name="stream-reader", daemon=True).start()
    try:
        wait, which = first, "its config"
        while True:
            try:
                message, error = handed.get(timeout=wait)
            except queue.Empty:
                raise StreamIdle(f"the stream sent no message ({which}) for {wait:g} s; this server waits at most "
                                 f"--stream-first-message-seconds for a stream's config and "
                                 f"--stream-idle-seconds between later messages") from None
            if error is not None:
                raise error
            if message is _END:
                return
            yield message
            wait, which = idle, "samples"
    finally:
        done.set()
