"""Forms of the panel. They parse and present; the rules live in `services.request_errors`, which
the request form calls so that the page, the plan preview and the API report the same messages.
"""

from django import forms
from django.core.validators import RegexValidator
from django.utils.functional import cached_property
from django.utils.timesince import timesince

from accounts.selectors import teams_requestable_by
from aws.errors import CAPACITY_CODES
from clouds.services import account_access

from . import queries, services, validation
from .choices import EnvironmentState, RequestState
from .models import Environment, EnvironmentRequest, Zone
from .provisioning import keys

ALL_INGRESS = [{"protocol": "all", "ports": None}]

# request_errors keys that are not form fields of the same name.
ERROR_FIELDS = {"wavelength_ingress": "ingress_mode"}


def _pattern(pattern: str, message: str) -> RegexValidator:
    """The API schema's character set (environments/validation.py), with the same message."""
    return RegexValidator(pattern, message)


def _cidr(value: str) -> None:
    problem = validation.cidr_error(value.strip())
    if problem:
        raise forms.ValidationError(problem)


class BoundedModelChoiceField(forms.ModelChoiceField):
    """A choice looked up by a text key: text no row can have (NUL, too long) is refused before the
    query, which PostgreSQL would answer with an error."""

    def __init__(self, *args, max_length: int, **kwargs):
        self.max_length = max_length
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        if isinstance(value, str) and (len(value) > self.max_length or validation.text_error(value)):
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


def zone_choice_value(zone: Zone) -> str:
    """A zone of an AWS account is `<account id>/<zone name>` (zones are per account); a zone of
    the panel's own account is its name alone."""
    return f"{zone.account.account_id}/{zone.name}" if zone.account_id else zone.name


def zone_from_choice(value: str) -> Zone | None:
    account_id, _, name = value.rpartition("/")
    zones = Zone.objects.select_related("account")
    if account_id:
        return zones.filter(account__account_id=account_id, name=name).first()
    return zones.filter(account=None, name=name).first()


class ZoneChoiceField(BoundedModelChoiceField):
    """Wavelength Zones of the team's accounts; a choice is `zone_choice_value`."""

    def prepare_value(self, value):
        if isinstance(value, Zone):
            return zone_choice_value(value)
        return value

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if not isinstance(value, str) or len(value) > self.max_length or validation.text_error(value):
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        zone = zone_from_choice(value)
        if zone is None or not self.queryset.filter(pk=zone.pk).exists():
            raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return zone

    def label_from_instance(self, zone: Zone) -> str:
        where = " · ".join(part for part in (zone.carrier, zone.metro) if part)
        status = "opted in" if zone.opted_in else ("opt-in requested" if zone.opt_in_requested else "not opted in")
        account = f" · account {zone.account.name} ({zone.account.account_id})" if zone.account_id else ""
        return f"{zone.name} — {where or 'carrier unknown'} ({zone.region}, {status}){account}"


# General-purpose families first (burstable, then fixed), then everything else; sizes small to large.
_GENERAL_PURPOSE = ("t", "m")
_SIZES = ("nano", "micro", "small", "medium", "large", "xlarge")


def _size_rank(size: str) -> float:
    if size in _SIZES:
        return _SIZES.index(size)
    if size.endswith("xlarge") and size[: -len("xlarge")].isdigit():
        return len(_SIZES) + int(size[: -len("xlarge")])
    return 1000  # metal and the unknown: last


def default_instance_type(offered: list[str]) -> str:
    """What a new user would pick: the smallest general-purpose type the zone offers (t3.medium over
    g4dn.2xlarge, which only sorts first), else the smallest type offered."""

    def rank(name: str):
        family, _, size = name.partition(".")
        general = family[:1] in _GENERAL_PURPOSE and family[1:2].isdigit()
        return (not general, _size_rank(size), name)

    return min(offered, key=rank) if offered else ""


class EnvironmentRequestForm(forms.Form):
    name = forms.CharField(
        max_length=validation.NAME_MAX,
        help_text="Lowercase letters, digits and hyphens; unique among the team's live environments.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "edge-demo"}),
    )
    team = BoundedModelChoiceField(
        queryset=None, to_field_name="slug", empty_label=None, max_length=validation.TEAM_SLUG_MAX
    )
    purpose = forms.CharField(
        required=False,
        max_length=validation.PURPOSE_MAX,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "What is it for?"}),
    )
    zone = ZoneChoiceField(
        queryset=Zone.objects.select_related("account"),
        label="Wavelength Zone",
        empty_label=None,
        max_length=validation.ZONE_NAME_MAX + 13,  # `<account id>/` before the name
        error_messages={"invalid_choice": "Choose one of the listed zones: those of your teams' AWS accounts."},
    )
    # Not required here: the service says what to choose from ("Choose an instance type; … offers: …").
    instance_type = forms.CharField(
        required=False,
        max_length=validation.INSTANCE_TYPE_MAX,
        widget=forms.Select,
        label="Instance type",
        validators=[_pattern(validation.INSTANCE_TYPE_PATTERN, "An EC2 instance type such as t3.medium.")],
    )
    bastion = forms.ChoiceField(
        choices=[("yes", "Yes: a bastion in the public subnet, reachable by SSH"), ("no", "No bastion")],
        initial="yes",
        widget=forms.RadioSelect,
        label="Bastion host",
    )
    vpc_cidr = forms.CharField(max_length=validation.CIDR_MAX, initial="10.0.0.0/16", label="VPC CIDR", validators=[_cidr])
    public_subnet_cidr = forms.CharField(
        max_length=validation.CIDR_MAX, initial="10.0.1.0/24", label="Public subnet CIDR", validators=[_cidr]
    )
    wavelength_subnet_cidr = forms.CharField(
        max_length=validation.CIDR_MAX, initial="10.0.0.0/24", label="Wavelength subnet CIDR", validators=[_cidr]
    )
    bastion_ssh_cidr = forms.CharField(
        required=False,
        max_length=validation.CIDR_MAX,
        label="SSH to the bastion from",
        validators=[_cidr],
        # A native suggestion list (the requester's address, offered by the page), no script needed.
        widget=forms.TextInput(attrs={"list": "ssh-suggestions", "placeholder": "e.g. 198.51.100.7/32", "autocomplete": "off"}),
    )
    ingress_mode = forms.ChoiceField(
        choices=[("all", "All protocols and ports"), ("custom", "Only these protocols and ports")],
        initial="all",
        widget=forms.RadioSelect,
        label="Reaching the Wavelength instance from outside the VPC",
    )
    ingress_tcp = forms.CharField(
        required=False,
        max_length=validation.PORTS_MAX,
        label="TCP ports",
        widget=forms.TextInput(attrs={"placeholder": "22,80,443"}),
    )
    ingress_udp = forms.CharField(
        required=False,
        max_length=validation.PORTS_MAX,
        label="UDP ports",
        widget=forms.TextInput(attrs={"placeholder": "5000-5100"}),
    )
    ingress_icmp = forms.BooleanField(required=False, initial=True, label="ICMP (ping)")
    ttl_hours = forms.IntegerField(min_value=1, max_value=validation.TTL_HOURS_MAX, label="Expires after (hours)")
    key_name = forms.CharField(
        required=False,
        max_length=validation.KEY_NAME_MAX,
        label="EC2 key pair",
        help_text="One of the region's key pairs (suggested as you type); without one, nobody can log in by SSH.",
        widget=forms.TextInput(attrs={"list": "key-pairs", "autocomplete": "off"}),
        validators=[_pattern(validation.KEY_NAME_PATTERN, "An EC2 key pair name is printable ASCII.")],
    )
    image_id = forms.CharField(
        required=False,
        max_length=validation.IMAGE_ID_MAX,
        label="AMI override",
        validators=[_pattern(validation.IMAGE_ID_PATTERN, "An AMI id such as ami-0123456789abcdef0, or empty.")],
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].queryset = teams_requestable_by(user)
        teams = list(self.fields["team"].queryset)
        if teams and not self.initial.get("ttl_hours"):
            self.initial["ttl_hours"] = teams[0].default_ttl_hours
        self.fields["ttl_hours"].help_text = (
            "Default " + ", ".join(f"{t.slug}: {t.default_ttl_hours} h (max {t.max_ttl_hours} h)" for t in teams)
            if teams
            else ""
        )
        # The zones of the accounts of the person's teams (or the panel's own account's).
        self.fields["zone"].queryset = queries.request_zone_choices(teams)
        self.selected_zone = self._zone_chosen()
        if self.selected_zone and not self.is_bound:
            self.initial["zone"] = zone_choice_value(self.selected_zone)
        offered = self.selected_zone.instance_types if self.selected_zone else []
        if not self.is_bound and self.initial.get("instance_type") not in offered:
            self.initial["instance_type"] = default_instance_type(offered)
        self.fields["instance_type"].widget.choices = [(name, name) for name in offered]
        self.fields["instance_type"].widget.attrs["id"] = "id_instance_type"

    def _zone_chosen(self) -> Zone | None:
        name = self.data.get("zone") if self.is_bound else self.initial.get("zone")
        if isinstance(name, Zone):
            return name
        zones = self.fields["zone"].queryset
        if not name:
            return zones.filter(opt_in_status="opted-in").first() or zones.first()
        if not isinstance(name, str) or len(name) > validation.ZONE_NAME_MAX + 13 or validation.text_error(name):
            return None  # no zone has such a name (and PostgreSQL refuses to compare NUL)
        return zone_from_choice(name)

    @cached_property
    def key_pairs(self) -> list[dict] | None:
        """The selected zone's region's key pairs in its account (DescribeKeyPairs, cached a minute), or None."""
        if not self.selected_zone:
            return None
        return keys.key_pairs(self.selected_zone.region, account_access(self.selected_zone.account))

    @property
    def zone_described_ago(self) -> str:
        zone = self.selected_zone
        if not (zone and zone.described_at):
            return ""
        ago = timesince(zone.described_at)
        return "less than a minute" if ago.startswith("0\xa0minutes") else ago

    def clean(self):
        cleaned = super().clean()
        team = cleaned.get("team")
        if team is None or self.errors.get("zone") or self.errors.get("ttl_hours"):
            return cleaned
        self.add_service_errors(
            services.request_errors(team=team, zone=cleaned.get("zone"), fields=self.request_fields())
        )
        return cleaned

    def wavelength_ingress(self) -> list[dict]:
        data = self.cleaned_data
        if data.get("ingress_mode", "all") == "all":
            return ALL_INGRESS
        rules = []
        for protocol in ("tcp", "udp"):
            ports = (data.get(f"ingress_{protocol}") or "").strip()
            if ports:
                rules.append({"protocol": protocol, "ports": None if ports.lower() == "all" else ports})
        if data.get("ingress_icmp"):
            rules.append({"protocol": "icmp", "ports": None})
        return rules

    def request_fields(self) -> dict:
        """The cleaned values as `services.request_fields` takes them (defaults filled in)."""
        data = self.cleaned_data
        return services.request_fields(
            name=data.get("name"),
            purpose=data.get("purpose"),
            instance_type=data.get("instance_type"),
            bastion=data.get("bastion", "yes") == "yes",
            vpc_cidr=data.get("vpc_cidr"),
            public_subnet_cidr=data.get("public_subnet_cidr"),
            wavelength_subnet_cidr=data.get("wavelength_subnet_cidr"),
            bastion_ssh_cidr=(data.get("bastion_ssh_cidr") or "").strip(),
            wavelength_ingress=self.wavelength_ingress(),
            ttl_hours=data.get("ttl_hours"),
            key_name=data.get("key_name"),
            image_id=data.get("image_id"),
        )

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for field, messages in errors.items():
            field = ERROR_FIELDS.get(field, field)
            for message in messages:
                self.add_error(field if field in self.fields else None, message)

    @staticmethod
    def initial_from(request: EnvironmentRequest) -> dict:
        """Initial values copying an earlier request ("New request from this one"); after a capacity
        failure, the zone's next offered instance type instead of the one AWS had no room for."""
        custom = request.wavelength_ingress != ALL_INGRESS
        by_protocol = {rule["protocol"]: rule.get("ports") or "all" for rule in request.wavelength_ingress}
        return {
            "name": _free_name(request),
            "team": request.team.slug,
            "purpose": request.purpose,
            "zone": zone_choice_value(request.zone),
            "instance_type": capacity_alternative(request) or request.instance_type,
            "bastion": "yes" if request.bastion else "no",
            "vpc_cidr": request.vpc_cidr,
            "public_subnet_cidr": request.public_subnet_cidr,
            "wavelength_subnet_cidr": request.wavelength_subnet_cidr,
            "bastion_ssh_cidr": request.bastion_ssh_cidr,
            "ingress_mode": "custom" if custom else "all",
            "ingress_tcp": by_protocol.get("tcp", "") if custom else "",
            "ingress_udp": by_protocol.get("udp", "") if custom else "",
            "ingress_icmp": "icmp" in by_protocol if custom else True,
            "ttl_hours": request.ttl_hours,
            "key_name": request.key_name,
            "image_id": request.image_id,
        }


def capacity_alternative(request: EnvironmentRequest) -> str | None:
    """Another type the zone offers, when the request's environment failed for lack of capacity."""
    environment = getattr(request, "environment", None)
    if environment is None or environment.failure_code not in CAPACITY_CODES:
        return None
    offered = [name for name in request.zone.instance_types if name != request.instance_type]
    return offered[0] if offered else None


def _free_name(request: EnvironmentRequest) -> str:
    """The old name if the team can use it again, else the first free `<name>-2`, `<name>-3`, …"""
    taken = set(
        Environment.objects.filter(team=request.team)
        .exclude(state=EnvironmentState.DESTROYED)
        .values_list("name", flat=True)
    ) | set(EnvironmentRequest.objects.filter(team=request.team, state=RequestState.PENDING).values_list("name", flat=True))
    if request.name not in taken:
        return request.name
    for number in range(2, 100):
        candidate = f"{request.name[:36]}-{number}"
        if candidate not in taken:
            return candidate
    return request.name


class DecisionForm(forms.Form):
    """Approve or reject; `plan_hash` is the hash of the plan the approver was shown."""

    comment = forms.CharField(required=False, max_length=validation.COMMENT_MAX, widget=forms.Textarea(attrs={"rows": 2}))
    plan_hash = forms.CharField(
        max_length=validation.PLAN_HASH_LENGTH,
        required=False,
        widget=forms.HiddenInput,
        validators=[_pattern(validation.PLAN_HASH_PATTERN, "A plan hash is 64 lowercase hexadecimal digits.")],
    )


class ApproveForm(DecisionForm):
    """An approval always names the plan it approves (the API's ApproveIn)."""

    plan_hash = forms.CharField(
        max_length=validation.PLAN_HASH_LENGTH,
        widget=forms.HiddenInput,
        validators=[_pattern(validation.PLAN_HASH_PATTERN, "A plan hash is 64 lowercase hexadecimal digits.")],
        error_messages={"required": "Give the hash of the plan you reviewed (the request's plan_hash)."},
    )


class CancelForm(forms.Form):
    comment = forms.CharField(required=False, max_length=validation.COMMENT_MAX)


class ExtendForm(forms.Form):
    hours = forms.IntegerField(
        min_value=1, max_value=validation.EXTEND_HOURS_MAX, initial=24, label="Extend by (hours)"
    )


class ExtensionRequestForm(forms.Form):
    """Beyond the team's maximum: hours and why, for an approver to decide."""

    hours = forms.IntegerField(min_value=1, max_value=24 * 365, label="Keep it longer by (hours)")
    reason = forms.CharField(required=False, max_length=500, label="Why")


class DestroyForm(forms.Form):
    """Typing the name confirms which environment goes: a destroy cannot be undone."""

    confirm_name = forms.CharField(max_length=validation.NAME_MAX, label="Type the environment's name to confirm")
    reason = forms.CharField(required=False, max_length=validation.REASON_MAX, label="Reason")

    def __init__(self, *args, environment: Environment, **kwargs):
        super().__init__(*args, **kwargs)
        self.environment = environment

    def clean_confirm_name(self):
        name = self.cleaned_data["confirm_name"].strip()
        if name != self.environment.name:
            raise forms.ValidationError(f"Type “{self.environment.name}” to confirm.")
        return name


class EnvironmentFilterForm(forms.Form):
    team = forms.ChoiceField(required=False)
    state = forms.ChoiceField(required=False, choices=[("", "Any state"), *EnvironmentState.choices])
    zone = forms.ChoiceField(required=False)
    name = forms.CharField(
        required=False,
        max_length=64,  # a name, an IP or an AWS id (eipalloc-… is 26 characters)
        widget=forms.TextInput(attrs={"placeholder": "Name, IP or AWS id…", "type": "search"}),
    )

    def __init__(self, *args, teams, zones, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["team"].choices = [("", "All teams"), *((team.slug, team.slug) for team in teams)]
        names = dict.fromkeys(zone.name for zone in zones)  # one entry per name, whatever the account
        self.fields["zone"].choices = [("", "All zones"), *((name, name) for name in names)]

    def filters(self) -> dict:
        if not self.is_valid():
            return {}
        return {key: value for key, value in self.cleaned_data.items() if value}


class ReauthForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}))
