#!/usr/bin/env python3
"""Writes a schemathesis.toml that lets generated requests name records that exist.

    python3 .ci/schemathesis_ids.py BASE_URL ADMIN_TOKEN OUT_FILE

Identifiers drawn at random from the whole int64 range almost never name a record, so most
calls on /orgs/{id}, /members/{id}, /meetings/{id}... stop at 404 and every body naming a
branch or a member stops at a field error, never reaching the code behind them. This reads
the demo data's identifiers through the API (as admin) and binds them, as schemathesis
dictionaries, to the path parameters and body fields that take them. Each binding is used
for half of the generated values; the other half stay as generated, out-of-range and
negative values included. Standard library only.
"""

import json
import sys
import urllib.request

SAMPLE = 40


def get(base, token, path):
    req = urllib.request.Request(base + "/api/v1" + path, headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def items(v):
    return v["items"] if isinstance(v, dict) and "items" in v else v


def spread(ids, n=SAMPLE):
    """Up to n of the ids, spread over the whole list (not only the first ones)."""
    ids = sorted(set(ids))
    if len(ids) <= n:
        return ids
    step = len(ids) / n
    return [ids[int(i * step)] for i in range(n)]


def toml_list(values):
    return "[" + ", ".join(str(int(v)) for v in values) + "]"


def toml_text_list(values):
    return "[" + ", ".join(f'"{int(v)}"' for v in values) + "]"


def binding(key, name):
    return f'"{key}" = {{ dictionary = "{name}", probability = 0.5 }}'


def main():
    base, token, out = sys.argv[1], sys.argv[2], sys.argv[3]
    # The tree is paged (a ListPage): the fuzzing data is small, one page of 200 holds it.
    orgs = get(base, token, "/orgs?per_page=200")
    orgs = orgs.get("items", []) if isinstance(orgs, dict) else orgs
    units = [u["unit_id"] for u in items(get(base, token, "/units?per_page=200"))]
    branches = [o["org_id"] for o in orgs if o["kind"] == "branch"]
    groups = [o["org_id"] for o in orgs if o["kind"] == "group"]
    members = [m["member_id"] for m in items(get(base, token, "/members?per_page=200"))]
    meetings = [m["meeting_id"] for m in items(get(base, token, "/meetings?per_page=200"))]
    users = [u["user_id"] for u in items(get(base, token, "/users?per_page=200"))]
    categories = [c["category_id"] for c in items(get(base, token, "/categories"))]
    communities = [c["community_id"] for c in items(get(base, token, "/communities?per_page=200"))]
    standards = [s["standard_id"] for s in items(get(base, token, "/grading/standards"))]
    found = {
        "units": spread(units),
        "orgs": spread([o["org_id"] for o in orgs]),
        "branches": spread(branches),
        "groups": spread(groups),
        "members": spread(members),
        "meetings": spread(meetings),
        "users": spread(users),
        "categories": spread(categories),
        "communities": spread(communities),
        "standards": spread(standards),
    }
    empty = [k for k, v in found.items() if not v]
    if empty:
        sys.exit(f"no {', '.join(empty)} in the demo data: nothing to bind")
    lines = ["# Written by .ci/schemathesis_ids.py for one run; see there.", ""]
    for name, values in found.items():
        lines += [f"[dictionaries.{name}]", f"values = {toml_list(values)}", ""]
        # The list filters take their ids as text (an empty filter is an empty string).
        lines += [f"[dictionaries.{name}_text]", f"values = {toml_text_list(values)}", ""]
    body_and_query = {
        "body.unit_id": "units",
        "body.org_id": "orgs",
        "body.parent_id": "orgs",
        "body.branch_id": "branches",
        "body.to_branch_id": "branches",
        "body.group_id": "groups",
        "body.member_id": "members",
        "body.attendance[*].member_id": "members",
        "body.officers[*].member_id": "members",
        "body.category_id": "categories",
        "body.community_id": "communities",
        "body.from_id": "standards",
        "query.branch_id": "branches",
        "query.unit_id": "units_text",
        "query.org_id": "orgs_text",
        "query.group_id": "groups_text",
        "query.category_id": "categories_text",
    }
    lines.append("[parameters]")
    for key, name in body_and_query.items():
        lines.append(binding(key, name))
    # {id} in a path names a record of the collection it follows.
    for prefix, name in [
        ("/units/", "units"),
        ("/orgs/", "orgs"),
        ("/members/", "members"),
        ("/meetings/", "meetings"),
        ("/users/", "users"),
        ("/security/users/", "users"),
        ("/categories/", "categories"),
        ("/grading/standards/", "standards"),
    ]:
        lines += [
            "",
            "[[operations]]",
            f"include-path-regex = '^{prefix}[{{]id[}}]'",
            f"parameters = {{ {binding('path.id', name)} }}",
        ]
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    print("bound to existing records: " + ", ".join(f"{len(v)} {k}" for k, v in found.items()))


if __name__ == "__main__":
    main()
