"""Service quotas: what an environment uses, refused with EC2's error once exceeded, and the
Service Quotas API answering them in its own JSON protocol.

Each quota has AWS's default value (what GetAWSDefaultServiceQuota answers) and an applied
value per account and region (what GetServiceQuota answers and what is enforced). The applied
values start as the PROFILES["sandbox"] figures: AWS's defaults for VPCs, internet gateways
and Elastic IPs (the same in an established account unless raised), and for vCPUs the figures of
an account that has used EC2 for a while, so a demo builds several environments. Tests set the
``new-account`` profile (AWS's defaults everywhere) or raise one quota, as a user asks AWS,
through ``POST /_sandbox/quotas``.

Counted as AWS counts them:
- VPCs per Region (vpc L-F678F1CE): every VPC, the default VPC included -> VpcLimitExceeded.
- Internet gateways per Region (vpc L-A4707A72): every gateway, plus the one AWS attaches to
  the default VPC (moto creates none) -> InternetGatewayLimitExceeded.
- EC2-VPC Elastic IPs (ec2 L-0263D0A3): regional addresses -> AddressLimitExceeded.
- Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) and G and VT instances (ec2
  L-1216C47A, L-DB2E81BA), in vCPUs of instances pending or running -> VcpuLimitExceeded.
  Other instance families are not counted (lenient).
- Carrier IPs per network border group: AWS documents no figure (UNCONFIRMED); a sandbox
  setting (``sandbox`` L-CARRIER-IPS, default 5) -> AddressLimitExceeded.
- Carrier gateways per VPC: 1, fixed (carrier_gateways.py).
"""

import threading
from dataclasses import asdict, dataclass
from typing import Any

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError
from moto.ec2.models.instance_types import INSTANCE_TYPES
from moto.ec2.responses import EC2Response

from .availability_zones import wavelength_zone
from .patching import wrap

VPC = "vpc"
EC2 = "ec2"
SANDBOX = "sandbox"
SERVICE_NAMES = {
    VPC: "Amazon Virtual Private Cloud (Amazon VPC)",
    EC2: "Amazon Elastic Compute Cloud (Amazon EC2)",
    SANDBOX: "wlpanel sandbox settings (not an AWS service)",
}

VPCS = "L-F678F1CE"
INTERNET_GATEWAYS = "L-A4707A72"
ELASTIC_IPS = "L-0263D0A3"
STANDARD_VCPUS = "L-1216C47A"
G_VT_VCPUS = "L-DB2E81BA"
CARRIER_IPS = "L-CARRIER-IPS"

STANDARD_FAMILIES = ("a", "c", "d", "h", "i", "m", "r", "t", "z")
G_VT_FAMILIES = ("g", "vt")
VCPU_REQUEST_URL = "http://aws.amazon.com/contact-us/ec2-request"


@dataclass(frozen=True)
class Quota:
    service_code: str
    quota_code: str
    name: str
    aws_default: float
    adjustable: bool = True
    unconfirmed: bool = False


QUOTAS: dict[str, Quota] = {
    quota.quota_code: quota
    for quota in (
        Quota(VPC, VPCS, "VPCs per Region", 5),
        Quota(VPC, INTERNET_GATEWAYS, "Internet gateways per Region", 5),
        Quota(EC2, ELASTIC_IPS, "EC2-VPC Elastic IPs", 5),
        # AWS defaults of a new account (wavelength-facts §5.2: "as low as 5", "G and VT 0").
        Quota(EC2, STANDARD_VCPUS, "Running On-Demand Standard (A, C, D, H, I, M, R, T, Z) instances", 5),
        Quota(EC2, G_VT_VCPUS, "Running On-Demand G and VT instances", 0),
        Quota(
            SANDBOX, CARRIER_IPS, "Carrier IPs per network border group (UNCONFIRMED)", 5, unconfirmed=True
        ),
    )
}

# Applied values each account starts with, per profile. "sandbox": the demo account.
PROFILES: dict[str, dict[str, float]] = {
    "new-account": {code: quota.aws_default for code, quota in QUOTAS.items()},
    "sandbox": {
        **{code: quota.aws_default for code, quota in QUOTAS.items()},
        STANDARD_VCPUS: 64,
        G_VT_VCPUS: 32,
    },
}
DEFAULT_PROFILE = "sandbox"


class QuotaSettings:
    """Applied quota values: a profile, and raised (or lowered) values per account and region.

    ``region=None`` applies to every region of the account. Shared by every backend of the
    process; ``reset()`` goes back to the default profile.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._profile = DEFAULT_PROFILE
            self._applied: dict[tuple[str | None, str | None, str], float] = {}

    def use_profile(self, profile: str) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown quota profile {profile!r}; known: {', '.join(sorted(PROFILES))}")
        with self._lock:
            self._profile = profile
            self._applied.clear()

    def set(
        self, quota_code: str, value: float, account: str | None = None, region: str | None = None
    ) -> None:
        quota = QUOTAS.get(quota_code)
        if quota is None:
            raise ValueError(f"unknown quota code {quota_code!r}; known: {', '.join(sorted(QUOTAS))}")
        if not quota.adjustable:
            raise ValueError(f"{quota_code} ({quota.name}) is not adjustable")
        if value < 0:
            raise ValueError("a quota value must be >= 0")
        with self._lock:
            self._applied[(account, region, quota_code)] = float(value)

    def value(self, quota_code: str, account: str, region: str) -> float:
        with self._lock:
            for key in (
                (account, region, quota_code),
                (account, None, quota_code),
                (None, region, quota_code),
            ):
                if key in self._applied:
                    return self._applied[key]
            return self._global(quota_code)

    def _global(self, quota_code: str) -> float:
        return self._applied.get((None, None, quota_code), PROFILES[self._profile][quota_code])

    def describe(self, account: str | None = None, region: str | None = None) -> dict:
        """The profile, each quota's applied value (of one account and region when given) and the
        raised values (of that account, and those set for every account)."""
        if account is not None:
            applied = {code: self.value(code, account, region) for code in QUOTAS}
        with self._lock:
            if account is None:
                applied = {code: self._global(code) for code in QUOTAS}
            return {
                "profile": self._profile,
                "account": account,
                "region": region,
                "quotas": [{**asdict(quota), "applied": applied[code]} for code, quota in QUOTAS.items()],
                "raised": [
                    {"account": raised_account, "region": raised_region, "quota_code": code, "value": value}
                    for (raised_account, raised_region, code), value in self._applied.items()
                    if account is None or raised_account in (None, account)
                ],
            }


quota_settings = QuotaSettings()


def applied(backend: Any, quota_code: str) -> float:
    return quota_settings.value(quota_code, backend.account_id, backend.region_name)


# --- Usage, as AWS counts it ---------------------------------------------------------------------


def vpcs_used(backend: Any) -> int:
    return len(backend.vpcs)


def internet_gateways_used(backend: Any) -> int:
    # AWS attaches an internet gateway to the default VPC; moto does not create one.
    default_vpc = next((vpc for vpc in backend.vpcs.values() if vpc.is_default), None)
    implicit = 0
    if default_vpc is not None and not any(
        gateway.vpc is not None and gateway.vpc.id == default_vpc.id
        for gateway in backend.internet_gateways.values()
    ):
        implicit = 1
    return len(backend.internet_gateways) + implicit


def elastic_ips_used(backend: Any) -> int:
    return sum(1 for address in backend.addresses if not getattr(address, "carrier_ip", None))


def carrier_ips_used(backend: Any, border_group: str) -> int:
    return sum(
        1
        for address in backend.addresses
        if getattr(address, "carrier_ip", None) and address.network_border_group == border_group
    )


def vcpu_bucket(instance_type: str) -> str | None:
    """The vCPU quota an instance type counts against, or None for families not modelled."""
    family = instance_type.split(".", 1)[0].lower()
    if family.startswith(G_VT_FAMILIES):
        return G_VT_VCPUS
    if family[:1] in STANDARD_FAMILIES and not family.startswith(("dl", "inf", "trn", "hpc")):
        return STANDARD_VCPUS
    return None


def vcpus_of(instance_type: str) -> int:
    return int(INSTANCE_TYPES.get(instance_type, {}).get("VCpuInfo", {}).get("DefaultVCpus", 1))


def vcpus_used(backend: Any, bucket: str) -> int:
    return sum(
        vcpus_of(instance.instance_type)
        for instance in backend.all_instances()
        if instance.state in ("pending", "running") and vcpu_bucket(instance.instance_type) == bucket
    )


USAGE = {
    VPCS: vpcs_used,
    INTERNET_GATEWAYS: internet_gateways_used,
    ELASTIC_IPS: elastic_ips_used,
    STANDARD_VCPUS: lambda backend: vcpus_used(backend, STANDARD_VCPUS),
    G_VT_VCPUS: lambda backend: vcpus_used(backend, G_VT_VCPUS),
}


# --- Enforcement on EC2 calls --------------------------------------------------------------------


def _limit(code: str, message: str) -> EC2ClientError:
    return EC2ClientError(code, message)


def _create_vpc(stock: Any) -> Any:
    def create_vpc(self: EC2Response) -> ActionResult:
        if vpcs_used(self.ec2_backend) >= applied(self.ec2_backend, VPCS):
            raise _limit("VpcLimitExceeded", "The maximum number of VPCs has been reached.")
        return stock(self)

    return create_vpc


def _create_internet_gateway(stock: Any) -> Any:
    def create_internet_gateway(self: EC2Response) -> ActionResult:
        if internet_gateways_used(self.ec2_backend) >= applied(self.ec2_backend, INTERNET_GATEWAYS):
            raise _limit(
                "InternetGatewayLimitExceeded", "The maximum number of internet gateways has been reached."
            )
        return stock(self)

    return create_internet_gateway


def _allocate_address(stock: Any) -> Any:
    def allocate_address(self: EC2Response) -> ActionResult:
        backend = self.ec2_backend
        zone = wavelength_zone(self._get_param("NetworkBorderGroup"))
        if zone is not None:
            if carrier_ips_used(backend, zone.network_border_group) >= applied(backend, CARRIER_IPS):
                raise _limit("AddressLimitExceeded", "The maximum number of addresses has been reached.")
        elif elastic_ips_used(backend) >= applied(backend, ELASTIC_IPS):
            raise _limit("AddressLimitExceeded", "The maximum number of addresses has been reached.")
        return stock(self)

    return allocate_address


def check_vcpus(backend: Any, instance_type: str, count: int) -> None:
    """VcpuLimitExceeded if launching ``count`` instances would pass the type's vCPU quota.

    Called by instances.py after the launch's own checks (an instance type a Wavelength Zone
    does not offer is ``Unsupported`` before it is over a quota).
    """
    bucket = vcpu_bucket(instance_type)
    if bucket is None:
        return
    limit = applied(backend, bucket)
    if vcpus_used(backend, bucket) + vcpus_of(instance_type) * count > limit:
        raise _limit(
            "VcpuLimitExceeded",
            f"You have requested more vCPU capacity than your current vCPU limit of {limit:g} allows "
            "for the instance bucket that the specified instance type belongs to. Please visit "
            f"{VCPU_REQUEST_URL} to request an adjustment to this limit.",
        )


def install() -> None:
    wrap(EC2Response, "create_vpc", _create_vpc)
    wrap(EC2Response, "create_internet_gateway", _create_internet_gateway)
    wrap(EC2Response, "allocate_address", _allocate_address)
