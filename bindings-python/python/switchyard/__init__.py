"""Switchyard: route, retry, fall back, cache and meter LLM calls in-process.

>>> from switchyard import Switchyard
>>> client = Switchyard(config="switchyard.yaml")
>>> r = client.chat.completions.create(model="chat", messages=[{"role": "user", "content": "hi"}])
>>> r.choices[0].message.content, r.switchyard.deployment
"""

import atexit as _atexit
import os as _os
from typing import TYPE_CHECKING, Any

from ._client import Stream, Switchyard
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    BudgetExceededError,
    CanceledError,
    ConfigError,
    ConflictError,
    ContentPolicyError,
    ContextWindowExceededError,
    InternalError,
    InternalServerError,
    NetworkError,
    NotFoundError,
    OpenAIError,
    OverloadedError,
    PermissionDeniedError,
    RateLimitError,
    SwitchyardError,
    TimeoutError,
    UnavailableError,
    UnprocessableEntityError,
    UpstreamError,
    UpstreamServerError,
)
from ._native import __version__, _at_exit, _before_fork
from . import types

# One tokio runtime per process: quiesced before os.fork() so that neither process is left
# with pooled connections driven by threads the child does not have (see _native).
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(before=_before_fork)
# Telemetry still buffered (OTLP spans and metrics) is exported before the process ends.
_atexit.register(_at_exit)

if TYPE_CHECKING:
    from ._async import AsyncStream, AsyncSwitchyard

__all__ = [
    "Switchyard",
    "AsyncSwitchyard",
    "Stream",
    "AsyncStream",
    "types",
    "__version__",
    "SwitchyardError",
    "RateLimitError",
    "ContextWindowExceededError",
    "ContentPolicyError",
    "TimeoutError",
    "UpstreamError",
    "AuthenticationError",
    "BadRequestError",
    "NetworkError",
    "CanceledError",
    "BudgetExceededError",
    "UnavailableError",
    "OverloadedError",
    "ConfigError",
    "InternalError",
    "APITimeoutError",
    "APIConnectionError",
    "APIError",
    "OpenAIError",
    "APIStatusError",
    "PermissionDeniedError",
    "NotFoundError",
    "ConflictError",
    "UnprocessableEntityError",
    "InternalServerError",
    "UpstreamServerError",
]


def __getattr__(name: str) -> Any:
    # asyncio costs ~10 ms to import: only programs that use the async client pay for it.
    if name in ("AsyncSwitchyard", "AsyncStream"):
        from . import _async

        return getattr(_async, name)
    raise AttributeError(f"module 'switchyard' has no attribute {name!r}")
