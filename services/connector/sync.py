"""One pass of DN's recommended incremental sync, per démarche of the call:

`dossiers(first: 100, after: <saved endCursor>, updatedSince: <fixed instant>)` page after page, the
cursor saved in the KV bucket once every dossier of the page is handled (a restart resumes there;
a page interrupted is done again, and what it already imported is skipped by its fingerprint);
on the first page, `deletedDossiers` and `pendingDeletedDossiers` since the last deletion seen.

Each dossier: mapped (or listed as unmappable with its reasons), submitted or amended through
intake's `/imports` at DN's own instant, its PDF downloaded (a fresh URL asked again when it has
expired), its MD5 checked and handed to intake; then recorded, so that the next pass skips it
until it changes in DN. Dossiers are handled concurrently, within `concurrent_downloads`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from aap_contract.config import CallConfig, DemarcheLink
from aap_platform.ids import stable_id
from services.connector import metrics
from services.connector.client import DnClient
from services.connector.cursor import Cursors
from services.connector.domain import RecordDeletion, RecordFailure, RecordImport, needs_import
from services.connector.handlers import Handlers
from services.connector.intake import IntakeClient
from services.connector.mapping import DnFile, file_of, fingerprint, map_dossier

log = logging.getLogger(__name__)
PAGE = 100
MAX_PROBLEMS, MAX_PROBLEM = 50, 500
Action = Literal["submitted", "amended", "unchanged"]
MAX_PAGES = 10_000


def dossier_id_for(call_id: str, number: int) -> str:
    """The AAP dossier id of a DN dossier: fixed by its number, so a sync from scratch finds it."""
    return stable_id("dn", call_id, str(int(number)))


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    instant = datetime.fromisoformat(value)  # Python 3.11 reads a trailing Z
    return instant if instant.tzinfo is not None else None


@dataclass
class Summary:
    submitted: int = 0
    amended: int = 0
    unchanged: int = 0
    skipped: int = 0  # unchanged in DN since the last pass
    withdrawn: int = 0
    failed: dict[int, list[str]] = field(default_factory=dict)  # DN number -> reasons
    pages: int = 0
    written_back: int = 0

    def french(self) -> str:
        lines = [
            f"Dossiers importés : {self.submitted}",
            f"Dossiers modifiés : {self.amended}",
            f"Dossiers retirés : {self.withdrawn}",
            f"Dossiers inchangés : {self.unchanged + self.skipped}",
            f"Dossiers non importables : {len(self.failed)}",
        ]
        for number, reasons in sorted(self.failed.items()):
            lines.append(f"  - n° {number} : " + " ; ".join(reasons))
        lines.append(f"Écritures vers Démarche Numérique : {self.written_back}")
        lines.append(f"Pages lues : {self.pages}")
        return "\n".join(lines)


@dataclass
class Sync:
    call: CallConfig
    dn: DnClient
    intake: IntakeClient
    handlers: Handlers
    cursors: Cursors

    async def run_once(self) -> Summary:
        summary = Summary()
        connector = self.call.connector
        assert connector is not None
        for track, link in connector.demarches.items():
            await self._demarche(track, link, summary)
        metrics.DN_SYNC_SECONDS.set_to_current_time()
        return summary

    async def _demarche(self, track: str, link: DemarcheLink, summary: Summary) -> None:
        connector = self.call.connector
        assert connector is not None
        cursor = await self.cursors.cursor(link.number)
        deleted_since = await self.cursors.deleted_since(link.number) or connector.updated_since
        gate = asyncio.Semaphore(connector.concurrent_downloads)
        for page_number in range(MAX_PAGES):
            variables: dict[str, Any] = {
                "number": link.number,
                "first": PAGE,
                "after": cursor,
                "updatedSince": connector.updated_since.isoformat(),
                "deletedSince": deleted_since.isoformat(),
                "withDeleted": page_number == 0,
            }
            data = await self.dn.query("dossiers", "DossiersPage", variables)
            summary.pages += 1
            demarche = data.get("demarche") or {}
            if page_number == 0:
                deleted_since = await self._deletions(link, demarche, deleted_since, summary)
            page = demarche.get("dossiers") or {}
            nodes = [n for n in page.get("nodes") or () if isinstance(n, dict)]

            async def one(node: dict[str, Any]) -> None:
                async with gate:
                    await self._dossier(track, link, node, summary)

            try:
                async with asyncio.TaskGroup() as group:  # an error stops the page: it is done again
                    for node in nodes:
                        group.create_task(one(node))
            except ExceptionGroup as failed:  # the first cause, as a pass without concurrency would raise it
                raise failed.exceptions[0] from None
            info = page.get("pageInfo") or {}
            if info.get("endCursor"):
                cursor = info["endCursor"]
                await self.cursors.save_cursor(link.number, cursor)
            if not info.get("hasNextPage"):
                return

    async def _deletions(
        self, link: DemarcheLink, demarche: dict[str, Any], since: datetime, summary: Summary
    ) -> datetime:
        latest = since
        for kind in ("deletedDossiers", "pendingDeletedDossiers"):
            for node in (demarche.get(kind) or {}).get("nodes") or ():
                if not isinstance(node, dict) or not isinstance(node.get("number"), int):
                    continue
                at = _instant(node.get("dateSupression")) or since
                latest = max(latest, at)
                dossier_id = dossier_id_for(self.call.id, node["number"])
                state = await self.handlers.state(dossier_id)
                if state.deleted or not state.in_aap:
                    continue
                reason = f"supprimé dans Démarche Numérique ({node.get('reason', 'inconnu')})"
                answer = await self.intake.withdraw(dossier_id, reason)
                if answer.outcome != "ok":
                    await self.handlers.record_failure(
                        RecordFailure(
                            dossier_id, link.number, node["number"], "refused", answer.problems, "deleted", at
                        )
                    )
                    summary.failed[node["number"]] = answer.problems
                    continue
                await self.handlers.record_deletion(
                    RecordDeletion(dossier_id, link.number, node["number"], str(node.get("reason", "")), at)
                )
                summary.withdrawn += 1
        if latest > since:
            await self.cursors.save_deleted_since(link.number, latest)
        return latest

    async def _dossier(self, track: str, link: DemarcheLink, node: dict[str, Any], summary: Summary) -> None:
        number = node.get("number")
        if not isinstance(number, int):
            return
        dossier_id = dossier_id_for(self.call.id, number)
        print_ = fingerprint(node)
        state = await self.handlers.state(dossier_id)
        if not needs_import(state, print_):
            summary.skipped += 1
            return
        modified = _instant(node.get("dateDerniereModification")) or self.handlers.now()
        new = state.number is None  # nothing recorded for it yet
        # a new dossier at its deposit; a change at the applicant's last change of its champs
        at = (
            _instant(node.get("dateDepot")) if not state.known else _instant(node.get("dateDerniereModificationChamps"))
        ) or modified

        async def fail(kind: str, problems: list[str]) -> None:
            problems = [p[:MAX_PROBLEM] for p in problems[:MAX_PROBLEMS]]  # DN's text, bounded
            await self.handlers.record_failure(
                RecordFailure(
                    dossier_id,
                    link.number,
                    number,
                    kind,  # type: ignore[arg-type]
                    problems,
                    print_,
                    modified,
                ),
                fresh=new,
            )
            summary.failed[number] = problems
            metrics.DN_IMPORTS.labels(kind).inc()

        mapped = map_dossier(node, track, link, self.call)
        if isinstance(mapped, list):
            return await fail("unmappable", mapped)
        answer = await self.intake.import_dossier(dossier_id, at, mapped)
        if answer.outcome != "ok":
            return await fail("unmappable" if answer.outcome == "invalid" else "refused", answer.problems)
        file = file_of(node, link)
        checksum = None
        if file is not None and file.checksum != state.document_checksum:
            problem = await self._document(dossier_id, number, at, file, answer.action == "unchanged")
            if problem:
                return await fail("document", [problem])
            checksum = file.checksum
        await self.handlers.record_import(
            RecordImport(
                dossier_id,
                link.number,
                number,
                str(node.get("id", "")),
                cast(Action, answer.action),
                print_,
                modified,
                checksum or state.document_checksum,
            ),
            fresh=new,
        )
        metrics.DN_IMPORTS.labels(answer.action).inc()
        if answer.action == "submitted":
            summary.submitted += 1
        elif answer.action == "amended":
            summary.amended += 1
        else:
            summary.unchanged += 1

    async def _document(self, dossier_id: str, number: int, at: datetime, file: DnFile, known: bool) -> str | None:
        """None when the file is now intake's, else what went wrong (in French). `known`: intake
        already had this content (a pass interrupted after it): its document may be there too."""
        content = await self.dn.download(file.url) if file.url else None
        if content is None:  # expired: ask DN for a fresh URL
            data = await self.dn.query("dossier_files", "DossierFiles", {"number": number, "champId": file.champ_id})
            champs = (data.get("dossier") or {}).get("champs") or []
            files = [f for c in champs for f in (c.get("files") or ())]
            url = next((f.get("url") for f in files if f.get("checksum") == file.checksum), None)
            content = await self.dn.download(url) if url else None
            if content is None:
                return "fichier introuvable dans Démarche Numérique (lien expiré même après une nouvelle demande)"
        digest = base64.b64encode(hashlib.md5(content).digest()).decode()
        if digest != file.checksum:
            return (
                f"somme de contrôle du fichier « {file.filename} » différente de celle annoncée "
                f"par Démarche Numérique ({digest} au lieu de {file.checksum})"
            )
        if known and await self.intake.document_sha256(dossier_id) == hashlib.sha256(content).hexdigest():
            return None
        answer = await self.intake.import_document(dossier_id, at, file.filename, content)
        return None if answer.outcome == "ok" else "document refusé par intake : " + " ; ".join(answer.problems)
