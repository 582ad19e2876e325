"""The executor's settings (the plan's ExecutorSettingsManager values) and their rules.

This module is the one source of truth for names, defaults, bounds and precision. The
worker validates every change with :func:`apply_patch`; the dashboard builds its
widgets' bounds from :data:`FIELDS` (through ``worker.api.schemas``), but the worker is
still the one that validates.

Units: bets and losses in dollars (2 decimals), ROI in percent (2 decimals).

Every refusal speaks the operator's words: a field's ``label`` ("Min bet"), never its
wire name, so the worker's error and the dashboard's own check say the same sentence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")


class SettingsError(ValueError):
    """A settings change was refused; ``field`` names the first offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class FieldSpec:
    """One setting's rule: ``label`` is its name in plain words (errors and the page use
    it), ``decimals`` the precision accepted (and shown)."""

    name: str
    label: str
    kind: str  # "money" | "percent" | "count"
    default: Decimal | int
    minimum: Decimal | int
    maximum: Decimal | int
    exclusive_minimum: bool = False

    @property
    def decimals(self) -> int:
        return 0 if self.kind == "count" else 2

    @property
    def unit(self) -> str:
        return {"money": "$", "percent": "%"}.get(self.kind, "")

    @property
    def widget_label(self) -> str:
        """The label with its unit, as a form field shows it: ``Min bet ($)``."""
        return f"{self.label} ({self.unit})" if self.unit else self.label

    def amount(self, value: Decimal | int) -> str:
        """A value in the field's unit, as the errors write it: ``$100,000``, ``1,000%``."""
        text = f"{value:,}"
        return {"money": f"${text}", "percent": f"{text}%"}.get(self.kind, text)

    def shown(self, value: Decimal | int) -> str:
        """A value as the form shows it: exactly ``decimals`` places (``5.00``, ``50``)."""
        return str(int(value)) if self.kind == "count" else str(Decimal(value).quantize(CENT))


FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("min_bet", "Min bet", "money", Decimal("5.00"), Decimal("0"), Decimal("100000"), True),
    FieldSpec("max_bet", "Max bet", "money", Decimal("10.00"), Decimal("0"), Decimal("100000"), True),
    FieldSpec("min_roi", "Min ROI", "percent", Decimal("1.00"), Decimal("0"), Decimal("1000")),
    FieldSpec("max_roi", "Max ROI", "percent", Decimal("50.00"), Decimal("0"), Decimal("1000")),
    FieldSpec("max_daily_trades", "Max daily trades", "count", 50, 1, 100000),
    FieldSpec("max_daily_loss", "Max daily loss", "money", Decimal("5.00"), Decimal("0"), Decimal("1000000")),
)
FIELD_NAMES = tuple(spec.name for spec in FIELDS)
_SPECS = {spec.name: spec for spec in FIELDS}
#: The pairs a minimum must not exceed the maximum of.
PAIRS: tuple[tuple[str, str], ...] = (("min_bet", "max_bet"), ("min_roi", "max_roi"))


def label(field: str) -> str:
    """A field's name in plain words (``min_bet`` → ``Min bet``); unknown names as given."""
    spec = _SPECS.get(field)
    return spec.label if spec is not None else field


def _lower(words: str) -> str:
    """``Max ROI`` → ``max ROI``: a label in the middle of a sentence."""
    return words[:1].lower() + words[1:]


def pair_message(field: str) -> str:
    """Why ``field`` breaks its min/max pair, said from that field's side."""
    for low, high in PAIRS:
        if field == low:
            return f"{label(low)} must not exceed {_lower(label(high))}"
        if field == high:
            return f"{label(high)} must not be less than {_lower(label(low))}"
    raise KeyError(field)


@dataclass(frozen=True)
class ExecutorSettings:
    """One consistent set of settings. Immutable: a change produces a new object."""

    enabled: bool = False
    min_bet: Decimal = Decimal("5.00")
    max_bet: Decimal = Decimal("10.00")
    min_roi: Decimal = Decimal("1.00")
    max_roi: Decimal = Decimal("50.00")
    max_daily_trades: int = 50
    max_daily_loss: Decimal = Decimal("5.00")

    def values(self) -> dict[str, Any]:
        """All fields, ``enabled`` included, as Python values (Decimal / int / bool)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


DEFAULTS = ExecutorSettings()


def _number(field: str, value: object) -> Decimal:
    # bool is a subclass of int: refuse it explicitly, a checkbox is not a bet size.
    words = label(field)
    if isinstance(value, bool) or value is None or not isinstance(value, int | float | Decimal):
        raise SettingsError(field, f"{words} must be a number, got {_type_name(value)}")
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise SettingsError(field, f"{words} must be a number") from None
    if not number.is_finite():
        raise SettingsError(field, f"{words} must be a finite number")
    return number


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", str: "a string", list: "an array", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def coerce_field(field: str, value: object) -> Decimal | int:
    """Check one field's value against its spec; return it in canonical form."""
    spec = _SPECS.get(field)
    if spec is None:
        raise SettingsError(field, f"unknown setting {field!r}")
    number = _number(field, value)
    words = spec.label
    if number < 0:
        raise SettingsError(field, f"{words} must not be negative")
    if spec.kind == "count":
        if number != number.to_integral_value():
            raise SettingsError(field, f"{words} must be a whole number")
        count = int(number)
        if not spec.minimum <= count <= spec.maximum:
            raise SettingsError(
                field, f"{words} must be a whole number from {spec.amount(spec.minimum)} to {spec.amount(spec.maximum)}"
            )
        return count
    too_low = number <= spec.minimum if spec.exclusive_minimum else number < spec.minimum
    if too_low or number > spec.maximum:
        low = "more than" if spec.exclusive_minimum else "at least"
        raise SettingsError(
            field, f"{words} must be {low} {spec.amount(spec.minimum)} and at most {spec.amount(spec.maximum)}"
        )
    # In range, so quantizing cannot overflow the context.
    if number != number.quantize(CENT, rounding=ROUND_HALF_EVEN):
        raise SettingsError(field, f"{words} allows at most {spec.decimals} decimal places")
    return number.quantize(CENT)


_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")


def parse_text(field: str, text: str) -> Decimal | int:
    """What the operator typed into ``field``'s box, checked by the same rules: exact
    (no float on the way), an empty box is refused rather than skipped."""
    words = label(field)
    raw = text.strip()
    if not raw:
        raise SettingsError(field, f"{words} is required")
    if "," in raw:
        # Thousands separators only ("1,250.50"); "1,5" is a decimal comma, which read
        # as a separator would be ten times the amount: refused, never guessed.
        if not _THOUSANDS.fullmatch(raw.removeprefix("$").removesuffix("%").strip()):
            raise SettingsError(field, f"{words}: use a dot for decimals (commas only between thousands)")
        raw = raw.replace(",", "")
    spec = _SPECS.get(field)
    if spec is not None and spec.kind == "money":
        raw = raw.removeprefix("$").strip()
    elif spec is not None and spec.kind == "percent":
        raw = raw.removesuffix("%").strip()
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise SettingsError(field, f"{words} must be a number") from None
    return coerce_field(field, number)


def problems(current: ExecutorSettings, patch: Mapping[str, object]) -> dict[str, str]:
    """Every refusal :func:`apply_patch` could give for ``patch``, per field, so a form
    can mark each offending field at once (empty: the patch applies)."""
    found: dict[str, str] = {}
    good: dict[str, Decimal | int] = {}
    for key, value in patch.items():
        try:
            good[key] = parse_text(key, value) if isinstance(value, str) else coerce_field(key, value)
        except SettingsError as exc:
            found[exc.field] = exc.message
    new = replace(current, **{k: v for k, v in good.items() if k in _SPECS})  # type: ignore[arg-type]
    for low, high in PAIRS:
        if low in found or high in found or getattr(new, low) <= getattr(new, high):
            continue
        for field in (low, high):
            if field in patch:
                found[field] = pair_message(field)
    return found


def apply_patch(current: ExecutorSettings, patch: Mapping[str, object]) -> ExecutorSettings:
    """Validate ``patch`` as a whole against ``current``; return the new settings.

    All or nothing: the first offending field (in the order given) raises
    :class:`SettingsError` and nothing is applied. ``enabled`` is not a setting here: it
    changes only through its own toggle.
    """
    if not isinstance(patch, Mapping):
        raise SettingsError("settings", "settings must be an object")
    if not patch:
        raise SettingsError("settings", "no settings given")
    changes: dict[str, Decimal | int] = {}
    for key, value in patch.items():
        if not isinstance(key, str):
            raise SettingsError("settings", "setting names must be strings")
        if key == "enabled":
            raise SettingsError("enabled", "enabled is changed with toggle_enabled, not update_settings")
        changes[key] = coerce_field(key, value)
    new = replace(current, **changes)  # type: ignore[arg-type]
    for low, high in PAIRS:
        if getattr(new, low) > getattr(new, high):
            # Name the field the caller sent; if both were sent, the min one.
            field = low if low in patch or high not in patch else high
            raise SettingsError(field, pair_message(field))
    return new


def from_stored(row: Mapping[str, Any]) -> tuple[ExecutorSettings, list[str]]:
    """Settings from the stored row (REAL columns): exact Decimals rounded to the cent.

    A value edited by hand while the worker was stopped is taken as it is, rounded. One
    that breaks the rules is replaced by its default and reported in the returned list of
    problems, which the caller logs; an inconsistent pair (min > max) falls back to both
    defaults.
    """
    problems: list[str] = []
    values: dict[str, Any] = {"enabled": bool(row.get("enabled"))}
    for spec in FIELDS:
        raw = row.get(spec.name)
        try:
            if raw is None or isinstance(raw, bool):
                raise SettingsError(spec.name, f"{spec.name} is missing")
            number = Decimal(str(raw))
            if spec.kind != "count" and number.is_finite():
                number = number.quantize(CENT, rounding=ROUND_HALF_EVEN)
            values[spec.name] = coerce_field(spec.name, number)
        except (SettingsError, InvalidOperation) as exc:
            problems.append(f"{spec.name}: stored value {raw!r} refused ({exc}); using {spec.default}")
            values[spec.name] = spec.default
    settings = ExecutorSettings(**values)
    for low, high in PAIRS:
        if getattr(settings, low) > getattr(settings, high):
            problems.append(f"{low} > {high} in the stored row; using the defaults for both")
            settings = replace(settings, **{low: getattr(DEFAULTS, low), high: getattr(DEFAULTS, high)})
    return settings, problems
