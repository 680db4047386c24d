"""The advisory ranking of a session's agenda (SPEC §6): the mean of each criterion over the
members' last reviews, and the overall mean (the mean of the criteria's means). A criterion
left null (free software where no software is involved) is averaged over the reviews that
scored it, and left out of the overall mean when nobody scored it. Exact fractions inside,
rounded to two decimals only for display; unreviewed dossiers come last."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

import msgspec

from aap_contract.entry import DossierEntry
from services.committee.agenda import SessionState, agenda


class Ranked(msgspec.Struct, frozen=True):
    rank: int
    dossier_id: str
    title: str
    reviews: int
    means: dict[str, float | None]
    overall: float | None
    reviewers: list[str] = []  # the members who reviewed it, by name


def _mean(values: list[int] | list[Fraction]) -> Fraction | None:
    return Fraction(sum(values), len(values)) if values else None


def _shown(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 2)


def ranking(
    state: SessionState,
    dossiers: Mapping[str, DossierEntry],
    criteria: list[str],
    names: Mapping[str, str] | None = None,
) -> list[Ranked]:
    """`names`: member id -> name (the call's committee), to show who reviewed each dossier."""
    rows = []
    for entry in agenda(state, dossiers):
        scores = list(state.reviews.get(entry.dossier_id, {}).values())
        means = {c: _mean([v for s in scores if (v := getattr(s, c, None)) is not None]) for c in criteria}
        overall = _mean([m for m in means.values() if m is not None])
        rows.append((entry, len(scores), means, overall))
    rows.sort(key=lambda r: (r[3] is None, -(r[3] or 0), r[0].dossier_id))
    return [
        Ranked(
            rank=i,
            dossier_id=e.dossier_id,
            title=e.title,
            reviews=count,
            means={c: _shown(m) for c, m in means.items()},
            overall=_shown(overall),
            reviewers=sorted((names or {}).get(m, m) for m in state.reviews.get(e.dossier_id, {})),
        )
        for i, (e, count, means, overall) in enumerate(rows, start=1)
    ]
