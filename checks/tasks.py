from celery import shared_task


@shared_task(name="checks.run", soft_time_limit=300, time_limit=330)
def run_checks(run_id: int) -> None:
    from .services import check_run_execute

    check_run_execute(run_id)
