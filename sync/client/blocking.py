"""A transport for a process that runs one sync round and nothing else (`diary sync`): the round's
requests go over httpx's blocking client, which spares the command the async network stack."""

from __future__ import annotations

import ssl

import httpx


class BlockingTransport(httpx.AsyncBaseTransport):
    """Each request sent by a blocking `httpx.Client` (the same proxies from the environment, the
    same errors) while the round awaits it. Nothing else runs in the process meanwhile, so nothing
    waits on the event loop; what it spares is the import of anyio's asyncio backend, which an
    async request loads (~30 ms, a tenth of the command). The app keeps the async transport."""

    def __init__(self, verify: ssl.SSLContext | bool):
        self.client = httpx.Client(verify=verify)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        got = self.client.send(request, stream=True)
        try:
            raw = b"".join(got.iter_raw())  # as sent: the async client decodes it (content-encoding) as usual
        finally:
            got.close()
        return httpx.Response(got.status_code, headers=got.headers, content=raw)

    async def aclose(self) -> None:
        self.client.close()
