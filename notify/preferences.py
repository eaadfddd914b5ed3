"""Which events go where: a person's choices over their team's defaults over "everywhere"."""

from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from audit.context import Origin

from .choices import EVENTS
from .models import NotificationPreference
from .webhooks import may_manage_webhooks

PERSON_CHANNELS = ("in_panel", "email")
TEAM_CHANNELS = ("in_panel", "email", "webhook")
CHANNEL_LABELS = {"in_panel": "In the panel", "email": "Email", "webhook": "Webhooks"}


@dataclass(frozen=True)
class Channels:
    in_panel: bool = True
    email: bool = True
    webhook: bool = True


EVERYWHERE = Channels()


def _channels(preference: NotificationPreference | None, fallback: Channels = EVERYWHERE) -> Channels:
    if preference is None:
        return fallback
    return Channels(in_panel=preference.in_panel, email=preference.email, webhook=preference.webhook)


def team_channels(*, team, event: str) -> Channels:
    if team is None:
        return EVERYWHERE
    return _channels(NotificationPreference.objects.filter(team=team, event=event).first())


def channels_for_people(*, users, team, event: str) -> dict[int, Channels]:
    """Each person's channels for the event (two queries, whatever the number of people)."""
    default = team_channels(team=team, event=event)
    chosen = {p.user_id: p for p in NotificationPreference.objects.filter(user__in=users, event=event)}
    return {user.pk: _channels(chosen.get(user.pk), default) for user in users}


def preferences_table(*, user=None, team=None) -> list[dict]:
    """Every event with where it goes now, for the person (their team defaults not applied) or the team."""
    rows = NotificationPreference.objects.filter(user=user) if user is not None else NotificationPreference.objects.filter(team=team)
    saved = {row.event: row for row in rows}
    return [
        {"event": event, "label": label, **_channels(saved.get(event)).__dict__}
        for event, label in EVENTS.items()
    ]


def preferences_save(*, origin: Origin, choices: dict[str, set[str]], team=None) -> None:
    """Save where each event goes (`choices`: event → the channels it goes to), for the origin's
    person, or for the team (its approvers and admins; audited)."""
    if team is not None and not may_manage_webhooks(user=origin.user, team=team):
        raise PermissionDenied(f"Only approvers of team {team.slug} and admins set its notification defaults.")
    channels = TEAM_CHANNELS if team is not None else PERSON_CHANNELS
    unknown = sorted(set(choices) - set(EVENTS))
    if unknown:
        raise ValidationError({"events": [f"Unknown events: {', '.join(unknown)[:200]}."]})
    owner = {"team": team} if team is not None else {"user": origin.user}
    with transaction.atomic():
        before = {row["event"]: row for row in preferences_table(**owner)}
        for event, chosen in choices.items():
            values = {channel: channel in chosen for channel in channels}
            NotificationPreference.objects.update_or_create(event=event, **owner, defaults=values)
        if team is not None:
            after = {row["event"]: row for row in preferences_table(**owner)}
            changed = {event: {c: after[event][c] for c in channels} for event in after if after[event] != before[event]}
            if changed:
                origin.record(
                    action="notification_defaults.changed",
                    target=team,
                    team_slug=team.slug,
                    before={event: {c: before[event][c] for c in channels} for event in changed},
                    after=changed,
                )
