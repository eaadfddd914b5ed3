"""The owner's API tokens page: list them, revoke one (audited through accounts.services)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from audit.context import Origin

from .models import ApiToken
from .selectors import api_tokens_of
from .services import api_token_revoke


@login_required
@require_GET
def token_list(request):
    return render(request, "accounts/token_list.html", {"tokens": api_tokens_of(request.user)})


@login_required
@require_POST
def token_revoke(request, pk: int):
    # Someone else's token is a 404, like every object outside one's reach.
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    if api_token_revoke(origin=Origin.from_request(request), token=token, reason="revoked by its owner"):
        messages.success(request, f"Token {token.prefix}… revoked.")
    return redirect("accounts:token_list")
