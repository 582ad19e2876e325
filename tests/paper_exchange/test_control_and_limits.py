"""What the exchange refuses, and that a refusal changes nothing: the control switch, the
local-and-JSON-only rule of ``/paper/admin`` and ``/paper/redeem``, field checks, the 1 MiB
body limit (answered from the headers, before the body is read) and bounded order sizes on
each venue's order route."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data

from paper_exchange.faults import FaultSpec
from paper_exchange.polymarket.auth import POLY_EXCHANGES, order_typed_data
from paper_exchange.state import build_state
from tests.paper_exchange.conftest import Paper, start_paper, stop_paper

MIB = 1024 * 1024
JSON = {"Content-Type": "application/json"}


@pytest.fixture
async def control(tmp_path: Path) -> AsyncIterator[Paper]:
    """An exchange started with the control endpoints on (``EXECUTOR_PAPER_CONTROL=1``)."""
    p = await start_paper(tmp_path, control=True)
    yield p
    await stop_paper(p)


def game3(p: Paper):  # type: ignore[no-untyped-def]
    return next(g for g in p.state.exchange.world.games(p.clock.now()) if len(g.venues) == 3)


def snapshot(p: Paper) -> dict[str, Any]:
    """Everything a refused request must leave as it was."""
    ex, f = p.state.exchange, p.state.faults
    return {
        "resolved": ex.store.resolved_games(),
        "balances": {v: ex.store.balance(v) for v in ("kalshi", "polymarket", "polymarket_us")},
        "orders": [o.order_id for o in ex.store.orders()],
        "placed": p.state.orders_placed,
        "faults": (list(f.scripted_orders), list(f.scripted_reads), list(f.scripted_streams), f.hang),
        "pinned": dict(ex._pinned),
    }


async def raw_request(p: Paper, head: str, body: bytes = b"") -> tuple[int, dict[str, Any] | None]:
    """Send a request by hand (headers, then only ``body``) and read the answer: the
    status and its JSON body, or None when the server answered without one."""
    reader, writer = await asyncio.open_connection("127.0.0.1", p.server.port)
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(65536), 10)
    finally:
        writer.close()
    status = int(raw.split(b" ", 2)[1])
    _, _, payload = raw.partition(b"\r\n\r\n")
    return status, (json.loads(payload) if payload else None)


# -- the control switch -----------------------------------------------------------------------
async def test_control_endpoints_are_refused_unless_the_exchange_was_started_with_them(paper: Paper) -> None:
    g = game3(paper)
    before = snapshot(paper)
    calls = [
        ("POST", "/paper/admin/resolve", {"index": g.index, "outcome": "home"}),
        ("POST", "/paper/admin/faults", {"orders": ["reject"]}),
        ("POST", "/paper/admin/balance", {"venue": "kalshi", "amount": "5"}),
        ("POST", "/paper/admin/book", {"instrument": g.kalshi_ticker(True), "bids": [["0.4", "10"]], "asks": []}),
        ("GET", "/paper/admin/book?instrument=" + g.kalshi_ticker(True), None),
        ("GET", "/paper/admin/orders", None),
    ]
    for method, path, body in calls:
        r = await paper.http.request(method, path, json=body)
        assert r.status_code == 404, (path, r.text)
        assert "EXECUTOR_PAPER_CONTROL=1" in r.json()["error"]
    assert snapshot(paper) == before
    assert paper.state.exchange.store.resolution(g.index) is None


@pytest.mark.parametrize(("value", "on"), [("1", True), ("", False), ("0", False), ("true", False), (None, False)])
def test_the_switch_is_read_from_executor_paper_control(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str | None, on: bool
) -> None:
    if value is None:
        monkeypatch.delenv("EXECUTOR_PAPER_CONTROL", raising=False)
    else:
        monkeypatch.setenv("EXECUTOR_PAPER_CONTROL", value)
    state = build_state(tmp_path, 1, {"kalshi": Decimal(1)})
    try:
        assert state.control is on
    finally:
        state.exchange.store.close()


async def test_resolve_settles_the_game_once(control: Paper) -> None:
    g = game3(control)
    ticker = g.kalshi_ticker(True)  # YES pays when the home team wins
    ask = Decimal((await control.http.get(f"/kalshi/trade-api/v2/markets/{ticker}")).json()["market"]["yes_ask_dollars"])
    bought = await control.kalshi("POST", "/portfolio/events/orders", {
        "ticker": ticker, "side": "bid", "count": "2", "price": str(ask), "time_in_force": "fill_or_kill"})
    assert bought.status_code == 201, bought.text
    cash = control.state.exchange.store.balance("kalshi")

    r = await control.http.post("/paper/admin/resolve", json={"index": g.index, "outcome": "home"})
    assert r.status_code == 200, r.text
    assert r.json() == {"resolved": g.game_id, "index": g.index, "home_settlement": "1", "already": False}
    assert control.state.exchange.store.resolution(g.index) == Decimal(1)
    # Two home YES contracts pay $1 each.
    assert control.state.exchange.store.balance("kalshi") == cash + 2

    again = await control.http.post("/paper/admin/resolve", json={"index": g.index, "outcome": "home"})
    assert again.status_code == 200 and again.json()["already"] is True
    other = await control.http.post("/paper/admin/resolve", json={"index": g.index, "outcome": "away"})
    assert other.status_code == 409 and "already resolved" in other.json()["error"]
    assert control.state.exchange.store.resolution(g.index) == Decimal(1)
    assert control.state.exchange.store.balance("kalshi") == cash + 2


# -- from this machine, as JSON -----------------------------------------------------------------
@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonp"])
async def test_control_post_without_a_json_content_type_is_415(control: Paper, content_type: str | None) -> None:
    g = game3(control)
    before = snapshot(control)
    headers = {} if content_type is None else {"Content-Type": content_type}
    body = json.dumps({"index": g.index, "outcome": "home"})
    r = await control.http.post("/paper/admin/resolve", content=body, headers=headers)
    assert r.status_code == 415, r.text
    assert "application/json" in r.json()["error"]
    assert snapshot(control) == before
    red = await control.http.post("/paper/redeem", content="{}", headers=headers)
    assert red.status_code == 415


async def test_json_content_type_with_parameters_is_accepted(control: Paper) -> None:
    g = game3(control)
    r = await control.http.post("/paper/admin/resolve", content=json.dumps({"index": g.index, "outcome": "away"}),
                                headers={"Content-Type": "Application/JSON; charset=utf-8"})
    assert r.status_code == 200, r.text
    assert control.state.exchange.store.resolution(g.index) == Decimal(0)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8780", "127.0.0.1.evil.example",
                                  "localhost.evil.example:80", "10.0.0.5:8780", "[::2]:8780", "127.0.0.2"])
async def test_control_from_a_non_loopback_host_is_403(control: Paper, host: str) -> None:
    g = game3(control)
    before = snapshot(control)
    r = await control.http.post("/paper/admin/resolve", json={"index": g.index, "outcome": "home"},
                                headers={"Host": host})
    assert r.status_code == 403, r.text
    assert "Host" in r.json()["error"]
    assert (await control.http.post("/paper/admin/faults", json={"orders": ["reject"]}, headers={"Host": host})).status_code == 403
    assert (await control.http.post("/paper/redeem", json={}, headers={"Host": host})).status_code == 403
    assert snapshot(control) == before


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost:1234", "LOCALHOST", "[::1]:8780", "[::1]"])
async def test_loopback_host_names_are_accepted(control: Paper, host: str) -> None:
    r = await control.http.post("/paper/admin/faults", json={"reads": [429]}, headers={"Host": host})
    assert r.status_code == 200, r.text
    assert list(control.state.faults.scripted_reads) == [429]


async def test_a_request_without_a_host_header_is_403(control: Paper) -> None:
    g = game3(control)
    body = json.dumps({"index": g.index, "outcome": "home"}).encode()
    status, payload = await raw_request(
        control, f"POST /paper/admin/resolve HTTP/1.0\nContent-Type: application/json\nContent-Length: {len(body)}\n", body)
    assert status == 403 and payload is not None and "Host" in payload["error"]
    assert control.state.exchange.store.resolution(g.index) is None


# -- every field checked, nothing changed on a refusal ----------------------------------------
async def test_resolve_bad_input_is_400_and_changes_nothing(control: Paper) -> None:
    g = game3(control)
    known = len(control.state.exchange.world.all_games())
    before = snapshot(control)
    bad: list[tuple[Any, str]] = [
        ({"index": -1, "outcome": "home"}, "known game"),
        ({"index": known, "outcome": "home"}, "known game"),
        ({"index": 10**12, "outcome": "home"}, "known game"),
        ({"index": str(g.index), "outcome": "home"}, "integer"),
        ({"index": True, "outcome": "home"}, "integer"),
        ({"index": 1.0, "outcome": "home"}, "integer"),
        ({"outcome": "home"}, "integer"),
        ({"index": g.index, "outcome": "tie"}, "home, away, cancelled"),
        ({"index": g.index, "outcome": "draw"}, "no soccer game"),  # a draw only ends a soccer game
        ({"index": g.index, "outcome": "HOME"}, "home, away, cancelled"),
        ({"index": g.index}, "home, away, cancelled"),
        ({"index": g.index, "outcome": "home", "force": True}, "unknown field"),
        ([g.index, "home"], "JSON object"),
    ]
    for body, message in bad:
        r = await control.http.post("/paper/admin/resolve", json=body)
        assert r.status_code == 400, (body, r.text)
        assert message in r.json()["error"], (body, r.json())
    for text in ("{", '{"index": NaN, "outcome": "home"}', '{"index": 1' + "0" * 5000 + ', "outcome": "home"}'):
        r = await control.http.post("/paper/admin/resolve", content=text, headers=JSON)
        assert r.status_code == 400 and "not valid JSON" in r.json()["error"], text[:40]
    assert snapshot(control) == before
    # The world was not extended to reach an absurd index either.
    assert len(control.state.exchange.world.all_games()) == known


async def test_fault_script_bad_input_is_400_and_queues_nothing(control: Paper) -> None:
    before = snapshot(control)
    for body in [
        {"orders": ["explode"]},
        {"orders": ["reject"], "reads": [200]},  # a good entry does not get queued alone
        {"orders": ["reject"], "reads": ["429"]},
        {"reads": [True]},
        {"streams": ["disconnect", "melt"]},
        {"orders": "reject"},
        {"hang": -1},
        {"hang": 601},
        {"hang": "NaN"},
        {"hang": "1e309"},
        {"orders": ["reject"] * 1001},
        {"clear": "yes"},
        {"order": ["reject"]},
    ]:
        r = await control.http.post("/paper/admin/faults", json=body)
        assert r.status_code == 400, (body, r.text)
    r = await control.http.post("/paper/admin/faults", content='{"hang": 1e309}', headers=JSON)
    assert r.status_code == 400
    assert snapshot(control) == before
    ok = await control.http.post("/paper/admin/faults", json={"orders": ["reject"], "reads": [503], "hang": 1.5})
    assert ok.json() == {"orders": ["reject"], "reads": [503], "streams": [], "hang": 1.5}


async def test_balance_and_book_bad_input_is_400_and_changes_nothing(control: Paper) -> None:
    g = game3(control)
    ticker = g.kalshi_ticker(True)
    before = snapshot(control)
    for body in [
        {"venue": "nyse", "amount": "5"},
        {"venue": "kalshi", "amount": "-1"},
        {"venue": "kalshi", "amount": "1e309"},
        {"venue": "kalshi", "amount": "NaN"},
        {"venue": "kalshi", "amount": "Infinity"},
        {"venue": "kalshi", "amount": "0.0000001"},
        {"venue": "kalshi", "amount": "1000000000001"},
        {"venue": "kalshi"},
        {"venue": "kalshi", "amount": True},
    ]:
        r = await control.http.post("/paper/admin/balance", json=body)
        assert r.status_code == 400, (body, r.text)
    for body in [
        {"instrument": "NOPE", "bids": [], "asks": []},
        {"bids": [], "asks": []},
        {"instrument": ticker, "bids": [["1.5", "10"]], "asks": []},
        {"instrument": ticker, "bids": [["0", "10"]], "asks": []},
        {"instrument": ticker, "bids": [["0.40", "0"]], "asks": []},
        {"instrument": ticker, "bids": [["0.40", "1e309"]], "asks": []},
        {"instrument": ticker, "bids": [["0.40", "2000000"]], "asks": []},
        {"instrument": ticker, "bids": [["0.40"]], "asks": []},
        {"instrument": ticker, "bids": "0.40", "asks": []},
        {"instrument": ticker, "bids": [["0.40", "10"]], "asks": [["0.45", "-3"]]},  # bids fine, asks not
        {"instrument": ticker, "clear": 1},
    ]:
        r = await control.http.post("/paper/admin/book", json=body)
        assert r.status_code == 400, (body, r.text)
    assert (await control.http.get("/paper/admin/book", params={"instrument": "NOPE"})).status_code == 400
    assert (await control.http.get("/paper/admin/orders", params={"venue": "nyse"})).status_code == 400
    assert snapshot(control) == before
    ok = await control.http.post("/paper/admin/balance", json={"venue": "polymarket", "amount": "250.123456"})
    assert ok.json() == {"venue": "polymarket", "balance": "250.123456"}


async def test_redeem_checks_its_body(control: Paper) -> None:
    before = snapshot(control)
    for body in [{"condition_id": 5}, {"condition_id": "0xnot-a-market"}, {"conditionId": "x"}, ["x"]]:
        r = await control.http.post("/paper/redeem", json=body)
        assert r.status_code == 400, (body, r.text)
    assert snapshot(control) == before
    ok = await control.http.post("/paper/redeem", json={})
    assert ok.status_code == 200 and ok.json()["redeemed"] == []


async def test_redeem_stays_on_without_the_control_switch(paper: Paper) -> None:
    r = await paper.http.post("/paper/redeem", json={})
    assert r.status_code == 200, r.text


# -- the body limit ---------------------------------------------------------------------------
async def test_an_oversized_body_is_413_from_the_headers_alone(control: Paper) -> None:
    g = game3(control)
    before = snapshot(control)
    head = (f"POST /paper/admin/resolve HTTP/1.1\nHost: 127.0.0.1:{control.server.port}\n"
            f"Content-Type: application/json\nContent-Length: {2 * MIB}\n")
    # Only the start of the body is sent: the answer cannot have waited for the rest.
    start = json.dumps({"index": g.index, "outcome": "home", "pad": ""}).encode()[:-2]
    status, payload = await raw_request(control, head, start)
    assert status == 413
    assert payload == {"error": f"request body exceeds {MIB} bytes"}
    assert snapshot(control) == before


async def test_a_body_of_exactly_the_limit_is_read(control: Paper) -> None:
    # Under the limit the body is read and parsed: here it is refused for its extra field.
    g = game3(control)
    text = json.dumps({"index": g.index, "outcome": "home", "pad": ""})
    body = text[:-2] + "x" * (MIB - len(text)) + '"}'
    assert len(body) == MIB
    r = await control.http.post("/paper/admin/resolve", content=body, headers=JSON)
    assert r.status_code == 400 and "unknown field(s) pad" in r.json()["error"]


async def test_a_chunked_body_over_the_limit_is_cut_off(control: Paper) -> None:
    g = game3(control)
    before = snapshot(control)
    chunk = b"x" * 65536
    body = b"".join(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" for _ in range(20)) + b"0\r\n\r\n"
    head = (f"POST /paper/admin/resolve HTTP/1.1\nHost: 127.0.0.1:{control.server.port}\n"
            "Content-Type: application/json\nTransfer-Encoding: chunked\n")
    status, _ = await raw_request(control, head, body)
    assert status == 400  # the HTTP server's own refusal, the connection closed
    assert snapshot(control) == before
    assert control.state.exchange.store.resolution(g.index) is None


async def test_an_oversized_order_is_refused_before_the_body_and_never_placed(control: Paper) -> None:
    before = snapshot(control)
    port = control.server.port
    path = "/kalshi/trade-api/v2/portfolio/events/orders"
    signed = control.kalshi_headers("POST", "/trade-api/v2/portfolio/events/orders")
    auth = "".join(f"{k}: {v}\n" for k, v in signed.items())
    head = f"POST {path} HTTP/1.1\nHost: 127.0.0.1:{port}\nContent-Type: application/json\nContent-Length: {2 * MIB}\n"
    # Not signed: refused on its headers (401), the size does not get it further.
    status, payload = await raw_request(control, head, b"{")
    assert status == 401 and payload is not None and payload["error"]["code"] == "authentication_error"
    # Signed: 413 in Kalshi's error shape, still before the body.
    status, payload = await raw_request(control, head + auth, b"{")
    assert status == 413
    assert payload == {"error": {"code": "request_too_large", "message": f"request body exceeds {MIB} bytes"}}
    # Polymarket CLOB and Polymarket US likewise refuse an unsigned oversized order on its
    # headers, and every venue's cancel too.
    for method, venue_path in (("POST", "/polymarket/clob/order"), ("DELETE", "/polymarket/clob/order"),
                               ("POST", "/polymarket-us/v1/orders"), ("POST", "/polymarket-us/v1/order/x/cancel"),
                               ("DELETE", "/kalshi/trade-api/v2/portfolio/orders/x")):
        head = f"{method} {venue_path} HTTP/1.1\nHost: 127.0.0.1:{port}\nContent-Type: application/json\nContent-Length: {2 * MIB}\n"
        status, _ = await raw_request(control, head, b"{")
        assert status == 401, venue_path
    # Signed cancels get as far as the size check.
    cancel = "/trade-api/v2/portfolio/orders/x"
    signed = "".join(f"{k}: {v}\n" for k, v in control.kalshi_headers("DELETE", cancel).items())
    head = f"DELETE /kalshi{cancel} HTTP/1.1\nHost: 127.0.0.1:{port}\nContent-Length: {2 * MIB}\n"
    assert (await raw_request(control, head + signed, b"{"))[0] == 413
    signed = "".join(f"{k}: {v}\n" for k, v in control.pmus_headers("POST", "/v1/order/x/cancel").items())
    head = f"POST /polymarket-us/v1/order/x/cancel HTTP/1.1\nHost: 127.0.0.1:{port}\nContent-Length: {2 * MIB}\n"
    assert (await raw_request(control, head + signed, b"{"))[0] == 413
    assert snapshot(control) == before


# -- bounded order sizes, prices ---------------------------------------------------------------
BAD_SIZES = ['"1e309"', "1e309", "NaN", "Infinity", '"-5"', "-5", "0", '"10.001"', "2000000", '"Infinity"', '"sNaN"', "true"]


@pytest.mark.parametrize("count", BAD_SIZES)
async def test_kalshi_order_count_out_of_bounds_is_400(control: Paper, count: str) -> None:
    g = game3(control)
    ticker = g.kalshi_ticker(True)
    before = snapshot(control)
    text = f'{{"ticker": "{ticker}", "side": "bid", "count": {count}, "price": "0.50", "time_in_force": "fill_or_kill"}}'
    path = "/kalshi/trade-api/v2/portfolio/events/orders"
    r = await control.http.post(path, content=text, headers={**JSON, **control.kalshi_headers("POST", path.removeprefix("/kalshi"))})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "bad_request"
    assert snapshot(control) == before


@pytest.mark.parametrize("price", ['"1e309"', "NaN", '"-0.5"', '"1"', '"0.55555"', '"0"', "1.5"])
async def test_kalshi_order_price_out_of_bounds_is_400(control: Paper, price: str) -> None:
    g = game3(control)
    before = snapshot(control)
    text = f'{{"ticker": "{g.kalshi_ticker(True)}", "side": "bid", "count": "2", "price": {price}, "time_in_force": "fill_or_kill"}}'
    path = "/kalshi/trade-api/v2/portfolio/events/orders"
    r = await control.http.post(path, content=text, headers={**JSON, **control.kalshi_headers("POST", path.removeprefix("/kalshi"))})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "bad_request"
    assert snapshot(control) == before


@pytest.mark.parametrize("quantity", BAD_SIZES)
async def test_polymarket_us_order_quantity_out_of_bounds_is_400(control: Paper, quantity: str) -> None:
    g = game3(control)
    before = snapshot(control)
    text = (f'{{"marketSlug": "{g.pmus_winner_slug}", "intent": "ORDER_INTENT_BUY_LONG", "quantity": {quantity},'
            ' "price": {"value": "0.5000", "currency": "USD"}, "tif": "TIME_IN_FORCE_FILL_OR_KILL"}')
    r = await control.http.post("/polymarket-us/v1/orders", content=text,
                                headers={**JSON, **control.pmus_headers("POST", "/v1/orders")})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == 400 and r.json()["message"]
    assert snapshot(control) == before


def poly_order(p: Paper, token: str, maker: str, taker: str, sign: bool) -> dict[str, Any]:
    creds = p.state.creds
    acct = Account.from_key(creds.poly_private_key)
    order: dict[str, Any] = {
        "salt": 7, "maker": acct.address, "signer": acct.address, "tokenId": token,
        "makerAmount": maker, "takerAmount": taker, "side": "BUY", "signatureType": 0,
        "timestamp": "1764428400000", "expiration": "0", "metadata": "0x" + "00" * 32, "builder": "0x" + "00" * 32,
        "signature": "0x" + "11" * 65,
    }
    if sign:
        typed = order_typed_data(order, POLY_EXCHANGES[0])
        order["signature"] = "0x" + acct.sign_message(encode_typed_data(full_message=typed)).signature.hex().removeprefix("0x")
    return {"deferExec": False, "order": order, "orderType": "FOK", "owner": creds.poly_api_key}


@pytest.mark.parametrize(("maker", "taker", "sign"), [
    ("1000000000000", "2000000000000", True),   # 2,000,000 shares: signed, over the bound
    ("2000000", "1000000", True),               # a price of 2
    ("0", "5000000", True),
    ("1e309", "5000000", False),
    ("NaN", "5000000", False),
    ("-2500000", "5000000", False),
    ("2500000.5", "5000000", False),
])
async def test_polymarket_order_amounts_out_of_bounds_are_400(control: Paper, maker: str, taker: str, sign: bool) -> None:
    g = game3(control)
    before = snapshot(control)
    payload = poly_order(control, g.token_ids("moneyline")[0], maker, taker, sign)
    body = json.dumps(payload, separators=(",", ":"))
    r = await control.http.post("/polymarket/clob/order", content=body,
                                headers={**JSON, **control.poly_headers("POST", "/order", body)})
    assert r.status_code == 400, r.text
    assert r.json()["success"] is False and r.json()["errorMsg"]
    assert snapshot(control) == before


async def test_bad_paging_and_list_arguments_are_400_not_500(paper: Paper) -> None:
    for path in ("/kalshi/trade-api/v2/events?limit=abc", "/kalshi/trade-api/v2/markets?cursor=-5",
                 "/polymarket/gamma/events?offset=x", "/polymarket-us/v1/markets?limit=-1"):
        r = await paper.http.get(path)
        assert r.status_code == 400, (path, r.text)
    for body in (["x"], {"token_id": "x"}, [{"token_id": "x"}] * 501):
        r = await paper.http.post("/polymarket/clob/books", json=body)
        assert r.status_code == 400, (body, r.text)


async def test_faults_are_still_scripted_per_order_after_the_checks(tmp_path: Path) -> None:
    # The pre-body signature check did not move the order fault: a scripted reject still
    # answers the next (valid) order with 503 and places nothing.
    p = await start_paper(tmp_path, FaultSpec(), control=True)
    try:
        await p.http.post("/paper/admin/faults", json={"orders": ["reject"]})
        g = game3(p)
        r = await p.kalshi("POST", "/portfolio/events/orders", {
            "ticker": g.kalshi_ticker(True), "side": "bid", "count": "2", "price": "0.50", "time_in_force": "fill_or_kill"})
        assert r.status_code == 503
        assert p.state.exchange.store.orders() == []
    finally:
        await stop_paper(p)


async def test_httpx_sees_the_413(control: Paper) -> None:
    """An ordinary client sending the whole oversized body gets the 413 (or, if the
    server closed before the upload ended, a transport error) — never a 2xx."""
    g = game3(control)
    before = snapshot(control)
    text = json.dumps({"index": g.index, "outcome": "home", "pad": "x" * (2 * MIB)})
    try:
        r = await control.http.post("/paper/admin/resolve", content=text, headers=JSON)
    except httpx.TransportError:
        pass
    else:
        assert r.status_code == 413
    assert snapshot(control) == before


async def test_an_answer_given_before_the_body_says_the_connection_closes(control: Paper) -> None:
    """Refusals made from the headers (a scripted read fault, a bad signature, a
    disabled route) close the connection and say so, so a pooled client never sends its
    next request on a closing connection: many in a row on one client all get answers."""
    g = game3(control)
    ticker = g.kalshi_ticker(True)
    market = f"/kalshi/trade-api/v2/markets/{ticker}"
    for _ in range(25):
        await control.http.post("/paper/admin/faults", json={"reads": [429]})
        refused = await control.http.get(market)
        assert refused.status_code == 429 and refused.headers["Connection"] == "close"
        served = await control.http.get(market)
        assert served.status_code == 200 and "Connection" not in served.headers
        unsigned = await control.http.post("/kalshi/trade-api/v2/portfolio/events/orders", json={})
        assert unsigned.status_code == 401 and unsigned.headers["Connection"] == "close"
