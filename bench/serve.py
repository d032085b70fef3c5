"""Run the hub (with limits opened up for load) or the floor app on 127.0.0.1: `serve.py hub|floor DB PORT`."""

from __future__ import annotations

import sys
from pathlib import Path

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    kind, db, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if kind == "hub":
        from sync.hub.app import create_app
        from sync.hub.limits import Limits

        # The load comes from 50 tokens far faster than any device: keep the limiter on, but wide.
        app = create_app(db, limits=Limits(per_token_rate=1e6, per_token_burst=10**6, enroll_rate=1e6, enroll_burst=10**6,
                                           unknown_rate=1e6, unknown_burst=10**6))
        from sync.hub.server import config

        # Served as `diary hub serve` serves it: the connection guard and uvicorn's limits on.
        uvicorn.Server(config(app, "127.0.0.1", port, log_level="warning", access_log=False)).run()
        return
    else:
        from floor_app import create_floor_app

        app = create_floor_app(db)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
