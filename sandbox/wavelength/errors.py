"""AWS-style EC2 errors the Wavelength extension raises.

moto serializes any ``EC2ClientError`` as an EC2 XML error with HTTP 400, which botocore
turns into a ``ClientError`` with this code. Codes and messages AWS documents are used as
documented; the others are marked as placeholders in docs/sandbox.md.
"""

from moto.ec2.exceptions import EC2ClientError


def invalid_parameter_value(message: str) -> EC2ClientError:
    return EC2ClientError("InvalidParameterValue", message)


def invalid_parameter_combination(message: str) -> EC2ClientError:
    return EC2ClientError("InvalidParameterCombination", message)


def opt_in_required(message: str) -> EC2ClientError:
    return EC2ClientError("OptInRequired", message)


def unsupported(message: str) -> EC2ClientError:
    return EC2ClientError("Unsupported", message)


def idempotent_parameter_mismatch() -> EC2ClientError:
    return EC2ClientError(
        "IdempotentParameterMismatch",
        "The client token you have provided is associated with a resource that is already "
        "created with different parameters.",
    )


def address_not_found(address: str) -> EC2ClientError:
    return EC2ClientError("InvalidAddressID.NotFound", f"The address '{address}' does not exist.")


def missing_parameter(name: str) -> EC2ClientError:
    return EC2ClientError("MissingParameter", f"The request must contain the parameter {name}")


def invalid_address_not_found(address: str) -> EC2ClientError:
    """ReleaseAddress with an incorrect NetworkBorderGroup (documented in the ReleaseAddress reference)."""
    return EC2ClientError("InvalidAddress.NotFound", f"Address '{address}' not found.")


def dependency_violation(message: str) -> EC2ClientError:
    return EC2ClientError("DependencyViolation", message)


def has_dependencies(kind: str, resource_id: str) -> EC2ClientError:
    """EC2's message for a resource that still has dependents (e.g. ``The vpc 'vpc-1' has ...``)."""
    return dependency_violation(f"The {kind} '{resource_id}' has dependencies and cannot be deleted.")
