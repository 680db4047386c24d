"""Plays a whole scenario: against a fresh System in a temporary folder (the default), or
against a running one (`Target`). Every step is played between two quiescent states, and the
outcome is read from the services' APIs once the last step is processed."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from aap.scenario import outcome
from aap.scenario.loader import Scenario
from aap.scenario.player import Player, Tokens
from aap.scenario.sync import Quiescence, connect
from aap.system import System
from aap_contract.config import ConfigError, load_call
from aap_platform.natsauth import find_credentials

PAGE_SIZE = 100
# A fresh system is a sandbox: mails go to its own outbox folder, never to a configured server.
SANDBOX_ENV = {"AAP_SMTP_HOST": "", "AAP_OUTBOX_DIR": ""}


@dataclass(frozen=True)
class Target:
    """A running system: its NATS, each service's base URL, the key that signs its tokens."""

    nats_url: str
    urls: dict[str, str]
    private_key: Path


class RunError(RuntimeError):
    """The scenario could not be played to its end (not a mismatch: a broken run)."""


# Called once every step is played and processed: (HTTP client, target, player, step index).
AfterStep = Callable[[httpx.AsyncClient, Target, Player, int], Awaitable[None]]


async def run(
    scenario: Scenario, target: Target | None = None, timeout: float = 30.0, after_step: AfterStep | None = None
) -> dict[str, Any]:
    try:
        load_call(scenario.call)
    except ConfigError as exc:
        raise RunError(f"call {scenario.call!r}: {exc}") from None
    if target is not None:
        try:
            return await play(scenario, target, timeout, after_step)
        except RunError:
            raise
        except Exception as exc:
            raise RunError(f"{type(exc).__name__}: {exc}") from exc
    folder = Path(tempfile.mkdtemp(prefix="aap-scenario-"))
    system = System(folder, call=scenario.call, free_ports=True, env=SANDBOX_ENV)
    try:
        await system.start()
        assert system.nats_url is not None and system.private_key is not None
        result = await play(scenario, Target(system.nats_url, system.urls, system.private_key), timeout, after_step)
    except Exception as exc:
        dead = "".join(f"\nservice {p.name} has exited; see {p.log_path}\n{p.tail()}" for p in system.dead())
        raise RunError(f"{exc}{dead}\n(logs kept in {folder / 'logs'})") from exc
    finally:
        await system.stop()
    shutil.rmtree(folder, ignore_errors=True)
    return result


async def play(
    scenario: Scenario, target: Target, timeout: float = 30.0, after_step: AfterStep | None = None
) -> dict[str, Any]:
    call_id = load_call(scenario.call).id
    # The runner moves the clock and reads the stream's last sequence: the `clock` identity.
    nc = await connect(target.nats_url, find_credentials(target.private_key.parent.parent, "clock"))
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            sync = Quiescence(client, target.urls, nc.jetstream(), call_id, timeout=timeout)
            player = Player(client, target.urls, Tokens(target.private_key))
            results = []
            for step in scenario.steps:
                await sync.move_clock(step.at)
                await sync.settle()
                results.append(await player.play(step))
                await sync.settle()
                if after_step is not None:
                    await after_step(client, target, player, len(results) - 1)
            return await read_outcome(client, target.urls, player, results)
    finally:
        await nc.close()


async def read_outcome(
    client: httpx.AsyncClient, urls: dict[str, str], player: Player, results: list[outcome.StepResult]
) -> dict[str, Any]:
    reader = player.tokens.header("admin", "scenario-reader")

    async def get(url: str, **params) -> dict:
        response = await client.get(url, headers=reader, params=params)
        if not response.is_success:
            raise RunError(f"GET {url} answered {response.status_code}: {response.text[:300]}")
        return response.json()

    items: list[dict] = []
    page = 1
    while True:
        listing = await get(f"{urls['intake']}/dossiers", page=page, page_size=PAGE_SIZE)
        items.extend(listing.get("items", []))
        if not listing.get("items") or len(items) >= listing.get("total", 0):
            break
        page += 1
    return outcome.build(
        results,
        player.refs,
        items,
        await get(f"{urls['budget']}/budget"),
        await get(f"{urls['notifier']}/notifications"),
        await get(f"{urls['notifier']}/laureates"),
    )
