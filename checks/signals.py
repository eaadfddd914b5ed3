"""The automatic run: once, when an environment's build becomes ready (settings.WLPANEL_CHECKS_AUTOMATIC).

The environments app does not know about checks; checks listen for its transition to READY (a
later save of a ready environment, an extension say, is not a build becoming ready).
"""

from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from environments.choices import EnvironmentState
from environments.models import Environment


@receiver(pre_save, sender=Environment, dispatch_uid="checks-became-ready")
def environment_saving(sender, instance: Environment, **kwargs) -> None:
    becoming = instance.state == EnvironmentState.READY and instance.pk is not None
    if becoming:
        previous = Environment.objects.filter(pk=instance.pk).values_list("state", flat=True).first()
        becoming = previous != EnvironmentState.READY
    instance._checks_became_ready = becoming


@receiver(post_save, sender=Environment, dispatch_uid="checks-automatic-run")
def environment_saved(sender, instance: Environment, created: bool, **kwargs) -> None:
    if getattr(instance, "_checks_became_ready", False):
        instance._checks_became_ready = False
        from .services import check_run_automatic

        check_run_automatic(instance)
