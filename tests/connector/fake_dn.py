"""A fake Démarche Numérique for the tests: a real HTTP GraphQL server on loopback (graphql-core over
a small ASGI app, served by uvicorn), on the SDL subset `dn_schema_subset.graphql`, with DN's
behaviours the connector relies on (REFERENCE: DN's docs and server code, see that file's header):

- keyset pagination of `dossiers(updatedSince:)` ordered by dateDerniereModification, at most 100 a
  page, `endCursor` null on an empty page; `deletedDossiers` / `pendingDeletedDossiers(deletedSince:)`;
- file URLs that expire (`url_ttl`), `checksum` = base64 of the MD5;
- mutations with DN's state rules and errors as data (« Le dossier est déjà … »); any state change
  moves dateDerniereModification (the dossier comes back in the next page);
- knobs: `burst_429` (the next N requests get HTTP 429 with Retry-After), `down_until` (HTTP 503),
  `mutation_errors` (the next N calls of a mutation answer a payload error), `expire_next` (numbers
  whose next file URL is already expired).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import graphql
import uvicorn

from aap_contract.config import CallConfig, DemarcheLink
from aap_contract.dossier import siren_is_valid, siret_is_valid
from aap_platform.natsserver import free_port
from tests.pdf import tiny_pdf

SUBSET = Path(__file__).resolve().parent / "dn_schema_subset.graphql"
SAMPLES = Path(__file__).resolve().parent / "dn_samples.json"
PARIS = ZoneInfo("Europe/Paris")
TOKEN = "dn-test-token"
INSTRUCTEUR = "SW5zdHJ1Y3RldXItMTgyMzE="
STATE_LABELS = {
    "en_construction": "en construction",
    "en_instruction": "en instruction",
    "accepte": "accepté",
    "refuse": "refusé",
    "sans_suite": "classé sans suite",
}
KINDS = [
    "Commune",
    "Établissement public de coopération intercommunale (EPCI) à fiscalité propre",
    "Métropole",
    "Département",
    "Région",
]
THEMES = {
    "standard": [
        "1.1 – Exploiter des données en lien avec une activité de la collectivité",
        "1.3 – Dématérialiser un processus interne ou une procédure",
        "2.2 – Former et accompagner les agents (nouvelles méthodes et outils numériques)",
        "3.4 – Dématérialiser un axe de la relation usagers",
    ],
    "innovation_lab": [
        "4.1 – Transformation interne (mise en œuvre d'un process ou d'un service public)",
        "4.3 – Acculturation des services à l'innovation",
    ],
}
SECTIONS = [
    "Situation existante, besoins et objectifs",
    "Méthode : démarche participative, calendrier et pilotage",
    "Place du projet dans la feuille de route numérique de la collectivité",
    "Justification du choix de la solution numérique",
]
DEPARTEMENTS = [("02", "Aisne"), ("59", "Nord"), ("60", "Oise"), ("62", "Pas-de-Calais"), ("80", "Somme")]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def siren_for(i: int) -> str:
    """A valid SIREN (Luhn) made from `i`."""
    base = f"2{i:07d}"
    return next(base + str(d) for d in range(10) if siren_is_valid(base + str(d)))


def siret_for(siren: str) -> str:
    """A valid SIRET (Luhn) of the structure's first establishment."""
    return next(siren + f"0001{d}" for d in range(10) if siret_is_valid(siren + f"0001{d}"))


def pdf_for(number: int, version: int = 0) -> bytes:
    return tiny_pdf(f"Note explicative du dossier {number} (version {version})")


def checksum(content: bytes) -> str:
    return base64.b64encode(hashlib.md5(content).digest()).decode()


def _champ(typename: str, descriptor: str, label: str, text: str | None, row: str | None = None, **extra) -> dict:
    champ_id = b64(base64.b64decode(descriptor).decode() + f"|{row}") if row else descriptor
    return {
        "__typename": typename,
        "id": champ_id,
        "champDescriptorId": descriptor,
        "label": label,
        "stringValue": text,
        **extra,
    }


class FakeDN:
    def __init__(self, call: CallConfig) -> None:
        assert call.connector is not None
        self.call, self.links = call, call.connector.demarches
        self.schema = graphql.build_schema(SUBSET.read_text(encoding="utf-8"))
        self._wire()
        self.demarches: dict[int, dict[str, Any]] = {
            link.number: {"track": track, "dossiers": {}, "deleted": [], "pending": []}
            for track, link in self.links.items()
        }
        self.files: dict[str, bytes] = {}
        self.annotations: dict[tuple[int, str], Any] = {}
        self.mutations: list[tuple[str, int]] = []  # (mutation, dossier number) accepted
        self.url = ""
        self.clock = datetime(2021, 4, 1, 8, 0, tzinfo=PARIS)
        self.requests = 0
        self.graphql_requests = 0
        self.burst_429 = 0
        self.retry_after = "1"
        self.down_until = 0.0
        self.mutation_errors: dict[str, int] = {}
        self.url_ttl = 3600.0
        self.expire_next: set[int] = set()
        self.broken_files: set[str] = set()  # file keys answered HTTP 500
        self.fail_requests: set[int] = set()  # GraphQL request numbers answered with a root error
        self.operations: list[tuple[str, dict]] = []  # (operationName, variables) of each request

    # --- data ------------------------------------------------------------------------------

    def tick(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def add(self, track: str, number: int, deposit: datetime | None = None, **over: Any) -> dict:
        link = self.links[track]
        deposit = deposit or self.tick()
        record = {
            "number": number,
            "state": "en_construction",
            "deposit": deposit,
            "modified": deposit,
            "version": 0,
            "track": track,
            **over,
        }
        record["node"] = self._node(link, track, record)
        self.demarches[link.number]["dossiers"][number] = record
        return record

    def change(self, number: int, *, title: str | None = None, cost: str | None = None, new_file: bool = False) -> None:
        record = self._record(number)
        record.setdefault("title", None)
        if title is not None:
            record["title"] = title
        if cost is not None:
            record["cost"] = cost
        if new_file:
            record["version"] += 1
        record["modified"] = self.tick()
        record["champs_modified"] = record["modified"]
        record["node"] = self._node(self.links[record["track"]], record["track"], record)

    def delete(self, number: int, *, pending: bool = False) -> None:
        record = self._record(number)
        demarche = self.demarches[self.links[record["track"]].number]
        del demarche["dossiers"][number]
        entry = {
            "id": b64(f"Dossier-{number}"),
            "number": number,
            "state": record["state"],
            "reason": "user_request",
            "dateSupression": self.tick().isoformat(),
        }
        demarche["pending" if pending else "deleted"].append(entry)

    def _record(self, number: int) -> dict:
        for demarche in self.demarches.values():
            if number in demarche["dossiers"]:
                return demarche["dossiers"][number]
        raise KeyError(number)

    def node(self, number: int) -> dict:
        return self._record(number)["node"]

    def file_key(self, number: int) -> str:
        record = self._record(number)
        return hashlib.md5(pdf_for(number, record["version"])).hexdigest()

    def state_of(self, number: int) -> str:
        return self._record(number)["state"]

    def _node(self, link: DemarcheLink, track: str, r: dict) -> dict:
        n, c = r["number"], link.champs
        i = n % 1000
        dep = DEPARTEMENTS[i % len(DEPARTEMENTS)]
        siren = siren_for(n)
        cost = r.get("cost") or f"{40000 + (i % 50) * 1000}.50"
        try:
            cents = round(float(cost) * 100)
        except ValueError:  # what an applicant typed, unreadable as a number
            cents = 0
        requested, own = cents * 70 // 100, cents - cents * 70 // 100
        content = pdf_for(n, r["version"])
        key = hashlib.md5(content).hexdigest()
        self.files[key] = content
        row = f"0{n}"
        champs = [
            _champ(
                "TextChamp", c["applicant_name"], "Nom de la collectivité", f"Commune n° {n}", value=f"Commune n° {n}"
            ),
            _champ("DropDownListChamp", c["applicant_kind"], "Type de collectivité", KINDS[i % 5], value=KINDS[i % 5]),
            _champ(
                "DepartementChamp",
                c["applicant_departement"],
                "Département",
                f"{dep[0]} - {dep[1]}",
                departement={"code": dep[0], "name": dep[1]},
            ),
            _champ("TextChamp", c["contact_name"], "Interlocuteur", f"Agent {n}", value=f"Agent {n}"),
            _champ(
                "TextChamp",
                c["contact_email"],
                "Adresse électronique",
                f"agent{n}@commune{n}.fr",
                value=f"agent{n}@commune{n}.fr",
            ),
            _champ("CheckboxChamp", c["validated"], "Projet validé", "true", value=True),
            _champ("CheckboxChamp", c["resources_committed"], "Ressources mobilisées", "true", value=True),
            _champ(
                "TextChamp",
                c["title"],
                "Intitulé du projet",
                r.get("title") or f"Projet numérique {n}",
                value=r.get("title") or f"Projet numérique {n}",
            ),
            _champ(
                "TextChamp",
                c["summary"],
                "Description",
                f"Description du projet {n}.",
                value=f"Description du projet {n}.",
            ),
            _champ(
                "DropDownListChamp",
                c["theme"],
                "Thème",
                r.get("theme") or THEMES[track][i % len(THEMES[track])],
                value=r.get("theme") or THEMES[track][i % len(THEMES[track])],
            ),
            _champ("YesNoChamp", c["software_involved"], "Solution logicielle ?", "true", value=True),
            _champ("YesNoChamp", c["free_software"], "Logiciel libre ?", "true", value=True),
            _champ(
                "DecimalNumberChamp",
                c["global_cost"],
                "Coût global du projet (€ HT)",
                cost,
                value=cents / 100 if cents else None,
            ),
            _champ(
                "DecimalNumberChamp",
                c["requested"],
                "Subvention sollicitée (€)",
                f"{requested / 100:.2f}",
                value=requested / 100,
            ),
            _champ(
                "RepetitionChamp",
                c["expenses"],
                "Dépenses prévisionnelles",
                None,
                rows=[
                    {
                        "id": b64(f"Row-{row}"),
                        "champs": [
                            _champ("TextChamp", c["expense_label"], "Nature", "Prestation", row, value="Prestation"),
                            _champ(
                                "DropDownListChamp",
                                c["expense_category"],
                                "Catégorie",
                                "Prestations externes et développements",
                                row,
                                value="Prestations externes et développements",
                            ),
                            _champ("TextChamp", c["expense_amount"], "Montant (€ HT)", cost, row, value=cost),
                        ],
                    }
                ],
            ),
            _champ(
                "RepetitionChamp",
                c["resources"],
                "Autres ressources",
                None,
                rows=[
                    {
                        "id": b64(f"Row-r{row}"),
                        "champs": [
                            _champ(
                                "DropDownListChamp",
                                c["resource_kind"],
                                "Type de ressource",
                                "Autofinancement",
                                "r" + row,
                                value="Autofinancement",
                            ),
                            _champ(
                                "TextChamp",
                                c["resource_amount"],
                                "Montant (€ HT)",
                                f"{own / 100:.2f}",
                                "r" + row,
                                value=f"{own / 100:.2f}",
                            ),
                        ],
                    }
                ],
            ),
            _champ(
                "PieceJustificativeChamp",
                c["document"],
                "Note explicative du projet (PDF)",
                f"Note {n}.pdf",
                files=[
                    {
                        "filename": f"Note {n}.pdf",
                        "contentType": "application/pdf",
                        "checksum": checksum(content),
                        "byteSizeBigInt": str(len(content)),
                        "url": self._url(key, n),
                    }
                ],
            ),
            _champ(
                "MultipleDropDownListChamp",
                c["document_sections"],
                "Parties traitées",
                ", ".join(SECTIONS),
                values=SECTIONS,
            ),
        ]
        return {
            "id": b64(f"Dossier-{n}"),
            "number": n,
            "state": lambda info: r["state"],
            "dateDepot": r["deposit"].isoformat(),
            "dateDerniereModification": lambda info: r["modified"].isoformat(),
            "dateDerniereModificationChamps": (r.get("champs_modified") or r["deposit"]).isoformat(),
            "demandeur": {
                "__typename": "PersonneMorale",
                "siret": siret_for(siren),
                "entreprise": {"siren": siren, "raisonSociale": f"COMMUNE {n}"},
                "address": {"departmentCode": dep[0]},
            },
            "champs": champs,
        }

    def _url(self, key: str, number: int):
        def url(info) -> str:
            expires = time.time() - 1 if number in self.expire_next else time.time() + self.url_ttl
            self.expire_next.discard(number)
            return f"{self.url}/files/{key}?temp_url_expires={expires:.3f}"

        return url

    # --- GraphQL -----------------------------------------------------------------------------

    def _wire(self) -> None:
        for name in ("Champ", "Demandeur", "ChampDescriptor"):
            self.schema.get_type(name).resolve_type = lambda obj, info, t: obj["__typename"]
        q, m = self.schema.query_type.fields, self.schema.mutation_type.fields
        q["demarche"].resolve = lambda _, info, number: self._demarche(number)
        q["dossier"].resolve = lambda _, info, number: self._record(number)["node"]
        m["dossierPasserEnInstruction"].resolve = self._state_change(
            "dossierPasserEnInstruction", "en_construction", "en_instruction"
        )
        m["dossierAccepter"].resolve = self._state_change("dossierAccepter", "en_instruction", "accepte")
        m["dossierRefuser"].resolve = self._state_change("dossierRefuser", "en_instruction", "refuse")
        m["dossierModifierAnnotations"].resolve = self._annotate
        champs = self.schema.get_type("Dossier").fields["champs"]
        champs.resolve = lambda node, info, id=None: [c for c in node["champs"] if id is None or c["id"] == id]

    def _demarche(self, number: int) -> dict:
        if number not in self.demarches:
            raise graphql.GraphQLError("Demarche not found", extensions={"code": "not_found"})
        d = self.demarches[number]
        described = json.loads(SAMPLES.read_text(encoding="utf-8"))["demarches"].get(str(number), {})
        return {
            **described,
            "id": b64(f"Procedure-{number}"),
            "number": number,
            "dossiers": lambda info, **args: self._page(d, args),
            "deletedDossiers": lambda info, **args: self._deleted(d["deleted"], args),
            "pendingDeletedDossiers": lambda info, **args: self._deleted(d["pending"], args),
        }

    @staticmethod
    def _cursor(record: dict) -> str:
        return b64(f"{record['modified'].astimezone(ZoneInfo('UTC')).isoformat()};{record['number']}")

    def _page(self, d: dict, args: dict) -> dict:
        first = min(args.get("first") or 100, 100)
        since = args.get("updatedSince")
        records = list(d["dossiers"].values())
        if since:
            records = [r for r in records if r["modified"] >= datetime.fromisoformat(since)]
            records.sort(key=lambda r: (r["modified"], r["number"]))
        else:
            records.sort(key=lambda r: (r["deposit"], r["number"]))
        if args.get("after"):
            at, number = base64.b64decode(args["after"]).decode().split(";")
            key = (datetime.fromisoformat(at), int(number))
            records = [r for r in records if (r["modified"], r["number"]) > key]
        page = records[:first]
        return {
            "pageInfo": {"hasNextPage": len(records) > first, "endCursor": self._cursor(page[-1]) if page else None},
            "nodes": [r["node"] for r in page],
        }

    @staticmethod
    def _deleted(entries: list[dict], args: dict) -> dict:
        since = args.get("deletedSince")
        found = [e for e in entries if not since or e["dateSupression"] >= since][: min(args.get("first") or 100, 100)]
        return {"pageInfo": {"hasNextPage": False, "endCursor": None}, "nodes": found}

    def _target(self, payload: dict) -> dict:
        try:
            number = int(base64.b64decode(payload["dossierId"]).decode().split("-", 1)[1])
            return self._record(number)
        except (ValueError, KeyError, IndexError):
            raise graphql.GraphQLError("Dossier not found", extensions={"code": "not_found"}) from None

    def _error(self, name: str, record: dict, payload: dict, expected: str | None) -> str | None:
        if self.mutation_errors.get(name, 0) > 0:
            self.mutation_errors[name] -= 1
            return "Erreur de test : le service est momentanément indisponible"
        if payload.get("instructeurId") != INSTRUCTEUR:
            return "L’instructeur n’a pas les droits d’accès à ce dossier"
        if expected is not None and record["state"] != expected:
            return f"Le dossier est déjà {STATE_LABELS[record['state']]}"
        return None

    def _state_change(self, name: str, expected: str, target: str):
        def resolve(_, info, input):
            record = self._target(input)
            error = self._error(name, record, input, expected)
            if error:
                return {"dossier": None, "errors": [{"message": error}]}
            record["state"], record["modified"] = target, self.tick()
            self.mutations.append((name, record["number"]))
            return {"dossier": record["node"], "errors": None}

        return resolve

    def _annotate(self, _, info, input):
        record = self._target(input)
        error = self._error("dossierModifierAnnotations", record, input, None)
        if error:
            return {"annotations": None, "errors": [{"message": error}]}
        out = []
        for a in input["annotations"]:
            value = next(iter(a["value"].values()))
            self.annotations[(record["number"], a["id"])] = value
            out.append({"__typename": "TextChamp", "id": a["id"], "stringValue": str(value)})
        record["modified"] = self.tick()
        self.mutations.append(("dossierModifierAnnotations", record["number"]))
        return {"annotations": out, "errors": None}

    # --- HTTP --------------------------------------------------------------------------------

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.requests += 1
        status, headers, content = await self._answer(scope, body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": content})

    async def _answer(self, scope, body: bytes) -> tuple[int, dict[str, str], bytes]:
        if time.monotonic() < self.down_until:
            return 503, {"content-type": "text/plain"}, b"Service Unavailable"
        path = scope["path"]
        if path.startswith("/files/"):
            query = dict(p.split("=", 1) for p in scope["query_string"].decode().split("&") if "=" in p)
            key = path.removeprefix("/files/")
            if key in self.broken_files:
                return 500, {"content-type": "text/plain"}, b"Internal Server Error"
            content = self.files.get(key)
            if content is None or float(query.get("temp_url_expires", 0)) < time.time():
                return 403, {"content-type": "text/plain"}, b"Temp URL invalid"
            return 200, {"content-type": "application/pdf"}, content
        if path != "/api/v2/graphql" or scope["method"] != "POST":
            return 404, {}, b""
        self.graphql_requests += 1
        if self.burst_429 > 0:
            self.burst_429 -= 1
            return 429, {"retry-after": self.retry_after, "content-type": "text/plain"}, b"Too Many Requests"
        auth = dict(scope["headers"]).get(b"authorization", b"").decode()
        if auth != f"Bearer {TOKEN}":
            return 401, {"content-type": "application/json"}, b'{"errors":[{"message":"Unauthorized"}]}'
        request = json.loads(body)
        self.operations.append((request.get("operationName"), request.get("variables") or {}))
        if self.graphql_requests in self.fail_requests:
            return (
                200,
                {"content-type": "application/json"},
                json.dumps(
                    {"data": None, "errors": [{"message": "Timeout", "extensions": {"code": "timeout"}}]}
                ).encode(),
            )
        result = await graphql.graphql(
            self.schema,
            request["query"],
            variable_values=request.get("variables"),
            operation_name=request.get("operationName"),
        )
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
        return 200, {"content-type": "application/json"}, json.dumps(out).encode()


@asynccontextmanager
async def serve(app, port: int | None = None):
    """Serve an ASGI app with uvicorn on loopback, in this event loop; yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
