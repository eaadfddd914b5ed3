"""EC2 query-protocol requests and errors, as the sandbox middleware sees them."""

import io
import re
import uuid
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from moto.core import DEFAULT_ACCOUNT_ID

CREDENTIAL_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)/")
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
NAMED_ID = re.compile(r"^(i|vpc|subnet|rtb|sg|cagw|eipalloc|igw)-[0-9a-f]{8,17}$")
DEFAULT_REGION = "us-east-1"


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

    def body(self) -> bytes:
        """The EC2 XML error document botocore parses into a ClientError."""
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Response><Errors><Error><Code>{escape(self.code)}</Code>"
            f"<Message>{escape(self.message)}</Message></Error></Errors>"
            f"<RequestID>{uuid.uuid4()}</RequestID></Response>"
        ).encode()


@dataclass
class AwsCall:
    """One AWS request: action, region, account and, for the query protocol (EC2), flat parameters.

    ``action`` is None for requests that are not AWS calls (moto's own ``/moto-api/``).
    """

    action: str | None
    region: str
    account: str
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_environ(cls, environ: dict) -> "AwsCall":
        """Read the call from a WSGI environ; the body is put back for the app behind."""
        params = dict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        params.update(parse_qsl(_rebuffered_form_body(environ), keep_blank_values=True))
        scope = CREDENTIAL_SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        return cls(
            action=params.get("Action") or target.rpartition(".")[2] or None,
            region=scope["region"] if scope else DEFAULT_REGION,
            account=environ.get("HTTP_X_MOTO_ACCOUNT_ID") or DEFAULT_ACCOUNT_ID,
            params=params,
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
