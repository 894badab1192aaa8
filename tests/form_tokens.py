"""Money forms carry a one-time token (core.form_tokens); a test's POST adds a fresh one,
as the rendered page would."""

from core.form_tokens import FIELD, new_token


def with_form_token(data: dict | None = None, token: str | None = None) -> dict:
    return {**(data or {}), FIELD: token or new_token()}
