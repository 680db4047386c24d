"""Partial readings of the contract's types, derived from them (never written twice).

A view that reports on a dossier (committee, budget, notifier, eligibility) needs a few of its
fields, not the ~2 KB of content: `partial(T, keep)` is `T` restricted to the fields `keep`
names (nested structs restricted in turn), with the same names, types and defaults, so msgspec
decodes a stored event straight into it and skips the rest unbuilt. The lifecycle and the
summaries read these partial types exactly as they read the full ones (same attribute names).
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Mapping
from typing import Any, Union

import msgspec

from aap_contract.checks import field_spec
from aap_contract.events import DossierAmended, DossierSubmitted

EVENT_CONTRACT = ("aggregate", "publisher", "version")
# A field kept whole (True) or read as far as the nested mapping says.
Keep = Mapping[str, "bool | Keep"]


def _narrow_type(t: Any, keep: tuple[tuple[str, Any], ...]) -> Any:
    if isinstance(t, type) and issubclass(t, msgspec.Struct):
        return _partial(t, keep)
    origin, args = typing.get_origin(t), typing.get_args(t)
    if origin in (Union, types.UnionType):
        return Union[tuple(_narrow_type(a, keep) if a is not type(None) else a for a in args)]
    if origin is list and args:
        return list[_narrow_type(args[0], keep)]  # type: ignore[misc]
    if origin is tuple and args:
        return tuple[_narrow_type(args[0], keep), ...]  # type: ignore[misc]
    raise TypeError(f"cannot narrow {t!r}")


def partial(tp: type[msgspec.Struct], keep: Keep) -> type[msgspec.Struct]:
    """`tp` with only the fields of `keep`; the others are skipped when decoding."""
    return _partial(tp, _frozen(keep))


def _frozen(keep: Keep) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, v if isinstance(v, bool) else _frozen(v)) for k, v in keep.items()))


@functools.lru_cache(maxsize=64)
def _partial(tp: type[msgspec.Struct], keep: tuple[tuple[str, Any], ...]) -> type[msgspec.Struct]:
    wanted = dict(keep)
    hints = typing.get_type_hints(tp)  # Annotated checks dropped: decoding judges nothing
    fields: list[Any] = []
    for f in msgspec.structs.fields(tp):
        if f.name not in wanted:
            continue
        sub = wanted.pop(f.name)
        t = hints[f.name] if sub is True else _narrow_type(hints[f.name], sub)
        fields.append(field_spec(f, t))
    if wanted:
        raise TypeError(f"{tp.__name__} has no field {sorted(wanted)}")
    namespace: dict[str, Any] = {name: value for name, value in vars(tp).items() if isinstance(value, property)}
    namespace.update({"__doc__": f"{tp.__name__}, as far as a partial reading needs it."})
    if hasattr(tp, "aggregate"):  # an event type: its contract travels with its partial reading
        namespace.update({k: getattr(tp, k) for k in EVENT_CONTRACT})
    return msgspec.defstruct(tp.__name__, fields, module=__name__, namespace=namespace, frozen=True, gc=False)


# What a summary (aap_contract.entry.summary / summary_with_applicants) reads of a dossier.
SUMMARY_FIELDS: Keep = {
    "title": True,
    "theme": True,
    "applicants": {
        "name": True,
        "siren": True,
        "siret": True,
        "rna": True,
        "share_percent": True,
        "departement": True,
        "operational_contact": True,
        "contact": {"email": True},
    },
    "financing": {"global_cost_cents": True, "requested_cents": True},
}
_CONTENT: Keep = {"dossier_id": True, "session": True, "dossier": SUMMARY_FIELDS}

# The event types read partially by the summary views: give them to `aap_platform.codec.decoder_with`.
SUMMARY_READING: dict[str, type[msgspec.Struct]] = {
    t.__name__: partial(t, _CONTENT) for t in (DossierSubmitted, DossierAmended)
}
