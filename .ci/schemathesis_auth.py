#!/usr/bin/env python3
"""Gets API tokens for the schemathesis run (.ci/schemathesis.sh) from a fresh server.

    python3 .ci/schemathesis_auth.py BASE_URL ADMIN_PASSWORD OUT_FILE

Logs in as the first admin `admin` (committee + system admin, whose password came from
YAOSHI_INITIAL_ADMIN_PASSWORD and so need not change), sets up its second factor (a TOTP
code computed here, RFC 6238: SHA-1, 6 digits, 30 s) and creates its API token; a second
system admin grants it a unit role and a member role besides (see widen_admin). As that admin it then creates a security admin and an audit admin (三员分立: the admin cannot hold
those roles itself, and without them /security/* and /audit/* answer only 403), and does
the same for each: first-login password change, second factor, token.

Also creates a spare account. Writes shell assignments to OUT_FILE: for each account its
token, the token's id, a spare token's id and the user id, and the spare account's id
(.ci/schemathesis_hooks.py says what the spares are for).
Standard library only.
"""

import base64
import hashlib
import hmac
import http.cookiejar
import json
import os
import re
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request


def totp(secret: str, at: float | None = None) -> str:
    """The RFC 6238 code of a base32 secret: HMAC-SHA1 over the 30-second step, 6 digits."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    step = int((time.time() if at is None else at) // 30)
    mac = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


class Client:
    """A client that keeps the session cookie between calls, or sends an API token."""

    def __init__(self, base: str, token: str | None = None):
        self.base = base.rstrip("/") + "/api/v1"
        self.token = token
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def call(self, method: str, path: str, body=None, expect=(200, 201, 204)):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with self.opener.open(req, timeout=30) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        if status not in expect:
            sys.exit(f"{method} {path}: HTTP {status}: {raw.decode(errors='replace')}")
        return json.loads(raw) if raw else None


def enrol_totp(c: Client, password: str) -> None:
    """Sets up the second factor of the logged-in user (confirmed with the current password)."""
    secret = c.call("POST", "/me/totp")["secret"]
    # A code accepted once is not accepted again; a fresh step avoids any reuse.
    if time.time() % 30 > 25:
        time.sleep(30 - time.time() % 30 + 1)
    c.call("POST", "/me/totp/confirm", {"code": totp(secret), "current_password": password})


def tokens(c: Client, who: str) -> dict:
    """The token schemathesis sends, and a spare one of the same user."""
    main = c.call("POST", "/tokens", {"name": f"schemathesis {who}"})
    spare = c.call("POST", "/tokens", {"name": f"schemathesis {who} spare"})
    me = c.call("GET", "/me")
    return {
        "TOKEN": main["token"],
        "TOKEN_ID": main["api_token_id"],
        "SPARE_TOKEN_ID": spare["api_token_id"],
        "USER_ID": me["user_id"],
    }


def admin_account(base: str, password: str) -> tuple[Client, dict]:
    c = Client(base)
    me = c.call("POST", "/session", {"username": "admin", "password": password})
    if me["must_change_password"]:
        sys.exit("admin must change its password: was YAOSHI_INITIAL_ADMIN_PASSWORD set?")
    enrol_totp(c, password)
    t = tokens(c, "admin")
    # A new grant ends the user's sessions, not its tokens: from here on, the token.
    return Client(base, t["TOKEN"]), t


def widen_admin(base: str, admin: Client, admin_id: int) -> None:
    """The committee reviews meeting records but does not write them (a unit or branch
    admin does), and only a member has meetings of their own: with a unit grant and a
    member grant besides, the admin's run reaches those operations too. No account grants
    itself a role, so a second system admin grants them."""
    granter = Client(base, second_admin(base, admin, "fuzz_system", "system_admin")[0]["TOKEN"])
    member = admin.call("GET", "/members?per_page=1")["items"][0]
    granter.call("POST", f"/users/{admin_id}/grants", {"role": "unit", "unit_id": member["unit_id"]})
    granter.call("POST", f"/users/{admin_id}/grants", {"role": "member", "member_id": member["member_id"]})


def confirm(approval_id: int, confirmer: Client | None) -> str:
    """Confirms a 双人确认 request: as a security or audit admin, or — before there is one —
    on the server's command line (the run's data dir is in the environment). The second half
    of the one-time password."""
    if confirmer is not None:
        return confirmer.call("POST", f"/approvals/{approval_id}/confirm", {})["second_half"]
    out = subprocess.run(
        [os.environ["ST_BIN"], "admin", "confirm", str(approval_id)],
        check=True, capture_output=True, text=True,
    ).stdout
    m = re.search(r"后半段：([^（\s]+)", out)
    if not m:
        sys.exit(f"no second half in: {out}")
    return m.group(1)


def second_admin(base: str, admin: Client, username: str, role: str, confirmer: Client | None = None):
    """A second admin account, signed in; its tokens and its session client. The security and
    audit admins wait for a second person (三权分立): `confirmer`, or the command line."""
    created = admin.call(
        "POST",
        "/users",
        {
            "username": username,
            "display_name": f"接口模糊测试{role}",
            "grant": {"role": role},
        },
        expect=(201, 202),
    )
    if "approval_id" in created:
        password = created["first_half"] + confirm(created["approval_id"], confirmer)
    else:
        password = created["password"]
    c = Client(base)
    c.call("POST", "/session", {"username": username, "password": password})
    suffix = base64.b32encode(hashlib.sha256(password.encode()).digest()[:10]).decode()
    new_password = f"Fuzz-{suffix}-9x"
    c.call("POST", "/me/password", {"current": password, "new_password": new_password})
    enrol_totp(c, new_password)
    return tokens(c, role), c


def main() -> None:
    base, password, out = sys.argv[1], sys.argv[2], sys.argv[3]
    admin, admin_tokens = admin_account(base, password)
    widen_admin(base, admin, admin_tokens["USER_ID"])
    security, security_client = second_admin(base, admin, "fuzz_security", "security_admin")
    audit, _ = second_admin(base, admin, "fuzz_audit", "audit_admin", security_client)
    accounts = {
        "ADMIN": admin_tokens,
        "SECURITY": security,
        "AUDIT": audit,
    }
    # The target of calls that would end a run account's access (schemathesis_hooks.py).
    spare = admin.call(
        "POST",
        "/users",
        {
            "username": "fuzz_spare",
            "display_name": "接口模糊测试备用账号",
            "grant": {"role": "committee"},
        },
    )
    with open(out, "w") as f:
        for who, values in accounts.items():
            for k, v in values.items():
                f.write(f"ST_{who}_{k}='{v}'\n")
        f.write(f"ST_SPARE_USER_ID='{spare['user_id']}'\n")


if __name__ == "__main__":
    main()
