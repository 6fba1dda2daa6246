"""PostgreSQL connections for the event loop: the consent check asks its one query without a
thread (`Database.afetchall`). Handing each check to a thread and back cost more than the query,
and with dozens of threads waiting on the interpreter's lock the answers' tail grew to hundreds
of milliseconds (docs/benchmarks.md).

The pool belongs to the loop that opened it: an app's lifespan opens it and closes it on its
own loop (api/app.py). Asked from any other loop, or before it is open, the query runs in a
thread on the ordinary pool, as before.
"""

from __future__ import annotations

import asyncio
from typing import Any

from projections.storage.database import Params


class LoopPool:
    def __init__(self, conninfo: str, options: dict[str, Any], schema: str | None,
                 size: int, check_after_idle: float) -> None:
        self.conninfo, self.options, self.schema = conninfo, options, schema
        self.size, self.check_after_idle = size, check_after_idle
        self._pool: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def open(self) -> None:
        from psycopg_pool import AsyncConnectionPool

        from projections.storage.postgres import due_for_a_check

        schema, idle = self.schema, self.check_after_idle

        async def configure(conn: Any) -> None:
            if schema:
                await conn.execute(f'SET search_path TO "{schema}"')

        async def check(conn: Any) -> None:
            # As the ordinary pool (postgres.py check_when_idle), with no `reset` either.
            if due_for_a_check(conn, idle):
                await AsyncConnectionPool.check_connection(conn)

        pool = AsyncConnectionPool(
            self.conninfo, min_size=1, max_size=self.size, kwargs=self.options,
            configure=configure, check=check, open=False, timeout=10,
        )
        await pool.open()
        self._pool, self._loop = pool, asyncio.get_running_loop()

    def usable(self) -> bool:
        try:
            return self._pool is not None and asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    async def fetchall(self, sql: str, params: Params) -> list[tuple[Any, ...]]:
        async with self._pool.connection() as conn:
            cursor = await conn.execute(sql, tuple(params))
            return list(await cursor.fetchall())

    async def close(self) -> None:
        pool, self._pool, self._loop = self._pool, None, None
        if pool is not None:
            await pool.close()
