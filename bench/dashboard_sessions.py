"""50 concurrent dashboard sessions at 10 updates/s: no trade event lost, latency held.

    python bench/dashboard_sessions.py [--sessions 50] [--rate 10] [--seconds 20] [--browsers 2]
        [--warmup S] [--same-process] [--dump FILE]

``--sessions`` sessions of ``/executor`` are driven by ``bokeh.client`` (each a real Bokeh
session with its own server-side document, as a browser tab has, and each sending the
``document_ready`` event BokehJS sends once a page is rendered), in a process of their
own (``--same-process``: in this one, sharing the GIL with the worker's loop), while
``--browsers`` real Chromium pages measure event → DOM latency at the same time.

Event mix: the worker publishes one ``trade_event`` (a SUCCESS trade-log row, as the
executor writes after a hedge) every 1/``--rate`` s on its real bus, and nothing else, so
each event changes the trade log of every page (and today's stats, which the dashboard
re-reads from ``/api/status`` after a burst). Every session must receive every trade row
(collected from what its server-side document sends it: the trade log's row messages).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import re
import threading
import time
from typing import Any

import panel.models  # noqa: F401  (registers Panel's Bokeh models so client sessions can decode pages)
from bokeh.client import pull_session
from bokeh.events import DocumentReady
from dashboard_common import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TRADES_TABLE,
    WATCH_TRADES_JS,
    cpu_report,
    cpu_sample,
    publish_trade,
    running_stack,
    summary,
)
from playwright.sync_api import sync_playwright
from tornado.ioloop import IOLoop


# Panel sends an HTML pane's markup HTML-escaped inside the Div's text.
def register_page_models() -> None:
    """Create the page's custom component models here too, so client sessions can decode them."""
    from bokeh.document import Document

    from dashboard.views.keyed import KeyedList
    from dashboard.views.live_html import LiveHTML

    for component in (KeyedList, LiveHTML):
        component().get_root(Document())


ROW = re.compile(r"data-id=(?:\\?\"|&quot;)(ses-\d+)")

# Where the time goes: stamps (Date.now()) when the page's Bokeh WebSocket first carries
# each trade id, before Bokeh applies the patch; the DOM stamp is WATCH_TRADES_JS's.
WS_ARRIVAL_JS = """
window.__wsSeen = {};
const NativeWS = window.WebSocket;
window.WebSocket = function (...args) {
  const ws = new NativeWS(...args);
  ws.addEventListener('message', (ev) => {
    if (typeof ev.data !== 'string') return;
    const now = Date.now();
    for (const m of ev.data.matchAll(/ses-\\d+/g)) if (!(m[0] in window.__wsSeen)) window.__wsSeen[m[0]] = now;
  });
  return ws;
};
window.WebSocket.prototype = NativeWS.prototype;
Object.assign(window.WebSocket, NativeWS);
"""


def drive_sessions(base: str, n: int, total: int, timeout_s: float, connected: Any, done: Any) -> tuple[float, list[int]]:
    """Connect ``n`` bokeh.client sessions to ``/executor``, set ``connected``, then read
    until every session has seen all ``total`` trade rows (or ``timeout_s`` passes).
    Returns the connection time and, per session, how many rows it missed."""
    register_page_models()
    loop = IOLoop()
    seen: list[set[str]] = []
    sessions = []
    t0 = time.perf_counter()
    for _ in range(n):
        s = pull_session(url=base + "/executor", io_loop=loop)
        ids: set[str] = set()

        def on_change(event, ids=ids):  # type: ignore[no-untyped-def]
            new = getattr(event, "new", None)  # a property patch (an HTML pane)
            if isinstance(new, str) and "ses-" in new:
                ids.update(ROW.findall(new))

        def on_message(msg, ids=ids):  # type: ignore[no-untyped-def]
            # A component's message: the trade log's rows (``KeyedList.apply``).
            data = getattr(msg, "data", None)
            text = data if isinstance(data, str) else json.dumps(data, default=str)  # KeyedList sends JSON text
            if "ses-" in text:
                ids.update(ROW.findall(text))

        s.document.on_change(on_change)
        s.document.on_message("bokeh_event", on_message)
        # What BokehJS sends once a browser has rendered the page: Panel applies model
        # changes of a session at once only after it (before, each one is deferred to a
        # callback of its own), so a session that never sends it loads the server more
        # than any browser tab does.
        s.document.callbacks.send_event(DocumentReady())
        seen.append(ids)
        sessions.append(s)
    connect_s = time.perf_counter() - t0
    async def read(connection: Any) -> None:
        # pull_session stops reading once connected; keep every session reading. Not
        # through bokeh.client's own loop: it recurses once per message, so a session
        # that received a few hundred messages died of RecursionError and its rows
        # counted as lost.
        while (message := await connection._pop_message()) is not None:
            if message.msgtype == "PATCH-DOC":
                connection._session._handle_patch(message)

    for s in sessions:
        loop.add_callback(read, s._connection)
    connected.set()
    deadline = time.perf_counter() + timeout_s

    async def until_all_seen() -> None:
        import asyncio

        while time.perf_counter() < deadline:
            if done.is_set() and all(len(ids) >= total for ids in seen):
                return
            await asyncio.sleep(0.05)

    loop.run_sync(until_all_seen, timeout=timeout_s + 10)
    lost = [total - len(ids) for ids in seen]
    for s in sessions:
        s.close()
    loop.close()
    return connect_s, lost


def _sessions_process(base: str, n: int, total: int, timeout_s: float, connected: Any, done: Any, out: Any) -> None:
    out.put(drive_sessions(base, n, total, timeout_s, connected, done))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--browsers", type=int, default=2)
    ap.add_argument("--warmup", type=float, default=0.0,
                    help="publish at the same rate for this many seconds before the measured events (steady state: "
                         "the heap has stopped growing after the sessions connected)")
    ap.add_argument("--dump", help="write each event's latency per page (JSON, in publishing order) to this file")
    ap.add_argument("--same-process", action="store_true",
                    help="run the bokeh.client sessions in this process (sharing the GIL with the worker's loop)")
    args = ap.parse_args()
    args.clients_process = not args.same_process
    total = int(args.rate * args.seconds)
    # bokeh.client sessions cannot send the login cookie: this bench serves without it.
    with running_stack(login=False) as (worker, base, dashboard_pid):
        # Chromium pages measuring latency while the sessions run (own thread: own loop).
        browser_ready = threading.Event()
        done = threading.Event()
        results: dict[str, list[float]] = {}
        sent: dict[str, float] = {}

        def browsers() -> None:
            with sync_playwright() as pw:
                b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                pages = []
                for _ in range(args.browsers):
                    page = b.new_page(viewport={"width": 1280, "height": 800})
                    page.add_init_script(WS_ARRIVAL_JS)
                    page.goto(base + "/executor")
                    page.locator(TRADES_TABLE).wait_for(timeout=60_000)
                    page.locator(".conn[data-status=live]").wait_for(timeout=60_000)
                    page.evaluate(WATCH_TRADES_JS)
                    pages.append(page)
                browser_ready.set()
                done.wait()
                for n, page in enumerate(pages):
                    page.wait_for_function(
                        f"Object.keys(window.__seen).filter(k => k.startsWith('ses-')).length >= {total}", timeout=60_000)
                    stamps = page.evaluate("window.__seen")
                    results[f"chromium-{n}"] = [stamps[k] - t for k, t in sent.items() if k in stamps]
                    arrived = page.evaluate("window.__wsSeen")
                    results[f"chromium-{n} (split) event → page's WebSocket"] = [
                        arrived[k] - t for k, t in sent.items() if k in arrived]
                    results[f"chromium-{n} (split) WebSocket → DOM"] = [
                        stamps[k] - arrived[k] for k in sent if k in arrived and k in stamps]
                b.close()

        bt = threading.Thread(target=browsers, daemon=True)
        bt.start()
        browser_ready.wait(120)

        timeout_s = args.seconds + args.warmup + 30
        if args.clients_process:
            # The load (50 sessions decoding every patch) in its own process, as remote
            # browsers would be, not sharing this process's GIL with the worker's loop.
            ctx = multiprocessing.get_context("spawn")
            connected, done_mp, out = ctx.Event(), ctx.Event(), ctx.Queue()
            proc = ctx.Process(target=_sessions_process,
                               args=(base, args.sessions, total, timeout_s, connected, done_mp, out), daemon=True)
            proc.start()
            connected.wait(180)
        else:
            connected, done_mp = threading.Event(), done
            holder: dict[str, Any] = {}
            runner = threading.Thread(target=lambda: holder.update(r=drive_sessions(
                base, args.sessions, total, timeout_s, connected, done)), daemon=True)
            runner.start()
            connected.wait(180)

        cpu: dict[str, Any] = {}

        def publisher() -> None:
            warm = int(args.rate * args.warmup)
            start = time.perf_counter()
            for i in range(warm + total):
                if i == warm:
                    cpu["before"], cpu["t0"] = cpu_sample(dashboard_pid), time.perf_counter()
                target = start + i / args.rate
                delay = target - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)  # pacing the publishing rate, not waiting for a result
                if i < warm:  # the same load, not measured (no "ses-" id)
                    publish_trade(worker, i, "warm")
                    continue
                sent[f"ses-{i - warm}"] = time.time() * 1000
                publish_trade(worker, i - warm, "ses")
            cpu["after"], cpu["t1"] = cpu_sample(dashboard_pid), time.perf_counter()
            done.set()
            done_mp.set()

        pub = threading.Thread(target=publisher, daemon=True)
        pub.start()
        if args.clients_process:
            connect_s, lost = out.get(timeout=timeout_s + 60)
            proc.join(30)
        else:
            runner.join(timeout_s + 60)
            connect_s, lost = holder["r"]
        bt.join(90)
    print(f"{args.sessions} bokeh.client sessions connected in {connect_s:.1f} s")
    if args.warmup:
        print(f"after {args.warmup:g} s of the same load, not measured")
    print(f"{total} trade events at {args.rate}/s; per session received: min={total - max(lost)} max={total - min(lost)}")
    print(f"trade events lost: {sum(lost)} (sessions with a loss: {sum(1 for x in lost if x)})")
    print("while the measured events were published: " + cpu_report(
        cpu["before"], cpu["after"], cpu["t1"] - cpu["t0"], "the dashboard's process"))
    if args.dump:
        with open(args.dump, "w") as f:
            json.dump(results, f)
    for name, lat in results.items():
        label = name if "(split)" in name else f"{name} event → DOM latency during the run"
        print(f"{label}: {summary(lat)}")


if __name__ == "__main__":
    main()
