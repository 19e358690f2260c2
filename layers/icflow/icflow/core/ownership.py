"""Which stack a SageMaker resource belongs to. Stacks in one account and region share the `icflow-` name
prefix, and an endpoint's name is its dataset's alone (icflow.core.naming), so a name proves nothing: every
job, model, endpoint config and endpoint icflow creates carries the `icflow:stack` tag with its stack's name
(the SageMaker adapters add it to every create), and a function acts only on resources whose tag names its own
stack. The roles' grants follow (template.yaml: aws:RequestTag on creates, aws:ResourceTag on updates and
deletes), so a mistake here is refused by IAM too.

No icflow release created resources without the tag, so a resource without it is not this stack's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from icflow.core.naming import TAG_STACK


@dataclass(frozen=True)
class StackOwnership:
    stack_name: str

    @property
    def tags(self) -> dict[str, str]:
        """What every create of this stack carries."""
        return {TAG_STACK: self.stack_name}

    def foreign(self, resource: str, tags: Mapping[str, str]) -> str | None:
        """None when `resource` (tagged `tags`) is this stack's; otherwise why it is not, naming its owner."""
        owner = tags.get(TAG_STACK)
        if owner == self.stack_name:
            return None
        if owner is None:
            return f"{resource} carries no {TAG_STACK} tag, so no icflow stack created it"
        return f"{resource} belongs to the icflow stack {owner!r} ({TAG_STACK}), not to {self.stack_name!r}"
