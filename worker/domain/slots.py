"""Filling frozen slotted dataclasses through their slots, for the few hot paths that
build many of them (book levels, curve points, legs, opportunity events)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import Any


def slot_setters(cls: type[Any], *names: str) -> tuple[Callable[[Any, Any], None], ...]:
    """The slot setters of a frozen slotted dataclass, by field name.

    A frozen dataclass's ``__init__`` goes through ``object.__setattr__`` field by field
    (three times slower than setting a slot); book building (price levels, books) and the
    scanner (curve points, legs, events) make such objects on hot paths, so they fill the
    same slots through their descriptors. The object is as frozen as one built by
    ``__init__`` (assignment still raises) and compares equal to it; these classes have no
    ``__post_init__``. The builders are unrolled on purpose (a loop over the setters costs
    as much as ``__init__``). ``names`` must be exactly the class's fields, so a field added to the domain class fails here,
    at import, instead of leaving a slot unset.
    """
    declared = [f.name for f in fields(cls)]
    if sorted(names) != sorted(declared):
        raise TypeError(f"{cls.__name__} fields are {declared}, builder sets {list(names)}")
    return tuple(cls.__dict__[n].__set__ for n in names)


def fill(setter: Callable[[Any, Any], None], objects: Iterable[Any], values: Iterable[Any]) -> None:
    """Set one slot of many objects at once: ``setter(obj, value)`` for each pair, run in
    C (``map``) with nothing kept. ``objects`` and ``values`` must be as long as each other."""
    deque(map(setter, objects, values), maxlen=0)
