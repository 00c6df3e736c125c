"""Start-up and shutdown: providers built off the loop, pending events flushed at the end.

uvicorn re-raises SIGTERM after its graceful shutdown, so ``atexit`` handlers
(the OpenTelemetry SDK's own flush among them) never run and queued events
would be lost. The lifespan protocol is the last word the app hears: seclog
flushes, bounded, in a thread, just before the app's ``lifespan.shutdown.complete``
reaches the server. An app without lifespan (Django's ASGI handler raises on the
scope before reading a message) gets seclog's own: start-up answered, shutdown
flushed. A server without lifespan flushes at interpreter exit.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from collections.abc import Callable

from seclog_core import adapters
from seclog_core.adapters import Pipeline, guarded

from ._types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["FLUSH_TIMEOUT", "flush_at_exit", "flush_pending", "run_lifespan", "warm_up"]

FLUSH_TIMEOUT = 2.0
_SHUTDOWN_DONE = frozenset(("lifespan.shutdown.complete", "lifespan.shutdown.failed"))
_exit_lock = threading.Lock()
_exit_registered = False


def _flush(timeout: float) -> None:
    with contextlib.suppress(Exception):  # shutting down must not raise into the server
        adapters.flush(int(timeout * 1000))


def flush_at_exit() -> None:
    """Flush held-back events at interpreter exit (servers without lifespan); once per process."""
    global _exit_registered
    with _exit_lock:
        if _exit_registered:
            return
        _exit_registered = True
    atexit.register(_flush, FLUSH_TIMEOUT)


def warm_up(pipeline: Pipeline) -> None:
    """Build the pipeline's providers now, so the first event does not build them on the loop."""
    with guarded("asgi.warm_up"):
        pipeline.emitter  # noqa: B018 - built on first access


async def _in_thread(work: Callable[[], object], timeout: float) -> None:
    """Run ``work()`` in a daemon thread; wait at most ``timeout`` seconds, never raise."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # another event loop (trio): a short blocking call at start/stop
        with contextlib.suppress(Exception):
            work()
        return
    done = loop.create_future()

    def finished() -> None:
        if not done.done():
            done.set_result(None)

    def run() -> None:
        try:
            with contextlib.suppress(Exception):
                work()
        finally:
            with contextlib.suppress(RuntimeError):  # the loop may already be closed
                loop.call_soon_threadsafe(finished)

    threading.Thread(target=run, name="seclog-lifespan", daemon=True).start()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(done, timeout + 0.1)


async def flush_pending(timeout: float = FLUSH_TIMEOUT) -> None:
    """Flush seclog's providers in a daemon thread; wait at most ``timeout`` seconds."""
    await _in_thread(lambda: _flush(timeout), timeout)


async def _own_lifespan(receive: Receive, send: Send) -> None:
    """Answer the lifespan for an app that has none: start-up complete, flush at shutdown."""
    while True:
        message = await receive()
        kind = message.get("type")
        if kind == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif kind == "lifespan.shutdown":
            await flush_pending()
            await send({"type": "lifespan.shutdown.complete"})
            return
        else:
            return


async def run_lifespan(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, pipeline: Pipeline
) -> None:
    """Run the app's lifespan; build providers at start-up, flush before shutdown completes."""
    received: list[str] = []
    answered = False

    async def receive_and_warm() -> Message:
        message = await receive()
        kind = message.get("type")
        received.append(str(kind))
        if kind == "lifespan.startup":
            await _in_thread(lambda: warm_up(pipeline), FLUSH_TIMEOUT)
        return message

    async def send_after_flush(message: Message) -> None:
        nonlocal answered
        answered = True
        if message.get("type") in _SHUTDOWN_DONE:
            await flush_pending()
        await send(message)

    try:
        await app(scope, receive_and_warm, send_after_flush)
    except Exception:
        if received or answered:
            raise  # the app speaks lifespan and failed in it: the server decides
        # The app refused the scope before reading a message: it has no lifespan; seclog does.
        await _own_lifespan(receive_and_warm, send)
