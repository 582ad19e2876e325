"""Compare both venues' rules texts on what can turn a hedge into a loss.

A pair is only a lock if both contracts settle the same way in the odd cases. We read
three things from each text: what happens when the game is postponed or cancelled
(settles 50-50, is void/refunded, waits for the rescheduled game, resolves NO), how a
tie is treated, and whether overtime counts. A difference is reported as a flag; the
scanner does not drop the opportunity, the operator and executor decide.
"""

from __future__ import annotations

import re

from worker.domain.mapping import RulesCheck

_FIFTY = re.compile(
    r"50[\s-]*[-/]\s*50|fifty[\s-]fifty|\$?0?\.50 per|resolve(?:s|d)? (?:to )?50", re.I
)
_POSTPONE = re.compile(r"postpon|cancel|reschedul|not (?:be )?played|abandon|suspend", re.I)
_RESCHEDULE = re.compile(r"reschedul|made up|resumed|completed (?:at|on) a later", re.I)
_VOID = re.compile(r"\bvoid|refund|returned|settle(?:s|d)? at (?:the )?last", re.I)
_RESOLVE_NO = re.compile(
    r"resolve(?:s|d)? (?:to )?[\"']?no\b|settle(?:s|d)? (?:to )?[\"']?no\b", re.I
)
_TIE = re.compile(r"\btie\b|\bties\b|\btied\b|\bdraw\b", re.I)
_OVERTIME = re.compile(r"overtime|extra (?:time|innings)|shootout", re.I)


def _postponement(text: str) -> str:
    if not _POSTPONE.search(text):
        return "unspecified"
    if _FIFTY.search(text):
        return "50-50"
    if _RESOLVE_NO.search(text):
        return "resolves no"
    if _VOID.search(text):
        return "void/refund"
    if _RESCHEDULE.search(text):
        return "waits for rescheduled game"
    return "mentioned"


def _mentions(rx: re.Pattern[str], text: str) -> bool:
    return bool(rx.search(text))


def compare_rules(kalshi: str, poly: str) -> RulesCheck:
    """Both texts and the list of differences that matter (empty when they agree)."""
    diffs: list[str] = []
    pk, pp = _postponement(kalshi), _postponement(poly)
    if pk != pp:
        diffs.append(f"postponement: kalshi {pk}, polymarket {pp}")
    fk, fp = _mentions(_FIFTY, kalshi), _mentions(_FIFTY, poly)
    if fk != fp and "postponement" not in " ".join(diffs):
        diffs.append(
            f"50-50 settlement: kalshi {'yes' if fk else 'no'}, polymarket {'yes' if fp else 'no'}"
        )
    tk, tp = _mentions(_TIE, kalshi), _mentions(_TIE, poly)
    if tk != tp:
        diffs.append(f"tie handling stated by {'kalshi' if tk else 'polymarket'} only")
    ok, op = _mentions(_OVERTIME, kalshi), _mentions(_OVERTIME, poly)
    if ok != op:
        diffs.append(f"overtime stated by {'kalshi' if ok else 'polymarket'} only")
    return RulesCheck(kalshi=kalshi, poly=poly, differences=tuple(diffs))
