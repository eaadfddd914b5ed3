"""The Service Quotas API for the quotas the sandbox enforces, in its own JSON protocol.

Stock moto answers GetServiceQuota and ListAWSDefaultServiceQuotas for ``vpc`` codes only, with
AWS's default values; it has no ListServiceQuotas or GetAWSDefaultServiceQuota. Here:

- GetServiceQuota / ListServiceQuotas answer the applied value of the caller's account and
  region (quotas.py), so a quota raised through the control path shows, as one raised through
  AWS Support does; the other ``vpc`` quotas moto knows keep their default values.
- GetAWSDefaultServiceQuota / ListAWSDefaultServiceQuotas answer AWS's default values.
- An unknown service or quota code answers ``NoSuchResourceException`` as a JSON error
  (``__type``), which botocore reads as that code.
"""

import json
from typing import Any

from moto.servicequotas.exceptions import NoSuchResource
from moto.servicequotas.resources.default_quotas.vpc import VPC_DEFAULT_QUOTAS
from moto.servicequotas.responses import ServiceQuotasResponse

from .quotas import QUOTAS, SERVICE_NAMES, Quota, quota_settings


def _shape(quota: Quota, value: float, account: str, region: str) -> dict[str, Any]:
    return {
        "ServiceCode": quota.service_code,
        "ServiceName": SERVICE_NAMES[quota.service_code],
        "QuotaArn": f"arn:aws:servicequotas:{region}:{account}:{quota.service_code}/{quota.quota_code}",
        "QuotaCode": quota.quota_code,
        "QuotaName": quota.name,
        "Value": float(value),
        "Unit": "None",
        "Adjustable": quota.adjustable,
        "GlobalQuota": False,
    }


def _moto_vpc_quota(quota_code: str, account: str, region: str) -> dict[str, Any] | None:
    for quota in VPC_DEFAULT_QUOTAS:
        if quota["QuotaCode"] == quota_code:
            return {**quota, "QuotaArn": f"arn:aws:servicequotas:{region}:{account}:vpc/{quota_code}"}
    return None


def quotas_of_service(
    service_code: str, account: str, region: str, *, defaults: bool
) -> list[dict[str, Any]]:
    """Every quota of a service the sandbox knows, applied or AWS default values."""
    ours = [quota for quota in QUOTAS.values() if quota.service_code == service_code]
    if not ours and service_code != "vpc":
        raise NoSuchResource()
    found = [
        _shape(
            quota,
            quota.aws_default if defaults else quota_settings.value(quota.quota_code, account, region),
            account,
            region,
        )
        for quota in ours
    ]
    if service_code == "vpc":
        known = {quota.quota_code for quota in ours}
        found += [
            _moto_vpc_quota(quota["QuotaCode"], account, region)
            for quota in VPC_DEFAULT_QUOTAS
            if quota["QuotaCode"] not in known
        ]
    return found


def one_quota(
    service_code: str, quota_code: str, account: str, region: str, *, defaults: bool
) -> dict[str, Any]:
    quota = QUOTAS.get(quota_code)
    if quota is not None and quota.service_code == service_code:
        value = quota.aws_default if defaults else quota_settings.value(quota_code, account, region)
        return _shape(quota, value, account, region)
    if service_code == "vpc":
        found = _moto_vpc_quota(quota_code, account, region)
        if found is not None:
            return found
    raise NoSuchResource()


def _params(response: ServiceQuotasResponse) -> dict[str, Any]:
    return json.loads(response.body or "{}")


def _one_quota_answer(response: ServiceQuotasResponse, *, defaults: bool) -> str:
    params = _params(response)
    quota = one_quota(
        str(params.get("ServiceCode")),
        str(params.get("QuotaCode")),
        response.current_account,
        response.region,
        defaults=defaults,
    )
    return json.dumps({"Quota": quota})


def get_service_quota(self: ServiceQuotasResponse) -> str:
    return _one_quota_answer(self, defaults=False)


def get_aws_default_service_quota(self: ServiceQuotasResponse) -> str:
    return _one_quota_answer(self, defaults=True)


def list_service_quotas(self: ServiceQuotasResponse) -> str:
    params = _params(self)
    quotas = quotas_of_service(
        str(params.get("ServiceCode")), self.current_account, self.region, defaults=False
    )
    if params.get("QuotaCode"):
        quotas = [quota for quota in quotas if quota["QuotaCode"] == params["QuotaCode"]]
    return json.dumps({"Quotas": quotas})


def list_aws_default_service_quotas(self: ServiceQuotasResponse) -> str:
    params = _params(self)
    quotas = quotas_of_service(
        str(params.get("ServiceCode")), self.current_account, self.region, defaults=True
    )
    return json.dumps({"Quotas": quotas})


def install() -> None:
    ServiceQuotasResponse.get_service_quota = get_service_quota
    ServiceQuotasResponse.get_aws_default_service_quota = get_aws_default_service_quota
    ServiceQuotasResponse.list_service_quotas = list_service_quotas
    ServiceQuotasResponse.list_aws_default_service_quotas = list_aws_default_service_quotas
