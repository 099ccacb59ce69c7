"""Which lean path answers a token request, if any (TokenView.post asks here first): client credentials
for Gatehouse alone (lean_token), a machine's JWT for a registered API (lean_api_token), a refresh
(lean_refresh). None means DOT's view answers, every error included."""

from django.http import HttpRequest, HttpResponse

from identity.oidc import lean_api_token, lean_refresh, lean_token


def token_response(request: HttpRequest) -> HttpResponse | None:
    grant_type = request.POST.get("grant_type") if request.content_type in lean_token.FORMS else None
    if grant_type == "client_credentials":
        machine = lean_token.machine_request(request)
        if machine is None:
            return None
        params, client_id, secret = machine
        if "scope" in params or "resource" in params:
            return lean_api_token.machine_jwt(request, params, client_id, secret)
        return lean_token.client_credentials(request, params, client_id, secret)
    if grant_type == "refresh_token":
        return lean_refresh.refresh(request)
    return None
