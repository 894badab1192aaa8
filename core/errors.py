"""Domain errors a person can cause. Views turn them into a message; the API into JSON."""


class DomainError(Exception):
    code = "invalid"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class InvalidTransition(DomainError):
    """The object is not in a state that allows this action (e.g. already approved)."""

    code = "conflict"
    http_status = 409


class NotAllowed(DomainError):
    code = "forbidden"
    http_status = 403


class Conflict(DomainError):
    code = "conflict"
    http_status = 409


def check_transition(transitions: dict, current: str, target: str, *, what: str) -> None:
    """One place that enforces a status transition map ``{from: {to, ...}}``."""
    if target not in transitions.get(current, ()):
        raise InvalidTransition(
            f"This {what} is {current.replace('_', ' ')}; it cannot become "
            f"{target.replace('_', ' ')}."
        )
