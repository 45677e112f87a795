"""The job queue: Redis streams with a consumer group, one connection pool per process."""

from __future__ import annotations

import json
from dataclasses import dataclass

import redis.asyncio as redis

STREAM = "jobs"
GROUP = "workers"


@dataclass
class Job:
    id: str
    kind: str
    payload: dict
    timeout: float = 60.0


class JobQueue:
    def __init__(self, url: str, consumer: str, max_connections: int = 4):
        self.pool = redis.BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=None)
        self.redis = redis.Redis(connection_pool=self.pool)
        self.consumer = consumer

    async def get(self) -> Job:
        while True:
            entries = await self.redis.xreadgroup(GROUP, self.consumer, {STREAM: ">"}, count=1, block=5000)
            for _stream, messages in entries or []:
                for msg_id, fields in messages:
                    data = json.loads(fields[b"data"])
                    return Job(msg_id.decode(), data["kind"], data["payload"], data.get("timeout", 60.0))

    async def ack(self, job: Job, result: dict) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(STREAM, GROUP, job.id)
            pipe.hset("results", job.id, json.dumps(result))
            await pipe.execute()

    async def nack(self, job: Job, error: str) -> None:
        await self.redis.hset("errors", job.id, error)
        await self.redis.xack(STREAM, GROUP, job.id)
        await self.redis.xadd("dead-letter", {"id": job.id, "error": error})

    async def report(self, stats: dict) -> None:
        await self.redis.hset("pool-stats", self.consumer, json.dumps(stats))
