from django import template

from checks.selectors import check_panel_context

register = template.Library()


@register.inclusion_tag("checks/_panel.html", takes_context=True)
def check_panel(context, environment):
    request = context["request"]
    return {
        **check_panel_context(environment, request.user),
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }
