"""The personal data register (docs/personal-data.json) covers every event type, names only
fields that exist, and says sealed exactly where the platform seals (crypto-shredding)."""

from __future__ import annotations

import json
import typing
from pathlib import Path

import msgspec
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

from aap_contract.events import BY_NAME, NotificationSent
from aap_platform import privacy
from tests.unit.test_notifier_history import DOSSIERS

REGISTER = json.loads((Path(__file__).resolve().parents[2] / "docs" / "personal-data.json").read_text())


def test_every_event_type_is_in_the_register():
    assert set(REGISTER["events"]) == set(BY_NAME)


def _struct_in(t):
    """The struct a field's type holds (T, list[T], T | None), or None."""
    if isinstance(t, type) and issubclass(t, msgspec.Struct):
        return t
    for arg in typing.get_args(t):
        found = _struct_in(arg)
        if found is not None:
            return found
    return None


def _exists(tp, path: str) -> bool:
    parts = path.replace("[]", "").split(".")
    for i, part in enumerate(parts):
        hints = typing.get_type_hints(tp)
        if part not in hints:
            return False
        if i < len(parts) - 1:
            tp = _struct_in(hints[part])
            if tp is None:
                return False
    return True


def test_the_register_names_real_fields():
    for name, entry in REGISTER["events"].items():
        for field in entry["personal"]:
            assert _exists(BY_NAME[name], field["field"]), (name, field)


class FakeKV:
    def __init__(self):
        self.values: dict[str, bytes] = {}

    async def get(self, key):
        if key not in self.values:
            from nats.js.errors import KeyNotFoundError

            raise KeyNotFoundError
        return type("Entry", (), {"value": self.values[key]})()

    async def create(self, key, value):
        if key in self.values:
            from nats.js.errors import KeyWrongLastSequenceError

            raise KeyWrongLastSequenceError
        self.values[key] = value

    async def purge(self, key):
        self.values.pop(key, None)


def vault() -> privacy.Vault:
    v = privacy.Vault(None, "hdf-itn7-axe3-2021")
    v._kv = FakeKV()  # noqa: SLF001 — the bucket, without NATS
    return v


@pytest.mark.parametrize("name", ["DossierSubmitted", "NotificationSent"])
async def test_what_the_register_says_is_sealed_is_sealed_and_erasure_shows_effacé(name):
    v = vault()
    if name == "DossierSubmitted":
        data = BY_NAME[name](dossier_id="d", dossier=DOSSIERS["d-joint"], session=1)
    else:
        data = NotificationSent("n", "individual", 1, ["d"], ["dsi@cc-val.example.fr"], "<m>", "s")
    sealed = msgspec.to_builtins(await v.seal(data))
    text = json.dumps(sealed)
    assert "@" not in text.replace("@hauts", "")  # no address in clear
    sealed_fields = [f["field"] for f in REGISTER["events"][name]["personal"] if f["sealed"]]
    assert sealed_fields
    revealed = await v.reveal(sealed)
    assert revealed == msgspec.to_builtins(data)
    await v.erase(privacy.subject_for("hdf-itn7-axe3-2021", "dsi@cc-val.example.fr"))
    after = json.dumps(await v.reveal(sealed), ensure_ascii=False)
    assert "dsi@cc-val.example.fr" not in after and privacy.ERASED in after
    assert "mairie@rivecourt.example.fr" in after or name == "NotificationSent"  # others untouched


async def test_sealing_is_deterministic_per_subject_and_masking_hides_personal_fields():
    v = vault()
    one, two = await v.seal_email("A@b.fr"), await v.seal_email("A@b.fr")
    assert one == two and privacy.is_sealed(one)
    assert privacy.mask({"contact": {"name": "x"}, "title": "Portail", "recipients": [one]}) == {
        "contact": privacy.MASKED,
        "title": "Portail",
        "recipients": privacy.MASKED,
    }
    assert len(AESSIV.generate_key(bit_length=512)) == 64
