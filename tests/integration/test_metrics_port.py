"""/metrics has a port of its own in webhook mode: never on the public webhook port unless asked."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp

from tests.cluster import BotProcess, Cluster, metric, metrics_of


async def public_metrics(process: BotProcess) -> int:
    """The status of GET /metrics on the process's PORT (the one Telegram reaches)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{process.port}/metrics") as response,
    ):
        return response.status


async def reachable(host: str, port: int) -> bool:
    """Whether a TCP connection to host:port is accepted."""
    try:
        _reader, writer = await asyncio.open_connection(host, port)
    except OSError:
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


async def test_metrics_are_on_metrics_port_and_the_webhook_port_answers_404(
    cluster: Cluster,
) -> None:
    web, worker = await cluster.start_all("web", "worker")
    for process in (web, worker):
        assert await public_metrics(process) == 404
        assert metric(await metrics_of(process), "queue_length") == 0

    # 127.0.0.2 is this machine too, but not the address METRICS_HOST binds by default.
    assert await reachable("127.0.0.2", web.port), "the public port listens everywhere"
    assert not await reachable("127.0.0.2", web.metrics_port), "/metrics only on 127.0.0.1"


async def test_metrics_on_the_webhook_port_when_asked(cluster: Cluster) -> None:
    (web,) = await cluster.start_all("run", METRICS_ON_WEBHOOK_PORT="true")
    assert await public_metrics(web) == 200
    assert metric(await metrics_of(web), "queue_length") == 0
