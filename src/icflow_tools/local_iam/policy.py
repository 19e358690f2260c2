"""Policy documents and the evaluation IAM applies within one account: an explicit Deny wins, then any Allow,
and nothing else is allowed (the implicit deny)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from icflow_tools.local_iam.conditions import Context, conditions_hold, wildcard


@dataclass(frozen=True)
class AuthRequest:
    """What one call is authorized as: an action, the resource it acts on, and the request's condition keys."""

    action: str  # service:Operation, as policies name it
    resource: str  # an ARN, or "*" for actions that authorize on no resource
    context: Mapping[str, Any] = field(default_factory=dict)  # condition key (any case) -> value or values

    def keys(self, common: Mapping[str, Any]) -> dict[str, Any]:
        return {key.lower(): value for key, value in {**common, **self.context}.items()}


@dataclass(frozen=True)
class Principal:
    """Who asks, as a Principal element names them: ("AWS", arn) or ("Service", "lambda.amazonaws.com")."""

    kind: str
    name: str


class Effect(Enum):
    ALLOW = "Allow"
    DENY = "Deny"


@dataclass(frozen=True)
class Statement:
    source: str  # "<policy name>" or "<policy name>/<Sid>", for messages
    effect: Effect
    raw: Mapping[str, Any]

    def applies(self, action: str, resource: str, context: Context, principal: Principal | None) -> bool:
        raw = self.raw
        if "NotAction" in raw:
            if _any_match(raw["NotAction"], action, ignore_case=True):
                return False
        elif not _any_match(raw.get("Action", []), action, ignore_case=True):
            return False
        if "NotResource" in raw:
            if _any_match(raw["NotResource"], resource):
                return False
        elif "Resource" in raw and not _any_match(raw["Resource"], resource):
            return False
        if principal is not None and not _principal_matches(raw, principal):
            return False
        return conditions_hold(raw.get("Condition") or {}, context)


@dataclass(frozen=True)
class PolicyDocument:
    name: str
    statements: tuple[Statement, ...]

    @classmethod
    def parse(cls, name: str, document: str | Mapping[str, Any]) -> PolicyDocument:
        body = json.loads(document) if isinstance(document, str) else document
        raw_statements = body.get("Statement", [])
        if isinstance(raw_statements, Mapping):
            raw_statements = [raw_statements]
        statements = tuple(
            Statement(f"{name}/{raw['Sid']}" if raw.get("Sid") else name, Effect(raw["Effect"]), raw)
            for raw in raw_statements
        )
        return cls(name, statements)


class Outcome(Enum):
    ALLOWED = "allowed"
    IMPLICIT_DENY = "no identity-based policy allows"
    EXPLICIT_DENY = "an explicit deny in an identity-based policy"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    statement: str | None = None  # the Allow or Deny that decided

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOWED


def evaluate(
    policies: Iterable[PolicyDocument],
    request: AuthRequest,
    common: Mapping[str, Any] | None = None,
    principal: Principal | None = None,
) -> Decision:
    """`common` holds the keys every request of this caller carries (aws:PrincipalArn, aws:RequestedRegion, ...);
    `principal` is given for trust and resource policies, whose statements name who they apply to."""
    context = request.keys(common or {})
    allowed_by = None
    for policy in policies:
        for statement in policy.statements:
            if statement.applies(request.action, request.resource, context, principal):
                if statement.effect is Effect.DENY:
                    return Decision(Outcome.EXPLICIT_DENY, statement.source)
                allowed_by = allowed_by or statement.source
    return Decision(Outcome.ALLOWED, allowed_by) if allowed_by else Decision(Outcome.IMPLICIT_DENY)


def _any_match(patterns: str | Sequence[str], value: str, ignore_case: bool = False) -> bool:
    items = [patterns] if isinstance(patterns, str) else patterns
    return any(wildcard(pattern, ignore_case).match(value) for pattern in items)


def _principal_matches(raw: Mapping[str, Any], principal: Principal) -> bool:
    if "NotPrincipal" in raw:
        return not _names(raw["NotPrincipal"], principal)
    return _names(raw.get("Principal"), principal)


def _names(element: Any, principal: Principal) -> bool:
    if element == "*":
        return True
    if not isinstance(element, Mapping):
        return False
    names = element.get(principal.kind, [])
    names = [names] if isinstance(names, str) else names
    if principal.kind != "AWS":
        return principal.name in names
    account = principal.name.split(":")[4] if principal.name.startswith("arn:") else principal.name
    # An account (its id or its root ARN) stands for every principal of that account.
    return any(name in ("*", principal.name, account, f"arn:aws:iam::{account}:root") for name in names)
