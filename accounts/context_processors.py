from .selectors import user_sees_all


def roles(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"user_sees_all": user_sees_all(user)}
