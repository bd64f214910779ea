"""Responses as objects with attribute access, named as in the official ``openai`` package.

Each wraps the plain data the engine returned (no copy, no validation): nested objects are
wrapped when read. A field the answer does not carry reads as ``None``.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Dict, Iterator, List, Optional

__all__ = [
    "BaseModel",
    "CallInfo",
    "ChatCompletion",
    "ChatCompletionChunk",
    "ChatCompletionMessage",
    "ChatCompletionMessageToolCall",
    "Choice",
    "ChoiceDelta",
    "ChoiceDeltaToolCall",
    "ChoiceDeltaToolCallFunction",
    "ChunkChoice",
    "CompletionTokensDetails",
    "CompletionUsage",
    "CreateEmbeddingResponse",
    "Embedding",
    "EmbeddingUsage",
    "Function",
    "Model",
    "ModelList",
    "PromptTokensDetails",
]


class BaseModel:
    """Attribute access over a dict. ``to_dict()`` returns a copy of the data."""

    __slots__ = ("_data",)
    # field name -> class wrapping that field's object (or each object of that list)
    _nested: ClassVar[Dict[str, type]] = {}

    def __init__(self, data: Dict[str, Any]) -> None:
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        value = self._data.get(name)
        if value.__class__ is dict:
            return self._nested.get(name, BaseModel)(value)
        if value.__class__ is list and value and value[0].__class__ is dict:
            cls = self._nested.get(name, BaseModel)
            return [cls(item) for item in value]
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        self._data[name] = value.to_dict() if isinstance(value, BaseModel) else value

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def __contains__(self, key: str) -> bool:
        return key in self._data

    def __eq__(self, other: object) -> bool:
        if isinstance(other, BaseModel):
            return bool(self._data == other._data)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self._data.items())
        return f"{type(self).__name__}({fields})"

    def to_dict(self) -> Dict[str, Any]:
        """The data as plain dicts and lists (a deep copy)."""
        return copy.deepcopy(self._data)

    def model_dump(self) -> Dict[str, Any]:
        """Alias of :meth:`to_dict` (pydantic's name, which the ``openai`` package uses)."""
        return self.to_dict()


class CallInfo(BaseModel):
    """What Switchyard did for the call (``response.switchyard``)."""

    __slots__ = ()
    model: str
    deployment: str
    provider: str
    upstream_model: str
    attempts: int
    cache_hit: bool
    fallback: Optional[str]
    cost_usd: float
    latency_ms: float
    local: bool


class PromptTokensDetails(BaseModel):
    __slots__ = ()
    cached_tokens: Optional[int]
    audio_tokens: Optional[int]


class CompletionTokensDetails(BaseModel):
    __slots__ = ()
    reasoning_tokens: Optional[int]
    audio_tokens: Optional[int]
    accepted_prediction_tokens: Optional[int]
    rejected_prediction_tokens: Optional[int]


class CompletionUsage(BaseModel):
    __slots__ = ()
    _nested = {
        "prompt_tokens_details": PromptTokensDetails,
        "completion_tokens_details": CompletionTokensDetails,
    }
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: Optional[PromptTokensDetails]
    completion_tokens_details: Optional[CompletionTokensDetails]


class Function(BaseModel):
    __slots__ = ()
    name: str
    arguments: str


class ChatCompletionMessageToolCall(BaseModel):
    __slots__ = ()
    _nested = {"function": Function}
    id: str
    type: str
    function: Function


class ChatCompletionMessage(BaseModel):
    __slots__ = ()
    _nested = {"tool_calls": ChatCompletionMessageToolCall}
    role: str
    content: Optional[str]
    refusal: Optional[str]
    tool_calls: Optional[List[ChatCompletionMessageToolCall]]


class Choice(BaseModel):
    __slots__ = ()
    _nested = {"message": ChatCompletionMessage}
    index: int
    message: ChatCompletionMessage
    finish_reason: Optional[str]
    logprobs: Optional[Any]


class ChatCompletion(BaseModel):
    __slots__ = ()
    _nested = {"choices": Choice, "usage": CompletionUsage, "switchyard": CallInfo}
    id: str
    object: str
    created: int
    model: str
    choices: List[Choice]
    usage: Optional[CompletionUsage]
    system_fingerprint: Optional[str]
    switchyard: CallInfo


class ChoiceDeltaToolCallFunction(BaseModel):
    __slots__ = ()
    name: Optional[str]
    arguments: Optional[str]


class ChoiceDeltaToolCall(BaseModel):
    __slots__ = ()
    _nested = {"function": ChoiceDeltaToolCallFunction}
    index: int
    id: Optional[str]
    type: Optional[str]
    function: Optional[ChoiceDeltaToolCallFunction]


class ChoiceDelta(BaseModel):
    __slots__ = ()
    _nested = {"tool_calls": ChoiceDeltaToolCall}
    role: Optional[str]
    content: Optional[str]
    refusal: Optional[str]
    tool_calls: Optional[List[ChoiceDeltaToolCall]]


class ChunkChoice(BaseModel):
    __slots__ = ()
    _nested = {"delta": ChoiceDelta}
    index: int
    delta: ChoiceDelta
    finish_reason: Optional[str]
    logprobs: Optional[Any]


class ChatCompletionChunk(BaseModel):
    __slots__ = ()
    _nested = {"choices": ChunkChoice, "usage": CompletionUsage}
    id: str
    object: str
    created: int
    model: str
    choices: List[ChunkChoice]
    usage: Optional[CompletionUsage]
    system_fingerprint: Optional[str]


class Embedding(BaseModel):
    __slots__ = ()
    object: str
    index: int
    embedding: List[float]


class EmbeddingUsage(BaseModel):
    __slots__ = ()
    prompt_tokens: int
    total_tokens: int


class CreateEmbeddingResponse(BaseModel):
    __slots__ = ()
    _nested = {"data": Embedding, "usage": EmbeddingUsage, "switchyard": CallInfo}
    object: str
    model: str
    data: List[Embedding]
    usage: EmbeddingUsage
    switchyard: CallInfo


class Model(BaseModel):
    __slots__ = ()
    id: str
    object: str
    created: int
    owned_by: str


class ModelList(BaseModel):
    """The models callers may name; iterable like the ``openai`` package's page."""

    __slots__ = ()
    _nested = {"data": Model}
    object: str
    data: List[Model]

    def __iter__(self) -> Iterator[Model]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self._data.get("data") or ())
