"""A shared Train link's settings (`?preset=lstm&epochs=3`, or an assignment's link with the values it lets students
change), made safe for the form: a value out of its range, or not a number, becomes the preset's value, and a
sentence says which value was replaced by what, so the visitor knows the link was not followed to the letter."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from core import hparams
from core.errors import ConfigError, quoted
from core.hparams import HParams, Param

DEFAULT_PRESET = "dlwp"


def preset(value: str | None) -> tuple[str, str | None]:
    """The preset a link names (in any case; dlwp when it names none), and a note when it names an unknown one."""
    try:
        return hparams.preset_name(DEFAULT_PRESET if value is None else value), None
    except ConfigError:
        return DEFAULT_PRESET, f"The link names an unknown preset {quoted(value)}; showing {DEFAULT_PRESET}."


def clamped(param: Param, raw: str, base: HParams) -> tuple[Any, str | None]:
    """A link's value for `param` as its type, or the value of `base` with a note saying why."""
    if raw == "" and param.optional:
        return None, None
    try:
        return param.check(raw), None
    except ConfigError as exc:
        fallback = getattr(base, param.name)
        return fallback, f"{exc} The preset's value {fallback} is used instead."


def values(link: Mapping[str, str], names: Iterable[str], param_of: Callable[[str], Param],
           base: HParams) -> tuple[dict[str, Any], list[str]]:
    """The settings among `names` that the link gives, each checked against `param_of(name)` (the data set's range,
    or an assignment's narrower one), and the notes on those replaced by `base`'s values, in the order of `names`."""
    found, notes = {}, []
    for name in names:
        if name in link:
            found[name], note = clamped(param_of(name), link[name], base)
            if note:
                notes.append(note)
    return found, notes
