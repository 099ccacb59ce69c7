"""What every one-time-link page shares: the page for a link that cannot be used, and the 429 page."""

from django.shortcuts import render

from identity.tokens import InvalidLink, LinkProblem


def link_invalid_page(request, exc: InvalidLink, *, how_to: str, action_url: str = "", action_label: str = ""):
    """Say why the link failed and how to get a new one. An unknown link is a 404; a spent one is gone (410)."""
    return render(request, "identity/link_invalid.html", {
        "problem": exc.problem.value,
        "message": exc.message,
        "how_to": how_to,
        "action_url": action_url,
        "action_label": action_label,
    }, status=404 if exc.problem is LinkProblem.UNKNOWN else 410)


def refused_page(request, *, title: str, message: str, status: int = 403):
    return render(request, "identity/refused.html", {"title": title, "message": message}, status=status)


def throttled_page(request, retry_after: int):
    minutes = max(1, -(-retry_after // 60))
    response = render(request, "identity/throttled.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(retry_after)
    return response


__all__ = ["link_invalid_page", "refused_page", "throttled_page"]
