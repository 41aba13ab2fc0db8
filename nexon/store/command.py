"""`nexon store gc`: collect what killed uploads left behind, in whichever store NEXON_STORE names."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from nexon.config import Settings, redact_uri
from nexon.errors import NexonError
from nexon.executor import BlockingExecutor
from nexon.store.factory import open_store


def add_store_parser(sub: Any) -> None:
    store = sub.add_parser("store", help="model store maintenance").add_subparsers(dest="action", required=True)
    gc = store.add_parser("gc", help="remove orphan bytes of killed uploads (never those of running ones)")
    gc.add_argument("--store", help="model store URI (env NEXON_STORE or NEXON_MONGO_URI; default file://./nexon-data)")


async def _gc(settings: Settings) -> int:
    executor = BlockingExecutor(2)
    try:
        store = await open_store(settings, executor)
        try:
            return await store.gc()
        finally:
            await store.close()
    finally:
        executor.shutdown()


def run_store_command(args: argparse.Namespace) -> int:
    settings = Settings.from_env(store_uri=args.store)
    try:
        removed = asyncio.run(_gc(settings))
    except NexonError as exc:
        print(f"nexon: store gc on {redact_uri(settings.store_uri)} failed: {exc.message}", file=sys.stderr)
        return 1
    print(f"removed {removed} orphan(s) from {redact_uri(settings.store_uri)}")
    return 0
