"""One way for a view to run a service call a person asked for and tell them how it went."""

from django.contrib import messages

from core.errors import DomainError


def attempt(request, action, *, success: str, errors=(DomainError,)) -> bool:
    """Run ``action()``; a refusal the person can understand (``DomainError`` and any other
    ``errors``) becomes an error message, anything else still raises. True on success."""
    try:
        action()
    except errors as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
        return False
    messages.success(request, success)
    return True
