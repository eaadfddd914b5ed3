"""The plan: the environment's resources as a dependency graph, derived from the request.

Pure: a `PlanSpec` in, plain data out. The same document is what an approver is shown (every
resource and AWS call) and what the engine executes; its hash binds the approval to it.
"""

import hashlib
import json
import uuid
from dataclasses import asdict, dataclass, field

PLAN_VERSION = 1
ANYWHERE = "0.0.0.0/0"
BASTION_INSTANCE_TYPE = "t3.micro"
DEFAULT_IMAGE_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


@dataclass(frozen=True)
class IngressRule:
    protocol: str  # tcp | udp | icmp | all
    ports: str | None  # "80,443,1000-2000" or None for all ports


@dataclass(frozen=True)
class PlanSpec:
    name: str
    region: str
    zone: str  # the Wavelength Zone, also the Carrier IP's network border group
    parent_zone: str  # the regional AZ that hosts the public subnet
    instance_type: str
    bastion: bool = True
    vpc_cidr: str = "10.0.0.0/16"
    public_subnet_cidr: str = "10.0.1.0/24"
    wavelength_subnet_cidr: str = "10.0.0.0/24"
    bastion_ssh_cidr: str = ""
    wavelength_ingress: tuple[IngressRule, ...] = (IngressRule("all", None),)
    key_name: str = ""
    image_id: str = ""
    account_id: str = ""  # the AWS account built in ("": the panel's own)
    instance_profile: str = ""  # the account's SSM instance profile, attached to both instances


@dataclass(frozen=True)
class PlanStep:
    key: str
    kind: str
    title: str
    depends_on: tuple[str, ...]
    calls: tuple[str, ...]
    params: dict = field(default_factory=dict)


def security_group_rules(spec: PlanSpec, key: str) -> list[dict]:
    """Ingress rules of the plan's security groups (the seed's defaults)."""
    rules = [{"protocol": "all", "ports": None, "source": spec.vpc_cidr, "description": "all from the VPC"}]
    if key == "bastion_sg" and spec.bastion_ssh_cidr:
        rules.append({"protocol": "tcp", "ports": "22", "source": spec.bastion_ssh_cidr, "description": "SSH"})
    if key == "wavelength_sg":
        rules += [
            {"protocol": rule.protocol, "ports": rule.ports, "source": ANYWHERE, "description": "from outside the VPC"}
            for rule in spec.wavelength_ingress
        ]
    return rules


def build_plan(spec: PlanSpec) -> list[PlanStep]:
    """Every resource of the seed's build, in dependency order; the bastion branch is optional."""
    image = spec.image_id or f"SSM {DEFAULT_IMAGE_PARAMETER}"
    steps = [PlanStep("vpc", "vpc", "VPC", (), ("CreateVpc",), {"CidrBlock": spec.vpc_cidr})]
    if spec.bastion:
        steps += [
            PlanStep(
                "public_subnet",
                "subnet",
                "Public subnet",
                ("vpc",),
                ("CreateSubnet",),
                {"CidrBlock": spec.public_subnet_cidr, "AvailabilityZone": spec.parent_zone},
            ),
            PlanStep(
                "internet_gateway",
                "internet_gateway",
                "Internet gateway",
                ("vpc",),
                ("CreateInternetGateway", "AttachInternetGateway"),
            ),
            PlanStep(
                "public_route_table",
                "route_table",
                "Public route table",
                ("vpc", "public_subnet", "internet_gateway"),
                ("CreateRouteTable", "CreateRoute", "AssociateRouteTable"),
                {"DestinationCidrBlock": ANYWHERE, "Target": "internet_gateway", "Subnet": "public_subnet"},
            ),
            PlanStep(
                "bastion_sg",
                "security_group",
                "Bastion security group",
                ("vpc",),
                ("CreateSecurityGroup", "AuthorizeSecurityGroupIngress"),
                {"Ingress": security_group_rules(spec, "bastion_sg")},
            ),
            PlanStep(
                "bastion",
                "instance",
                "Bastion instance",
                ("public_subnet", "bastion_sg", "public_route_table"),
                ("RunInstances",),
                {
                    "InstanceType": BASTION_INSTANCE_TYPE,
                    "ImageId": image,
                    "Subnet": "public_subnet",
                    "AssociatePublicIpAddress": True,
                    "KeyName": spec.key_name or None,
                    **_instance_profile(spec),
                },
            ),
        ]
    steps += [
        PlanStep(
            "wavelength_subnet",
            "subnet",
            "Wavelength subnet",
            ("vpc",),
            ("CreateSubnet",),
            {"CidrBlock": spec.wavelength_subnet_cidr, "AvailabilityZone": spec.zone},
        ),
        PlanStep(
            "wavelength_sg",
            "security_group",
            "Wavelength security group",
            ("vpc",),
            ("CreateSecurityGroup", "AuthorizeSecurityGroupIngress"),
            {"Ingress": security_group_rules(spec, "wavelength_sg")},
        ),
        PlanStep("carrier_gateway", "carrier_gateway", "Carrier gateway", ("vpc",), ("CreateCarrierGateway",)),
        PlanStep(
            "wavelength_route_table",
            "route_table",
            "Wavelength route table",
            ("vpc", "wavelength_subnet", "carrier_gateway"),
            ("CreateRouteTable", "CreateRoute", "AssociateRouteTable"),
            {"DestinationCidrBlock": ANYWHERE, "Target": "carrier_gateway", "Subnet": "wavelength_subnet"},
        ),
        PlanStep(
            "wavelength_instance",
            "instance",
            "Wavelength instance",
            ("wavelength_subnet", "wavelength_sg"),
            ("RunInstances",),
            {
                "InstanceType": spec.instance_type,
                "ImageId": image,
                "Subnet": "wavelength_subnet",
                "RootVolumeType": "gp2",
                "KeyName": spec.key_name or None,
                **_instance_profile(spec),
            },
        ),
        PlanStep(
            "carrier_ip",
            "carrier_ip",
            "Carrier IP",
            ("wavelength_instance", "wavelength_route_table"),
            ("AllocateAddress", "AssociateAddress"),
            {"Domain": "vpc", "NetworkBorderGroup": spec.zone},
        ),
    ]
    return steps


def _instance_profile(spec: PlanSpec) -> dict:
    return {"InstanceProfile": spec.instance_profile} if spec.instance_profile else {}


# Spec fields added later: left out of the document when empty, so older plans keep their hash.
OPTIONAL_SPEC_FIELDS = ("account_id", "instance_profile")


def plan_document(spec: PlanSpec) -> dict:
    """The JSON document shown to the approver and stored with the request."""
    spec_data = asdict(spec)
    for name in OPTIONAL_SPEC_FIELDS:
        if not spec_data[name]:
            del spec_data[name]
    spec_data["wavelength_ingress"] = [asdict(rule) for rule in spec.wavelength_ingress]
    return {
        "version": PLAN_VERSION,
        "spec": spec_data,
        "steps": [
            {
                "key": step.key,
                "kind": step.kind,
                "title": step.title,
                "depends_on": list(step.depends_on),
                "calls": list(step.calls),
                "params": step.params,
            }
            for step in build_plan(spec)
        ],
    }


def plan_hash(document: dict) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def spec_from_document(document: dict) -> PlanSpec:
    data = dict(document["spec"])
    data["wavelength_ingress"] = tuple(IngressRule(**rule) for rule in data["wavelength_ingress"])
    return PlanSpec(**data)


def teardown_order(steps: list[dict]) -> list[str]:
    """Step keys in reverse dependency order: a step is deleted after everything that needs it."""
    order: list[str] = []
    remaining = {step["key"]: set(step["depends_on"]) for step in steps}
    while remaining:
        ready = sorted(key for key in remaining if all(key not in deps for deps in remaining.values()))
        if not ready:
            raise ValueError("plan has a dependency cycle")
        order += ready
        for key in ready:
            del remaining[key]
    return order


def critical_path(steps: list[dict], durations: dict[str, float]) -> float:
    """Longest dependency chain of `durations` (seconds per step): the lower bound of a build."""
    finish: dict[str, float] = {}
    by_key = {step["key"]: step for step in steps}

    def finish_time(key: str) -> float:
        if key not in finish:
            start = max((finish_time(dep) for dep in by_key[key]["depends_on"]), default=0.0)
            finish[key] = start + durations.get(key, 0.0)
        return finish[key]

    return max((finish_time(key) for key in by_key), default=0.0)


TOKEN_NAMESPACE = uuid.UUID("6f1e2a52-8c1b-4d0e-9d7a-3a2f0b6c9e41")


def client_token(installation: str, environment_id: int, key: str, generation: int = 1) -> str:
    """Deterministic ClientToken for a step: the same on every retry of the same attempt.

    The installation is part of it: another panel (or this one on a re-created database) reuses
    environment ids, and AWS would answer its create with our resource.
    """
    return str(uuid.uuid5(TOKEN_NAMESPACE, f"wlpanel:{installation}:{environment_id}:{key}:{generation}"))


INSTALLATION_TAG = "wlpanel:installation"


def resource_tags(installation: str, environment_id: int, environment_name: str, key: str) -> dict[str, str]:
    """Tags every taggable resource carries from creation (the seed's build)."""
    return {
        INSTALLATION_TAG: installation,
        "wlpanel:environment": str(environment_id),
        "wlpanel:resource": key,
        "Name": f"{environment_name}-{key}",
    }


TOKEN_KINDS = frozenset({"instance", "carrier_gateway", "route_table"})
