"""The constraints the domain models' annotations state, which pydantic checks where input arrives.

The models write them as attributes of this module (`Annotated[int, c.Ge(1)]`, `c.Name`); with
`from __future__ import annotations` those are strings until pydantic reads them, and the first
read loads annotated_types (PEP 562's module `__getattr__`). The app's path to its home screen
builds models from its own store and never reads them, so it skips that import (about 6 ms of
class creation, a twentieth of the start-up budget).

`Checked` is the base of the records pydantic validates (the protocol's): a msgspec Struct that
pydantic reads as it would a frozen dataclass.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, get_type_hints

import msgspec

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


class Checked(msgspec.Struct, frozen=True, kw_only=True):
    """A frozen record (a msgspec Struct: cheap to define, unlike a dataclass, which compiles its
    methods at import) that pydantic validates exactly as it validates a frozen dataclass with
    `extra="forbid"`: each field by its annotation and constraints, defaults filled, an unknown key
    refused, and a ValueError of `__post_init__` reported as a field error. A subclass states
    `frozen=True, kw_only=True` again: msgspec applies kw_only to the fields of the class that says
    it, and a type checker wants frozen said on each."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema as cs

        hints = get_type_hints(cls, include_extras=True)
        fields = []
        for f in msgspec.structs.fields(cls):
            schema = handler.generate_schema(hints[f.name])
            if f.default is not msgspec.NODEFAULT:
                schema = cs.with_default_schema(schema, default=f.default)
            elif f.default_factory is not msgspec.NODEFAULT:
                schema = cs.with_default_schema(schema, default_factory=f.default_factory,
                                                default_factory_takes_data=False)
            fields.append(cs.dataclass_field(f.name, schema))
        # pydantic's own dataclass validator makes its instance without `__init__`, which a Struct
        # does not allow: the fields are checked as a dataclass's arguments, then the class is called.
        args = cs.dataclass_args_schema(cls.__name__, fields, extra_behavior="forbid")

        def build(value: Any, check: Any) -> Any:
            if isinstance(value, cls):
                return value
            kwargs, _ = check(value)
            return cls(**kwargs)

        return cs.no_info_wrap_validator_function(build, args)


def set_field(record: msgspec.Struct, name: str, value: Any) -> None:
    """Set a field of a frozen record while its `__post_init__` builds it (what `object.__setattr__`
    does for a frozen dataclass): the field's slot descriptor writes past the frozen check."""
    getattr(type(record), name).__set__(record, value)


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
    if name.startswith("__"):  # `from ...constraints import x` asks for `__path__`: no reason to load
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        return _vocabulary()[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
