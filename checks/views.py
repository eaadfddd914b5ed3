"""The environment page's checks panel: polled while a run is in flight, and its Run button."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from audit.context import Origin
from environments.exceptions import Conflict
from environments.selectors import environment_get_visible

from .selectors import check_panel_context
from .services import check_run_request


@login_required
@require_http_methods(["GET", "POST"])
def check_panel(request, environment_id: int):
    if request.method == "POST":
        try:
            check_run_request(origin=Origin.from_request(request), environment_id=environment_id)
        except Conflict as error:
            messages.error(request, str(error))
        if not request.htmx:
            return redirect("environments:environment_detail", environment_id)
    environment = environment_get_visible(request.user, environment_id)
    # The panel carries its own polling only while a run is in flight (it stops by itself).
    return render(request, "checks/_panel.html", check_panel_context(environment, request.user))
