"""The SCDL « subventions » 2.1.1 validation, as validata.fr runs it: the Table Schema with
`frictionless` (strict: every column, in order, every constraint), plus the schema's two
custom checks, which frictionless does not know: `french-siret-value` and `one-of-required`.

`report(csv_bytes)` returns one readable line per problem (empty: valid)."""

from __future__ import annotations

import json
from pathlib import Path

from frictionless import Resource, Schema

from aap_contract.dossier import siret_is_valid

SCHEMA_PATH = Path(__file__).resolve().parent / "schema.json"
SCHEMA_JSON = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _schema() -> Schema:
    # frictionless rejects unknown top-level keys it does not model; the fields are the schema.
    descriptor = {k: v for k, v in SCHEMA_JSON.items() if k in ("fields", "missingValues", "primaryKey")}
    return Schema.from_descriptor(descriptor)


def schema_problems(data: bytes) -> list[str]:
    resource = Resource(data=data, format="csv", encoding="utf-8-sig", schema=_schema())
    result = resource.validate()
    problems = []
    for task in result.tasks:
        for error in task.errors:
            problems.append(f"{error.type}: {error.message}")
    problems += [f"{e.type}: {e.message}" for e in result.errors]
    return problems


def custom_problems(data: bytes) -> list[str]:
    """The schema's `custom_checks`, each applied to every row."""
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    problems = []
    for check in SCHEMA_JSON["custom_checks"]:
        params = check["params"]
        for line, row in enumerate(rows, start=2):
            if check["name"] == "french-siret-value":
                value = row.get(params["column"]) or ""
                if value and not siret_is_valid(value):
                    problems.append(f"french-siret-value: line {line} {params['column']}={value!r}")
            elif check["name"] == "one-of-required":
                if not (row.get(params["column1"]) or row.get(params["column2"])):
                    problems.append(f"one-of-required: line {line} {params['column1']} or {params['column2']}")
            else:
                problems.append(f"unknown custom check {check['name']}")
    return problems


def report(data: bytes) -> list[str]:
    return schema_problems(data) + custom_problems(data)


def summary(data: bytes) -> str:
    """The validation report in a few lines: frictionless's verdict, then the custom checks'."""
    resource = Resource(data=data, format="csv", encoding="utf-8-sig", schema=_schema())
    result = resource.validate()
    task = result.tasks[0] if result.tasks else None
    rows = (task.stats.get("rows") if task is not None else 0) or 0
    custom = custom_problems(data)
    lines = [
        f"frictionless (schema SCDL subventions {SCHEMA_JSON['version']}): "
        f"{'valid' if result.valid else 'INVALID'}, {rows} rows, {len(schema_problems(data))} errors",
        f"custom checks {', '.join(sorted({c['name'] for c in SCHEMA_JSON['custom_checks']}))}: {len(custom)} errors",
    ]
    return "\n".join(lines + [f"  {p}" for p in schema_problems(data) + custom])


if __name__ == "__main__":  # python -m tests.unit.scdl.validate FILE.csv
    import sys

    print(summary(Path(sys.argv[1]).read_bytes()))
