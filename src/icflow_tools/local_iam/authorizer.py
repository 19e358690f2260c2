"""Decides whether a caller may make a call: the operator's credentials may do anything, a role's session what
its policies allow; everything else is refused. Denials are logged and kept, naming who, what and on what."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from icflow_tools.local_iam.moto_store import MotoStore
from icflow_tools.local_iam.policy import AuthRequest, Decision, Outcome, Principal, evaluate

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caller:
    account_id: str
    role_arn: str
    session: str  # Lambda names a function's session after the function

    @property
    def role_name(self) -> str:
        return self.role_arn.rsplit("/", 1)[-1]

    @property
    def arn(self) -> str:
        return f"arn:aws:sts::{self.account_id}:assumed-role/{self.role_name}/{self.session}"


@dataclass(frozen=True)
class Denial:
    caller: Caller | None  # None: credentials no one issued
    request: AuthRequest
    outcome: Outcome

    @property
    def message(self) -> str:
        if self.caller is None:
            return "The security token included in the request is invalid."
        return (
            f"User: {self.caller.arn} is not authorized to perform: {self.request.action} on resource: "
            f"{self.request.resource} because {self.outcome.value} the {self.request.action} action"
        )


class Authorizer:
    def __init__(self, store: MotoStore, operator_keys: Sequence[str], region: str) -> None:
        self.store = store
        self.operator_keys = frozenset(operator_keys)
        self.region = region
        self.denials: list[Denial] = []
        # (session, action) -> the statements that allowed it: what each function really uses of its role.
        self.grants: dict[tuple[str, str], set[str]] = {}
        self._lock = threading.Lock()

    def caller(self, access_key: str) -> Caller | None:
        session = self.store.session(access_key)
        if session is None:
            return None
        role_arn, name = session
        return Caller(self.store.account_id, role_arn, name)

    def check(self, access_key: str, requests: Sequence[AuthRequest]) -> Denial | None:
        """The first request this caller may not make (logged and kept), or None when all are allowed."""
        granted: list[tuple[str, str, str]] = []
        denial = self.decide(access_key, requests, granted)
        with self._lock:
            for session, action, statement in granted:
                self.grants.setdefault((session, action), set()).add(statement)
        if denial is not None:
            with self._lock:
                self.denials.append(denial)
            who = denial.caller.session if denial.caller else "unknown credentials"
            logger.warning("DENIED %s: %s on %s", who, denial.request.action, denial.request.resource)
        return denial

    def allows(self, access_key: str, request: AuthRequest) -> bool:
        """A question, not a call: nothing is logged or kept."""
        return self.decide(access_key, [request]) is None

    def decide(
        self, access_key: str, requests: Sequence[AuthRequest], granted: list[tuple[str, str, str]] | None = None
    ) -> Denial | None:
        """`granted` receives (session, action, statement) of each request allowed."""
        if access_key in self.operator_keys:
            return None
        caller = self.caller(access_key)
        if caller is None:
            return Denial(None, requests[0] if requests else AuthRequest("", ""), Outcome.IMPLICIT_DENY)
        policies = self.store.role_policies(caller.role_name)
        common = {
            "aws:PrincipalArn": caller.role_arn,
            "aws:PrincipalAccount": self.store.account_id,
            "aws:RequestedRegion": self.region,
            # The SDKs call AWS over TLS; the local stack's plain HTTP stands in for it.
            "aws:SecureTransport": "true",
        }
        for request in requests:
            decision = evaluate(policies, request, common)
            if not decision.allowed:
                return Denial(caller, request, decision.outcome)
            if granted is not None:
                granted.append((caller.session, request.action, decision.statement or ""))
        return None

    def usage(self) -> dict[str, dict[str, list[str]]]:
        """Session -> action -> the statements that allowed it, sorted: a least-privilege review's input."""
        with self._lock:
            items = sorted(self.grants.items())
        usage: dict[str, dict[str, list[str]]] = {}
        for (session, action), statements in items:
            usage.setdefault(session, {})[action] = sorted(statements)
        return usage

    def trusts(self, role_arn: str, service: str, context: dict[str, str]) -> Decision:
        """Whether the role's trust policy lets `service` assume it, with the keys that service sends."""
        trust = self.store.trust_policy(role_arn)
        if trust is None:
            return Decision(Outcome.IMPLICIT_DENY)
        return evaluate(
            [trust], AuthRequest("sts:AssumeRole", role_arn, context), principal=Principal("Service", service)
        )
