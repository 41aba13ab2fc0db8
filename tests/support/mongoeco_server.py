"""Run a mongoeco wire server until SIGTERM. Runs under .venv-mongoeco (Python 3.13), not NEXON's venv.

    python mongoeco_server.py PORT_FILE [--port N] [--sqlite PATH]

Writes {"port": N} to PORT_FILE once it accepts connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port_file", type=Path)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--sqlite", type=Path)
    args = parser.parse_args()

    from mongoeco.wire import AsyncMongoEcoProxyServer

    engine = None
    if args.sqlite is not None:
        from mongoeco.engines.sqlite import SQLiteEngine

        engine = SQLiteEngine(str(args.sqlite))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with AsyncMongoEcoProxyServer(engine=engine, host="127.0.0.1", port=args.port) as server:
        tmp = args.port_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"port": server.address.port}))
        tmp.replace(args.port_file)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
