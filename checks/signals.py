"""The automatic run: once, when an environment's build is ready (settings.WLPANEL_CHECKS_AUTOMATIC).

The environments app does not know about checks; checks listen for its READY state.
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from environments.choices import EnvironmentState
from environments.models import Environment


@receiver(post_save, sender=Environment, dispatch_uid="checks-automatic-run")
def environment_saved(sender, instance: Environment, created: bool, **kwargs) -> None:
    if instance.state == EnvironmentState.READY and instance.ready_at is not None:
        from .services import check_run_automatic

        check_run_automatic(instance)
