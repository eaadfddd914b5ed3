"""Audit review pages: the filtered list, one row's detail, and the streamed export."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.selectors import teams_visible_to

from .choices import Source
from .export import FORMATS, audit_export_allowed, audit_export_response, audit_export_start
from .forms import AuditFilterForm, JumpToDateForm
from .selectors import (
    audit_details_rows,
    audit_diff,
    audit_event_aws_calls,
    audit_event_get_visible,
    audit_event_hash_matches,
    audit_event_id_before,
    audit_event_neighbours,
    audit_events_filter,
    audit_events_page,
    audit_events_visible_to,
)


def _cursor(request, name: str) -> int | None:
    value = request.GET.get(name, "")
    # ASCII digits only ("²".isdigit() is true too), and within a bigint.
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


@login_required
@require_GET
def event_list(request):
    filter_form = AuditFilterForm(request.GET)
    jump_form = JumpToDateForm(request.GET)
    audit_filter = filter_form.to_filter() if filter_form.is_valid() else None
    before, after = _cursor(request, "before"), _cursor(request, "after")
    if jump_form.is_valid() and jump_form.moment() is not None:
        # Jumping to a date starts a page at that day's last row, whatever cursor came with it.
        last_id = audit_event_id_before(jump_form.moment())
        before, after = (last_id + 1 if last_id is not None else 1), None

    page = None
    if audit_filter is not None:
        events = audit_events_filter(audit_events_visible_to(request.user), audit_filter)
        page = audit_events_page(events, before=before, after=after)
    # Pager and export links carry the filters as the user typed them, so the form reads the same.
    filter_params = {name: request.GET[name] for name in AuditFilterForm.base_fields if request.GET.get(name)}
    context = {
        "filter_form": filter_form,
        "jump_form": jump_form,
        "page": page,
        "filter_params": filter_params,
        "filter_query": urlencode(filter_params),
        "teams": teams_visible_to(request.user).values_list("slug", flat=True),
        "sources": Source.choices,
        "may_export": audit_export_allowed(request.user),
    }
    template = "audit/event_list.html#results" if request.htmx else "audit/event_list.html"
    return render(request, template, context)


@login_required
@require_GET
def event_detail(request, pk: int):
    event = audit_event_get_visible(request.user, pk)
    previous_id, next_id = audit_event_neighbours(audit_events_visible_to(request.user), event)
    context = {
        "event": event,
        "changes": audit_diff(event.before, event.after),
        "details": audit_details_rows(event.details),
        "aws_calls": audit_event_aws_calls(event),
        "hash_matches": audit_event_hash_matches(event),
        "previous_id": previous_id,
        "next_id": next_id,
    }
    return render(request, "audit/event_detail.html", context)


@login_required
@require_GET
def event_export(request):
    if not audit_export_allowed(request.user):
        raise PermissionDenied("Only auditors and admins export the audit log.")
    export_format = request.GET.get("format", "csv")
    filter_form = AuditFilterForm(request.GET)
    if export_format not in FORMATS or not filter_form.is_valid():
        return HttpResponseBadRequest("Give format=csv or format=jsonl and valid filters.")
    events = audit_export_start(
        user=request.user,
        audit_filter=filter_form.to_filter(),
        export_format=export_format,
        source=Source.WEB,
        request=request,
    )
    return audit_export_response(events, export_format=export_format)
