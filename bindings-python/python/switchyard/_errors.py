"""The exception hierarchy: one class per core error kind, compared by ``code``, placed in
the official ``openai`` package's hierarchy so that its ``except`` clauses keep working:
``APIError`` (alias of ``SwitchyardError``) above all, ``APIStatusError`` (``status_code``)
above the errors an HTTP status explains, ``APIConnectionError`` above network errors and
timeouts. The class follows the kind; for ``auth`` and ``upstream`` the provider's status
refines it (403 ``PermissionDeniedError``, 404 ``NotFoundError``, ...)."""

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
    "BudgetUnavailableError",
    "PolicyViolationError",
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
        http_status: Optional[int] = None,
        rule: Optional[str] = None,
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
        #: The budget a budget_exceeded or budget_unavailable error names.
        self.budget: Optional[str] = budget
        #: The status of the provider's error answer, whenever the error is one.
        self.http_status: Optional[int] = http_status
        #: The guardrail a policy_violation names (``docs/guardrails.md``).
        self.rule: Optional[str] = rule
        # The ``openai`` package's attributes: ``param`` is the field at fault, ``type`` the
        # kind, ``body`` the error as OpenAI's API shapes it; no HTTP request exists here.
        self.param: Optional[str] = field
        self.type: Optional[str] = self.code
        self.body: Optional[Dict[str, Any]] = {
            "message": self.message,
            "type": self.code,
            "param": field,
            "code": self.code,
        }
        self.request: Any = None


class APIStatusError(SwitchyardError):
    """An error an HTTP status explains (``openai.APIStatusError``): ``status_code`` is the
    provider's status, or the one an HTTP API would answer for this kind."""

    #: The status an error of this class answers when the provider sent none.
    nominal_status: int = 500

    def __init__(self, message: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        known = self.http_status if self.http_status is not None else self.status
        self.status_code: int = known if known is not None else self.nominal_status
        #: No ``httpx.Response`` exists in-process.
        self.response: Any = None


class APIConnectionError(SwitchyardError):
    """The provider could not be reached or did not answer (``openai.APIConnectionError``)."""

    code = "network"


class RateLimitError(APIStatusError):
    code = "rate_limited"
    nominal_status = 429




class TimeoutError(APIConnectionError, builtins.TimeoutError):  # noqa: A001 - as the issue names it
    """Also a builtin ``TimeoutError``, so ``except TimeoutError`` of either kind catches it;
    an ``APIConnectionError`` as ``openai.APITimeoutError`` is."""

    code = "timeout"


class UpstreamError(APIStatusError):
    """The provider answered with an error; ``status_code`` is its status."""

    code = "upstream"
    nominal_status = 502


class NotFoundError(UpstreamError):
    nominal_status = 404


class ConflictError(UpstreamError):
    nominal_status = 409


class UnprocessableEntityError(UpstreamError):
    nominal_status = 422


class InternalServerError(APIStatusError):
    """Trouble on the serving side (``openai.InternalServerError``): a provider's 5xx, no
    deployment available, the local model overloaded, or a fault inside Switchyard."""

    nominal_status = 500


class UpstreamServerError(UpstreamError, InternalServerError):
    """A provider's 5xx (or an upstream error with no status)."""

    nominal_status = 502


class AuthenticationError(APIStatusError):
    code = "auth"
    nominal_status = 401


class PermissionDeniedError(APIStatusError):
    """A key the provider knows but refuses (403): kind ``auth``, but, as in ``openai``,
    not an ``AuthenticationError``, so handlers for the two stay apart."""

    code = "auth"
    nominal_status = 403


class BadRequestError(APIStatusError, ValueError, TypeError):
    """Also a builtin ``ValueError`` and ``TypeError``: a bad argument, option or request
    field is caught the way Python code catches bad arguments."""

    code = "bad_request"
    nominal_status = 400


class ContextWindowExceededError(BadRequestError):
    code = "context_window_exceeded"


class ContentPolicyError(BadRequestError):
    code = "content_policy"


class PolicyViolationError(BadRequestError):
    """A guardrail refused the request before it left (a deny pattern, a topic rule, a
    model off the allow-list): a 400 to ``openai`` code; ``rule`` names the guardrail."""

    code = "policy_violation"


class NetworkError(APIConnectionError):
    code = "network"


class CanceledError(SwitchyardError):
    code = "canceled"


class BudgetExceededError(RateLimitError):
    """A budget is spent: a 429 (OpenAI's ``insufficient_quota``) to ``openai`` code."""

    code = "budget_exceeded"


class UnavailableError(InternalServerError):
    code = "unavailable"
    nominal_status = 503


class BudgetUnavailableError(InternalServerError):
    """A server-side budget's lease expired while the server was unreachable, and its
    policy is to deny: a 503 to ``openai`` code; ``budget`` names it."""

    code = "budget_unavailable"
    nominal_status = 503


class OverloadedError(InternalServerError):
    code = "overloaded"
    nominal_status = 503


class ConfigError(SwitchyardError):
    code = "config"


class InternalError(InternalServerError):
    """A failure inside the binding itself (e.g. a Rust panic): please report it."""

    code = "internal"


# The official ``openai`` package's names, for code moving over.
APIError = SwitchyardError
OpenAIError = SwitchyardError
APITimeoutError = TimeoutError

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
        BudgetUnavailableError,
        OverloadedError,
        ConfigError,
        InternalError,
        PolicyViolationError,
    )
}

# Kinds whose class the provider's status refines, as the ``openai`` package picks by status.
_BY_STATUS: Dict[Any, Type[SwitchyardError]] = {
    ("auth", 403): PermissionDeniedError,
    ("bad_request", 422): UnprocessableEntityError,
    ("upstream", 404): NotFoundError,
    ("upstream", 409): ConflictError,
    ("upstream", 422): UnprocessableEntityError,
}


def _from_native(data: Dict[str, Any]) -> SwitchyardError:
    """Called by the native module with a core error as data (``docs/bindings.md``)."""
    code = data["kind"]
    cls = _BY_STATUS.get((code, data["http_status"])) or _BY_CODE.get(code, SwitchyardError)
    if cls is UpstreamError and (data["status"] is None or data["status"] >= 500):
        cls = UpstreamServerError
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
        http_status=data["http_status"],
        rule=data.get("rule"),
    )
