"""The ``/executor`` settings column: six param-driven boxes, Save, and every refusal.

The boxes are text, not number widgets: a number widget silently reverts a value outside
its bounds, forgets an empty one and shows ``5.123`` as ``5.12``. Here what is typed stays
as typed until the worker's value replaces it, and the form checks it with the worker's own
rules (``worker.api.schemas.settings_problems``, the domain's): each invalid value is
explained under its box, in the rules' plain words, with the box outlined red, and nothing
is sent. The worker still validates; its refusal lands next to the field it names.
Values are shown with exactly the decimals the rules accept (``5.00``, ``50``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import panel as pn
import param

from dashboard import format as fmt
from dashboard.views.common import STYLES, Context, has, html
from worker.api import schemas
from worker.api import views as wire

SPECS = {spec.name: spec for spec in schemas.FIELDS}
INVALID = "invalid"


def _settings_class() -> type[param.Parameterized]:
    """A Parameterized with one text parameter per setting, named and labelled by the
    worker's rules (the rules, not the widget, decide what is valid)."""
    params: dict[str, Any] = {
        spec.name: param.String(default=spec.shown(spec.default), label=spec.widget_label) for spec in schemas.FIELDS
    }
    return param.parameterized_class("ExecutorSettingsForm", params)


SettingsForm = _settings_class()


class SettingsPanel:
    """Param-driven boxes for the six settings, Save, and the worker's answer."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.form = SettingsForm()
        self.widgets: dict[str, pn.widgets.TextInput] = {}
        self.errors: dict[str, pn.pane.HTML] = {}
        rows: list[Any] = [html("<h3 style='margin:0'>Settings</h3>")]
        for spec in schemas.FIELDS:
            widget = pn.widgets.TextInput.from_param(
                self.form.param[spec.name], sizing_mode="stretch_width",
                stylesheets=STYLES, css_classes=["setting"],
            )
            widget.param.watch(lambda _e: self.check(), "value")
            self.widgets[spec.name] = widget
            self.errors[spec.name] = html("", name=f"error-{spec.name}")
            rows += [widget, self.errors[spec.name]]
        self.save = pn.widgets.Button(label="Save Settings", color="primary", sizing_mode="stretch_width")
        self.save.on_click(lambda _e: self.submit())
        self.message = html("", name="settings-message")
        #: What each box last showed of the worker's value (a box that differs was edited).
        self._shown: dict[str, str] = {}
        rows += [self.save, self.message]
        self.layout = pn.Column(*rows, sizing_mode="stretch_width", styles={"border": "1px solid #d0d7de", "border-radius": "6px"})

    # -- checking ----------------------------------------------------------------------
    def texts(self) -> dict[str, str]:
        return {name: str(widget.value or "") for name, widget in self.widgets.items()}

    def edited(self) -> dict[str, str]:
        """The boxes whose text is not what the worker holds (as shown)."""
        current = self.ctx.feed.state.settings
        return {
            name: text for name, text in self.texts().items()
            if current is None or text.strip() != SPECS[name].shown(getattr(current, name))
        }

    def problems(self) -> dict[str, str]:
        """Each edited box's refusal by the worker's rules, in plain words."""
        current = self.ctx.feed.state.settings
        edited = self.edited()
        if current is None or not edited:
            return {}
        return schemas.settings_problems(current, edited)

    def show_errors(self, errors: dict[str, str]) -> None:
        """The message under each offending box and its red outline; the rest cleared."""
        for name, pane in self.errors.items():
            text = errors.get(name)
            pane.object = (
                f'<span class="field-error" data-field="{name}">⚠ {fmt.esc(text)}</span>' if text else ""
            )
            classes = ["setting", INVALID] if text else ["setting"]
            if self.widgets[name].css_classes != classes:
                self.widgets[name].css_classes = classes

    def check(self) -> dict[str, str]:
        """Check as the operator types (on each committed change of a box)."""
        errors = self.problems()
        self.show_errors(errors)
        if not errors and self.message.object.startswith('<span class="field-error"'):
            self.message.object = ""
        return errors

    # -- saving ------------------------------------------------------------------------
    def changes(self) -> dict[str, Decimal | int]:
        """The edited boxes' exact values that differ from the worker's (all valid)."""
        current = self.ctx.feed.state.settings
        out: dict[str, Decimal | int] = {}
        for name, text in self.edited().items():
            value = schemas.parse_setting(name, text)
            if current is None or value != getattr(current, name):
                out[name] = value
        return out

    def submit(self) -> None:
        errors = self.check()
        if errors:
            self.message.object = (
                '<span class="field-error">Not saved: '
                f'{"this value is" if len(errors) == 1 else f"{len(errors)} values are"} not valid, see above.</span>'
            )
            return
        changes = self.changes()
        if not changes:
            self.message.object = '<span class="muted">No changes to save.</span>'
            return
        self.message.object = '<span class="muted">Saving…</span>'
        typed = {name: getattr(self.form, name) for name in changes}
        self.ctx.send(schemas.UPDATE_SETTINGS, lambda reply: self._on_reply(reply, typed), settings=changes)

    def _on_reply(self, reply: wire.ReplyView, typed: dict[str, str] | None = None) -> None:
        if isinstance(reply, wire.AckView):
            # Saved: what was typed is the worker's value now, no longer an edit (unless
            # the worker's settings_changed came first and the box already shows it).
            self._shown.update({n: t for n, t in (typed or {}).items() if getattr(self.form, n) == t})
            self.message.object = '<span class="saved">✓ Settings saved</span>'
            return
        field = reply.field
        text = reply.message or "Refused"
        if field is not None and field in self.errors:
            self.show_errors({field: text})
            self.message.object = '<span class="field-error">Not saved: see the field marked above.</span>'
        else:
            self.message.object = f'<span class="field-error">Not saved: {fmt.esc(text)}</span>'

    @staticmethod
    def _holds(name: str, text: str, value: Decimal | int) -> bool:
        """Whether ``text`` is ``value`` as typed ("12.5" for 12.50)."""
        try:
            return bool(schemas.parse_setting(name, text) == value)
        except Exception:  # not a valid value at all: an edit in progress
            return False

    def update(self, topics: set[str]) -> None:
        settings = self.ctx.feed.state.settings
        if not has(topics, "settings") or settings is None:
            return
        # The worker's value replaces a box whenever it changes (here or in another
        # client), shown with exactly the decimals the rules accept — unless the operator
        # has typed into that box and not saved yet: an edit is never silently reverted.
        for name in self.widgets:
            shown = SPECS[name].shown(getattr(settings, name))
            box = getattr(self.form, name)
            if box == self._shown.get(name, box) or self._holds(name, box, getattr(settings, name)):
                if box != shown:
                    setattr(self.form, name, shown)
                self._shown[name] = shown
