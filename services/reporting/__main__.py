"""python -m services.reporting [serve | rebuild]

serve (the default) runs the reporting API, its projections, the monthly recap and the gauges.
rebuild re-projects every event from the producers' logs into fresh tables and swaps them in.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from services.reporting.app import create_app
from shared.service import configure_logging, serve
from shared.settings import Settings


def main(argv: list[str]) -> int:
    """Run the command line."""
    parser = argparse.ArgumentParser(prog="python -m services.reporting")
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the service (default)")
    commands.add_parser("rebuild", help="rebuild the read model from the event logs")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "rebuild":
        from services.reporting.rebuild import rebuild

        configure_logging(settings)
        report = asyncio.run(rebuild(settings, progress=True))
        print(
            f"Rebuilt {report.cases} cases from {report.events} events in {report.seconds:.1f} s "
            f"({report.caught_up} more caught up under the swap lock)."
        )
        return 0
    serve(create_app(settings), settings, "reporting")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
