"""The asyncio client: ``AsyncSwitchyard(config=...)``, shaped like ``openai.AsyncOpenAI``.

Every call is a real awaitable: the engine runs it on its own threads and resolves an
asyncio future through ``loop.call_soon_threadsafe``. Cancelling the awaiting task cancels
the call in the engine (the upstream request is dropped).
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import (
    Any,
    AsyncIterator,
    Callable,
    Dict,
    Iterable,
    List,
    Literal,
    Mapping,
    Optional,
    Type,
    Union,
    overload,
)

from . import _native
from ._client import CacheOption
from ._common import ClientBase, body, options
from ._types import (
    CallInfo,
    ChatCompletion,
    ChatCompletionChunk,
    CreateEmbeddingResponse,
    ModelList,
)

__all__ = ["AsyncSwitchyard", "AsyncStream"]

Callback = Callable[[bool, Any], None]


def _settle(future: "asyncio.Future[Any]", ok: bool, value: Any) -> None:
    if future.done():
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


async def _run(start: Callable[[Callback], _native.NativeTask]) -> Any:
    loop = asyncio.get_running_loop()
    future: "asyncio.Future[Any]" = loop.create_future()

    def deliver(ok: bool, value: Any) -> None:  # runs on an engine thread
        try:
            loop.call_soon_threadsafe(_settle, future, ok, value)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass

    task = start(deliver)
    try:
        return await future
    except asyncio.CancelledError:
        task.cancel()
        raise


class AsyncStream:
    """The chunks of a streamed completion: ``async for chunk in stream``. ``aclose()``
    (or leaving an ``async with`` block, or dropping it) closes the upstream connection."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeStream) -> None:
        self._native = native

    def __aiter__(self) -> AsyncIterator[ChatCompletionChunk]:
        return self

    async def __anext__(self) -> ChatCompletionChunk:
        data = await _run(self._native.next_async)
        if data is None:
            raise StopAsyncIteration
        return ChatCompletionChunk(data)

    @property
    def switchyard(self) -> CallInfo:
        return CallInfo(self._native.meta())

    @property
    def closed(self) -> bool:
        return self._native.closed

    async def aclose(self) -> None:
        self._native.close()

    async def close(self) -> None:
        self._native.close()

    async def __aenter__(self) -> "AsyncStream":
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self._native.close()


class AsyncCompletions:
    __slots__ = ("_native", "_defaults")

    def __init__(self, native: _native.NativeClient, defaults: Dict[str, Any]) -> None:
        self._native = native
        self._defaults = defaults

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Iterable[Mapping[str, Any]],
        stream: Literal[False] = False,
        timeout: Optional[float] = None,
        end_user: Optional[str] = None,
        tags: Optional[List[str]] = None,
        metadata: Optional[Dict[str, str]] = None,
        tenant: Optional[str] = None,
        app: Optional[str] = None,
        session: Optional[str] = None,
        cache: CacheOption = None,
        deployment: Optional[str] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        **params: Any,
    ) -> ChatCompletion: ...

    @overload
    async def create(
        self,
        *,
        model: str,
        messages: Iterable[Mapping[str, Any]],
        stream: Literal[True],
        timeout: Optional[float] = None,
        end_user: Optional[str] = None,
        tags: Optional[List[str]] = None,
        metadata: Optional[Dict[str, str]] = None,
        tenant: Optional[str] = None,
        app: Optional[str] = None,
        session: Optional[str] = None,
        cache: CacheOption = None,
        deployment: Optional[str] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        **params: Any,
    ) -> AsyncStream: ...

    async def create(
        self,
        *,
        model: str,
        messages: Iterable[Mapping[str, Any]],
        stream: bool = False,
        timeout: Optional[float] = None,
        end_user: Optional[str] = None,
        tags: Optional[List[str]] = None,
        metadata: Optional[Dict[str, str]] = None,
        tenant: Optional[str] = None,
        app: Optional[str] = None,
        session: Optional[str] = None,
        cache: CacheOption = None,
        deployment: Optional[str] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        **params: Any,
    ) -> Union[ChatCompletion, AsyncStream]:
        request = body({"model": model, "messages": messages}, extra_body, params)
        opts = options(
            self._defaults, timeout, end_user, tags, metadata, tenant, app, session, cache, deployment
        )
        native = self._native
        if stream:
            started = await _run(lambda cb: native.chat_stream_async(request, opts, cb))
            return AsyncStream(started)
        return ChatCompletion(await _run(lambda cb: native.chat_async(request, opts, cb)))


class AsyncChat:
    __slots__ = ("completions",)

    def __init__(self, native: _native.NativeClient, defaults: Dict[str, Any]) -> None:
        self.completions = AsyncCompletions(native, defaults)


class AsyncEmbeddings:
    __slots__ = ("_native", "_defaults")

    def __init__(self, native: _native.NativeClient, defaults: Dict[str, Any]) -> None:
        self._native = native
        self._defaults = defaults

    async def create(
        self,
        *,
        model: str,
        input: Union[str, List[str], List[int], List[List[int]]],
        timeout: Optional[float] = None,
        end_user: Optional[str] = None,
        tags: Optional[List[str]] = None,
        metadata: Optional[Dict[str, str]] = None,
        tenant: Optional[str] = None,
        app: Optional[str] = None,
        session: Optional[str] = None,
        cache: CacheOption = None,
        deployment: Optional[str] = None,
        extra_body: Optional[Mapping[str, Any]] = None,
        **params: Any,
    ) -> CreateEmbeddingResponse:
        request = body({"model": model, "input": input}, extra_body, params)
        opts = options(
            self._defaults, timeout, end_user, tags, metadata, tenant, app, session, cache, deployment
        )
        native = self._native
        return CreateEmbeddingResponse(
            await _run(lambda cb: native.embed_async(request, opts, cb))
        )


class AsyncModels:
    __slots__ = ("_native", "_defaults")

    def __init__(self, native: _native.NativeClient, defaults: Dict[str, Any]) -> None:
        self._native = native
        self._defaults = defaults

    async def list(self) -> ModelList:
        return ModelList(self._native.models())


class AsyncSwitchyard(ClientBase):
    """The asyncio twin of :class:`switchyard.Switchyard` (same constructor, ``await``ed calls)."""

    chat: AsyncChat
    embeddings: AsyncEmbeddings
    models: AsyncModels
    _resources = {"chat": AsyncChat, "embeddings": AsyncEmbeddings, "models": AsyncModels}

    async def flush(self) -> None:
        """Ship the usage recorded so far; return once the server acknowledged it (or, with
        the server away, it is in the spool on disk), without blocking the event loop."""
        await _run(self._native.flush_async)

    async def close(self) -> None:
        """Let the calls in flight finish (canceled after a grace period), stop the config
        watcher and flush usage, without blocking the event loop."""
        await _run(self._native.close_async)

    async def __aenter__(self) -> "AsyncSwitchyard":
        return self

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        await self.close()
