"""The blocking client: ``Switchyard(config=...)``, shaped like ``openai.OpenAI``."""

from __future__ import annotations

from types import TracebackType
from typing import (
    Any,
    Dict,
    Iterable,
    Iterator,
    List,
    Literal,
    Mapping,
    Optional,
    Type,
    Union,
    overload,
)

from . import _native
from ._common import ClientBase, body, options
from ._types import (
    CallInfo,
    ChatCompletion,
    ChatCompletionChunk,
    CreateEmbeddingResponse,
    ModelList,
)

__all__ = ["Switchyard", "Stream"]

CacheOption = Union[Literal["default", "bypass", "refresh", "enable"], bool, None]


class Stream:
    """The chunks of a streamed completion. Iterate it; ``close()`` (or leaving a ``with``
    block, or dropping it) closes the upstream connection."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.NativeStream) -> None:
        self._native = native

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        return self

    def __next__(self) -> ChatCompletionChunk:
        data = self._native.next()
        if data is None:
            raise StopIteration
        return ChatCompletionChunk(data)

    @property
    def switchyard(self) -> CallInfo:
        """What Switchyard did for the call; complete (cost included) once the stream ended."""
        return CallInfo(self._native.meta())

    @property
    def closed(self) -> bool:
        return self._native.closed

    def close(self) -> None:
        self._native.close()

    def __enter__(self) -> "Stream":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()


class Completions:
    __slots__ = ("_native", "_defaults")

    def __init__(self, native: _native.NativeClient, defaults: Dict[str, Any]) -> None:
        self._native = native
        self._defaults = defaults

    @overload
    def create(
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
    def create(
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
    ) -> Stream: ...

    def create(
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
    ) -> Union[ChatCompletion, Stream]:
        """A chat completion. Request fields as in OpenAI's API (``temperature``, ``tools``,
        ``user``, ...); the other keywords are Switchyard's per-call options."""
        request = body({"model": model, "messages": messages}, extra_body, params)
        opts = options(
            self._defaults, timeout, end_user, tags, metadata, tenant, app, session, cache, deployment
        )
        if stream:
            return Stream(self._native.chat_stream(request, opts))
        return ChatCompletion(self._native.chat(request, opts))


class Chat:
    __slots__ = ("completions",)

    def __init__(self, native: _native.NativeClient, defaults: Dict[str, Any]) -> None:
        self.completions = Completions(native, defaults)


class Embeddings:
    __slots__ = ("_native", "_defaults")

    def __init__(self, native: _native.NativeClient, defaults: Dict[str, Any]) -> None:
        self._native = native
        self._defaults = defaults

    def create(
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
        return CreateEmbeddingResponse(self._native.embed(request, opts))


class Models:
    __slots__ = ("_native", "_defaults")

    def __init__(self, native: _native.NativeClient, defaults: Dict[str, Any]) -> None:
        self._native = native
        self._defaults = defaults

    def list(self) -> ModelList:
        """The logical models (aliases) callers may name."""
        return ModelList(self._native.models())


class Switchyard(ClientBase):
    """An in-process Switchyard client.

    ``Switchyard(config="switchyard.yaml")`` or ``Switchyard(config={...})``. Thread-safe:
    share one client between threads. Usable after ``os.fork()`` (the child rebuilds its
    engine from the same config; cache and metrics start empty there).
    """

    chat: Chat
    embeddings: Embeddings
    models: Models
    _resources = {"chat": Chat, "embeddings": Embeddings, "models": Models}

    def flush(self) -> None:
        """Ship the usage recorded so far; return once the server acknowledged it (or, with
        the server away, it is in the spool on disk)."""
        self._native.flush()

    def close(self) -> None:
        """Stop the config watcher and flush usage. Calls after this raise."""
        self._native.close()

    def __enter__(self) -> "Switchyard":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()
