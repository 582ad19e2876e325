"""The exchange over real HTTP and WebSocket: wire shapes, signatures, faults."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import websockets
from cryptography.hazmat.primitives.asymmetric import rsa
from eth_account import Account
from eth_account.messages import encode_typed_data

from paper_exchange.faults import FaultSpec
from paper_exchange.polymarket.auth import POLY_EXCHANGES, order_typed_data
from tests.paper_exchange.conftest import Paper, start_paper, stop_paper


def game3(p: Paper):  # type: ignore[no-untyped-def]
    return next(g for g in p.state.exchange.world.games(p.clock.now()) if len(g.venues) == 3)


async def test_kalshi_events_nest_markets_with_dollar_strings(paper: Paper) -> None:
    r = await paper.http.get("/kalshi/trade-api/v2/events", params={"series_ticker": "KXNBAGAME", "with_nested_markets": "true", "status": "open"})
    assert r.status_code == 200
    ev = r.json()["events"][0]
    m = ev["markets"][0]
    assert ev["event_ticker"].startswith("KXNBAGAME-") and m["ticker"].startswith(ev["event_ticker"] + "-")
    assert Decimal(m["yes_bid_dollars"]) < Decimal(m["yes_ask_dollars"])
    ob = (await paper.http.get(f"/kalshi/trade-api/v2/markets/{m['ticker']}/orderbook")).json()["orderbook_fp"]
    yes = [Decimal(p) for p, _ in ob["yes_dollars"]]
    assert yes == sorted(yes)  # best last
    assert Decimal(m["yes_ask_dollars"]) == 1 - Decimal(ob["no_dollars"][-1][0])


async def test_kalshi_order_with_valid_signature_fills_and_is_found_by_client_id(paper: Paper) -> None:
    g = game3(paper)
    ticker = g.kalshi_ticker(True)
    ask = Decimal((await paper.http.get(f"/kalshi/trade-api/v2/markets/{ticker}")).json()["market"]["yes_ask_dollars"])
    body = {"ticker": ticker, "side": "bid", "count": "3.00", "price": str(ask), "time_in_force": "fill_or_kill", "client_order_id": "cid-1"}
    r = await paper.kalshi("POST", "/portfolio/events/orders", body)
    assert r.status_code == 201, r.text
    assert r.json()["fill_count"] == "3.00"
    again = await paper.kalshi("POST", "/portfolio/events/orders", body)
    assert again.status_code == 409  # the retry never trades twice
    found = (await paper.kalshi("GET", "/portfolio/orders?client_order_id=cid-1")).json()["orders"]
    assert [o["order_id"] for o in found] == [r.json()["order_id"]]
    pos = (await paper.kalshi("GET", "/portfolio/positions")).json()["market_positions"]
    assert pos[0]["position_fp"] == "3.00"
    bal = (await paper.kalshi("GET", "/portfolio/balance")).json()
    assert bal["balance"] < 100000


async def test_kalshi_rejects_a_signature_from_the_wrong_key(paper: Paper) -> None:
    wrong = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = "/kalshi/trade-api/v2/portfolio/balance"
    signed = "/trade-api/v2/portfolio/balance"  # what the real venue verifies
    r = await paper.http.get(path, headers=paper.kalshi_headers("GET", signed, key=wrong))
    assert r.status_code == 401
    assert (await paper.http.get(path)).status_code == 401
    ok = await paper.http.get(path, headers=paper.kalshi_headers("GET", signed))
    assert ok.status_code == 200
    # Signing the paper URL's own path (prefix included) would fail on the real venue.
    prefixed = await paper.http.get(path, headers=paper.kalshi_headers("GET", path))
    assert prefixed.status_code == 401


async def test_polymarket_us_signature_checked_and_short_buys_hit_the_bids(paper: Paper) -> None:
    g = game3(paper)
    slug = g.pmus_winner_slug
    bad = await paper.http.get("/polymarket-us/v1/account/balances",
                               headers=paper.pmus_headers("GET", "/v1/account/balances", seed=b"\x01" * 32))
    assert bad.status_code == 401
    book = (await paper.http.get(f"/polymarket-us/v1/markets/{slug}/book")).json()["marketData"]
    best_bid = Decimal(book["bids"][0]["px"]["value"])
    r = await paper.pmus("POST", "/v1/orders", {"marketSlug": slug, "intent": "ORDER_INTENT_BUY_SHORT", "type": "ORDER_TYPE_LIMIT",
                                               "price": {"value": str(best_bid), "currency": "USD"}, "quantity": 4,
                                               "tif": "TIME_IN_FORCE_FILL_OR_KILL"})
    assert r.status_code == 200, r.text
    ex = r.json()["executions"]
    # Prices are the long side's whatever the intent (docs.polymarket.us Orders overview).
    assert Decimal(ex[0]["lastPx"]["value"]) == best_bid and ex[0]["lastShares"] == "4.00"
    bal = (await paper.pmus("GET", "/v1/account/balances")).json()["balances"][0]
    assert Decimal(str(bal["currentBalance"])) < 1000 - 4 * (1 - best_bid) + Decimal("0.001")
    pos = (await paper.pmus("GET", "/v1/portfolio/positions")).json()["positions"]
    assert pos[slug]["netPosition"] == "-4"
    order = (await paper.pmus("GET", f"/v1/order/{r.json()['id']}")).json()["order"]
    assert order["state"] == "ORDER_STATE_FILLED"


def signed_poly_order(p: Paper, token: str, price: Decimal, size: int, side: str = "BUY", key: str | None = None) -> dict:  # type: ignore[type-arg]
    creds = p.state.creds
    acct = Account.from_key(key or creds.poly_private_key)
    usdc, shares = int(price * size * 10**6), size * 10**6
    order = {"salt": 12345, "maker": acct.address, "signer": acct.address, "tokenId": token,
             "makerAmount": str(usdc if side == "BUY" else shares), "takerAmount": str(shares if side == "BUY" else usdc),
             "side": side, "signatureType": 0, "timestamp": "1764428400000", "expiration": "0",
             "metadata": "0x" + "00" * 32, "builder": "0x" + "00" * 32}
    typed = order_typed_data(order, POLY_EXCHANGES[0])
    order["signature"] = "0x" + acct.sign_message(encode_typed_data(full_message=typed)).signature.hex().removeprefix("0x")
    return {"deferExec": False, "order": order, "orderType": "FOK", "owner": creds.poly_api_key}


async def post_poly(p: Paper, payload: dict) -> httpx.Response:  # type: ignore[type-arg]
    body = json.dumps(payload, separators=(",", ":"))
    return await p.http.post("/polymarket/clob/order", content=body, headers=p.poly_headers("POST", "/order", body))


async def test_polymarket_order_signed_by_the_key_fills_and_is_looked_up_by_hash(paper: Paper) -> None:
    g = game3(paper)
    token = g.token_ids("moneyline")[1]
    book = (await paper.http.get("/polymarket/clob/book", params={"token_id": token})).json()
    ask = Decimal(book["asks"][-1]["price"])
    r = await post_poly(paper, signed_poly_order(paper, token, ask, 10))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] and body["status"] == "matched" and body["orderID"].startswith("0x")
    path = f"/data/order/{body['orderID']}"
    looked = await paper.http.get(f"/polymarket/clob{path}", headers=paper.poly_headers("GET", path))
    assert looked.json()["size_matched"] == "10.00"
    from polymarket.models.clob.account import BalanceAllowance, OpenOrder
    OpenOrder.model_validate(looked.json())
    bal = await paper.http.get("/polymarket/clob/balance-allowance?asset_type=COLLATERAL",
                               headers=paper.poly_headers("GET", "/balance-allowance"))
    assert BalanceAllowance.model_validate(bal.json()).balance < 1000 * 10**6


async def test_polymarket_order_signed_by_another_key_is_rejected(paper: Paper) -> None:
    g = game3(paper)
    token = g.token_ids("moneyline")[0]
    other = Account.create()
    payload = signed_poly_order(paper, token, Decimal("0.50"), 10, key="0x" + bytes(other.key).hex())
    payload["order"]["signer"] = paper.state.creds.poly_address  # claims to be us
    r = await post_poly(paper, payload)
    assert r.status_code == 400 and r.json()["success"] is False
    bad_hmac = await paper.http.post("/polymarket/clob/order", json=payload,
                                     headers=paper.poly_headers("POST", "/order", "{}"))
    assert bad_hmac.status_code == 401


async def test_gamma_events_validate_with_the_official_sdk_models(paper: Paper) -> None:
    from polymarket.models.clob.order_book import OrderBook
    from polymarket.models.gamma.event import Event

    events = (await paper.http.get("/polymarket/gamma/events", params={"closed": "false", "tag_slug": "nhl"})).json()
    assert events
    parsed = [Event.model_validate(e) for e in events]
    assert all(len(e.markets or ()) == 3 for e in parsed)
    raw = events[0]["markets"][0]
    assert json.loads(raw["outcomes"]) == events[0]["title"].split(" vs. ")
    token = json.loads(raw["clobTokenIds"])[0]
    book = (await paper.http.get("/polymarket/clob/book", params={"token_id": token})).json()
    OrderBook.model_validate(book)


async def test_kalshi_websocket_snapshot_then_deltas_keep_the_book(paper: Paper) -> None:
    g = game3(paper)
    ticker = g.kalshi_ticker(True)
    path = "/kalshi/trade-api/ws/v2"
    async with websockets.connect(f"ws://127.0.0.1:{paper.server.port}{path}",
                                  additional_headers=paper.kalshi_headers("GET", "/trade-api/ws/v2")) as ws:
        await ws.send(json.dumps({"id": 1, "cmd": "subscribe", "params": {"channels": ["orderbook_delta"], "market_tickers": [ticker]}}))
        assert json.loads(await ws.recv())["type"] == "subscribed"
        snap = json.loads(await ws.recv())
        assert snap["type"] == "orderbook_snapshot" and snap["seq"] == 1
        book = {("yes", p): Decimal(s) for p, s in snap["msg"]["yes_dollars_fp"]}
        book |= {("no", p): Decimal(s) for p, s in snap["msg"]["no_dollars_fp"]}
        await paper.clock.advance(30)
        paper.server.step()
        seq = 1
        while True:
            try:
                raw = await __import__("asyncio").wait_for(ws.recv(), 0.5)
            except TimeoutError:
                break
            m = json.loads(raw)
            assert m["seq"] == seq + 1
            seq = m["seq"]
            k = (m["msg"]["side"], m["msg"]["price_dollars"])
            book[k] = book.get(k, Decimal(0)) + Decimal(m["msg"]["delta_fp"])
        assert seq > 1
        ob = (await paper.http.get(f"/kalshi/trade-api/v2/markets/{ticker}/orderbook")).json()["orderbook_fp"]
        rest = {("yes", p): Decimal(s) for p, s in ob["yes_dollars"]} | {("no", p): Decimal(s) for p, s in ob["no_dollars"]}
        assert {k: v for k, v in book.items() if v} == rest


async def test_websocket_disconnect_fault_leaves_a_sequence_gap(tmp_path: Path) -> None:
    p = await start_paper(tmp_path, FaultSpec(disconnect=1.0))
    try:
        g = game3(p)
        path = "/kalshi/trade-api/ws/v2"
        async with websockets.connect(f"ws://127.0.0.1:{p.server.port}{path}",
                                      additional_headers=p.kalshi_headers("GET", "/trade-api/ws/v2")) as ws:
            await ws.send(json.dumps({"id": 1, "cmd": "subscribe", "params": {"channels": ["orderbook_delta"], "market_tickers": [g.kalshi_ticker(True), g.kalshi_ticker(False)]}}))
            msgs = [json.loads(await ws.recv()) for _ in range(3)]
            assert [m["type"] for m in msgs] == ["subscribed", "orderbook_snapshot", "orderbook_snapshot"]
            await p.clock.advance(30)
            p.server.step()
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    m = json.loads(await ws.recv())
                    assert m["seq"] > 2  # the dropped delta left a gap before this one
    finally:
        await stop_paper(p)


@pytest.mark.parametrize("fault", ["reject", "timeout_filled", "timeout_unfilled"])
async def test_order_faults(tmp_path: Path, fault: str) -> None:
    p = await start_paper(tmp_path, FaultSpec(**{fault: 1.0, "hang": 0.0}))
    try:
        g = game3(p)
        ticker = g.kalshi_ticker(True)
        ask = Decimal((await p.http.get(f"/kalshi/trade-api/v2/markets/{ticker}")).json()["market"]["yes_ask_dollars"])
        body = {"ticker": ticker, "side": "bid", "count": "2", "price": str(ask), "time_in_force": "fill_or_kill", "client_order_id": f"c-{fault}"}
        if fault == "reject":
            r = await p.kalshi("POST", "/portfolio/events/orders", body)
            assert r.status_code == 503
        else:
            with pytest.raises(httpx.TransportError):
                await p.kalshi("POST", "/portfolio/events/orders", body)
        p.state.faults.spec = FaultSpec()  # look-ups are not faulted
        found = (await p.kalshi("GET", f"/portfolio/orders?client_order_id=c-{fault}")).json()["orders"]
        if fault == "timeout_filled":
            assert len(found) == 1 and found[0]["fill_count_fp"] == "2.00"
        else:
            assert found == []
    finally:
        await stop_paper(p)


async def test_snapshot_cli_writes_the_three_venue_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from worker.cli.snapshot import main

    monkeypatch.setenv("EXECUTOR_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "snap"
    assert main(["--out", str(out), "--seed", "3"]) == 0
    kalshi = json.loads((out / "kalshi_events.json").read_text())
    gamma = json.loads((out / "polymarket_events.json").read_text())
    pmus = json.loads((out / "polymarket_us_events.json").read_text())
    assert len(kalshi["events"]) >= 30 and kalshi["events"][0]["markets"][0]["yes_bid_dollars"]
    assert isinstance(gamma, list) and isinstance(gamma[0]["markets"][0]["clobTokenIds"], str)
    assert pmus["events"][0]["markets"][0]["slug"].startswith("aec-")
