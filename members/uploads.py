"""Per-member limits on KYC document uploads, enforced while the body arrives (issue 15, M7).

Before this, a fresh sign-up could post eleven 5 MB files in two seconds and the 5 MB cap
was enforced by nginx alone (Django read and stored whatever reached it). Now:

- before the body is read: the member's uploads this hour are counted through the cache
  (``DOCUMENT_UPLOADS_PER_HOUR``), and a ``Content-Length`` larger than one file may be is
  refused outright;
- while the body is read: ``DocumentSizeLimitHandler`` counts each file's bytes and stops
  the upload at the cap (the rest of the body is drained, never stored);
- when storing (``members.services.upload_document``, under the member's row lock): the
  number of documents (``DOCUMENT_MAX_PER_MEMBER``) and their total size
  (``DOCUMENT_MAX_TOTAL_BYTES``) after the upload, counting a replaced document as gone.
"""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.db.models import Max, Sum
from django.template.defaultfilters import filesizeformat

from core import throttle

# Multipart boundaries, part headers, the CSRF token and the document kind.
MULTIPART_OVERHEAD = 64 * 1024
HOUR = 3600


def _mb(size: int) -> str:
    if size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MB"
    return filesizeformat(size)


class DocumentSizeLimitHandler(FileUploadHandler):
    """Stops the upload as soon as one file passes ``max_bytes``; put first in
    ``request.upload_handlers`` so the memory/temporary-file handlers never see the excess."""

    def __init__(self, request=None, *, max_bytes: int):
        super().__init__(request)
        self.max_bytes = max_bytes
        self.refused = False

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.max_bytes:
            self.refused = True
            # connection_reset=False: the rest of the body is read and thrown away, so the
            # member gets a page with the reason rather than a reset connection.
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None


def upload_cap(member) -> int:
    """The most one upload may carry now: the per-file cap, or less when the member's total
    is nearly used (a replaced document's size counts as free)."""
    totals = member.documents.aggregate(used=Sum("size"), largest=Max("size"))
    room = settings.DOCUMENT_MAX_TOTAL_BYTES - (totals["used"] or 0) + (totals["largest"] or 0)
    return max(0, min(settings.DOCUMENT_MAX_BYTES, room))


def refuse_before_reading(request, member) -> str:
    """Why this upload is refused before its body is read ("" when it may be read).
    Counts the attempt against the member's hourly allowance."""
    verdict = throttle.hit(
        "document-upload",
        f"u:{request.user.pk}",
        limit=settings.DOCUMENT_UPLOADS_PER_HOUR,
        window=HOUR,
    )
    if not verdict.allowed:
        minutes = max(1, -(-verdict.retry_after // 60))
        return (
            f"You have uploaded {settings.DOCUMENT_UPLOADS_PER_HOUR} documents in the last "
            f"hour, the most we accept. Try again in {minutes} minutes."
        )
    try:
        length = int(request.headers.get("content-length") or 0)
    except ValueError:
        length = 0
    if length > settings.DOCUMENT_MAX_BYTES + MULTIPART_OVERHEAD:
        return too_large_message()
    return ""


def too_large_message() -> str:
    return (
        f"The file is larger than {_mb(settings.DOCUMENT_MAX_BYTES)} (or than the space left "
        f"of your {_mb(settings.DOCUMENT_MAX_TOTAL_BYTES)} of documents). Upload a smaller "
        "scan or photo."
    )
