"""Which notifications a closed session calls for, their content, and when one counts as sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy

import msgspec

from aap_contract.config import load_call
from aap_contract.events import Lapse, NotificationSent, ReservationsLapsed
from services.notifier.domain import (
    RecordSent,
    decide,
    evolve,
    individual_id,
    initial_state,
    is_overdue,
    message_id,
    retry_delay,
)
from services.notifier.mailer import Outgoing, ascii_address, build_message
from services.notifier.render import Templates, context, french_date
from services.notifier.view import due_notifications
from tests.unit.given import fold
from tests.unit.test_notifier_history import (
    CLOSED_AT,
    FAILURE,
    MOTIVATION,
    PARIS,
    session_one,
    view_of,
)

CALL = load_call("hdf-itn7-axe3-2021")
WEEK = timedelta(days=7)


def due():
    return {n.notification_id: n for n in due_notifications(view_of(session_one()), WEEK)}


def test_each_laureate_gets_one_individual_notification_and_the_others_one_collective():
    notes = due()
    assert list(notes) == ["s1-individual-d-civil", "s1-individual-d-joint", "s1-collective"]
    assert notes["s1-individual-d-joint"].recipients == (
        "dsi@cc-val.example.fr",
        "mairie@rivecourt.example.fr",
        "mairie@orval.example.fr",
    )
    collective = notes["s1-collective"]
    assert collective.kind == "collective"
    assert collective.dossier_ids == ("d-rejected", "d-ineligible")  # the deferred one gets nothing
    assert collective.recipients == ("contact@fresnoy.example.fr", "dgs@marle.example.fr")
    assert all(n.due_at == CLOSED_AT + WEEK for n in notes.values())


def test_no_notification_before_the_session_closes():
    assert due_notifications(view_of(session_one(close=False)), WEEK) == []


def test_overdue_only_after_the_delay():
    n = due()["s1-collective"]
    assert not is_overdue(n, CLOSED_AT + WEEK)
    assert is_overdue(n, CLOSED_AT + WEEK + timedelta(seconds=1))


def test_recorded_once_only():
    n = due()["s1-collective"]
    command = RecordSent(n, "<m>", "sujet")
    first = decide(command, initial_state())
    assert isinstance(first, NotificationSent) and first.recipients == list(n.recipients)
    assert decide(command, fold(evolve, initial_state(), [first])) is None


def test_backoff_doubles_and_is_capped():
    assert [retry_delay(a, 1.0, 10.0) for a in (1, 2, 3, 4, 5, 6, 1000)] == [1, 2, 4, 8, 10, 10, 10]


def test_ids_are_deterministic():
    assert individual_id(2, "abc") == "s2-individual-abc"
    sender = CALL.call.sender_email  # the sender's domain names the message, not a made-up one
    assert message_id("s1-collective", CALL.id, sender) == "<s1-collective.hdf-itn7-axe3-2021@hauts-de-france.gouv.fr>"


def test_french_date_in_paris_time():
    from datetime import datetime

    assert french_date(datetime(2021, 5, 20, 22, 30, tzinfo=UTC), PARIS) == "21 mai 2021"
    assert french_date(datetime(2021, 7, 1, 8, tzinfo=PARIS), PARIS) == "1er juillet 2021"


def test_individual_email_in_french_with_the_grant_written_the_french_way():
    view = view_of(session_one())
    subject, body = Templates().render("individual", context(due()["s1-individual-d-joint"], view, CALL))
    assert "« Portail citoyen intercommunal » est retenu" in subject
    assert "70\u00a0000,00\u00a0€" in body and "90\u00a0000,00\u00a0€" in body
    assert "20 mai 2021" in body and "session n° 1" in body
    for name in ("Communauté de communes du Val", "Commune de Rivecourt", "Commune d'Orval"):
        assert name in body


def test_collective_email_names_no_structure_nor_reason_and_gives_the_means_of_appeal():
    view = view_of(session_one())
    subject, body = Templates().render("collective", context(due()["s1-collective"], view, CALL))
    assert subject.endswith("résultats du comité du 20 mai 2021 (session n° 1)")
    assert "Formation des agents" in body and "Petite étude" in body and "les 2 projets suivants" in body
    assert MOTIVATION not in body and FAILURE not in body and "SIREN" not in body  # others' read it too (Bcc)
    assert "sur simple demande à sgar-numerique@hauts-de-france.gouv.fr" in body
    assert "Voies et délais de recours" in body and "deux mois" in body and "tribunal administratif de Lille" in body
    assert "Relation usagers" not in body  # deferred: nothing yet


def test_collective_email_gives_each_motivation_and_reason_when_the_call_asks_for_it():
    call = msgspec.structs.replace(
        CALL, notifications=msgspec.structs.replace(CALL.notifications, collective_details=True)
    )
    _, body = Templates().render("collective", context(due()["s1-collective"], view_of(session_one()), call))
    assert MOTIVATION in body and FAILURE in body and "inéligible" in body and "SIREN 215902545" in body


def test_a_lapse_letter_to_the_lauréat_with_the_means_of_appeal():
    lapse = ReservationsLapsed(deadline=CALL.budget.commitment_deadline, lapses=[Lapse("d-joint", 7_000_000)])
    view = view_of(session_one() + [(lapse, datetime(2022, 1, 1, 0, 0, 1, tzinfo=PARIS), None)])
    [n] = [n for n in due_notifications(view, WEEK) if n.kind == "lapse"]
    assert n.notification_id == "lapse-d-joint" and n.recipients == due()["s1-individual-d-joint"].recipients
    subject, body = Templates().render("lapse", context(n, view, CALL))
    assert "caducité" in subject and "Portail citoyen intercommunal" in subject
    assert "70\u00a0000,00\u00a0€" in body and "31 décembre 2021" in body and "1er janvier 2022" in body
    assert "Voies et délais de recours" in body


def test_a_call_can_override_a_template(tmp_path):
    (tmp_path / "individual_subject.j2").write_text("Bonne nouvelle : {{ dossier.title }}", encoding="utf-8")
    templates = Templates(tmp_path)
    subject, body = templates.render(
        "individual", context(due()["s1-individual-d-civil"], view_of(session_one()), CALL)
    )
    assert subject == "Bonne nouvelle : Dématérialisation de l'état civil"
    assert "45\u00a0000,00\u00a0€" in body  # the default body still applies


def test_non_ascii_domains_are_idna_encoded():
    assert ascii_address("numerique@région.example.fr") == "numerique@xn--rgion-bsa.example.fr"
    assert ascii_address("a@b.fr") == "a@b.fr"
    out = Outgoing(
        notification_id="s1-collective",
        message_id="<x@aap.invalid>",
        sender="sgar@hdf.gouv.fr",
        sender_name="Préfecture — SGAR",
        to=(),
        bcc=("numerique@région.example.fr", "a@b.fr"),
        subject="Résultats",
        body="Madame, Monsieur, 45\u00a0000,00\u00a0€",
        date=CLOSED_AT,
    )
    assert out.recipients == ["numerique@xn--rgion-bsa.example.fr", "a@b.fr"]
    sent = message_from_bytes(bytes(build_message(out, with_bcc=False)), policy=policy.default)
    assert sent["Bcc"] is None and sent["To"] == "sgar@hdf.gouv.fr"  # recipients hidden from each other
    assert sent["Message-ID"] == "<x@aap.invalid>" and sent["Subject"] == "Résultats"
    assert "45\u00a0000,00\u00a0€" in sent.get_content()
    kept = message_from_bytes(bytes(build_message(out, with_bcc=True)), policy=policy.default)
    assert "numerique@xn--rgion-bsa.example.fr" in kept["Bcc"]


def test_templates_dir_from_the_call_relative_to_the_repository_or_absolute(tmp_path):
    from msgspec.structs import replace

    from services.notifier.render import REPO_ROOT, templates_dir

    assert templates_dir(CALL) is None
    relative = replace(CALL, notifications=replace(CALL.notifications, templates_dir="config/templates/hdf"))
    assert templates_dir(relative) == REPO_ROOT / "config" / "templates" / "hdf"
    absolute = replace(CALL, notifications=replace(CALL.notifications, templates_dir=str(tmp_path)))
    assert templates_dir(absolute) == tmp_path


def test_mail_settings_from_the_environment(tmp_path):
    import pytest

    from services.notifier.mailer import MailSettings, OutboxMailer, SmtpMailer

    outbox = MailSettings.from_env({}, tmp_path)
    assert isinstance(outbox.mailer(), OutboxMailer) and outbox.outbox_dir == tmp_path / "outbox"
    # a mail server back after an outage is used within a minute, not ten (issue 13)
    assert outbox.retry_cap == 60.0 and retry_delay(50, outbox.retry_base, outbox.retry_cap) == 60.0
    smtp = MailSettings.from_env(
        {
            "AAP_SMTP_HOST": "smtp.example.fr",
            "AAP_SMTP_TLS": "starttls",
            "AAP_SMTP_USER": "u",
            "AAP_SMTP_PASSWORD": "p",
        },
        tmp_path,
    )
    mailer = smtp.mailer()
    assert isinstance(mailer, SmtpMailer) and (mailer.port, mailer.tls, mailer.user) == (587, "starttls", "u")
    with pytest.raises(ValueError):
        MailSettings.from_env({"AAP_SMTP_TLS": "tls1.0"}, tmp_path)


def test_when_dn_notifies_the_dossiers_it_gave_get_no_second_email():
    from datetime import datetime

    from aap_contract.events import DnDossierImported

    imported = [
        (
            DnDossierImported(d, 41027, 1 + i, f"id{i}", "submitted", "f", datetime(2021, 4, 21, tzinfo=UTC)),
            CLOSED_AT,
            None,
        )
        for i, d in enumerate(("d-civil", "d-rejected"))
    ]
    view = view_of(session_one() + imported)
    assert [n.notification_id for n in due_notifications(view, WEEK)] == [
        "s1-individual-d-civil",
        "s1-individual-d-joint",
        "s1-collective",
    ]
    notes = {n.notification_id: n for n in due_notifications(view, WEEK, dn_notifies=True)}
    assert list(notes) == ["s1-individual-d-joint", "s1-collective"]
    assert notes["s1-collective"].dossier_ids == ("d-ineligible",)
