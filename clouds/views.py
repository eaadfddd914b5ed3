"""Pages: the AWS accounts a person may see, and an account's access check (admins run it)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from audit.context import Origin

from . import services
from .selectors import account_get_visible, accounts_visible


@login_required
@require_safe
def account_list(request):
    return render(request, "clouds/account_list.html", {"accounts": list(accounts_visible(request.user))})


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def account_detail(request, account_id):
    if request.method == "POST" and not request.user.is_superuser:  # "Check access" is for admins
        raise PermissionDenied("Only an admin may check an AWS account's access.")
    account = account_get_visible(request.user, account_id)
    if request.method == "POST":
        result = services.account_check(origin=Origin.from_request(request), account=account)
        level = messages.SUCCESS if result["assumable"] and "refused" not in result["message"] else messages.ERROR
        messages.add_message(request, level, result["message"])
        return redirect("clouds:account_detail", account_id=account.account_id)
    check = account.access_check or {}
    return render(
        request,
        "clouds/account_detail.html",
        {
            "account": account,
            "check": check,
            "bindings": list(account.bindings.select_related("team")),
            "show_external_id": request.user.is_superuser,
        },
    )
