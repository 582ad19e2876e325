"""The ``python -m worker`` command line.

    python -m worker                       the worker: migrate, engine, Tornado server
    python -m worker supervise             the worker, restarted when it exits (Procfile)
    python -m worker dashboard ARGS…       panel serve ARGS… behind the login (Procfile)
    python -m worker dashboard-password    where the dashboard's password is (never it)
    python -m worker migrate               create/upgrade the database schema
    python -m worker import-trades FILE    backfill the trade log from a JSON-lines file
    python -m worker match …               match markets across venues (scanner)
    python -m worker paper-exchange        the local paper exchange
    python -m worker snapshot --out DIR    write the paper world's listings
    python -m worker run --duration S      headless paper trading run
    python -m worker record --out DIR      record every venue's listings and books (Parquet)
    python -m worker books                 our books against each venue's cash (exit 0 agree)
    python -m worker notify-test           one test message to each EXECUTOR_NOTIFY_URLS target
    python -m worker replay DIR --out R    replay a recording through the engine; report in R
    python -m worker legging DIR           refresh the legging risk estimates from a recording and our fills
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "serve": "worker.cli.serve",
    "supervise": "worker.cli.supervise",
    "dashboard": "worker.cli.dashboard",
    "dashboard-password": "worker.cli.dashboard_password",
    "migrate": "worker.cli.migrate",
    "import-trades": "worker.cli.import_trades",
    "match": "worker.cli.match",
    "paper-exchange": "worker.cli.paper_exchange",
    "snapshot": "worker.cli.snapshot",
    "run": "worker.cli.run",
    "record": "worker.cli.record",
    "books": "worker.cli.books",
    "notify-test": "worker.cli.notify_test",
    "replay": "worker.cli.replay",
    "legging": "worker.cli.legging",
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    command, rest = ("serve", args) if not args or args[0].startswith("-") else (args[0], args[1:])
    module_name = COMMANDS.get(command)
    if module_name is None:
        print(f"unknown command {command!r}; commands: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        print(f"{command}: not available in this build", file=sys.stderr)
        return 2
    result: int = module.main(rest)
    return result


if __name__ == "__main__":
    sys.exit(main())
