"""The connector in `make bench`: a first sync of 1 000 dossiers (with their PDFs) from the local
fake Démarche Numérique of the tests, into intake run as its own process, paced at DN's limit;
then a sync with nothing new. `python -m bench.connector [n]` runs it alone.

The pacing allows `requests_per_minute` GraphQL requests a minute, 100 dossiers each: that is the
bound the first sync is compared with; files are downloaded concurrently outside that budget
(DN serves them from its object storage, not from the rate-limited API)."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from aap.system import System
from aap_contract.config import load_call
from aap_platform.natsauth import connect_as, find_credentials
from aap_platform.signing import Signer, events_key_dir, private_key_file
from aap_platform.store import EventStore
from services.connector.client import DnClient
from services.connector.cursor import Cursors
from services.connector.handlers import Handlers
from services.connector.intake import IntakeClient
from services.connector.settings import ConnectorSettings, IntakeToken
from services.connector.sync import Sync
from tests.connector.fake_dn import TOKEN, FakeDN, serve


async def run(n: int, folder: Path) -> dict:
    call = load_call()
    assert call.connector is not None
    rpm = call.connector.requests_per_minute
    dn = FakeDN(call)
    for i in range(n):
        dn.add("standard" if i % 4 else "innovation_lab", 4_100_000 + i)
    async with serve(dn) as url, System(folder, free_ports=True, services=("intake",)) as system:
        dn.url = url
        # the connector's own identity and event key, as its process has them (the bus is closed)
        nc = await connect_as(system.nats_url, find_credentials(system.data_dir, "connector"))
        signer = Signer.from_file("connector", private_key_file(events_key_dir(system.data_dir), "connector"))
        own = ConnectorSettings(url + "/api/v2/graphql", TOKEN, system.urls["intake"], None, system.private_key)
        client = DnClient(own.dn_url, TOKEN, requests_per_minute=rpm)
        intake = IntakeClient(own.intake_url, IntakeToken(own))
        store = EventStore(nc.jetstream(), call.id, service="connector", signer=signer)
        handlers = Handlers(lambda: store, call, lambda: datetime.now().astimezone(), lambda: client)
        sync = Sync(call, client, intake, handlers, Cursors(nc.jetstream(), call.id))
        try:
            started = time.perf_counter()
            first = await sync.run_once()
            seconds = time.perf_counter() - started
            requests = dn.graphql_requests
            last = await store.last_sequence()
            second = await sync.run_once()
            appended = await store.last_sequence() - last
        finally:
            await client.close()
            await intake.close()
            await nc.close()
    assert first.submitted == n and not first.failed, first.french()
    return {
        "dossiers": n,
        "seconds": round(seconds, 2),
        "dossiers_per_second": round(n / seconds, 1),
        "graphql_requests": requests,
        "files": len(dn.files),
        "pacing_requests_per_minute": rpm,
        "pacing_bound_dossiers_per_second": round(rpm / 60 * 100, 1),
        "nothing_new_requests": dn.graphql_requests - requests,
        "nothing_new_appended": appended,
        "demarches": len(call.connector.demarches),
        "second_pass_imported": second.submitted,
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory(prefix="aap-bench-connector-") as tmp:
        print(asyncio.run(run(n, Path(tmp))))


if __name__ == "__main__":
    main()
