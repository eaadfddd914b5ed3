"""Logging helpers named in settings.LOGGING."""

import logging

from django.core.exceptions import PermissionDenied
from django.http import Http404


class ExpectedDenials(logging.Filter):
    """A refused action (403) or a page outside the user's teams (404) is the panel working as meant:
    log it as one line with its reason, not with a traceback. Real errors keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, (PermissionDenied, Http404)):
            reason = exc.args[0] if exc.args and isinstance(exc.args[0], str) else ""
            record.msg = record.getMessage() + (f" ({reason})" if reason else "")
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        return True
