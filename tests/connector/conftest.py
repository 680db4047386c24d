"""Fixtures of the connector's tests: a fake DN on loopback, intake served over HTTP in this event
loop (the connector talks to it as it does in production), and a sync pass wired like the service's."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest

from aap_contract.config import load_call
from aap_platform.clock import set_clock
from services.connector.client import DnClient
from services.connector.cursor import Cursors
from services.connector.handlers import Handlers
from services.connector.intake import IntakeClient
from services.connector.settings import ConnectorSettings, IntakeToken
from services.connector.sync import Sync
from tests.conftest import CALL
from tests.connector.fake_dn import TOKEN, FakeDN, serve

HDF = load_call(CALL)


@pytest.fixture
async def dn():
    fake = FakeDN(HDF)
    async with serve(fake) as url:
        fake.url = url
        yield fake


@pytest.fixture
async def intake(settings, nc):
    """Intake over HTTP; `intake.clock(at)` moves the simulated clock and waits until intake saw it."""
    from services.intake.app import create_app

    app = create_app(settings)
    async with serve(app) as url:

        async def clock(at: str) -> None:
            revision = await set_clock(nc.jetstream(), CALL, datetime.fromisoformat(at))
            for _ in range(500):
                if app.state.runtime.clock.revision >= revision:
                    return
                await asyncio.sleep(0.01)
            raise AssertionError("intake never saw the clock move")

        app.state.url, app.state.clock = url, clock
        yield app


@pytest.fixture
def connector_settings(keys, intake, dn):
    return ConnectorSettings(
        dn_url=dn.url + "/api/v2/graphql",
        dn_token=TOKEN,
        intake_url=intake.state.url,
        intake_token=None,
        private_key=keys[0],
    )


@pytest.fixture
async def make_sync(store, nc, connector_settings):
    """make_sync(**client_options) -> a Sync as a fresh connector process would build it."""
    clients = []

    def make(**options) -> Sync:
        options.setdefault("requests_per_minute", 60_000)
        client = DnClient(connector_settings.dn_url, TOKEN, **options)
        intake = IntakeClient(connector_settings.intake_url, IntakeToken(connector_settings))
        clients.extend([client, intake])
        handlers = Handlers(lambda: store, HDF, lambda: datetime.now().astimezone(), lambda: client)
        return Sync(HDF, client, intake, handlers, Cursors(nc.jetstream(), CALL))

    yield make
    for c in clients:
        await c.close()
