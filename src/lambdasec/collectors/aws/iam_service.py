"""IAM of a live account: roles, users and groups with their real policy documents.

IAM is global: the orchestrator calls :func:`collect_iam` once per account (with the scope of the account's first
region). Everything comes from ``GetAccountAuthorizationDetails``, paginated once per entity type (``Filter`` =
``Role``, ``User``, ``Group``, then ``LocalManagedPolicy`` + ``AWSManagedPolicy``), so a whole account costs a few
calls whatever its size.

Normalization (the same field meanings as the CloudFormation collector):

- ``key`` = ``id`` = the ARN; ``type`` ``AWS::IAM::Role`` / ``AWS::IAM::User`` / ``AWS::IAM::Group``; ``name`` the
  role, user or group name. ``location`` = ``Location(arn=<arn>)`` without a region: IAM is global, and the region
  the account happened to be read from says nothing about the resource.
- Trust policy: ``AssumeRolePolicyDocument``. botocore decodes IAM's URL-encoded documents into dicts; a client that
  does not is handled too (a URL-encoded JSON string is decoded, then parsed).
- Policies: inline (``RolePolicyList`` / ``UserPolicyList`` / ``GroupPolicyList``, kind ``inline``) and attached
  managed policies (``AttachedManagedPolicies``) with THE ACCOUNT'S OWN DOCUMENTS: the default version of each
  policy in the response's ``Policies`` list, kind ``aws-managed`` (ARN ``arn:<partition>:iam::aws:policy/...``) or
  ``customer-managed``, ``arn`` set. Rules read ``Policy.document`` as is (``iam/effective.py``), so the live
  documents are what they judge, never lambdasec's curated catalogue. An AWS managed policy the response did not
  include falls back to the catalogue (``iam/managed.py``); any other missing document is ``Unresolved``.
  A policy's location is the principal's ARN with the path ``(<list name>, <policy name or ARN>)``, so findings on
  two policies of one role keep distinct fingerprints.
- ``permissions_boundary``: the boundary policy's ARN (as ``PermissionsBoundary`` in a template).
- ``User.groups``: ``ResourceRef(<group ARN>)``; ``Group.members``: ``ResourceRef(<user ARN>)`` (from the users'
  ``GroupList``: the group entries of the API carry no member list).

A failed page leaves a gap (through :class:`~lambdasec.collectors.aws.api.Api`) and emits nothing of that entity type:
never a partial list presented as the account's. When only the managed policy documents could not be read, the
principals are still emitted and those documents are ``Unresolved`` (AWS managed ones from the catalogue).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ...model.inventory import Group, Inventory, Policy, PolicyDocument, Role, User
from ...model.location import Location
from ...model.values import ResourceRef, Unresolved, Value
from .api import Api

OPERATIONS: Final[tuple[tuple[str, str], ...]] = (("iam", "GetAccountAuthorizationDetails"),)

_PAGE: Final = {"PageSize": 1000}  # the API's largest page: fewer calls on large accounts


def collect_iam(api: Api, inventory: Inventory, options: Any) -> None:
    """Add the account's roles, users and groups (with their policies) to ``inventory``."""
    documents = _managed_documents(api)
    reader = _Reader(documents)
    roles = _details(api, "Role", "RoleDetailList")
    groups = _details(api, "Group", "GroupDetailList")
    users = _details(api, "User", "UserDetailList")
    for raw in roles or []:
        role = reader.role(raw)
        if role is not None:
            inventory.add(inventory.roles, role)
    group_arns = {str(g.get("GroupName")): str(g["Arn"]) for g in groups or [] if g.get("Arn")}
    built_users = [user for raw in users or [] if (user := reader.user(raw, group_arns)) is not None]
    members: dict[str, list[Value]] = {}
    for user in built_users:
        for group in user.groups:
            if isinstance(group, ResourceRef):
                members.setdefault(group.key, []).append(ResourceRef(user.key))
        inventory.add(inventory.users, user)
    for raw in groups or []:
        built = reader.group(raw)
        if built is not None:
            built.members = members.get(built.key, [])
            inventory.add(inventory.groups, built)


def _details(api: Api, entity: str, key: str) -> list[dict[str, Any]] | None:
    items = api.pages("iam", "GetAccountAuthorizationDetails", key, Filter=[entity], PaginationConfig=_PAGE)
    return [item for item in items if isinstance(item, dict)] if items is not None else None


def _managed_documents(api: Api) -> dict[str, Any] | None:
    """Managed policy ARN -> its default version's raw document; None when the policies could not be read."""
    policies = api.pages("iam", "GetAccountAuthorizationDetails", "Policies",
                         Filter=["LocalManagedPolicy", "AWSManagedPolicy"], PaginationConfig=_PAGE)
    if policies is None:
        return None
    out: dict[str, Any] = {}
    for policy in policies:
        if not isinstance(policy, Mapping) or not isinstance(policy.get("Arn"), str):
            continue
        versions = [v for v in policy.get("PolicyVersionList") or [] if isinstance(v, Mapping)]
        default = next((v for v in versions if v.get("IsDefaultVersion")), None) or next(
            (v for v in versions if v.get("VersionId") == policy.get("DefaultVersionId")), None)
        if default is not None and "Document" in default:
            out[policy["Arn"]] = default["Document"]
    return out


def decode_document(raw: Any) -> PolicyDocument | Unresolved:
    """A policy document as IAM returns it (a dict, JSON text, or URL-encoded JSON text) -> PolicyDocument."""
    from urllib.parse import unquote

    from ...iam.policy import parse_document

    if isinstance(raw, str) and not raw.lstrip().startswith("{"):
        raw = unquote(raw)
    return parse_document(raw)


class _Reader:
    def __init__(self, documents: dict[str, Any] | None) -> None:
        self.documents = documents
        self._parsed: dict[str, PolicyDocument | Unresolved] = {}  # one parse per managed policy, shared read-only

    # ------------------------------------------------------------ principals
    def role(self, raw: Mapping[str, Any]) -> Role | None:
        arn = raw.get("Arn")
        if not isinstance(arn, str):
            return None
        role = Role(key=arn, id=arn, type="AWS::IAM::Role", location=Location(arn=arn), name=_text(raw, "RoleName"))
        if raw.get("AssumeRolePolicyDocument") is not None:
            role.trust_policy = decode_document(raw["AssumeRolePolicyDocument"])
        role.permissions_boundary = _boundary(raw)
        role.boundary_policy = self.boundary_policy(arn, role.permissions_boundary)
        role.policies = self.policies(arn, raw, "RolePolicyList")
        return role

    def user(self, raw: Mapping[str, Any], group_arns: Mapping[str, str]) -> User | None:
        arn = raw.get("Arn")
        if not isinstance(arn, str):
            return None
        user = User(key=arn, id=arn, type="AWS::IAM::User", location=Location(arn=arn), name=_text(raw, "UserName"))
        user.permissions_boundary = _boundary(raw)
        user.boundary_policy = self.boundary_policy(arn, user.permissions_boundary)
        user.policies = self.policies(arn, raw, "UserPolicyList")
        for name in raw.get("GroupList") or []:
            if isinstance(name, str):
                user.groups.append(ResourceRef(group_arns[name]) if name in group_arns else name)
        return user

    def group(self, raw: Mapping[str, Any]) -> Group | None:
        arn = raw.get("Arn")
        if not isinstance(arn, str):
            return None
        group = Group(key=arn, id=arn, type="AWS::IAM::Group", location=Location(arn=arn),
                      name=_text(raw, "GroupName"))
        group.policies = self.policies(arn, raw, "GroupPolicyList")
        return group

    # ------------------------------------------------------------ policies
    def policies(self, owner: str, raw: Mapping[str, Any], inline_key: str) -> list[Policy]:
        out: list[Policy] = []
        for item in raw.get(inline_key) or []:
            if not isinstance(item, Mapping):
                continue
            name = str(item.get("PolicyName") or "")
            out.append(Policy(name, "inline", decode_document(item.get("PolicyDocument")),
                              Location(arn=owner, path=(inline_key, name))))
        for item in raw.get("AttachedManagedPolicies") or []:
            if isinstance(item, Mapping) and isinstance(item.get("PolicyArn"), str):
                arn = item["PolicyArn"]
                name = str(item.get("PolicyName") or arn.rsplit("/", 1)[-1])
                out.append(Policy(name, _managed_kind(arn), self.managed_document(arn),
                                  Location(arn=owner, path=("AttachedManagedPolicies", arn)), arn=arn))
        return out

    def boundary_policy(self, owner: str, boundary: Value | None) -> Policy | None:
        """The boundary with the account's own document (a boundary is usually attached to nothing else)."""
        if not isinstance(boundary, str):
            return None
        return Policy(boundary.rsplit("/", 1)[-1], _managed_kind(boundary), self.managed_document(boundary),
                      Location(arn=owner, path=("PermissionsBoundary", boundary)), arn=boundary)

    def managed_document(self, arn: str) -> PolicyDocument | Unresolved:
        if arn not in self._parsed:
            self._parsed[arn] = self._read_managed(arn)
        return self._parsed[arn]

    def _read_managed(self, arn: str) -> PolicyDocument | Unresolved:
        from ...iam.managed import managed_policy
        from ...iam.policy import parse_document

        if self.documents is not None and arn in self.documents:
            return decode_document(self.documents[arn])
        if _managed_kind(arn) == "aws-managed":
            known = managed_policy(arn, shared=True)
            if known is not None:
                return parse_document(known.document)
        reason = ("the account's managed policies could not be read" if self.documents is None
                  else "managed policy document not returned by GetAccountAuthorizationDetails")
        return Unresolved(arn, reason)


def _managed_kind(arn: str) -> str:
    return "aws-managed" if ":iam::aws:policy/" in arn else "customer-managed"


def _boundary(raw: Mapping[str, Any]) -> Value | None:
    boundary = raw.get("PermissionsBoundary")
    if isinstance(boundary, Mapping) and isinstance(boundary.get("PermissionsBoundaryArn"), str):
        arn: str = boundary["PermissionsBoundaryArn"]
        return arn
    return None


def _text(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return value if isinstance(value, str) else None
