"""Beat's periodic checkpoint of the audit chains (docs/audit.md, "Tamper evidence")."""

from celery import shared_task

from .checkpoints import audit_checkpoint_take


@shared_task(name="audit.checkpoint")
def checkpoint() -> None:
    # Verifies only the rows since the last checkpoint, so it stays cheap at any size; a break
    # raises (the task fails loudly in the worker's log) and no checkpoint vouches for it.
    audit_checkpoint_take(incremental=True)
