"""Messages as plain JSON-ready values, and back: what the journal stores.

Each event and command is a frozen dataclass of strings, numbers, booleans, tuples,
bytes and other such dataclasses. `to_plain` writes one as a dict tagged with its
type's name; `from_plain` reads it back by the type hints of its fields, so a tuple
comes back a tuple and a nested message its own type. Whatever does not fit is a
`BadMessage` naming the field, never a half-built message.
"""

from __future__ import annotations

import base64
import dataclasses
import types
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from controllers import messages
from controllers.messages import Command, Event

TYPE_KEY = "type"
# every message type that crosses the runtime, by name
MESSAGE_TYPES: dict[str, type[Any]] = {t.__name__: t for t in (*get_args(Event), *get_args(Command))}


class BadMessage(ValueError):
    """A stored message that cannot be read back."""


def to_plain(message: Event | Command) -> dict[str, Any]:
    """The message as a dict of JSON values, its type under "type"."""
    plain = _plain(message)
    assert isinstance(plain, dict)
    return plain


def _plain(value: Any) -> Any:
    names = _field_names(type(value))
    if names:
        out: dict[str, Any] = {TYPE_KEY: type(value).__name__}
        for name in names:
            v = getattr(value, name)
            out[name] = v if v is None or type(v) in _SCALARS else _plain(v)
        return out
    if isinstance(value, tuple):
        return [v if type(v) in _SCALARS else _plain(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return value


_SCALARS = frozenset((str, int, float, bool))


_FIELDS: dict[type[Any], tuple[str, ...]] = {}
_HINTS: dict[type[Any], dict[str, Any]] = {}


def _field_names(cls: type[Any]) -> tuple[str, ...]:
    """A message type's fields; () for what is not a message."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls)) if dataclasses.is_dataclass(cls) else ()
    return names


def from_plain(plain: Any, more_types: dict[str, type[Any]] | None = None) -> Event | Command:
    """The message `to_plain` wrote; `more_types` names dataclasses of a device's own
    (of the same kinds of field) that may be read too."""
    types_known = MESSAGE_TYPES if more_types is None else {**MESSAGE_TYPES, **more_types}
    if not isinstance(plain, dict) or plain.get(TYPE_KEY) not in types_known:
        named = plain.get(TYPE_KEY) if isinstance(plain, dict) else type(plain).__name__
        raise BadMessage(f"not a message of a known type: {str(named)[:60]!r}")
    message: Event | Command = _build(types_known[plain[TYPE_KEY]], plain, plain[TYPE_KEY])
    return message


def _hints(cls: type[Any]) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = get_type_hints(cls, vars(messages) if cls.__module__ == messages.__name__ else None)
    return hints


def _build(cls: type[Any], plain: dict[str, Any], where: str) -> Any:
    hints = _hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(plain) - known - {TYPE_KEY}
    if unknown:
        raise BadMessage(f"{where}: unknown field {sorted(unknown)[0]!r}")
    values = {}
    for name in known:
        if name in plain:
            values[name] = _read(hints[name], plain[name], f"{where}.{name}")
    try:
        return cls(**values)
    except TypeError as exc:  # a required field missing
        raise BadMessage(f"{where}: {exc}") from None


def _read(hint: Any, value: Any, where: str) -> Any:
    origin = get_origin(hint)
    if origin is Union or origin is types.UnionType:
        if value is None and type(None) in get_args(hint):
            return None
        for option in get_args(hint):
            if option is type(None):
                continue
            try:
                return _read(option, value, where)
            except BadMessage:
                continue
        raise BadMessage(f"{where}: {str(value)[:60]!r} is none of {hint}")
    if origin is Literal:
        if value not in get_args(hint):
            raise BadMessage(f"{where}: {str(value)[:60]!r} is not one of {get_args(hint)}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise BadMessage(f"{where}: a list was expected")
        args = get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_read(args[0], v, f"{where}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise BadMessage(f"{where}: {len(args)} items expected, not {len(value)}")
        return tuple(_read(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value, strict=True)))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(value, dict) or value.get(TYPE_KEY) != hint.__name__:
            raise BadMessage(f"{where}: a {hint.__name__} was expected")
        return _build(hint, value, where)
    if hint is bytes:
        if not isinstance(value, str):
            raise BadMessage(f"{where}: base64 text was expected")
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            raise BadMessage(f"{where}: not base64") from None
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise BadMessage(f"{where}: a number was expected, not {str(value)[:40]!r}")
        return float(value)
    if hint in (int, str, bool):
        if type(value) is not hint:
            raise BadMessage(f"{where}: a {hint.__name__} was expected, not {str(value)[:40]!r}")
        return value
    raise BadMessage(f"{where}: no reader for {hint}")  # a message type this codec does not know yet

