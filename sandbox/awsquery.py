"""AWS requests and errors as the sandbox middleware sees them: EC2's query protocol in detail,
and enough of the other protocols to answer an error in each service's own shape."""

import io
import json
import re
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

CREDENTIAL_SCOPE = re.compile(
    r"Credential=(?P<key>[^/,\s]+)/\d{8}/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)/"
)
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
NAMED_ID = re.compile(r"^(i|vpc|subnet|rtb|sg|cagw|eipalloc|igw)-[0-9a-f]{8,17}$")
DEFAULT_REGION = "us-east-1"

# How a service expects its errors (botocore reads another shape as code "400" or worse).
EC2_PROTOCOL = "ec2"  # <Response><Errors><Error>
QUERY_PROTOCOL = "query"  # <ErrorResponse><Error> (IAM, STS, ...)
JSON_PROTOCOL = "json"  # {"__type": ...} (X-Amz-Target services: Service Quotas, Pricing, ...)
REST_XML_PROTOCOL = "rest-xml"  # <Error><Code> (S3)
REST_XML_SERVICES = frozenset({"s3", "route53", "cloudfront"})


def status_line(status: int) -> str:
    """``"503 Service Unavailable"``; a bare number for statuses without a standard phrase."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Error"


@dataclass
class AwsError:
    """An EC2 error answer: code, message and HTTP status."""

    code: str
    message: str
    status: int = 400

    def body(self, protocol: str = EC2_PROTOCOL) -> bytes:
        """The error document of the protocol, as botocore parses it into a ClientError."""
        request_id = uuid.uuid4()
        if protocol == JSON_PROTOCOL:
            return json.dumps({"__type": self.code, "message": self.message}).encode()
        if protocol == REST_XML_PROTOCOL:
            return (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{escape(self.code)}</Code><Message>{escape(self.message)}</Message>"
                f"<RequestId>{request_id}</RequestId></Error>"
            ).encode()
        if protocol == QUERY_PROTOCOL:
            return (
                '<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<ErrorResponse><Error><Type>{'Receiver' if self.status >= 500 else 'Sender'}</Type>"
                f"<Code>{escape(self.code)}</Code><Message>{escape(self.message)}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>"
            ).encode()
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Response><Errors><Error><Code>{escape(self.code)}</Code>"
            f"<Message>{escape(self.message)}</Message></Error></Errors>"
            f"<RequestID>{request_id}</RequestID></Response>"
        ).encode()

    def headers(self, protocol: str = EC2_PROTOCOL) -> list[tuple[str, str]]:
        if protocol == JSON_PROTOCOL:
            return [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", self.code)]
        return [("Content-Type", "text/xml")]


@dataclass
class AwsCall:
    """One AWS request: action, region, credentials and, for the query protocol (EC2), flat parameters.

    ``action`` is None for requests that are not AWS calls (moto's own ``/moto-api/``) and for
    REST calls (S3). ``account`` is the caller's, filled in once the middleware knows who calls.
    """

    action: str | None
    region: str
    account: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    protocol: str = EC2_PROTOCOL
    service: str | None = None
    access_key_id: str | None = None  # from the signature (header or presigned query)
    session_token: str | None = None

    @classmethod
    def from_environ(cls, environ: dict) -> "AwsCall":
        """Read the call from a WSGI environ; the body is put back for the app behind."""
        params = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        params.update(parse_qsl(_rebuffered_form_body(environ), keep_blank_values=True))
        scope = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", "")) or CREDENTIAL_SCOPE.search(
            "Credential=" + params.get("X-Amz-Credential", "")
        )
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        service = scope["service"] if scope else None
        return cls(
            action=params.get("Action") or target.rpartition(".")[2] or None,
            region=scope["region"] if scope else DEFAULT_REGION,
            params=params,
            protocol=_protocol(service, target, params),
            service=service,
            access_key_id=scope["key"] if scope else None,
            session_token=environ.get("HTTP_X_AMZ_SECURITY_TOKEN") or params.get("X-Amz-Security-Token") or None,
        )

    def named_resource_ids(self) -> list[str]:
        """Resource ids the call names as parameters (ids inside filters are not counted)."""
        return [
            value
            for name, value in self.params.items()
            if not name.startswith("Filter.") and NAMED_ID.match(value)
        ]

    def launch_subnet_id(self) -> str | None:
        """The subnet a RunInstances call launches into, if it names one."""
        for name, value in self.params.items():
            if name == "SubnetId" or (name.startswith("NetworkInterface.") and name.endswith(".SubnetId")):
                return value
        return None


def _protocol(service: str | None, target: str, params: dict[str, str]) -> str:
    if target:
        return JSON_PROTOCOL
    if service in REST_XML_SERVICES:
        return REST_XML_PROTOCOL
    if "Action" in params and service not in (None, "ec2"):
        return QUERY_PROTOCOL
    if "Action" in params or service == "ec2":
        return EC2_PROTOCOL
    return JSON_PROTOCOL  # REST-JSON services read __type (and x-amzn-ErrorType) as well


def _rebuffered_form_body(environ: dict) -> str:
    if not environ.get("CONTENT_TYPE", "").startswith(FORM_CONTENT_TYPE):
        return ""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return ""
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body.decode("utf-8", errors="replace")
