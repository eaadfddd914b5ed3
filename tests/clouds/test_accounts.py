"""AWS accounts: roles assumed with an external id, zones and opt-ins per account, builds kept
apart per account, credentials refreshed mid-build, a refused role explained on the account page.

Everything goes through the served sandbox, which finds the account from the credentials as AWS
does and refuses a role whose trust policy's external id does not match."""

import html

import boto3
import pytest
import requests
from django.test import Client

from accounts.choices import TeamRole
from accounts.services import api_token_issue
from audit.models import AwsCall
from aws.client import CallContext
from checks.runners import NO_INSTANCE_PROFILE, AwsProber
from clouds import services as clouds
from environments.provisioning import zones
from environments.services import environment_destroy, environment_request_approve, environment_request_create
from netmodel.probes import ProbeRequest
from tests.conftest import origin_of
from tests.provisioning.conftest import SEED_GROUP, SFO, SandboxControl, wait_for_state

ACCOUNT_A, ACCOUNT_B = "111122223333", "444455556666"
ROLE = "wlpanel-access"


@pytest.fixture
def control(sandbox) -> SandboxControl:
    return SandboxControl(sandbox.url)


def customer_role(control: SandboxControl, account_id: str, external_id: str) -> str:
    """What the customer does in their account: the role the panel assumes, trusting it with the id."""
    return control.post("accounts", {"account_id": account_id, "role_name": ROLE, "external_id": external_id})["role_arn"]


def register(admin_user, account_id: str, *, external_id: str, teams=(), role_arn: str | None = None):
    return clouds.account_create(
        origin=origin_of(admin_user),
        account_id=account_id,
        name=f"acct-{account_id[-4:]}",
        role_arn=role_arn or f"arn:aws:iam::{account_id}:role/{ROLE}",
        external_id=external_id,
        regions=["us-west-2"],
        teams=list(teams),
        default_for=list(teams),
    )


def opted_in_zone(admin_user, account):
    """The seed zone as `account` sees it, after an admin opted its group in there."""
    origin = origin_of(admin_user)
    zones.zones_refresh_region("us-west-2", origin=origin, account=account)
    zones.zone_group_opt_in(origin=origin, group=SEED_GROUP, account=account)
    zones.zone_group_opted_in_wait(group=SEED_GROUP, origin=origin, account=account)
    return account.zones.get(name=SFO)


@pytest.fixture
def two_accounts(control, admin_user, team, other_team, make_user):
    """Team demo builds in account A, team other in account B; each has a member and an approver."""
    for account_id in (ACCOUNT_A, ACCOUNT_B):
        customer_role(control, account_id, f"ext-{account_id}")
    a = register(admin_user, ACCOUNT_A, external_id=f"ext-{ACCOUNT_A}", teams=[team])
    b = register(admin_user, ACCOUNT_B, external_id=f"ext-{ACCOUNT_B}", teams=[other_team])
    people = {
        "a_member": make_user("ann", team=team, role=TeamRole.MEMBER),
        "a_approver": make_user("abe", team=team, role=TeamRole.APPROVER),
        "b_member": make_user("bea", team=other_team, role=TeamRole.MEMBER),
        "b_approver": make_user("ben", team=other_team, role=TeamRole.APPROVER),
    }
    return a, b, people


def request_and_approve(member, approver, team, zone, name: str):
    request = environment_request_create(
        origin=origin_of(member), team=team, zone=zone, name=name, instance_type="t3.medium"
    )
    return environment_request_approve(origin=origin_of(approver), request_id=request.pk, plan_hash=request.plan_hash)


def test_the_opt_in_of_one_account_does_not_opt_in_another(two_accounts, admin_user):
    a, b, _ = two_accounts
    assert opted_in_zone(admin_user, a).opted_in
    zones.zones_refresh_region("us-west-2", origin=origin_of(admin_user), account=b)
    assert b.zones.get(name=SFO).opt_in_status == "not-opted-in"
    # The panel's own account was not touched either.
    assert not a.zones.filter(account=None).exists()


def test_two_teams_on_two_accounts_build_in_parallel_and_see_only_their_own(
    two_accounts, admin_user, team, other_team, control, engine_worker
):
    a, b, people = two_accounts
    zone_a, zone_b = opted_in_zone(admin_user, a), opted_in_zone(admin_user, b)
    engine_worker(concurrency=4)
    env_a = request_and_approve(people["a_member"], people["a_approver"], team, zone_a, "edge-a")
    env_b = request_and_approve(people["b_member"], people["b_approver"], other_team, zone_b, "edge-b")
    assert env_a.plan["spec"]["account_id"] == ACCOUNT_A and env_b.plan["spec"]["account_id"] == ACCOUNT_B
    for environment in (env_a, env_b):
        wait_for_state(environment, "ready", "failed", timeout=120)
        assert environment.state == "ready", environment.failure_reason

    def tagged(account_id: str, environment) -> list[dict]:
        return control.get("inventory", tag=f"wlpanel:environment={environment.pk}", account=account_id)["items"]

    # Each build's resources are in its team's account and nowhere else.
    assert len(tagged(ACCOUNT_A, env_a)) >= len(env_a.plan["steps"])
    assert tagged(ACCOUNT_B, env_a) == [] and tagged("123456789012", env_a) == []
    assert len(tagged(ACCOUNT_B, env_b)) >= len(env_b.plan["steps"])
    assert tagged(ACCOUNT_A, env_b) == [] and tagged("123456789012", env_b) == []
    # The call log says which account each call acted in.
    assert set(AwsCall.objects.filter(environment_id=env_a.pk, service="ec2").values_list("account_id", flat=True)) == {ACCOUNT_A}
    assert set(AwsCall.objects.filter(environment_id=env_b.pk, service="ec2").values_list("account_id", flat=True)) == {ACCOUNT_B}
    # Each team sees its own environment and account only, in the API.
    client = Client()
    token = api_token_issue(user=people["b_member"])
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    listed = client.get("/api/environments", **headers).json()["items"]
    assert [(item["name"], item["account"]["account_id"]) for item in listed] == [("edge-b", ACCOUNT_B)]
    assert [item["account_id"] for item in client.get("/api/accounts", **headers).json()["items"]] == [ACCOUNT_B]
    assert client.get(f"/api/accounts/{ACCOUNT_A}", **headers).status_code == 404

    for environment, owner in ((env_a, people["a_member"]), (env_b, people["b_member"])):
        environment_destroy(origin=origin_of(owner), environment_id=environment.pk)
    for environment, account_id in ((env_a, ACCOUNT_A), (env_b, ACCOUNT_B)):
        wait_for_state(environment, "destroyed", "destroy_failed", timeout=120)
        assert environment.state == "destroyed"
        assert tagged(account_id, environment) == []


def test_an_assumed_role_expiring_mid_build_is_refreshed_without_a_failed_step(
    two_accounts, admin_user, team, control, engine_worker
):
    a, _, people = two_accounts
    zone_a = opted_in_zone(admin_user, a)
    # Sessions the sandbox issues now live 4 s (AWS: 900 s at least): a build outlives several.
    requests.put(f"{control.url}/_sandbox/sts", json={"session_seconds": 4}, timeout=10).raise_for_status()
    engine_worker(concurrency=2)
    environment = request_and_approve(people["a_member"], people["a_approver"], team, zone_a, "short-sessions")
    wait_for_state(environment, "ready", "failed", timeout=180)
    assert environment.state == "ready", environment.failure_reason
    calls = AwsCall.objects.filter(created_at__gte=environment.created_at)
    assumed = calls.filter(service="sts", operation="AssumeRole", outcome="ok").count()
    assert assumed >= 2, "the build outlived one session, so its credentials were refreshed"
    refused = calls.filter(outcome__in=["RequestExpired", "ExpiredToken", "AuthFailure", "InvalidClientTokenId"])
    assert not refused.exists(), list(refused.values_list("operation", "outcome"))
    assert not environment.resources.exclude(last_error="").exists()


def test_a_worker_assumes_the_accounts_roles_when_it_starts_not_inside_a_step(two_accounts, admin_user, team, engine_worker):
    a, b, people = two_accounts
    zone_a = opted_in_zone(admin_user, a)
    engine_worker(concurrency=2)
    environment = request_and_approve(people["a_member"], people["a_approver"], team, zone_a, "warm-roles")
    wait_for_state(environment, "ready", "failed", timeout=120)
    assert environment.state == "ready", environment.failure_reason
    assumed = AwsCall.objects.filter(service="sts", operation="AssumeRole", outcome="ok")
    # Each of the two processes assumed both accounts' roles as it started, B's though nothing
    # builds there, and no step of the build paid for an AssumeRole.
    assert assumed.filter(params__RoleArn=b.role_arn).count() == 2
    assert not assumed.filter(environment_id=environment.pk).exists()
    assert assumed.filter(params__RoleArn=a.role_arn).count() == 1 + 2  # this process's opt-in, then one per worker


def test_a_wrong_external_id_gives_a_clear_error_on_the_account_page(control, admin_user, team):
    customer_role(control, ACCOUNT_A, "the-right-one")
    account = register(admin_user, ACCOUNT_A, external_id="a-wrong-one", teams=[team])
    client = Client()
    client.force_login(admin_user)
    answer = client.post(f"/aws-accounts/{ACCOUNT_A}/")
    assert answer.status_code == 302
    page = html.unescape(client.get(f"/aws-accounts/{ACCOUNT_A}/").content.decode())
    assert "The panel could not assume arn:aws:iam::111122223333:role/wlpanel-access" in page
    assert "AccessDenied" in page and "sts:ExternalId = a-wrong-one" in page
    account.refresh_from_db()
    assert account.access_check["assumable"] is False
    # Fixed: the right id, and the check says what the role may do, per call, dry-run.
    clouds.account_update(origin=origin_of(admin_user), account=account, external_id="the-right-one")
    result = clouds.account_check(origin=origin_of(admin_user), account=account)
    assert result["assumable"] and result["identity"]["account"] == ACCOUNT_A
    verdicts = {(item["call"], item["verdict"]) for item in result["findings"]}
    assert ("CreateVpc", "allowed") in verdicts and ("DescribeAvailabilityZones", "allowed") in verdicts
    # The dry runs created nothing in the account: as the customer sees it, only its default VPC.
    session = boto3.client(
        "sts", region_name="us-east-1", endpoint_url=control.url, aws_access_key_id="sandbox", aws_secret_access_key="sandbox"
    ).assume_role(RoleArn=account.role_arn, RoleSessionName="customer", ExternalId="the-right-one")["Credentials"]
    ec2 = boto3.client(
        "ec2",
        region_name="us-west-2",
        endpoint_url=control.url,
        aws_access_key_id=session["AccessKeyId"],
        aws_secret_access_key=session["SecretAccessKey"],
        aws_session_token=session["SessionToken"],
    )
    assert [vpc["IsDefault"] for vpc in ec2.describe_vpcs()["Vpcs"]] == [True]


def test_a_request_may_only_name_an_account_of_its_team(two_accounts):
    a, b, people = two_accounts
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {api_token_issue(user=people['a_member'])}"}
    body = {"name": "edge", "team": "demo", "zone": SFO, "instance_type": "t3.medium", "account": ACCOUNT_B}
    answer = client.post("/api/requests", body, content_type="application/json", **headers)
    assert answer.status_code == 400
    assert "may not build in account 444455556666" in answer.json()["errors"]["account"][0]
    answer = client.post("/api/requests", {**body, "account": "12"}, content_type="application/json", **headers)
    assert answer.status_code == 400 and "12 digits" in answer.json()["errors"]["account"][0]


def test_accounts_api_is_admin_only_for_writes_and_checks_its_input(control, admin_user, alice, team):
    client = Client()
    admin = {"HTTP_AUTHORIZATION": f"Bearer {api_token_issue(user=admin_user)}"}
    member = {"HTTP_AUTHORIZATION": f"Bearer {api_token_issue(user=alice)}"}
    body = {
        "account_id": ACCOUNT_A,
        "name": "prod",
        "role_arn": f"arn:aws:iam::{ACCOUNT_B}:role/{ROLE}",
        "regions": ["us-west-2", "eu-central-1"],
        "teams": ["demo"],
        "default_for": ["demo"],
    }
    assert client.post("/api/accounts", body, content_type="application/json", **member).status_code == 403
    refused = client.post("/api/accounts", body, content_type="application/json", **admin)
    assert refused.status_code == 400
    errors = refused.json()["errors"]
    assert "belongs to account 444455556666" in errors["role_arn"][0]
    assert "eu-central-1" in errors["regions"][0]
    body |= {"role_arn": f"arn:aws:iam::{ACCOUNT_A}:role/{ROLE}", "regions": ["us-west-2", "ap-northeast-1"]}
    created = client.post("/api/accounts", body, content_type="application/json", **admin)
    assert created.status_code == 201, created.json()
    assert created.json()["external_id"].startswith("wlpanel-")  # generated when not given
    seen = client.get("/api/accounts", **member).json()["items"]
    assert [(item["account_id"], item["external_id"], item["teams"]) for item in seen] == [
        (ACCOUNT_A, None, [{"team": "demo", "default": True}])
    ]


def customer_session(control: SandboxControl, role_arn: str, external_id: str) -> boto3.Session:
    """The customer, working in their own account (the panel's principal may assume its role)."""
    credentials = boto3.client(
        "sts", region_name="us-east-1", endpoint_url=control.url, aws_access_key_id="sandbox", aws_secret_access_key="sandbox"
    ).assume_role(RoleArn=role_arn, RoleSessionName="customer", ExternalId=external_id)["Credentials"]
    return boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name="us-west-2",
    )


@pytest.mark.workers
def test_the_accounts_ssm_instance_profile_lets_checks_run_and_leaves_nothing(
    two_accounts, admin_user, team, control, engine_worker
):
    a, _, people = two_accounts
    customer = customer_session(control, a.role_arn, a.external_id)
    # What the customer's admin creates once (the panel creates no IAM roles).
    iam = customer.client("iam", endpoint_url=control.url)
    iam.create_role(RoleName="ssm-core", AssumeRolePolicyDocument='{"Version": "2012-10-17", "Statement": []}')
    # (AWS's managed AmazonSSMManagedInstanceCore; moto does not load managed policies, so inline.)
    iam.put_role_policy(
        RoleName="ssm-core",
        PolicyName="ssm-core",
        PolicyDocument='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ssm:UpdateInstanceInformation", "ssmmessages:*", "ec2messages:*"], "Resource": "*"}]}',
    )
    iam.create_instance_profile(InstanceProfileName="wlpanel-ssm")
    iam.add_role_to_instance_profile(InstanceProfileName="wlpanel-ssm", RoleName="ssm-core")
    clouds.account_update(origin=origin_of(admin_user), account=a, ssm_instance_profile="wlpanel-ssm")
    a.refresh_from_db()

    zone_a = opted_in_zone(admin_user, a)
    engine_worker(concurrency=4)
    environment = request_and_approve(people["a_member"], people["a_approver"], team, zone_a, "with-ssm")
    assert environment.plan["spec"]["instance_profile"] == "wlpanel-ssm"  # the approver saw it
    wait_for_state(environment, "ready", "failed", timeout=120)
    assert environment.state == "ready", environment.failure_reason

    ec2 = customer.client("ec2", endpoint_url=control.url)
    resources = {resource.key: resource for resource in environment.resources.all()}
    instance_ids = [resources["bastion"].aws_id, resources["wavelength_instance"].aws_id]
    described = [i for r in ec2.describe_instances(InstanceIds=instance_ids)["Reservations"] for i in r["Instances"]]
    assert [i["IamInstanceProfile"]["Arn"].rsplit("/", 1)[1] for i in described] == ["wlpanel-ssm", "wlpanel-ssm"]

    # Probes from the instances run through SSM Run Command in the account (the sandbox's lab
    # answers them with real packets); without a profile the panel does not even try.
    access = clouds.account_access(a)
    bastion_ip = resources["bastion"].described["PrivateIpAddress"]
    requests.post(f"{control.url}/_sandbox/labs", json={"vpc_id": resources["vpc"].aws_id}, timeout=120).raise_for_status()
    context = CallContext(environment_id=environment.pk)
    with_profile = AwsProber(region="us-west-2", context=context, account=access, instance_profile="wlpanel-ssm")
    result, output = with_profile.send_ssm(resources["wavelength_instance"].aws_id, ProbeRequest("icmp", bastion_ip))
    assert result is not None and result["passed"] is True and result["ttl"] > 0, output
    without = AwsProber(region="us-west-2", context=context, account=access, instance_profile="")
    assert without.send_ssm(resources["wavelength_instance"].aws_id, ProbeRequest("icmp", bastion_ip)) == (
        None,
        NO_INSTANCE_PROFILE,
    )

    environment_destroy(origin=origin_of(people["a_member"]), environment_id=environment.pk)
    wait_for_state(environment, "destroyed", "destroy_failed", timeout=120)
    assert environment.state == "destroyed"
    assert control.get("inventory", tag=f"wlpanel:environment={environment.pk}", account=ACCOUNT_A)["items"] == []
    # The instances went, and their profile associations with them; the customer's profile stays.
    assert ec2.describe_iam_instance_profile_associations()["IamInstanceProfileAssociations"] == []
    assert iam.get_instance_profile(InstanceProfileName="wlpanel-ssm")["InstanceProfile"]["Roles"][0]["RoleName"] == "ssm-core"


def test_quota_readings_are_per_account(two_accounts, admin_user, control):
    from quotas.selectors import plan_preflight
    from quotas.services import quota_snapshot_refresh

    a, _, _ = two_accounts
    control.post("quotas", {"quota_code": "L-F678F1CE", "value": 1, "account": ACCOUNT_A, "region": "us-west-2"})
    in_a = quota_snapshot_refresh(region="us-west-2", account_key=ACCOUNT_A)
    own = quota_snapshot_refresh(region="us-west-2")
    assert in_a.error == "" and in_a.quotas["L-F678F1CE"]["value"] == 1  # read through the account's role
    assert own.quotas["L-F678F1CE"]["value"] == 5  # AWS's default, in the panel's own account
    # A plan that builds in account A is checked against A's reading, not the panel's own.
    plan = {"spec": {"region": "us-west-2", "account_id": ACCOUNT_A, "instance_type": "t3.medium", "bastion": True}, "steps": []}
    assert plan_preflight(plan, refresh=False)["account"] == ACCOUNT_A


def test_the_request_page_offers_the_zones_of_the_teams_account(two_accounts, admin_user, zone):
    from environments.models import EnvironmentRequest

    a, _, people = two_accounts
    opted_in_zone(admin_user, a)
    client = Client()
    client.force_login(people["a_member"])
    page = client.get("/requests/new/").content.decode()
    assert f'value="{ACCOUNT_A}/{SFO}"' in page and f"account acct-3333 ({ACCOUNT_A})" in page
    assert f'value="{SFO}"' not in page  # the panel's own account's zone: not for a team with accounts
    form = {
        "name": "edge-web", "team": "demo", "zone": f"{ACCOUNT_A}/{SFO}", "instance_type": "t3.medium",
        "bastion": "yes", "vpc_cidr": "10.0.0.0/16", "public_subnet_cidr": "10.0.1.0/24",
        "wavelength_subnet_cidr": "10.0.0.0/24", "ingress_mode": "all", "ingress_icmp": "on", "ttl_hours": "72",
    }
    answer = client.post("/requests/new/", form)
    assert answer.status_code == 302, answer.context["form"].errors
    created = EnvironmentRequest.objects.get()
    assert created.account == a and created.plan["spec"]["account_id"] == ACCOUNT_A
    # Naming the panel's own account's zone is refused with the reason.
    answer = client.post("/requests/new/", {**form, "name": "edge-own", "zone": SFO})
    assert "those of your teams' AWS accounts" in answer.context["form"].errors["zone"][0]
