"""DN dossiers (DN's own answers, dn_samples.json) mapped to AAP dossiers, or listed with why not."""

from __future__ import annotations

import json
from pathlib import Path

from aap_contract.config import load_call
from services.connector.mapping import file_of, fingerprint, map_dossier

CALL = load_call("hdf-itn7-axe3-2021")
SAMPLES = json.loads((Path(__file__).resolve().parent / "dn_samples.json").read_text(encoding="utf-8"))["nodes"]


def mapped(number: int):
    sample = SAMPLES[str(number)]
    track = CALL.connector.track_of(sample["demarche"])
    return map_dossier(sample["node"], track, CALL.connector.demarches[track], CALL)


def test_a_dn_dossier_becomes_the_aap_dossier_with_exact_cents_and_the_demandeurs_siret():
    d = mapped(4381211)
    assert (d.track, d.theme, d.title) == (
        "standard",
        "1.3",
        "Dématérialisation de la chaîne comptable et des parapheurs — Laon",
    )
    a = d.applicants[0]
    assert (a.siren, a.siret, a.kind, a.departement, a.operational_contact) == (
        "210240867",
        "21024086700213",
        "commune",
        "02",
        True,
    )
    assert d.financing.global_cost_cents == 7_459_900 and d.financing.requested_cents == 6_713_900
    assert d.financing.own_funding_cents == 746_000
    assert sum(e.amount_cents for e in d.expenses) == d.financing.global_cost_cents
    assert d.document.sections == ["situation", "method", "roadmap", "solution"]
    assert d.software.involved and d.software.free_software


def test_decimal_amounts_are_exact_cents():
    d = mapped(4381331)
    assert (d.financing.global_cost_cents, d.financing.requested_cents) == (9_925_204, 7_940_163)


def test_joint_structures_come_with_their_siret_kind_and_departement():
    d = mapped(4381273)
    assert len(d.applicants) == 3
    joint = d.applicants[1]
    assert (joint.siret, joint.siren, joint.kind, joint.departement, joint.operational_contact) == (
        "24622488500086",
        "246224885",
        "epci",
        "62",
        False,
    )


def test_an_incomplete_personne_morale_gives_its_siren_from_the_siret():
    a = mapped(4381331).applicants[0]
    assert a.siren == a.siret[:9] and len(a.siret) == 14


def test_unmappable_dossiers_say_why_in_french():
    assert mapped(4381302) == ["champ « département du siège » absent du dossier"]
    assert mapped(4381318) == ["ressource n° 1 : montant illisible pour « Montant (€ HT) » : « 4 5OO,00 »"]
    assert mapped(4392779) == ["thème inconnu : « Autre projet d'innovation publique »"]
    assert mapped(4392790) == ["SIREN absent ou invalide pour le demandeur : « 210217371 »"]


def test_the_fingerprint_ignores_what_moves_by_itself():
    node = SAMPLES["4381211"]["node"]
    moved = json.loads(json.dumps(node))
    moved["state"], moved["dateDerniereModification"] = "en_instruction", "2021-06-01T10:00:00+02:00"
    for champ in moved["champs"]:
        for f in champ.get("files") or ():
            f["url"] = "https://elsewhere.example/fresh"
    assert fingerprint(moved) == fingerprint(node)
    moved["champs"][1]["stringValue"] = "Commune de Laon (02)"
    assert fingerprint(moved) != fingerprint(node)
    f = file_of(node, CALL.connector.demarches["standard"])
    assert (f.filename, f.checksum) == ("Note explicative - Laon.pdf", "MFeHfZsQ1H1rybKV0ckwrQ==")
