"""What a sign-in proved, in one place: the methods of the login flow → the OIDC `amr` and `acr`.

Methods use RFC 8176's names: `pwd` (password), `otp` (an authenticator app's code or a recovery code),
`hwk` / `swk` (a passkey on a hardware / software authenticator). `mfa` is added when the sign-in used
a knowledge factor and a possession factor, or a passkey on its own: the passkey sign-in only completes
a passwordless flow with user verification (a PIN or biometric on the authenticator), which is possession
plus a second factor on the device.

`acr` is one of ACR_VALUES, weakest first; each satisfies any request for a weaker one:
- `urn:gatehouse:acr:pwd`: one factor (a password);
- `urn:gatehouse:acr:mfa`: two factors;
- `phr`: phishing-resistant (OpenID EAP ACR Values 1.0): a passkey was used, and the sign-in is multi-factor.
"""

PASSKEY_METHODS = frozenset({"hwk", "swk"})
POSSESSION_METHODS = frozenset({"otp"}) | PASSKEY_METHODS

ACR_PWD = "urn:gatehouse:acr:pwd"
ACR_MFA = "urn:gatehouse:acr:mfa"
ACR_PHR = "phr"
ACR_VALUES = (ACR_PWD, ACR_MFA, ACR_PHR)


def methods_are_multi_factor(methods) -> bool:
    """Two kinds of factor (password + code or passkey), or a user-verified passkey on its own."""
    kinds = set(methods)
    if kinds & PASSKEY_METHODS:
        return True
    return "pwd" in kinds and bool(kinds & POSSESSION_METHODS)


def amr_for(methods) -> list[str]:
    """The `amr` of a sign-in: its methods in order, once each, with `mfa` when it was multi-factor."""
    amr = list(dict.fromkeys(method for method in methods if method != "mfa"))
    if methods_are_multi_factor(amr):
        amr.append("mfa")
    return amr


def acr_for(amr) -> str:
    """The `acr` of a sign-in from its `amr` (as stored on the session and the authorization record)."""
    if not methods_are_multi_factor(amr):
        return ACR_PWD
    return ACR_PHR if set(amr) & PASSKEY_METHODS else ACR_MFA


def acr_satisfies(acr: str, requested: str) -> bool:
    """Whether a sign-in of level `acr` meets a request for `requested` (both in ACR_VALUES)."""
    return ACR_VALUES.index(acr) >= ACR_VALUES.index(requested)


def acr_requested(acr_values: str) -> str | None:
    """The weakest level among the `acr_values` Gatehouse knows (unknown values are ignored, as OIDC
    lets an OP do: acr is a voluntary claim), or None when it knows none of them."""
    known = [value for value in (acr_values or "").split() if value in ACR_VALUES]
    return min(known, key=ACR_VALUES.index) if known else None
