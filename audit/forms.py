"""The audit filter: one form read by the review page, the export and the API alike."""

import datetime as dt

from django import forms
from django.utils import timezone

from .choices import Source
from .selectors import AuditFilter

# The longest value of each filter, read by the form and by the API's query schema alike.
FILTER_BOUNDS = {"q": 200, "actor": 150, "team": 50, "environment": 19, "action": 64, "since": 40, "until": 40}
ID_MAX = 2**63 - 1  # ids are PostgreSQL bigints


class AuditFilterForm(forms.Form):
    """Filters from a query string. Every field is optional; an empty form selects everything."""

    q = forms.CharField(required=False, max_length=FILTER_BOUNDS["q"], label="Search")
    actor = forms.CharField(required=False, max_length=FILTER_BOUNDS["actor"])
    team = forms.SlugField(required=False, max_length=FILTER_BOUNDS["team"])
    environment = forms.IntegerField(required=False, min_value=1, max_value=ID_MAX)
    action = forms.CharField(
        required=False, max_length=FILTER_BOUNDS["action"], help_text="Exact, or a prefix ending in * (request.*)."
    )
    source = forms.ChoiceField(required=False, choices=[("", "Any source"), *Source.choices])
    since = forms.DateTimeField(required=False, help_text="From this moment (a date means its start).")
    until = forms.DateTimeField(required=False, help_text="Before this moment (a date means its end).")

    def clean_until(self):
        until = self.cleaned_data["until"]
        raw = (self.data.get("until") or "").strip()
        # A bare date is read as "through that day": the end of the day, not its first second.
        if until is not None and _is_bare_date(raw):
            try:
                until += dt.timedelta(days=1)
            except OverflowError:  # 9999-12-31: through its end is "no end"
                return None
        return until

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since >= until:
            self.add_error("until", "Give an end after the start.")
        return cleaned

    def to_filter(self) -> AuditFilter:
        """The validated filter (call after is_valid())."""
        data = self.cleaned_data
        return AuditFilter(
            q=data["q"].strip(),
            actor=data["actor"].strip(),
            team=data["team"],
            environment=data["environment"],
            action=data["action"].strip(),
            source=data["source"],
            since=data["since"],
            until=data["until"],
        )


class JumpToDateForm(forms.Form):
    """The review page's "jump to a date": show the newest rows of that day and older."""

    date = forms.DateField(required=False)

    def moment(self) -> dt.datetime | None:
        day = self.cleaned_data.get("date")
        if day is None:
            return None
        if day == dt.date.max:  # its end is past the last date there is: the newest rows
            return None
        return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min), dt.UTC)


def _is_bare_date(raw: str) -> bool:
    try:
        dt.date.fromisoformat(raw)
    except ValueError:
        return False
    return True


def filter_errors(form: forms.Form) -> dict[str, list[str]]:
    """Form errors in the API's error shape: {field: [messages]}."""
    return {field: [error["message"] for error in errors] for field, errors in form.errors.get_json_data().items()}
