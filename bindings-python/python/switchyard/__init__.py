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
from . import _errors
from ._errors import *  # noqa: F403 - the error classes, named once in _errors.__all__
from ._native import __version__, _at_exit, _before_fork
from . import types

# One tokio runtime per process: quiesced before os.fork() so that neither process is left
# with pooled connections driven by threads the child does not have (see _native).
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(before=_before_fork)
# At exit: telemetry still buffered is exported, and the engine stops calling into Python
# and shuts its threads down before the interpreter finalizes (docs/bindings.md, "Exit").
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
]
__all__ += _errors.__all__


def __getattr__(name: str) -> Any:
    # asyncio costs ~10 ms to import: only programs that use the async client pay for it.
    if name in ("AsyncSwitchyard", "AsyncStream"):
        from . import _async

        return getattr(_async, name)
    raise AttributeError(f"module 'switchyard' has no attribute {name!r}")
