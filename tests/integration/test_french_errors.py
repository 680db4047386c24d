"""Litestar's own answers said in French: an unknown address, a wrong method, a path parameter
of the wrong type, unreadable JSON (issue 17: no English in what a user reads)."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from services.committee.app import create_app


async def test_the_frameworks_answers_are_in_french(settings, token):
    auth = {"Authorization": f"Bearer {token('admin')}"}
    async with AsyncTestClient(create_app(settings)) as client:
        missing = await client.get("/nowhere", headers=auth)
        assert missing.status_code == 404 and missing.json()["detail"] == "adresse inconnue"
        wrong = await client.delete("/sessions", headers=auth)
        assert wrong.status_code == 405 and "méthode non autorisée" in wrong.json()["detail"]
        typed = await client.get("/sessions/abc", headers=auth)
        assert typed.status_code in (400, 404) and "Validation failed" not in typed.text
        body = await client.post("/sessions/1/reviews", content=b'{"dossier_id":', headers=auth)
        assert body.status_code == 422 and "tronqué" in body.text and "truncated" not in body.text
