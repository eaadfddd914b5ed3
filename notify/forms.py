from django import forms

from .choices import ALL_EVENTS, EVENTS, WebhookFormat
from .selectors import webhook_teams_manageable_by
from .webhooks import SECRET_LENGTH


class WebhookForm(forms.Form):
    team = forms.ModelChoiceField(queryset=None, to_field_name="slug", empty_label=None)
    url = forms.URLField(max_length=500, label="URL", assume_scheme="https", widget=forms.URLInput(attrs={"placeholder": "https://hooks.slack.com/services/…"}))
    format = forms.ChoiceField(choices=WebhookFormat.choices, initial=WebhookFormat.JSON)
    events = forms.MultipleChoiceField(
        choices=[(ALL_EVENTS, "All events")] + list(EVENTS.items()),
        initial=[ALL_EVENTS],
        widget=forms.CheckboxSelectMultiple,
    )
    secret = forms.CharField(
        min_length=SECRET_LENGTH[0],
        max_length=SECRET_LENGTH[1],
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Deliveries carry X-Wlpanel-Signature: sha256=<HMAC-SHA256 of the body with this secret>.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = webhook_teams_manageable_by(user)
