"""`manage.py audit_verify`: the chains hold, and each tamper behind the app's back is named.

Tampers are done as a database superuser would: raw SQL, with the append-only triggers disabled
where they would refuse it. Checkpoints go to each test's own file (tests/audit/conftest.py).
"""

import hashlib
import json

import boto3
import botocore.exceptions
import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from audit.chain import EVENTS, chain_hash
from audit.choices import ChainScheme, Source
from audit.models import AuditEvent, AwsCall
from audit.services import aws_call_record, record


def _events(actor, count: int = 4):
    return [record(actor=actor, action=f"thing.step{n}", target=None, source=Source.WEB) for n in range(count)]


def _as_table_owner(statement: str, params) -> None:
    """Change audit rows the way only the table's owner can: trigger off for this one statement."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_append_only")
        cursor.execute(statement, params)
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_auditevent_append_only")


def _verify(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command("audit_verify", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_an_intact_chain_verifies(alice):
    events = _events(alice)
    output = _verify()
    assert "Audit chain OK: 4 rows verified" in output
    assert f"head #{events[-1].pk} {events[-1].hash}" in output


@pytest.mark.django_db
def test_an_empty_log_verifies():
    assert "Audit chain OK: 0 rows verified" in _verify()


@pytest.mark.django_db
def test_an_altered_row_is_named_with_its_time_and_action(alice):
    events = _events(alice)
    altered = events[2]
    _as_table_owner("UPDATE audit_auditevent SET details = '{\"note\": \"nothing happened\"}' WHERE id = %s", [altered.pk])

    with pytest.raises(CommandError) as failure:
        _verify()

    message = str(failure.value)
    assert failure.value.returncode == 1
    assert f"row #{altered.pk}" in message
    assert altered.created_at.isoformat() in message and "thing.step2" in message
    assert "altered" in message and "2 rows before it verified" in message


@pytest.mark.django_db
def test_a_deleted_row_is_detected_at_the_row_after_it(alice):
    events = _events(alice)
    _as_table_owner("DELETE FROM audit_auditevent WHERE id = %s", [events[1].pk])

    with pytest.raises(CommandError) as failure:
        _verify()

    message = str(failure.value)
    assert f"row #{events[2].pk}" in message
    assert f"does not follow row #{events[0].pk}" in message and "removed" in message


@pytest.mark.django_db
def test_a_row_removed_from_the_end_is_caught_against_a_head_kept_elsewhere(alice):
    events = _events(alice)
    kept_head = events[-1].hash
    _as_table_owner("DELETE FROM audit_auditevent WHERE id = %s", [events[-1].pk])

    assert "3 rows verified" in _verify()  # the chain alone cannot tell
    with pytest.raises(CommandError, match="expected head .* is not in the chain"):
        _verify("--expect-head", kept_head)


@pytest.mark.django_db
def test_verify_reads_in_batches(alice):
    _events(alice, count=7)
    assert "7 rows verified" in _verify("--batch-size", "3", "--verbosity", "2")


# --- The keyed chain, checkpoints, and each tamper as a superuser would do it ----------------------


def _failure(*args) -> str:
    with pytest.raises(CommandError) as failure:
        _verify(*args)
    assert failure.value.returncode == 1
    return str(failure.value)


def _plain_sha256_rehash(from_id: int) -> None:
    """What someone with the database but not the key can do: re-hash the tail the documented old way."""
    rows = list(AuditEvent.objects.order_by("id").values_list("id", *EVENTS.hashed_fields, "prev_hash"))
    prev_hash = None
    for row in rows:
        row_id, fields, stored_prev = row[0], dict(zip(EVENTS.hashed_fields, row[1:-1], strict=True)), row[-1]
        if row_id < from_id:
            prev_hash = AuditEvent.objects.get(pk=row_id).hash
            continue
        prev_hash = prev_hash or stored_prev
        new_hash = chain_hash(EVENTS, fields, prev_hash, ChainScheme.SHA256)
        _as_table_owner("UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE id = %s", [prev_hash, new_hash, row_id])
        prev_hash = new_hash


@pytest.mark.django_db
def test_new_rows_are_keyed_with_the_audit_key_and_another_key_does_not_verify(alice, settings):
    event = record(actor=alice, action="thing.done", target=None, source=Source.WEB)
    fields = AuditEvent.objects.values(*EVENTS.hashed_fields).get(pk=event.pk)
    assert event.chain_scheme == ChainScheme.HMAC_SHA256
    assert event.hash == chain_hash(EVENTS, fields, event.prev_hash)
    assert event.hash != chain_hash(EVENTS, fields, event.prev_hash, ChainScheme.SHA256)

    settings.WLPANEL_AUDIT_KEY = "someone-elses-key"
    assert "altered" in _failure()


@pytest.mark.django_db
def test_rows_from_before_the_key_still_verify_and_the_keyed_rows_follow_them(alice):
    # Rows as the unkeyed writer left them: plain SHA-256, scheme 1 (the column's default).
    from django.utils import timezone

    prev_hash = "0" * 64
    with connection.cursor() as cursor:
        for n in range(2):
            fields = {name: "" for name in EVENTS.hashed_fields} | {
                "created_at": timezone.now(), "actor_id": None, "environment_id": None, "before": None,
                "after": None, "details": {}, "ip_address": None, "source": "shell", "action": f"legacy.{n}",
            }
            row_hash = chain_hash(EVENTS, fields, prev_hash, ChainScheme.SHA256)
            cursor.execute(
                "INSERT INTO audit_auditevent (created_at, actor_id, actor_username, source, action, target_type, "
                "target_id, target_repr, team_slug, environment_id, before, after, details, ip_address, user_agent, "
                "correlation_id, prev_hash, hash) VALUES (%s, NULL, '', 'shell', %s, '', '', '', '', NULL, NULL, NULL, "
                "'{}', NULL, '', '', %s, %s)",
                [fields["created_at"], fields["action"], prev_hash, row_hash],
            )
            prev_hash = row_hash
    keyed = record(actor=alice, action="thing.after_the_key", target=None, source=Source.WEB)

    assert keyed.prev_hash == prev_hash
    assert list(AuditEvent.objects.order_by("id").values_list("chain_scheme", flat=True)) == [1, 1, 2]
    assert "Audit chain OK: 3 rows verified" in _verify()


@pytest.mark.django_db
def test_a_checkpoint_is_an_appended_line_with_a_mac_and_verify_uses_it(alice, checkpoint_file):
    events = _events(alice)
    output = _verify("--checkpoint")
    assert "No checkpoint of this database" in output
    assert f"audit_auditevent head #{events[-1].pk} (4 rows)" in output
    record(actor=alice, action="thing.later", target=None, source=Source.WEB)
    _verify("--checkpoint")

    lines = checkpoint_file.read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["heads"]["audit_auditevent"] == {
        "head_id": events[-1].pk, "head_hash": events[-1].hash, "count": 4, "keyed_from": events[0].pk,
    }
    assert first["database"] == connection.settings_dict["NAME"] and first["taken_at"] and len(first["mac"]) == 64
    assert "Matches the latest checkpoint" in _verify()


@pytest.mark.django_db
def test_beat_takes_checkpoints_periodically(alice, checkpoint_file, settings):
    from audit.tasks import checkpoint

    assert settings.CELERY_BEAT_SCHEDULE["audit-checkpoint"]["task"] == checkpoint.name == "audit.checkpoint"
    events = _events(alice, count=2)
    checkpoint.apply().get()
    assert json.loads(checkpoint_file.read_text())["heads"]["audit_auditevent"]["head_id"] == events[-1].pk


@pytest.mark.django_db
def test_tamper_rewrite_and_rehash_without_the_key_is_named_rewritten(alice):
    events = _events(alice)
    _verify("--checkpoint")
    _as_table_owner("UPDATE audit_auditevent SET actor_username = 'mallory' WHERE id = %s", [events[1].pk])
    _plain_sha256_rehash(events[1].pk)

    message = _failure()
    assert f"Audit chain broken at row #{events[1].pk}" in message
    assert "rewritten and re-hashed without the audit key" in message


@pytest.mark.django_db
def test_tamper_rewrite_downgraded_to_the_old_scheme_is_named_rewritten(alice):
    events = _events(alice)
    _verify("--checkpoint")
    _as_table_owner("UPDATE audit_auditevent SET chain_scheme = 1", [])
    _as_table_owner("UPDATE audit_auditevent SET details = '{\"n\": 1}' WHERE id = %s", [events[2].pk])
    _plain_sha256_rehash(events[0].pk)

    message = _failure()
    assert f"row #{events[0].pk}" in message and "rewritten and re-hashed" in message and "old scheme 1" in message


@pytest.mark.django_db
def test_tamper_rewrite_with_a_guessed_key_is_named_against_the_checkpoint(alice, settings):
    events = _events(alice)
    _verify("--checkpoint")
    real_key = settings.WLPANEL_AUDIT_KEY
    settings.WLPANEL_AUDIT_KEY = "a-guess"
    rows = list(AuditEvent.objects.order_by("id").values_list("id", *EVENTS.hashed_fields))
    prev_hash = "0" * 64
    for row in rows:  # a whole new keyed chain, under the wrong key
        new_hash = chain_hash(EVENTS, dict(zip(EVENTS.hashed_fields, row[1:], strict=True)), prev_hash)
        _as_table_owner("UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE id = %s", [prev_hash, new_hash, row[0]])
        prev_hash = new_hash
    settings.WLPANEL_AUDIT_KEY = real_key

    message = _failure()
    assert f"row #{events[0].pk}" in message and "re-hashed with another key" in message


@pytest.mark.django_db
def test_tamper_tail_deletion_is_named_against_the_checkpoint(alice):
    events = _events(alice)
    _verify("--checkpoint")
    _as_table_owner("DELETE FROM audit_auditevent WHERE id >= %s", [events[2].pk])
    record(actor=alice, action="thing.after_the_deletion", target=None, source=Source.WEB)  # the app goes on

    message = _failure()
    assert "rows removed from the end" in message
    assert f"ends at row #{events[-1].pk} with 4 rows; only 2 of them are left, the last #{events[1].pk}" in message


@pytest.mark.django_db
def test_tamper_forged_row_appended_without_the_key_is_named_forged(alice):
    """The app's database role may INSERT: no trigger needs disabling for this one."""
    events = _events(alice)
    _verify("--checkpoint")
    head = events[-1]
    fields = {name: getattr(head, name) for name in EVENTS.hashed_fields} | {"action": "request.approved"}
    forged_hash = chain_hash(EVENTS, fields, head.hash, ChainScheme.SHA256)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditevent (created_at, actor_id, actor_username, source, action, target_type, target_id,"
            " target_repr, team_slug, environment_id, before, after, details, ip_address, user_agent, correlation_id,"
            " prev_hash, hash, chain_scheme) SELECT created_at, actor_id, actor_username, source, 'request.approved',"
            " target_type, target_id, target_repr, team_slug, environment_id, before, after, details, ip_address,"
            " user_agent, correlation_id, %s, %s, 2 FROM audit_auditevent WHERE id = %s RETURNING id",
            [head.hash, forged_hash, head.pk],
        )
        forged_id = cursor.fetchone()[0]

    message = _failure()
    assert f"Audit chain broken at row #{forged_id}" in message and "request.approved" in message
    assert "forged: appended without the audit key after the last checkpoint" in message


@pytest.mark.django_db
def test_tamper_forged_row_claiming_the_old_scheme_is_named_forged(alice):
    events = _events(alice)
    head = events[-1]
    content = {name: getattr(head, name) for name in EVENTS.hashed_fields}
    forged_hash = chain_hash(EVENTS, content, head.hash, ChainScheme.SHA256)
    with connection.cursor() as cursor:  # the column left out: its default claims the unkeyed scheme
        cursor.execute(
            "INSERT INTO audit_auditevent (created_at, actor_id, actor_username, source, action, target_type, target_id,"
            " target_repr, team_slug, environment_id, before, after, details, ip_address, user_agent, correlation_id,"
            " prev_hash, hash) SELECT created_at, actor_id, actor_username, source, action, target_type, target_id,"
            " target_repr, team_slug, environment_id, before, after, details, ip_address, user_agent, correlation_id,"
            " %s, %s FROM audit_auditevent WHERE id = %s",
            [head.hash, forged_hash, head.pk],
        )
    message = _failure()
    assert "forged" in message and "old scheme 1" in message


@pytest.mark.django_db
def test_truncate_is_refused_by_the_database(alice):
    from django.db import DatabaseError

    record(actor=alice, action="thing.done", target=None, source=Source.WEB)
    aws_call_record(region="us-west-2", operation="DescribeVpcs", outcome="ok", duration_ms=3)
    for table in ("audit_auditevent", "audit_awscall"):
        with pytest.raises(DatabaseError, match="append-only: TRUNCATE"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"TRUNCATE {table}")
    assert AuditEvent.objects.count() == 1 and AwsCall.objects.count() == 1


@pytest.mark.django_db
def test_tamper_truncate_is_named_against_the_checkpoint(alice):
    _events(alice)
    _verify("--checkpoint")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_no_truncate")
        cursor.execute("TRUNCATE audit_auditevent")
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_auditevent_no_truncate")
    record(actor=alice, action="thing.after_the_truncate", target=None, source=Source.WEB)  # a fresh chain

    message = _failure()
    assert "emptied: none of the 4 rows" in message and "TRUNCATE" in message


@pytest.mark.django_db
def test_tamper_truncate_restart_identity_and_refill_is_named_emptied(alice):
    _events(alice)
    _verify("--checkpoint")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_no_truncate")
        cursor.execute("TRUNCATE audit_auditevent RESTART IDENTITY")
        cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_auditevent_no_truncate")
    _events(alice, count=6)  # the same ids again, past the checkpoint's head

    message = _failure()
    assert "emptied and refilled" in message and "TRUNCATE ... RESTART IDENTITY" in message


@pytest.mark.django_db
def test_an_edited_checkpoint_file_is_named(alice, checkpoint_file):
    _events(alice)
    _verify("--checkpoint")
    line = json.loads(checkpoint_file.read_text())
    line["heads"]["audit_auditevent"]["count"] = 3
    checkpoint_file.write_text(json.dumps(line) + "\n")
    assert "Checkpoint altered" in _failure()


@pytest.mark.django_db
def test_aws_calls_are_chained_and_a_changed_call_is_named(alice):
    calls = [
        aws_call_record(region="us-west-2", operation=operation, outcome="ok", duration_ms=5, params={"n": n})
        for n, operation in enumerate(["CreateVpc", "CreateSubnet", "RunInstances"])
    ]
    assert calls[1].prev_hash == calls[0].hash and calls[2].chain_scheme == ChainScheme.HMAC_SHA256
    assert "AWS call log OK: 3 rows verified" in _verify("--checkpoint")

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_awscall DISABLE TRIGGER audit_awscall_append_only")
        cursor.execute("UPDATE audit_awscall SET outcome = 'UnauthorizedOperation' WHERE id = %s", [calls[1].pk])
        cursor.execute("ALTER TABLE audit_awscall ENABLE TRIGGER audit_awscall_append_only")
    message = _failure()
    assert f"AWS call log broken at row #{calls[1].pk}" in message and "CreateSubnet" in message and "altered" in message


@pytest.mark.django_db
def test_the_beat_checkpoint_never_vouches_for_a_forged_row(alice, checkpoint_file):
    from audit.checkpoints import AuditTampered, audit_checkpoint_take

    events = _events(alice, count=2)
    audit_checkpoint_take()
    fields = {name: getattr(events[-1], name) for name in EVENTS.hashed_fields}
    bad_hash = hashlib.sha256(b"anything").hexdigest()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditevent (created_at, actor_id, actor_username, source, action, target_type, target_id,"
            " target_repr, team_slug, environment_id, before, after, details, ip_address, user_agent, correlation_id,"
            " prev_hash, hash, chain_scheme) VALUES (%s, NULL, '', 'web', 'thing.forged', '', '', '', '', NULL, NULL,"
            " NULL, '{}', NULL, '', '', %s, %s, 2)",
            [fields["created_at"], events[-1].hash, bad_hash],
        )
    with pytest.raises(AuditTampered, match="content does not match its hash"):
        audit_checkpoint_take()
    assert len(checkpoint_file.read_text().splitlines()) == 1


# --- The S3 sink (Object Lock), against the sandbox -----------------------------------------------


@pytest.fixture
def s3_bucket(sandbox, settings):
    s3 = boto3.client(
        "s3", endpoint_url=sandbox.url, region_name="us-east-1", aws_access_key_id="sandbox", aws_secret_access_key="sandbox"
    )
    s3.create_bucket(Bucket="wlpanel-audit-checkpoints", ObjectLockEnabledForBucket=True)
    settings.WLPANEL_AUDIT_CHECKPOINT_S3_BUCKET = "wlpanel-audit-checkpoints"
    return s3


@pytest.mark.django_db
def test_checkpoints_go_to_s3_under_object_lock_and_cannot_be_deleted(alice, s3_bucket, settings):
    _events(alice)
    assert "s3://wlpanel-audit-checkpoints/audit-checkpoints/" in _verify("--checkpoint")

    (item,) = s3_bucket.list_objects_v2(Bucket="wlpanel-audit-checkpoints")["Contents"]
    assert AwsCall.objects.filter(service="s3", operation="PutObject").exists()  # in the call log like any call
    assert item["Key"].startswith(f"audit-checkpoints/{connection.settings_dict['NAME']}/")
    head = s3_bucket.head_object(Bucket="wlpanel-audit-checkpoints", Key=item["Key"])
    assert head["ObjectLockMode"] == "COMPLIANCE"
    assert (head["ObjectLockRetainUntilDate"] - head["LastModified"]).days >= settings.WLPANEL_AUDIT_CHECKPOINT_S3_RETENTION_DAYS - 1
    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
        s3_bucket.delete_object(Bucket="wlpanel-audit-checkpoints", Key=item["Key"], VersionId=head["VersionId"])


@pytest.mark.django_db
def test_a_tail_deletion_is_named_from_s3_even_when_the_file_was_rolled_back(alice, s3_bucket, checkpoint_file):
    events = _events(alice)
    _verify("--checkpoint")
    checkpoint_file.write_text("")  # whoever could write the file rolled it back; S3 keeps its copy
    # The tail from the checkpoint's head on (the checkpoint's own PutObject left an audit row after it).
    _as_table_owner("DELETE FROM audit_auditevent WHERE id >= %s", [events[-1].pk])

    assert "rows removed from the end" in _failure()


@pytest.mark.django_db
def test_aws_calls_logged_before_the_chain_are_skipped_but_none_may_follow_a_chained_one(alice):
    insert = (
        "INSERT INTO audit_awscall (created_at, service, region, operation, params, mutating, outcome, error_message,"
        " duration_ms, retries, request_id, resource_key, correlation_id) VALUES (now(), 'ec2', 'us-west-2', %s,"
        " '{}', false, 'ok', '', 1, 0, '', '', '')"
    )
    with connection.cursor() as cursor:  # as the unchained call log wrote them: no hash, scheme 0
        cursor.execute(insert, ["DescribeVpcs"])
    chained = aws_call_record(region="us-west-2", operation="CreateVpc", outcome="ok", duration_ms=4)
    assert chained.prev_hash == "0" * 64
    assert "AWS call log OK: 2 rows verified" in _verify()

    with connection.cursor() as cursor:  # one more "old" row after the chain began: not allowed
        cursor.execute(insert, ["TerminateInstances"])
    message = _failure()
    assert "AWS call log broken at row" in message and "TerminateInstances" in message and "old scheme 0" in message
