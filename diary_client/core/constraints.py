"""The constraints the domain models' annotations state, which pydantic checks where input arrives.

The models write them as attributes of this module (`Annotated[int, c.Ge(1)]`, `c.Name`); with
`from __future__ import annotations` those are strings until pydantic reads them, and the first
read loads annotated_types (PEP 562's module `__getattr__`). The app's path to its home screen
builds models from its own store and never reads them, so it skips that import (about 6 ms of
class creation, a twentieth of the start-up budget).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias

ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]*$"  # a protocol's ids: study, phases, items


@dataclass(frozen=True)
class Pattern:
    """`Annotated[str, Pattern(regex)]`: pydantic checks the string against `regex`
    (annotated_types has no pattern constraint; this keeps pydantic's own message)."""

    regex: str

    def __get_pydantic_core_schema__(self, source: Any, handler: Any) -> Any:
        schema = handler(source)
        schema["pattern"] = self.regex
        return schema


if TYPE_CHECKING:  # what `c.Ge` and the rest are to a type checker; the aliases are plain str to it
    from annotated_types import Ge as Ge
    from annotated_types import Le as Le
    from annotated_types import MaxLen as MaxLen
    from annotated_types import MinLen as MinLen

    Name: TypeAlias = str
    Id: TypeAlias = str
    Text: TypeAlias = str


@cache
def _vocabulary() -> dict[str, Any]:
    import annotated_types as at

    return {
        "Ge": at.Ge, "Le": at.Le, "MinLen": at.MinLen, "MaxLen": at.MaxLen,
        "Name": Annotated[str, at.MinLen(1), at.MaxLen(100)],  # participant, study and device names
        "Id": Annotated[str, Pattern(ID_PATTERN)],
        "Text": Annotated[str, at.MinLen(1)],  # a prompt, label or title: never empty
    }


def __getattr__(name: str) -> Any:
    try:
        return _vocabulary()[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
