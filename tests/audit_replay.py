"""Replays an organization's audit log to check it against the final state: one event per change
that happened, and none claiming a change that did not.

The events are replayed in sequence order, which is commit order: each
change seals its events under the chain head's row lock, held until it
commits (``axon_scim.audit``). The rules, from what the services write:

- **Groups.** A group is created empty (the storm and race tests create
  them so; a group created with members has only a count in its event and
  is skipped). A ``group.updated`` or ``group.replaced`` event claims a
  change when it lists ``membersAdded`` or ``membersRemoved`` ids or its
  attributes (``displayName``, ``externalId``, custom values) differ
  before and after. Every id it claims
  added must not have been a member, every id claimed removed must have
  been one, the replayed members must equal the final rows, and the group's
  version must be 1 plus its claiming events.
- **Users.** A ``user.updated`` event claims a change when its ``before``
  and ``after`` snapshots differ. A member change of a group also changes
  the member's ``groups`` and so its version, but it is audited on the
  group. So a user's version must be 1 plus its claiming ``user.updated``
  events plus the group events that claim it added or removed (not those of
  its own deletion). Replaying ``active`` (explicit values only; a user is
  created enabled) must give as many enabled-to-disabled and
  disabled-to-enabled steps as ``user.deactivated`` and ``user.reactivated``
  events.
- **Roles.** ``role.granted`` and ``role.revoked`` events of one (account
  username, role) must alternate, starting from not held, and end as the
  final holdings (accounts of deleted users, renamed ``deleted:...``, aside).
- **Mappings.** Each ``mapping.set``/``mapping.cleared`` event's ``before``
  role must be the role the replay holds for the group (no lost change), and
  the last one the group's final role.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from axon_scim.models import (
    AuditEvent,
    Organization,
    RoleAssignment,
    ScimGroup,
    ScimMembership,
    ScimUser,
)

__all__ = ["activation_problems", "audit_problems", "mapping_problems", "role_problems"]

Event = dict[str, Any]
GROUP_CHANGES = ("group.updated", "group.replaced")


def audit_problems(organization: Organization) -> list[str]:
    """Every disagreement between the organization's audit log and its final state."""
    events = _events(organization)
    groups, member_bumps, problems = _replay_groups(events)
    problems += _check_groups(organization, groups)
    problems += _check_user_versions(organization, events, member_bumps)
    problems += _check_activation(events)
    problems += _check_roles(organization, events)
    problems += _check_mappings(organization, events)
    return problems


def activation_problems(organization: Organization) -> list[str]:
    """Only the ``active`` replay: a deactivation or reactivation event for each step."""
    return _check_activation(_events(organization))


def role_problems(organization: Organization) -> list[str]:
    """Only the role replay: grants and revocations alternate and end as the holdings."""
    return _check_roles(organization, _events(organization))


def mapping_problems(organization: Organization) -> list[str]:
    """Only the mapping replay: no lost mapping change."""
    return _check_mappings(organization, _events(organization))


def _events(organization: Organization) -> list[Event]:
    return list(
        AuditEvent.objects.for_tenant(organization)
        .order_by("sequence")
        .values("sequence", "action", "resource_id", "before", "after")
    )


def _listed(doc: Any, key: str) -> list[str]:
    return [str(v) for v in doc.get(key) or ()] if isinstance(doc, dict) else []


# What a group event says besides the group's attributes (its members, why, what was ignored).
_BOOKKEEPING = {
    *("memberCount", "membersAdded", "membersAddedCount", "membersRemoved", "membersRemovedCount"),
    *("reason", "ignoredAttributes"),
}


def _attributes(doc: Any) -> dict[str, Any]:
    """The group's attributes in a snapshot: displayName, externalId, custom values."""
    doc = doc if isinstance(doc, dict) else {}
    return {k: v for k, v in doc.items() if k not in _BOOKKEEPING}


class GroupReplay:
    """One group as its events tell it: its members and how many changes were claimed."""

    def __init__(self) -> None:
        self.members: set[str] = set()
        self.changes = 0


def _replay_groups(
    events: list[Event],
) -> tuple[dict[str, GroupReplay], Counter[str], list[str]]:
    groups: dict[str, GroupReplay] = {}
    member_bumps: Counter[str] = Counter()  # user id -> group events claiming it added/removed
    problems: list[str] = []
    for event in events:
        group_id, action, after = event["resource_id"], event["action"], event["after"]
        if action == "group.created" and (after or {}).get("memberCount", 0) == 0:
            groups[group_id] = GroupReplay()
        if action not in GROUP_CHANGES or group_id not in groups:
            continue
        group, seq = groups[group_id], event["sequence"]
        added, removed = _listed(after, "membersAdded"), _listed(after, "membersRemoved")
        renamed = event["before"] is not None and _attributes(event["before"]) != _attributes(after)
        group.changes += bool(added or removed or renamed)
        for user_id in added:
            if user_id in group.members:
                problems.append(f"Group {group_id}: #{seq} claims {user_id} added; already in")
            group.members.add(user_id)
            member_bumps[user_id] += 1
        for user_id in removed:
            if user_id not in group.members:
                problems.append(f"Group {group_id}: #{seq} claims {user_id} removed; never in")
            group.members.discard(user_id)
            if (after or {}).get("reason") != "user.deleted":
                member_bumps[user_id] += 1
    return groups, member_bumps, problems


def _check_groups(organization: Organization, groups: dict[str, GroupReplay]) -> list[str]:
    problems = []
    members: defaultdict[str, set[str]] = defaultdict(set)
    for group_id, user_id in ScimMembership.objects.filter(
        organization=organization, user__isnull=False
    ).values_list("group_id", "user_id"):
        members[str(group_id)].add(str(user_id))
    for pk, version in ScimGroup.objects.for_tenant(organization).values_list("pk", "version"):
        replay = groups.get(str(pk))
        if replay is None:
            continue
        if members[str(pk)] != replay.members:
            problems.append(
                f"Group {pk}: members changed without an event: "
                f"{sorted(members[str(pk)] ^ replay.members)}"
            )
        if version != 1 + replay.changes:
            problems.append(
                f"Group {pk}: version {version}, but {replay.changes} events claim a change"
            )
    return problems


def _check_user_versions(
    organization: Organization, events: list[Event], member_bumps: Counter[str]
) -> list[str]:
    changes = Counter(
        event["resource_id"]
        for event in events
        if event["action"] == "user.updated" and event["before"] != event["after"]
    )
    problems = []
    for pk, version in ScimUser.objects.for_tenant(organization).values_list("pk", "version"):
        claimed = changes[str(pk)] + member_bumps[str(pk)]
        if version != 1 + claimed:
            problems.append(
                f"User {pk}: version {version}, but {changes[str(pk)]} user.updated and "
                f"{member_bumps[str(pk)]} group events claim a change"
            )
    return problems


def _check_activation(events: list[Event]) -> list[str]:
    enabled: dict[str, bool] = {}
    steps: Counter[tuple[str, str]] = Counter()  # (user id, the event each step calls for)
    seen: Counter[tuple[str, str]] = Counter()
    for event in events:
        user_id, action, after = event["resource_id"], event["action"], event["after"]
        if action in ("user.deactivated", "user.reactivated"):
            seen[user_id, action] += 1
        if action not in ("user.created", "user.updated"):
            continue
        active = after.get("active") if isinstance(after, dict) else None
        was = enabled.get(user_id, True)
        now = active if isinstance(active, bool) else was
        if action == "user.updated" and was != now:
            steps[user_id, "user.deactivated" if was else "user.reactivated"] += 1
        enabled[user_id] = now
    return [
        f"User {user}: {seen[user, action]} {action} events for {steps[user, action]} such "
        "steps of active"
        for user, action in sorted(set(seen) | set(steps))
        if seen[user, action] != steps[user, action]
    ]


def _check_roles(organization: Organization, events: list[Event]) -> list[str]:
    problems = []
    held: set[tuple[str, str]] = set()
    for event in events:
        if event["action"] not in ("role.granted", "role.revoked"):
            continue
        key = (str(event["after"]["account"]), event["resource_id"])
        granted = event["action"] == "role.granted"
        if (key in held) == granted:
            problems.append(
                f"role {key[1]} of {key[0]}: #{event['sequence']} {event['action']} twice"
            )
        (held.add if granted else held.discard)(key)
    final = {
        (username, str(role))
        for username, role in RoleAssignment.objects.for_tenant(organization).values_list(
            "account__username", "role_id"
        )
        if not username.startswith("deleted:")
    }
    for username, role in sorted(final ^ held):
        state = "held without" if (username, role) in final else "not held despite"
        problems.append(f"role {role} of {username}: {state} a role.granted as its last event")
    return problems


def _check_mappings(organization: Organization, events: list[Event]) -> list[str]:
    problems = []
    mapped: dict[str, Any] = {}
    for event in events:
        if event["action"] not in ("mapping.set", "mapping.cleared"):
            continue
        group_id = event["resource_id"]
        if event["before"]["roleId"] != mapped.get(group_id):
            problems.append(
                f"Group {group_id}: #{event['sequence']} changes the mapping from role "
                f"{event['before']['roleId']}, but it was {mapped.get(group_id)}"
            )
        mapped[group_id] = event["after"]["roleId"]
    for pk, role in ScimGroup.objects.for_tenant(organization).values_list("pk", "role_id"):
        if mapped.get(str(pk)) != role:
            problems.append(f"Group {pk}: maps role {role}, its events say {mapped.get(str(pk))}")
    return problems
