"""Flush pending telemetry when the server shuts the app down.

uvicorn re-raises SIGTERM after its graceful shutdown, so ``atexit`` handlers
(the OpenTelemetry SDK's own flush among them) never run and queued events
would be lost. The lifespan protocol is the last word the app hears: seclog
flushes, bounded, in a thread, just before the app's ``lifespan.shutdown.complete``
reaches the server. Everything else in the lifespan passes through untouched.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from seclog_core import adapters

from ._types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["FLUSH_TIMEOUT", "flush_pending", "run_lifespan"]

FLUSH_TIMEOUT = 2.0
_SHUTDOWN_DONE = frozenset(("lifespan.shutdown.complete", "lifespan.shutdown.failed"))


def _flush(timeout: float) -> None:
    with contextlib.suppress(Exception):  # shutting down must not raise into the server
        adapters.flush(int(timeout * 1000))


async def flush_pending(timeout: float = FLUSH_TIMEOUT) -> None:
    """Flush seclog's providers in a daemon thread; wait at most ``timeout`` seconds."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # another event loop (trio): a short blocking flush at shutdown
        _flush(timeout)
        return
    done = loop.create_future()

    def finished() -> None:
        if not done.done():
            done.set_result(None)

    def work() -> None:
        try:
            _flush(timeout)
        finally:
            with contextlib.suppress(RuntimeError):  # the loop may already be closed
                loop.call_soon_threadsafe(finished)

    threading.Thread(target=work, name="seclog-flush", daemon=True).start()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(done, timeout + 0.1)


async def run_lifespan(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run the app's lifespan; flush before its shutdown answer is forwarded."""

    async def send_after_flush(message: Message) -> None:
        if message.get("type") in _SHUTDOWN_DONE:
            await flush_pending()
        await send(message)

    await app(scope, receive, send_after_flush)
