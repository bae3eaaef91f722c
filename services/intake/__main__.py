"""python -m services.intake: serve the intake API, its writer and its relay.

python -m services.intake import FILE ...: import an old complaint register (--help).
python -m services.intake index-mentions: index the identifiers in texts stored before they
were indexed on arrival (once, after the upgrade that brought it).
"""

from __future__ import annotations

import sys

from services.intake.app import create_app
from shared.service import serve
from shared.settings import Settings

if __name__ == "__main__":
    if sys.argv[1:2] == ["import"]:
        from services.intake.register.cli import main

        sys.exit(main(sys.argv[2:]))
    if sys.argv[1:2] == ["index-mentions"]:
        from services.intake import mentions

        sys.exit(mentions.main())
    settings = Settings()
    serve(create_app(settings), settings, "intake")
