"""A refused command: a code of FORMAT.md, a French sentence, nothing recorded.

Pure vocabulary: how a refusal becomes an HTTP answer is the platform's (`aap_platform.errors`)."""

from __future__ import annotations

NOT_FOUND_CODES = frozenset({"UNKNOWN_DOSSIER", "UNKNOWN_SESSION", "UNKNOWN_DRAFT", "UNKNOWN_DOCUMENT"})


class Refusal(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    @property
    def not_found(self) -> bool:
        """The refused target does not exist (or must not be revealed): a 404 rather than a 409."""
        return self.code in NOT_FOUND_CODES
