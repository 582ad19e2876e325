"""``python -m worker paper-exchange``: run the paper exchange on 127.0.0.1.

Reads ``EXECUTOR_DATA_DIR``, ``EXECUTOR_SEED``, ``EXECUTOR_PAPER_PORT``,
``EXECUTOR_PAPER_BALANCES``, ``EXECUTOR_PAPER_FAULTS`` (through ``worker.config``) and
``EXECUTOR_PAPER_LATENCY_MS`` (default 15); ``EXECUTOR_PAPER_CONTROL=1`` turns the
``/paper/admin`` control endpoints on (tests and scripts; ``make run`` leaves them off).
Stops cleanly on SIGTERM / SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from paper_exchange.app import PaperServer
from paper_exchange.credentials import credentials_path
from paper_exchange.faults import parse_faults
from paper_exchange.state import build_state
from worker.config import ConfigError, load_config

log = logging.getLogger("worker.paper")


async def serve(args: argparse.Namespace) -> int:
    config = load_config()
    seed = args.seed if args.seed is not None else config.seed
    port = args.port if args.port is not None else config.paper_port
    faults = parse_faults(os.environ.get("EXECUTOR_PAPER_FAULTS"))
    latency = int(os.environ.get("EXECUTOR_PAPER_LATENCY_MS", "15"))
    state = build_state(config.data_dir, seed, config.paper_balances, faults, latency_ms=latency)
    server = PaperServer(state, port)
    bound = await server.start()
    log.info(
        "paper exchange on http://127.0.0.1:%s (seed %s, faults %s, control endpoints %s, credentials %s)",
        bound, seed, os.environ.get("EXECUTOR_PAPER_FAULTS") or "none",
        "on" if state.control else "off", credentials_path(config.data_dir),
    )
    print(f"paper exchange listening on http://127.0.0.1:{bound}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()
    state.exchange.store.close()
    log.info("paper exchange stopped")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m worker paper-exchange")
    parser.add_argument("--port", type=int, default=None, help="override EXECUTOR_PAPER_PORT (0 = any)")
    parser.add_argument("--seed", type=int, default=None, help="override EXECUTOR_SEED")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        return asyncio.run(serve(args))
    except (ConfigError, ValueError) as exc:
        print(f"paper-exchange: {exc}", file=sys.stderr)
        return 2
