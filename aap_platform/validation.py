"""Input validation that names every faulty field, not just the first (HTTP 422).

msgspec stops at the first error; this walks the value against the type's description
(`msgspec.inspect`) and collects them all, then lets msgspec build the typed value.

Constraints written as `aap_contract.checks.Check` are judged here only: a body is validated
against the type's checked mirror (`aap_contract.checks.checked`), the value returned is of the
type asked for.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec
from litestar.exceptions import ValidationException
from msgspec import inspect as mi

from aap_contract.checks import checked_type

T = TypeVar("T")
FieldErrors = list[dict[str, str]]


def _check(value: Any, t: mi.Type, path: str, out: FieldErrors) -> None:
    def err(msg: str) -> None:
        out.append({"field": path or "body", "message": msg})

    while isinstance(t, mi.Metadata):
        t = t.type
    if isinstance(t, mi.AnyType):
        return
    if isinstance(t, mi.UnionType):
        if value is None and any(isinstance(x, mi.NoneType) for x in t.types):
            return
        others = [x for x in t.types if not isinstance(x, mi.NoneType)]
        if len(others) == 1:
            _check(value, others[0], path, out)
        elif not any(not _collect(value, x, path) for x in others):
            err("valeur invalide")
        return
    if isinstance(t, mi.NoneType):
        return err("doit être null") if value is not None else None
    if isinstance(t, mi.StructType):
        if not isinstance(value, dict):
            return err("objet attendu")
        known = {f.encode_name: f for f in t.fields}
        for name in value:
            if name not in known:
                out.append({"field": f"{path}.{name}" if path else name, "message": "champ inconnu"})
        for f in t.fields:
            sub = f"{path}.{f.encode_name}" if path else f.encode_name
            if f.encode_name not in value:
                if f.required:
                    out.append({"field": sub, "message": "champ obligatoire manquant"})
                continue
            _check(value[f.encode_name], f.type, sub, out)
        return
    if isinstance(t, (mi.ListType, mi.VarTupleType)):
        if not isinstance(value, list):
            return err("liste attendue")
        if t.min_length is not None and len(value) < t.min_length:
            err(f"au moins {t.min_length} {'élément attendu' if t.min_length < 2 else 'éléments attendus'}")
        if t.max_length is not None and len(value) > t.max_length:
            err(f"au plus {t.max_length} {'élément' if t.max_length < 2 else 'éléments'}")
        for i, item in enumerate(value):
            _check(item, t.item_type, f"{path}[{i}]", out)
        return
    if isinstance(t, mi.BoolType):
        return None if isinstance(value, bool) else err("booléen attendu")
    if isinstance(t, mi.IntType):
        if not isinstance(value, int) or isinstance(value, bool):
            return err("entier attendu (montants en centimes)")
        if t.ge is not None and value < t.ge:
            err(f"doit être supérieur ou égal à {t.ge}")
        if t.le is not None and value > t.le:
            err(f"doit être inférieur ou égal à {t.le}")
        return
    if isinstance(t, mi.StrType):
        if not isinstance(value, str):
            return err("chaîne attendue")
        if t.min_length is not None and len(value) < t.min_length:
            err("ne doit pas être vide")
        if t.max_length is not None and len(value) > t.max_length:
            err(f"au plus {t.max_length} caractères")
        if t.pattern is not None and not re.search(t.pattern, value):
            err("format invalide")
        return
    if isinstance(t, mi.LiteralType):
        if value not in t.values:
            err("valeur inconnue ; attendu : " + ", ".join(map(str, t.values)))
        return
    if isinstance(t, mi.DictType):
        return None if isinstance(value, dict) else err("objet attendu")
    try:  # anything else: let msgspec judge it
        msgspec.convert(value, _python_type(t))
    except (msgspec.ValidationError, TypeError):
        err("valeur invalide")


def _collect(value: Any, t: mi.Type, path: str) -> FieldErrors:
    out: FieldErrors = []
    _check(value, t, path, out)
    return out


def _python_type(t: mi.Type) -> Any:
    return getattr(t, "cls", Any)


@functools.lru_cache(maxsize=256)
def _type_info(tp: type) -> mi.Type:
    """The type's description, built once per type (it evaluates the annotations: costly)."""
    return mi.type_info(tp)


def _structs_forbid_unknown(t: mi.Type) -> bool:
    """Every struct in the type refuses unknown fields: then msgspec accepts exactly what the
    walk above accepts (it checks the same constraints, and more)."""
    if isinstance(t, mi.StructType):
        return t.forbid_unknown_fields and all(_structs_forbid_unknown(f.type) for f in t.fields)
    inner = [getattr(t, a) for a in ("type", "item_type", "key_type", "value_type") if hasattr(t, a)]
    inner += list(getattr(t, "types", ()) or ())
    return all(_structs_forbid_unknown(x) for x in inner if isinstance(x, mi.Type))


@functools.lru_cache(maxsize=256)
def _fast_path(tp: type) -> bool:
    return _structs_forbid_unknown(_type_info(tp))


def _accepted(data: Any, tp: type) -> Any:
    """The valid body's value straight from msgspec (the common case, ~20x cheaper than the
    walk), None when it is refused: then the walk names every faulty field."""
    if not _fast_path(tp):
        return None
    try:
        return msgspec.convert(data, tp)
    except msgspec.ValidationError:
        return None


def field_errors(data: Any, tp: type) -> FieldErrors:
    return _collect(data, _type_info(checked_type(tp)), "")


def _typed(data: Any, value: Any, tp: type) -> Any:
    """The accepted value as the type asked for (its mirror only judged it)."""
    return value if type(value) is tp else msgspec.convert(data, tp)


_JSON_FAULTS = (
    (re.compile(r"^Input data was truncated"), "le JSON est tronqué (il s'arrête avant la fin)"),
    (re.compile(r"trailing characters \(byte (\d+)\)"), "caractères en trop après la fin du JSON (octet {0})"),
    (re.compile(r"invalid character \(byte (\d+)\)"), "caractère inattendu (octet {0})"),
    (re.compile(r"expected '(.)' or '(.)' \(byte (\d+)\)"), "« {0} » ou « {1} » attendu (octet {2})"),
    (re.compile(r"expected '(.)' \(byte (\d+)\)"), "« {0} » attendu (octet {1})"),
    (re.compile(r"invalid escape character in string \(byte (\d+)\)"), "séquence d'échappement invalide (octet {0})"),
    (re.compile(r"object keys must be strings \(byte (\d+)\)"), "les clés d'un objet sont des chaînes (octet {0})"),
    (re.compile(r"invalid utf-8|invalid UTF-8", re.I), "le texte n'est pas en UTF-8"),
    (re.compile(r"number out of range \(byte (\d+)\)"), "nombre hors limites (octet {0})"),
)


def french_json_error(exc: Exception) -> str:
    """msgspec's English message on unreadable JSON, said in French (the byte position kept)."""
    text = str(exc)
    for pattern, french in _JSON_FAULTS:
        found = pattern.search(text)
        if found:
            return "JSON illisible : " + french.format(*found.groups())
    byte = re.search(r"\(byte (\d+)\)", text)
    return "JSON illisible" + (f" (octet {byte.group(1)})" if byte else "")


_TYPE_NAMES = {
    "int": "un entier",
    "str": "une chaîne",
    "bool": "un booléen",
    "float": "un nombre",
    "object": "un objet",
}
_TYPE_NAMES.update({"array": "une liste", "null": "null"})


def french_validation_error(exc: Exception) -> str:
    """msgspec's English message on a value of the wrong type, said in French."""
    text = str(exc)
    found = re.match(r"Expected `([^`]+)`, got `([^`]+)`(?: - at `([^`]+)`)?", text)
    if found:
        want, got, where = found.groups()
        message = f"{_TYPE_NAMES.get(want, want)} attendu, reçu {_TYPE_NAMES.get(got, got)}"
        return message + (f" (à {where})" if where else "")
    return "valeur invalide" + (f" ({text.rsplit(' - at ', 1)[1]})" if " - at " in text else "")


def parse(raw: bytes | Any, tp: type[T], extra: Callable[[T], FieldErrors] | None = None) -> T:
    """Decode and validate a request body; raise a 422 listing every faulty field."""
    if isinstance(raw, (bytes, bytearray, str)):
        try:
            data = msgspec.json.decode(raw)
        except (msgspec.DecodeError, RecursionError) as exc:  # nested too deep is unreadable too
            raise ValidationException(
                "corps JSON illisible", extra=[{"field": "body", "message": french_json_error(exc)}], status_code=422
            ) from None
    else:
        data = raw
    judge = checked_type(tp)
    value = _accepted(data, judge)
    errors = [] if value is not None else field_errors(data, judge)
    if value is not None:
        value = _typed(data, value, tp)
        errors = extra(value) if extra else []
        if not errors:
            return value
    elif not errors:
        try:
            value = _typed(data, msgspec.convert(data, judge), tp)
        except msgspec.ValidationError as exc:
            errors = [{"field": "body", "message": french_validation_error(exc)}]
        else:
            errors = extra(value) if extra else []
            if not errors:
                return value
    raise ValidationException(
        "données invalides : " + ", ".join(e["field"] for e in errors), extra=errors, status_code=422
    )
