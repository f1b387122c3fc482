"""What a model found wrong, said as one sentence a specialist can act on.

District Parameters, schedules and settings are pydantic models. pydantic's own messages
("Input should be a valid boolean") name neither the setting nor what to do, so each model
renders the first problem itself: a validator that knows the whole sentence raises
`problem(sentence)`; any other error is rendered by the model from the field it is about
(`setting(error)`) and the value that was given (`shown(error["input"])`).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from pydantic import ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

SENTENCE = "sentence"  # the error type of a problem already said as a sentence


def problem(sentence: str) -> PydanticCustomError:
    """Raise this from a validator that can say the whole sentence itself."""
    return PydanticCustomError(SENTENCE, "{sentence}", {"sentence": sentence})


def setting(error: ErrorDetails) -> str:
    """The dotted name of the setting an error is about: ("screening_class_rule", "subjects", 2)
    is screening_class_rule.subjects (list positions are not part of the name)."""
    return ".".join(part for part in error["loc"] if isinstance(part, str))


def item(error: ErrorDetails) -> int | None:
    """The 1-based position in a list an error is about, if any."""
    positions = [part for part in error["loc"] if isinstance(part, int)]
    return positions[-1] + 1 if positions else None


def shown(value: object, limit: int = 40) -> str:
    """A value as the user wrote it (JSON), cut short: messages quote input, never dump it."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def sentence(exc: ValidationError, say: Callable[[ErrorDetails], str]) -> str:
    """The one sentence to show for a failed validation.

    An unknown key comes first: a misspelt key usually explains the rest (the value it was
    meant to set took its default)."""
    errors = exc.errors(include_url=False)
    first = min(errors, key=lambda e: e["type"] != "extra_forbidden")
    if first["type"] == SENTENCE:
        return first["msg"]
    return say(first)
