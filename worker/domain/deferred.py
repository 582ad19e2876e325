"""A dataclass field computed on first read: :class:`DeferredField` and its :class:`Deferred`
value (the opportunity's size–ROI curve, built from immutable ladders only when someone
reads it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class Deferred(Generic[T]):
    """A value given as a pure function of immutable inputs: ``Deferred(build, *args)``
    stands for ``build(*args)``. Only a :class:`DeferredField` understands it."""

    __slots__ = ("args", "build")

    def __init__(self, build: Callable[..., T], *args: Any) -> None:
        self.build = build
        self.args = args


class DeferredField(Generic[T]):
    """A frozen-dataclass field that may be given as a :class:`Deferred`, computed on
    first read.

    Declared in the class body (``curve: DeferredField[tuple[CurvePoint, ...]] =
    DeferredField()``) it is an ordinary required field: reading it gives the value (the
    first read computes and stores it), and ``==``, ``hash``, ``repr`` and
    ``dataclasses.asdict`` (the wire encoder) see that value. Concurrency: the build is a
    pure function of immutable inputs (books are immutable), so two reads at once can
    only compute the same value.
    """

    __slots__ = ("_key",)

    def __set_name__(self, owner: type, name: str) -> None:
        self._key = "_deferred_" + name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> DeferredField[T]: ...
    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...
    def __get__(self, obj: object | None, owner: type | None = None) -> Any:
        if obj is None:
            # No default: the dataclass machinery reads the class attribute for one.
            raise AttributeError(self._key.removeprefix("_deferred_"))
        store = obj.__dict__
        value = store[self._key]
        if type(value) is Deferred:
            value = store[self._key] = value.build(*value.args)
        return value

    def __set__(self, obj: object, value: T | Deferred[T]) -> None:
        obj.__dict__[self._key] = value
