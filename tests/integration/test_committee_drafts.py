"""Programmation drafts over HTTP against a real nats-server: proposed from the ranking, edited,
compared, adopted one decision at a time; each line judged by the committee's own decider."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from services.committee.app import create_app
from tests.integration.test_committee_api import caught_up, client, clock, code, seed_full_call  # noqa: F401

OPEN = "2021-05-20T10:00:00+02:00"


async def review(client, auth, ref: str, member: str, score: int) -> None:
    body = {
        "dossier_id": ref,
        "member_id": member,
        "scores": {"diagnosis": score, "co_construction": score, "roadmap": score, "free_software": None},
    }
    r = await client.post("/sessions/1/reviews", json=body, headers=auth("committee_member", member, member_id=member))
    assert r.status_code == 201, r.text


async def test_a_draft_is_proposed_edited_compared_and_adopted(client, store, auth, settings):
    await seed_full_call(store)
    await clock(client, store, OPEN)
    await review(client, auth, "SVI", "referent-regional-1", 3)
    await review(client, auth, "ETAT-CIVIL", "referent-regional-1", 2)
    await review(client, auth, "FORMATION", "referent-regional-1", 1)
    secretariat, reader = auth("instructor", "secretariat"), auth("auditor")

    proposed = await client.post(
        "/sessions/1/drafts", json={"name": "Proposition", "propose": True}, headers=secretariat
    )
    assert proposed.status_code == 201, proposed.text
    p = proposed.json()
    # greedy by mean score; each the most the call allows: the request, within 50-100 % of the cost
    assert [(line["dossier_id"], line["granted_cents"]) for line in p["lines"]] == [
        ("SVI", 5_000_000),
        ("ETAT-CIVIL", 4_500_000),
        ("FORMATION", 1_500_000),
        ("PORTAIL", 9_000_000),
    ]
    assert p["refused"] == 0 and p["total_cents"] == 20_000_000
    assert p["remaining_cents"] == p["available_cents"] - 20_000_000
    assert p["by_departement"] == {"80": 5_000_000, "59": 4_500_000, "60": 1_500_000, "62": 9_000_000}

    capped = (
        await client.post(
            "/sessions/1/drafts",
            headers=secretariat,
            json={"name": "Plafond", "propose": True, "departement_cap_cents": 4_000_000},
        )
    ).json()
    assert [line["dossier_id"] for line in capped["lines"]] == ["FORMATION"]  # the others exceed 40 000 €

    manual = await client.post(
        "/sessions/1/drafts",
        headers=secretariat,
        json={
            "name": "À la main",
            "lines": [
                {"dossier_id": "ETAT-CIVIL", "granted_cents": 4_000_000},
                {"dossier_id": "FORMATION", "granted_cents": 2_000_000},  # more than requested
                {"dossier_id": "LABO", "granted_cents": 5_000_000},  # a session-2 dossier
            ],
        },
    )
    m = manual.json()
    assert [(line["dossier_id"], line["code"]) for line in m["lines"]] == [
        ("ETAT-CIVIL", None),
        ("FORMATION", "GRANT_RANGE"),
        ("LABO", "NOT_ON_AGENDA"),
    ]
    assert "dépasse le montant demandé" in m["lines"][1]["message"]
    assert m["total_cents"] == 4_000_000 and m["refused"] == 2
    draft_id = m["draft_id"]

    edited = await client.put(
        f"/sessions/1/drafts/{draft_id}/lines/FORMATION", json={"granted_cents": 1_500_000}, headers=secretariat
    )
    assert edited.status_code == 200 and edited.json()["lines"][1]["code"] is None
    removed = await client.delete(f"/sessions/1/drafts/{draft_id}/lines/LABO", headers=secretariat)
    assert [line["dossier_id"] for line in removed.json()["lines"]] == ["ETAT-CIVIL", "FORMATION"]
    added = await client.put(
        f"/sessions/1/drafts/{draft_id}/lines/SVI", json={"granted_cents": 2_000_000}, headers=secretariat
    )
    assert added.json()["lines"][-1]["code"] == "GRANT_RANGE"  # 2 000 000 < 50 % of 7 000 000

    compared = (
        await client.get(f"/sessions/1/drafts/compare?left={p['draft_id']}&right={draft_id}", headers=reader)
    ).json()
    rows = {r["dossier_id"]: (r["left_cents"], r["right_cents"]) for r in compared["rows"]}
    assert rows == {
        "SVI": (5_000_000, 2_000_000),
        "ETAT-CIVIL": (4_500_000, 4_000_000),
        "FORMATION": (1_500_000, 1_500_000),
        "PORTAIL": (9_000_000, None),
    }

    # Nothing decided, nothing reserved until adoption: drafts never touch the envelope.
    assert [d["decision"] for d in (await client.get("/sessions/1", headers=reader)).json()["agenda"]] == [None] * 4

    adopted = await client.post(f"/sessions/1/drafts/{draft_id}/adopt", headers=secretariat)
    assert adopted.status_code == 200, adopted.text
    a = adopted.json()
    assert [r["dossier_id"] for r in a["recorded"]] == ["ETAT-CIVIL", "FORMATION"]
    assert [(r["dossier_id"], r["code"]) for r in a["refused"]] == [("SVI", "GRANT_RANGE")]
    assert a["refused"][0]["message"]
    await caught_up(client, store)
    agenda = {
        d["dossier_id"]: d["decision"] for d in (await client.get("/sessions/1", headers=reader)).json()["agenda"]
    }
    assert agenda == {"ETAT-CIVIL": "select", "FORMATION": "select", "PORTAIL": None, "SVI": None}

    again = await client.post(f"/sessions/1/drafts/{draft_id}/adopt", headers=secretariat)
    assert code(again) == "DRAFT_ADOPTED"
    # the other draft now sees what was decided: ETAT-CIVIL and FORMATION are taken
    now = (await client.get(f"/sessions/1/drafts/{p['draft_id']}", headers=reader)).json()
    assert {line["dossier_id"]: line["code"] for line in now["lines"]}["ETAT-CIVIL"] == "ALREADY_DECIDED"

    # Drafts are in the log: a fresh committee process rebuilds them, and the audit agrees.
    async with AsyncTestClient(app=create_app(settings)) as fresh:
        listed = (await fresh.get("/sessions/1/drafts", headers=reader)).json()["items"]
        assert {d["name"] for d in listed} == {"Proposition", "Plafond", "À la main"}
        assert next(d for d in listed if d["draft_id"] == draft_id)["adopted"] is True
        audit = (await fresh.get("/audit/views", headers=reader)).json()
        assert audit[0]["live_digest"] == audit[0]["rebuilt_digest"]


async def test_drafts_refuse_bad_ids_bodies_and_roles(client, store, auth):
    await seed_full_call(store)
    await clock(client, store, OPEN)
    secretariat = auth("instructor", "secretariat")
    for bad in ("not-a-uuid", ">", "00000000-0000-0000-0000-000000000000"):
        r = await client.get(f"/sessions/1/drafts/{bad}", headers=secretariat)
        assert (r.status_code, r.json()["code"]) == (404, "UNKNOWN_DRAFT"), bad
    r = await client.post(
        "/sessions/1/drafts",
        headers=secretariat,
        json={"name": "", "lines": [{"dossier_id": "SVI", "granted_cents": -1}]},
    )
    assert r.status_code == 422
    r = await client.post(
        "/sessions/1/drafts",
        headers=secretariat,
        json={"name": "x", "propose": True, "lines": [{"dossier_id": "SVI", "granted_cents": 1}]},
    )
    assert r.status_code == 422 and "lines" in r.text
    member = auth("committee_member", "referent-regional-1", member_id="referent-regional-1")
    assert (await client.post("/sessions/1/drafts", headers=member, json={"name": "x"})).status_code == 403
    assert (await client.get("/sessions/9/drafts", headers=secretariat)).status_code == 404
