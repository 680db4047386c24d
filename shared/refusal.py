"""A refused command: a code of FORMAT.md, a French sentence, nothing recorded."""
from __future__ import annotations

from litestar import Request, Response

NOT_FOUND_CODES = {"UNKNOWN_DOSSIER"}


class Refusal(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        return 404 if self.code in NOT_FOUND_CODES else 409


def refusal_handler(_: Request, exc: Refusal) -> Response:
    return Response({"code": exc.code, "message": exc.message}, status_code=exc.status)
