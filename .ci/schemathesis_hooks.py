"""Schemathesis hooks for .ci/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS).

The run authenticates with API tokens of three accounts made for it (admin, a security
admin, an audit admin; see schemathesis_auth.py). A few calls, when aimed at one of those
accounts, would end its access for the rest of the run and turn every later answer into a
401/403 that tests nothing:

- POST /users/{id}/password-reset: the account must change its password before any call;
- PUT /users/{id}/disabled, DELETE /users/{id}/grants/{grant_id}: the account is disabled
  or loses its role (the server refuses these for the caller's own id, not for the others);
- DELETE /security/users/{id}/totp: the account must set up its second factor again;
- DELETE /tokens/{id}: the token schemathesis sends is revoked (a token is now refused
  there, 403 session_required; the redirect stays as a guard should that change).

Rather than leave those operations out, such a call is pointed at a spare of the same kind
(a spare account, a spare token of the same user), so it is still sent and still does what
it does, to something the run does not depend on. For simplicity every write under
/users/{id} and /security/users/{id} aimed at a run's account goes to the spare account,
renames and new grants included. Every other value goes out as generated.
"""

import os

import schemathesis


def _ids(*names: str) -> set[int]:
    return {int(os.environ[n]) for n in names if os.environ.get(n)}


PROTECTED_USERS = _ids("ST_ADMIN_USER_ID", "ST_SECURITY_USER_ID", "ST_AUDIT_USER_ID")
SPARE_USER = int(os.environ.get("ST_SPARE_USER_ID", "0"))
# Only the caller's own tokens can be revoked, so each account's token maps to its spare.
PROTECTED_TOKENS = {
    int(os.environ[t]): int(os.environ[s])
    for t, s in (
        ("ST_ADMIN_TOKEN_ID", "ST_ADMIN_SPARE_TOKEN_ID"),
        ("ST_SECURITY_TOKEN_ID", "ST_SECURITY_SPARE_TOKEN_ID"),
        ("ST_AUDIT_TOKEN_ID", "ST_AUDIT_SPARE_TOKEN_ID"),
    )
    if os.environ.get(t) and os.environ.get(s)
}


def _as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@schemathesis.hook
def before_call(context, case, kwargs):
    method = case.method.upper()
    path = case.operation.path
    params = case.path_parameters
    if not isinstance(params, dict) or "id" not in params or method == "GET":
        return
    id_ = _as_int(params["id"])
    if path.startswith(("/users/{id}", "/security/users/{id}")) and id_ in PROTECTED_USERS:
        params["id"] = SPARE_USER
    elif path == "/tokens/{id}" and method == "DELETE" and id_ in PROTECTED_TOKENS:
        params["id"] = PROTECTED_TOKENS[id_]
