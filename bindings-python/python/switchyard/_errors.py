"""The exception hierarchy: one class per core error kind, compared by ``code``."""

from __future__ import annotations

import builtins
from typing import Any, Dict, Optional, Type

__all__ = [
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
]


class SwitchyardError(Exception):
    """Base of every error Switchyard raises. ``code`` is the stable error kind."""

    code: str = "error"

    def __init__(
        self,
        message: str,
        *,
        code: Optional[str] = None,
        status: Optional[int] = None,
        retry_after: Optional[float] = None,
        provider: Optional[str] = None,
        deployment: Optional[str] = None,
        request_id: Optional[str] = None,
        field: Optional[str] = None,
        retryable: bool = False,
        budget: Optional[str] = None,
        detail: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        #: The human message alone (``str(error)`` adds the kind, field and deployment).
        self.message: str = detail if detail is not None else message
        #: The HTTP status the provider sent, where one explains the error.
        self.status: Optional[int] = status
        #: Seconds the provider asked to wait (rate limits).
        self.retry_after: Optional[float] = retry_after
        self.provider: Optional[str] = provider
        self.deployment: Optional[str] = deployment
        self.request_id: Optional[str] = request_id
        #: The request field (bad_request) or config path (config) at fault.
        self.field: Optional[str] = field
        #: Whether the same request may succeed if sent again.
        self.retryable: bool = retryable
        #: The budget a budget_exceeded error names.
        self.budget: Optional[str] = budget


class RateLimitError(SwitchyardError):
    code = "rate_limited"


class ContextWindowExceededError(SwitchyardError):
    code = "context_window_exceeded"


class ContentPolicyError(SwitchyardError):
    code = "content_policy"


class TimeoutError(SwitchyardError, builtins.TimeoutError):  # noqa: A001 - as the issue names it
    """Also a builtin ``TimeoutError``, so ``except TimeoutError`` of either kind catches it."""

    code = "timeout"


class UpstreamError(SwitchyardError):
    code = "upstream"


class AuthenticationError(SwitchyardError):
    code = "auth"


class BadRequestError(SwitchyardError, ValueError, TypeError):
    """Also a builtin ``ValueError`` and ``TypeError``: a bad argument, option or request
    field is caught the way Python code catches bad arguments."""

    code = "bad_request"


class NetworkError(SwitchyardError):
    code = "network"


class CanceledError(SwitchyardError):
    code = "canceled"


class BudgetExceededError(SwitchyardError):
    code = "budget_exceeded"


class UnavailableError(SwitchyardError):
    code = "unavailable"


class OverloadedError(SwitchyardError):
    code = "overloaded"


class ConfigError(SwitchyardError):
    code = "config"


class InternalError(SwitchyardError):
    """A failure inside the binding itself (e.g. a Rust panic): please report it."""

    code = "internal"


# The official ``openai`` package's names, for code moving over.
APITimeoutError = TimeoutError
APIConnectionError = NetworkError

_BY_CODE: Dict[str, Type[SwitchyardError]] = {
    cls.code: cls
    for cls in (
        RateLimitError,
        ContextWindowExceededError,
        ContentPolicyError,
        TimeoutError,
        UpstreamError,
        AuthenticationError,
        BadRequestError,
        NetworkError,
        CanceledError,
        BudgetExceededError,
        UnavailableError,
        OverloadedError,
        ConfigError,
        InternalError,
    )
}


def _from_native(data: Dict[str, Any]) -> SwitchyardError:
    """Called by the native module with a core error as data (``docs/bindings.md``)."""
    code = data["kind"]
    cls = _BY_CODE.get(code, SwitchyardError)
    return cls(
        data["display"],
        code=code,
        detail=data["message"],
        status=data["status"],
        retry_after=data["retry_after"],
        provider=data["provider"],
        deployment=data["deployment"],
        request_id=data["request_id"],
        field=data["field"],
        retryable=data["retryable"],
        budget=data["budget"],
    )
