"""Accounts and credentials: the account comes from the access key, as on AWS; AssumeRole checks
the role's trust policy and external id; sessions expire; each account sees only its own."""

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from sandbox_helpers import NO_RETRIES, WL_GROUP, WL_REGION, WL_ZONE

PANEL_ACCOUNT = "123456789012"
ACCOUNT_A = "111122223333"
ACCOUNT_B = "444455556666"
ROLE = "wlpanel-access"
PANEL_KEYS = {"aws_access_key_id": "sandbox", "aws_secret_access_key": "sandbox"}
# botocore refuses DurationSeconds < 900 itself; the sandbox must refuse it too.
UNVALIDATED = Config(parameter_validation=False, retries={"total_max_attempts": 1, "mode": "standard"})


def role_arn(account: str) -> str:
    return f"arn:aws:iam::{account}:role/{ROLE}"


def control_status(control, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{control.url}/_sandbox/{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def error_of(call, **params) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    response = caught.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


@pytest.fixture
def client(control):
    """``client(service, keys=PANEL_KEYS, config=NO_RETRIES, region=WL_REGION)``."""

    def make(
        service: str = "ec2", keys: dict | None = None, config: Config = NO_RETRIES, region: str = WL_REGION
    ):
        return boto3.client(
            service, region_name=region, endpoint_url=control.url, config=config, **(keys or PANEL_KEYS)
        )

    return make


@pytest.fixture
def accounts(control):
    """Accounts A and B, each with the role the panel assumes and its own external id."""
    for account, external_id in ((ACCOUNT_A, "ext-a-1"), (ACCOUNT_B, "ext-b-1")):
        control.post("accounts", {"account_id": account, "role_name": ROLE, "external_id": external_id})
    return {ACCOUNT_A: "ext-a-1", ACCOUNT_B: "ext-b-1"}


@pytest.fixture
def assume(client, accounts):
    """``assume(account)``: session keys for the role in that account, assumed with the panel's key."""

    def assume_into(account: str, keys: dict | None = None) -> dict:
        sts = client("sts", keys=keys)
        answer = sts.assume_role(
            RoleArn=role_arn(account), RoleSessionName="wlpanel", ExternalId=accounts[account]
        )
        credentials = answer["Credentials"]
        return {
            "aws_access_key_id": credentials["AccessKeyId"],
            "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"],
        }

    return assume_into


def test_the_control_path_creates_the_role_and_lists_it(control, client):
    status, created = control_status(
        control, "POST", "accounts", {"account_id": ACCOUNT_A, "role_name": ROLE, "external_id": "ext-a-1"}
    )
    assert status == 201
    assert created == {
        "account_id": ACCOUNT_A,
        "role_arn": role_arn(ACCOUNT_A),
        "external_id": "ext-a-1",
        "trusted_principal": f"arn:aws:iam::{PANEL_ACCOUNT}:root",
    }
    assert control.get("accounts")["items"] == [created]
    # A real IAM role in account A, as the customer would see it with their own keys.
    status, _ = control_status(
        control,
        "POST",
        "accounts",
        {"account_id": ACCOUNT_A, "role_name": "customer-admin", "external_id": "x1"},
    )
    sts = client("sts")
    admin = sts.assume_role(
        RoleArn=role_arn(ACCOUNT_A).replace(ROLE, "customer-admin"), RoleSessionName="customer", ExternalId="x1"
    )
    keys = admin["Credentials"]
    iam = client(
        "iam",
        region="us-east-1",
        keys={
            "aws_access_key_id": keys["AccessKeyId"],
            "aws_secret_access_key": keys["SecretAccessKey"],
            "aws_session_token": keys["SessionToken"],
        },
    )
    role = iam.get_role(RoleName=ROLE)["Role"]
    statement = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert role["Arn"] == role_arn(ACCOUNT_A)
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{PANEL_ACCOUNT}:root"}
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": "ext-a-1"}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"account_id": "1111", "role_name": ROLE, "external_id": "ext-a-1"}, "account_id"),
        ({"account_id": ACCOUNT_A, "role_name": "no spaces", "external_id": "ext-a-1"}, "role_name"),
        ({"account_id": ACCOUNT_A, "role_name": "r" * 65, "external_id": "ext-a-1"}, "role_name"),
        ({"account_id": ACCOUNT_A, "role_name": ROLE, "external_id": "x"}, "external_id"),
        ({"account_id": ACCOUNT_A, "role_name": ROLE, "external_id": "bad#char"}, "external_id"),
        ({"account_id": ACCOUNT_A, "role_name": ROLE}, "external_id"),
        ({"account_id": 111122223333, "role_name": ROLE, "external_id": "ext-a-1"}, "account_id"),
    ],
)
def test_the_control_path_refuses_bad_input_clearly(control, body, field):
    status, answer = control_status(control, "POST", "accounts", body)
    assert status == 400
    assert answer["detail"].startswith(field)
    assert control.get("accounts")["items"] == []


def test_assume_role_with_the_right_external_id_acts_in_the_roles_account(client, assume):
    keys = assume(ACCOUNT_A)
    assert keys["aws_access_key_id"].startswith("ASIA")
    identity = client("sts", keys=keys).get_caller_identity()
    assert identity["Account"] == ACCOUNT_A
    assert identity["Arn"] == f"arn:aws:sts::{ACCOUNT_A}:assumed-role/{ROLE}/wlpanel"
    panel = client("sts").get_caller_identity()
    assert (panel["Account"], panel["Arn"]) == (PANEL_ACCOUNT, f"arn:aws:iam::{PANEL_ACCOUNT}:user/wlpanel")


def test_assume_role_refuses_a_wrong_or_missing_external_id_or_an_unknown_role(client, accounts):
    sts = client("sts")
    denied = f"User: arn:aws:iam::{PANEL_ACCOUNT}:user/wlpanel is not authorized to perform: sts:AssumeRole on resource: "
    for params in (
        {"RoleArn": role_arn(ACCOUNT_A), "ExternalId": "wrong-id"},
        {"RoleArn": role_arn(ACCOUNT_A)},
        {"RoleArn": role_arn(ACCOUNT_A), "ExternalId": accounts[ACCOUNT_B]},  # B's id does not open A
        {"RoleArn": f"arn:aws:iam::{ACCOUNT_A}:role/no-such-role", "ExternalId": accounts[ACCOUNT_A]},
        {"RoleArn": "arn:aws:iam::777788889999:role/wlpanel-access", "ExternalId": accounts[ACCOUNT_A]},
    ):
        code, status, message = error_of(sts.assume_role, RoleSessionName="wlpanel", **params)
        assert (code, status, message) == ("AccessDenied", 403, denied + params["RoleArn"])


def test_a_role_trusting_the_panel_is_not_assumable_from_another_account(client, assume, accounts):
    in_b = client("sts", keys=assume(ACCOUNT_B))
    code, status, message = error_of(
        in_b.assume_role, RoleArn=role_arn(ACCOUNT_A), RoleSessionName="hop", ExternalId=accounts[ACCOUNT_A]
    )
    assert (code, status) == ("AccessDenied", 403)
    assert message.startswith(f"User: arn:aws:sts::{ACCOUNT_B}:assumed-role/{ROLE}/wlpanel is not authorized")


def test_posting_again_replaces_the_trust_policy(control, client, accounts):
    control.post("accounts", {"account_id": ACCOUNT_A, "role_name": ROLE, "external_id": "ext-a-2"})
    sts = client("sts")
    code, _, _ = error_of(
        sts.assume_role, RoleArn=role_arn(ACCOUNT_A), RoleSessionName="session", ExternalId="ext-a-1"
    )
    assert code == "AccessDenied"
    answer = sts.assume_role(RoleArn=role_arn(ACCOUNT_A), RoleSessionName="session", ExternalId="ext-a-2")
    assert answer["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT_A}:assumed-role/{ROLE}/session"
    assert [
        item["external_id"] for item in control.get("accounts")["items"] if item["account_id"] == ACCOUNT_A
    ] == ["ext-a-2"]


def test_duration_below_aws_minimum_is_a_validation_error(client, accounts):
    sts = client("sts", config=UNVALIDATED)
    code, status, message = error_of(
        sts.assume_role,
        RoleArn=role_arn(ACCOUNT_A),
        RoleSessionName="session",
        ExternalId=accounts[ACCOUNT_A],
        DurationSeconds=899,
    )
    assert (code, status) == ("ValidationError", 400)
    assert message == (
        "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: "
        "Member must have value greater than or equal to 900"
    )
    answer = sts.assume_role(
        RoleArn=role_arn(ACCOUNT_A), RoleSessionName="session", ExternalId=accounts[ACCOUNT_A], DurationSeconds=900
    )
    issued_at = answer["ResponseMetadata"]["HTTPHeaders"]["date"]
    lifetime = answer["Credentials"]["Expiration"] - datetime.strptime(
        issued_at, "%a, %d %b %Y %H:%M:%S GMT"
    ).replace(tzinfo=UTC)
    assert 898 <= lifetime.total_seconds() <= 901


def test_resources_of_one_account_are_invisible_to_the_others(control, client, assume):
    in_a, in_b, panel = client(keys=assume(ACCOUNT_A)), client(keys=assume(ACCOUNT_B)), client()
    tags = [{"ResourceType": "vpc", "Tags": [{"Key": "wlpanel:team", "Value": "team-a"}]}]
    vpc_a = in_a.create_vpc(CidrBlock="10.1.0.0/16", TagSpecifications=tags)["Vpc"]["VpcId"]
    vpc_b = in_b.create_vpc(
        CidrBlock="10.2.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "wlpanel:team", "Value": "team-b"}]}],
    )["Vpc"]["VpcId"]

    def vpc_ids(ec2) -> set[str]:
        return {vpc["VpcId"] for vpc in ec2.describe_vpcs()["Vpcs"]}

    assert vpc_a in vpc_ids(in_a) and vpc_a not in vpc_ids(in_b) and vpc_a not in vpc_ids(panel)
    assert vpc_b in vpc_ids(in_b) and vpc_b not in vpc_ids(in_a)
    code, _, _ = error_of(in_b.describe_vpcs, VpcIds=[vpc_a])
    assert code == "InvalidVpcID.NotFound"

    everywhere = control.get("inventory?tag=wlpanel:team")["items"]
    assert {(item["id"], item["account"]) for item in everywhere} == {(vpc_a, ACCOUNT_A), (vpc_b, ACCOUNT_B)}
    only_a = control.get(f"inventory?tag=wlpanel:team&account={ACCOUNT_A}")["items"]
    assert [(item["id"], item["tags"]["wlpanel:team"]) for item in only_a] == [(vpc_a, "team-a")]
    assert control.get(f"inventory?tag=wlpanel:team&account={PANEL_ACCOUNT}")["items"] == []

    calls_a = control.get(f"calls?account={ACCOUNT_A}&action=CreateVpc")["calls"]
    assert [(call["account"], call["status"]) for call in calls_a] == [(ACCOUNT_A, 200)]
    assert control.get(f"calls?account={ACCOUNT_A}")["counts"]["CreateVpc"] == 1


def test_the_opt_in_of_one_account_does_not_opt_in_another(client, assume):
    in_a, in_b, panel = client(keys=assume(ACCOUNT_A)), client(keys=assume(ACCOUNT_B)), client()
    in_a.modify_availability_zone_group(GroupName=WL_GROUP, OptInStatus="opted-in")

    def status(ec2) -> str:
        zones = ec2.describe_availability_zones(ZoneNames=[WL_ZONE], AllAvailabilityZones=True)[
            "AvailabilityZones"
        ]
        return zones[0]["OptInStatus"]

    assert (status(in_a), status(in_b), status(panel)) == ("opted-in", "not-opted-in", "not-opted-in")
    vpc_b = in_b.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    code, _, _ = error_of(in_b.create_subnet, VpcId=vpc_b, CidrBlock="10.0.0.0/24", AvailabilityZone=WL_ZONE)
    assert code == "OptInRequired"


def test_quotas_are_per_account(control, client, assume):
    control.post("quotas", {"quota_code": "L-F678F1CE", "value": 9, "account": ACCOUNT_A})
    quota_of = {
        name: client("service-quotas", keys=keys).get_service_quota(
            ServiceCode="vpc", QuotaCode="L-F678F1CE"
        )["Quota"]
        for name, keys in (("a", assume(ACCOUNT_A)), ("b", assume(ACCOUNT_B)))
    }
    assert quota_of["a"]["Value"] == 9.0 and quota_of["b"]["Value"] == 5.0
    assert quota_of["a"]["QuotaArn"].startswith(f"arn:aws:servicequotas:{WL_REGION}:{ACCOUNT_A}:")
    applied = {
        quota["quota_code"]: quota["applied"]
        for quota in control.get(f"quotas?account={ACCOUNT_A}")["quotas"]
    }
    assert applied["L-F678F1CE"] == 9.0
    status, answer = control_status(
        control, "POST", "quotas", {"quota_code": "L-F678F1CE", "value": 9, "account": "A"}
    )
    assert status == 400 and answer["detail"].startswith("account must be a 12-digit account id")


def test_throttle_buckets_are_per_account(control, client, assume, image_id):
    in_a, in_b = client(keys=assume(ACCOUNT_A)), client(keys=assume(ACCOUNT_B))
    control.post("throttle", {"enabled": True, "scale": 0.001})  # no refill within the test
    launch = {"ImageId": image_id, "InstanceType": "t3.micro", "MinCount": 1, "MaxCount": 1, "DryRun": True}
    for _ in range(5):  # RunInstances' bucket holds 5
        assert error_of(in_a.run_instances, **launch)[0] == "DryRunOperation"
    assert error_of(in_a.run_instances, **launch)[:2] == ("RequestLimitExceeded", 503)
    assert error_of(in_b.run_instances, **launch)[0] == "DryRunOperation"


def test_unknown_keys_are_refused_in_each_protocol(client):
    unknown = {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "testing"}
    assert error_of(client(keys=unknown).describe_vpcs) == (
        "AuthFailure",
        401,
        "AWS was not able to validate the provided access credentials",
    )
    assert error_of(client("sts", keys=unknown).get_caller_identity) == (
        "InvalidClientTokenId",
        403,
        "The security token included in the request is invalid.",
    )
    code, status, _ = error_of(client("service-quotas", keys=unknown).list_services)
    assert (code, status) == ("UnrecognizedClientException", 400)


def test_a_session_key_needs_its_own_token(client, assume):
    keys = assume(ACCOUNT_A)
    other_token = assume(ACCOUNT_B)["aws_session_token"]
    for token in (other_token, None):
        wrong = {**keys, "aws_session_token": token}
        assert error_of(client(keys=wrong).describe_vpcs)[:2] == ("AuthFailure", 401)
        assert error_of(client("sts", keys=wrong).get_caller_identity)[:2] == ("InvalidClientTokenId", 403)


def test_an_expired_session_is_refused_then_a_fresh_one_works(control, client, assume):
    assert control.call("PUT", "sts", {"session_seconds": 1})["session_seconds"] == 1
    sts = client("sts")
    answer = sts.assume_role(RoleArn=role_arn(ACCOUNT_A), RoleSessionName="short", ExternalId="ext-a-1")
    expiration = answer["Credentials"]["Expiration"]
    # The answer tells the capped lifetime, not the 3600 s asked for.
    issued = datetime.strptime(answer["ResponseMetadata"]["HTTPHeaders"]["date"], "%a, %d %b %Y %H:%M:%S GMT")
    assert (expiration - issued.replace(tzinfo=UTC)).total_seconds() <= 2
    keys = {
        "aws_access_key_id": answer["Credentials"]["AccessKeyId"],
        "aws_secret_access_key": answer["Credentials"]["SecretAccessKey"],
        "aws_session_token": answer["Credentials"]["SessionToken"],
    }
    time.sleep(max(0.0, expiration.timestamp() - time.time()) + 0.2)  # wait the session out
    assert error_of(client(keys=keys).describe_vpcs) == ("RequestExpired", 400, "Request has expired.")
    assert error_of(client("sts", keys=keys).get_caller_identity) == (
        "ExpiredToken",
        403,
        "The security token included in the request is expired",
    )
    control.call("PUT", "sts", {"session_seconds": None})
    fresh = assume(ACCOUNT_A)
    assert client(keys=fresh).describe_vpcs()["Vpcs"] is not None
    assert client("sts", keys=fresh).get_caller_identity()["Account"] == ACCOUNT_A


def test_session_cap_is_validated_and_reset_clears_accounts_and_sessions(control, client, assume):
    status, answer = control_status(control, "PUT", "sts", {"session_seconds": 0})
    assert status == 400 and "session seconds must be between 1 and 43200" in answer["detail"]
    keys = assume(ACCOUNT_A)
    assert [session["account"] for session in control.get("sts")["sessions"]] == [ACCOUNT_A]
    control.post("reset")
    assert control.get("accounts")["items"] == [] and control.get("sts")["sessions"] == []
    assert error_of(client(keys=keys).describe_vpcs)[:2] == ("AuthFailure", 401)
    code, _, _ = error_of(
        client("sts").assume_role, RoleArn=role_arn(ACCOUNT_A), RoleSessionName="session", ExternalId="ext-a-1"
    )
    assert code == "AccessDenied"


def test_the_moto_account_header_no_longer_picks_an_account(control, client):
    panel = client()

    def add_header(request, **_):
        request.headers["x-moto-account-id"] = ACCOUNT_A

    panel.meta.events.register("before-sign.ec2.CreateVpc", add_header)
    vpc_id = panel.create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    assert control.get("calls?action=CreateVpc")["calls"][0]["account"] == PANEL_ACCOUNT
    assert vpc_id in {vpc["VpcId"] for vpc in client().describe_vpcs()["Vpcs"]}
