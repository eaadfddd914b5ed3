"""Small helpers to wrap moto's methods from outside."""

import inspect
from collections.abc import Callable
from typing import Any


def wrap(owner: type, name: str, build: Callable[[Callable], Callable]) -> None:
    """Replace ``owner.name`` with ``build(original)``.

    Setting the result on ``owner`` itself (e.g. on ``EC2Response`` rather than the mixin that
    defines the handler) lets moto's dispatch find it: it looks handlers up with
    ``inspect.getmembers(cls, isfunction)``.
    """
    original = getattr(owner, name)
    setattr(owner, name, build(original))


def wrap_property(owner: type, name: str, build: Callable[[Callable], Callable]) -> None:
    """Replace the getter of property ``owner.name`` with ``build(original_getter)``."""
    original = inspect.getattr_static(owner, name)
    setattr(owner, name, property(build(original.fget)))


def call_arguments(function: Callable, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The arguments of a call by parameter name, however the caller passed them."""
    bound = inspect.signature(function).bind(*args, **kwargs)
    bound.apply_defaults()
    arguments = dict(bound.arguments)
    arguments.update(arguments.pop("kwargs", {}))
    return arguments
