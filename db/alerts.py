"""``executor_alerts`` repository: the SQLAlchemy implementation of ``AlertStore``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from db.engine import Database
from db.tables import executor_alerts as t
from worker.domain.events import Alert, AlertKind, AlertSeverity


def _values(alert: Alert) -> dict[str, Any]:
    return {
        "kind": alert.kind.value,
        "key": alert.key,
        "severity": alert.severity.value,
        "title": alert.title,
        "message": alert.message,
        "data": dict(alert.data),
        "count": alert.count,
        "raised_at": alert.raised_at,
        "last_at": alert.last_at,
        "dismissed_at": alert.dismissed_at,
    }


def _alert(row: Any) -> Alert:
    return Alert(
        id=row.id,
        kind=AlertKind(row.kind),
        key=row.key,
        severity=AlertSeverity(row.severity),
        title=row.title,
        message=row.message,
        raised_at=row.raised_at,
        last_at=row.last_at,
        count=int(row.count),
        data=dict(row.data or {}),
        dismissed_at=row.dismissed_at,
    )


class AlertRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def save(self, alert: Alert) -> None:
        async with self.db.write() as conn:
            # A dismissal made meanwhile (by any worker) is never undone by a repeat.
            updated = await conn.execute(
                sa.update(t).where(t.c.id == alert.id)
                .values({k: v for k, v in _values(alert).items() if k != "dismissed_at"})
            )
            if updated.rowcount == 0:
                await conn.execute(sa.insert(t).values(id=alert.id, **_values(alert)))

    async def active(self, limit: int = 200) -> list[Alert]:
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(t).where(t.c.dismissed_at.is_(None)).order_by(t.c.last_at.desc(), t.c.id).limit(limit)
            )
            return [_alert(r) for r in rows]

    async def recent(self, limit: int = 50) -> list[Alert]:
        """The latest alerts, dismissed ones included, newest first (the alert history)."""
        async with self.db.read() as conn:
            rows = await conn.execute(sa.select(t).order_by(t.c.last_at.desc(), t.c.id).limit(limit))
            return [_alert(r) for r in rows]

    async def get(self, alert_id: str) -> Alert | None:
        async with self.db.read() as conn:
            row = (await conn.execute(sa.select(t).where(t.c.id == alert_id))).first()
            return _alert(row) if row is not None else None

    async def dismiss(self, alert_id: str, at: datetime) -> Alert | None:
        async with self.db.write() as conn:
            await conn.execute(
                sa.update(t).where(t.c.id == alert_id, t.c.dismissed_at.is_(None)).values(dismissed_at=at)
            )
            row = (await conn.execute(sa.select(t).where(t.c.id == alert_id))).first()
            return _alert(row) if row is not None else None

    async def dismissed_keys(self, kinds: list[AlertKind]) -> set[tuple[AlertKind, str]]:
        async with self.db.read() as conn:
            rows = await conn.execute(
                sa.select(t.c.kind, t.c.key).where(t.c.dismissed_at.is_not(None), t.c.kind.in_([k.value for k in kinds]))
            )
            return {(AlertKind(r.kind), r.key) for r in rows}
