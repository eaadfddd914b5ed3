"""The session store: Django's database sessions, with the read every request makes compiled
once per process (wlpanel.compiled_query) instead of on each request. SESSION_ENGINE names it."""

from datetime import datetime

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from wlpanel.compiled_query import CompiledQuery

_UNEXPIRED_SESSION = CompiledQuery(
    lambda session_key, now: Session.objects.filter(session_key=session_key, expire_date__gt=now),
    session_key=str,
    now=datetime,
)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        session = _UNEXPIRED_SESSION.first(session_key=self.session_key, now=timezone.now())
        if session is None:
            self._session_key = None
        return session
