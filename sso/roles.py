"""Which roles a set of provider groups grants: a pure function of the rules and the groups."""

from dataclasses import dataclass, field

ROLE_RANK = {"member": 1, "approver": 2}


@dataclass(frozen=True)
class Grants:
    team_roles: dict[int, str] = field(default_factory=dict)  # team id -> member | approver
    auditor: bool = False
    admin: bool = False

    @property
    def anything(self) -> bool:
        return bool(self.team_roles) or self.auditor or self.admin


def grants_for(rules: list[dict], groups: list[str]) -> Grants:
    """The strongest role per team over every rule whose group the person is in.

    `rules` are dicts with `group`, `team_id`, `team_role`, `global_role`.
    """
    held = set(groups)
    team_roles: dict[int, str] = {}
    auditor = admin = False
    for rule in rules:
        if rule["group"] not in held:
            continue
        if rule["global_role"] == "auditor":
            auditor = True
        elif rule["global_role"] == "admin":
            admin = True
        elif rule["team_id"] is not None:
            current = team_roles.get(rule["team_id"])
            if current is None or ROLE_RANK[rule["team_role"]] > ROLE_RANK[current]:
                team_roles[rule["team_id"]] = rule["team_role"]
    return Grants(team_roles=team_roles, auditor=auditor, admin=admin)
