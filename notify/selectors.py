from .models import Notification


def notifications_unread(user, limit: int = 20) -> list[Notification]:
    return list(Notification.objects.filter(user=user, read_at__isnull=True).order_by("-id")[:limit])
