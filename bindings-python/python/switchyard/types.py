"""Response types, named as in the ``openai`` package (``openai.types.chat``...)."""

from ._types import *  # noqa: F401,F403
from ._types import __all__  # noqa: F401
