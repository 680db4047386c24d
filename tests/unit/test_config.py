"""The call configuration: the Hauts-de-France file loads, bad files fail clearly."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from aap_contract.config import ConfigError, load_call, parse_call

PARIS = ZoneInfo("Europe/Paris")
HDF = Path(__file__).resolve().parents[2] / "config" / "calls" / "hdf-itn7-axe3-2021.toml"


def test_the_hauts_de_france_call_holds_the_spec_parameters():
    call = load_call("hdf-itn7-axe3-2021")
    assert call.id == "hdf-itn7-axe3-2021"
    assert call.budget.envelope_cents == 168_500_000
    assert call.window.opens == datetime(2021, 4, 1, tzinfo=PARIS)
    assert call.window.closes == datetime(2021, 6, 30, 23, 59, 59, tzinfo=PARIS)
    assert [s.cutoff for s in call.sessions] == [
        datetime(2021, 5, 14, 23, 59, 59, tzinfo=PARIS),
        datetime(2021, 6, 30, 23, 59, 59, tzinfo=PARIS),
    ]
    assert call.budget.commitment_deadline == datetime(2021, 12, 31, 23, 59, 59, tzinfo=PARIS)
    assert sorted(call.departements) == ["02", "59", "60", "62", "80"]
    assert call.eligibility.applicant_kinds == ["commune", "epci", "metropole", "departement", "region"]
    assert (call.eligibility.cost_min_exclusive_cents, call.eligibility.cost_max_exclusive_cents) == (
        2_500_000,
        10_000_000,
    )
    assert call.tracks == {"standard": ["1", "2", "3"], "innovation_lab": ["4"]}
    assert len(call.themes) == 20
    members = call.committee.members
    assert len([m for m in members if m.role == "regional"]) == 3
    assert sorted(m.departement for m in members if m.role == "departemental") == sorted(call.departements)
    assert call.notifications.delay_days == 7


def test_session_assignment_at_the_cutoff_second():
    call = load_call()
    assert call.session_for(datetime(2021, 5, 14, 23, 59, 59, tzinfo=PARIS)) == 1
    assert call.session_for(datetime(2021, 5, 15, 0, 0, 0, tzinfo=PARIS)) == 2
    assert call.session_for(datetime(2021, 7, 1, tzinfo=PARIS)) is None


def test_an_instant_in_utc_compares_with_the_paris_window():
    call = load_call()
    assert call.in_window(datetime.fromisoformat("2021-06-30T21:59:59+00:00"))
    assert not call.in_window(datetime.fromisoformat("2021-06-30T22:00:00+00:00"))


@pytest.mark.parametrize(
    "change, message",
    [
        (("envelope_cents = 168500000", "envelope_cents = -5"), "envelope_cents doit être positif"),
        (("envelope_cents = 168500000", 'envelope_cents = "lots"'), "un entier attendu"),
        (('timezone = "Europe/Paris"', 'timezone = "Mars/Olympus"'), "timezone"),
        (("cutoff = 2021-05-14T23:59:59", "cutoff = 2021-07-14T23:59:59"), "doivent être croissants"),
        (('innovation_lab = ["4"]', 'innovation_lab = ["7"]'), "thématique inconnue : '7'"),
        (("[window]", "[windows]"), "windows"),
    ],
)
def test_a_bad_file_fails_with_a_clear_message(change, message):
    text = HDF.read_text(encoding="utf-8").replace(*change)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        parse_call(text, "bad.toml")


def test_every_siret_and_siren_of_the_file_passes_luhn():
    text = HDF.read_text(encoding="utf-8").replace(
        'attributor_id = "13002612300013"', 'attributor_id = "13000550100010"'
    )
    with pytest.raises(ConfigError, match="13000550100010' n'est pas un SIRET valide"):
        parse_call(text, "bad.toml")
    short = HDF.read_text(encoding="utf-8").replace('attributor_id = "13002612300013"', 'attributor_id = "130026123"')
    with pytest.raises(ConfigError, match="un SIRET a 14 chiffres"):
        parse_call(short, "bad.toml")
    assert load_call().call.attributor_id == "13002612300013"


def test_a_missing_call_names_where_it_looked():
    with pytest.raises(ConfigError, match="aucune configuration d'appel"):
        load_call("nowhere-2099")


def test_the_hdf_call_connects_its_two_demarches():
    c = load_call("hdf-itn7-axe3-2021").connector
    assert {t: d.number for t, d in c.demarches.items()} == {"standard": 41027, "innovation_lab": 41031}
    assert c.requests_per_minute == 400 and c.disable_notification


@pytest.mark.parametrize(
    "change, message",
    [
        (("number = 41031", "number = 41027"), "deux démarches ont le même numéro"),
        (("[connector.demarches.innovation_lab", "[connector.demarches.lab"), "la filière « lab » n'existe pas"),
        (('notifications = "aap"', 'notifications = "les deux"'), "connector.notifications"),
        (('"Métropole" = "metropole"', '"Métropole" = "metro"'), "la nature inconnue « metro »"),
        (('title = "Q2hhbXAtMTg2MjMyMA=="\n', ""), r"champ\(s\) manquant\(s\) : title"),
    ],
)
def test_a_bad_connector_section_fails_in_french(change, message):
    text = HDF.read_text(encoding="utf-8").replace(*change)
    with pytest.raises(ConfigError, match=message):
        parse_call(text, "bad.toml")
