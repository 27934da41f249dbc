"""EC2 networking of one account and region: subnets, routes, route table associations, security groups, endpoints.

Every object of the region is read (functions are collected in parallel by another module, so the ones they use
are not known yet): ``DescribeSubnets``, ``DescribeRouteTables``, ``DescribeSecurityGroups`` and
``DescribeVpcEndpoints``, all paginated. VPCs themselves are not read: no rule needs them (a subnet's and a group's
``vpc`` is the VPC id, and the main route table of each VPC comes with the route tables).

Keys (the same format the Lambda module uses for a function's ``VpcConfig``, so the network rules can follow them):
``arn:<partition>:ec2:<region>:<account>:subnet/<id>``, ``.../security-group/<id>``, ``.../vpc-endpoint/<id>``,
``.../route-table/<id>``, where ``<account>`` is the SCANNED account. A subnet or group shared from another account
through RAM is therefore keyed in each account that uses it, exactly as that account's functions name it, and two
accounts of one scan never produce the same key.

Normalization (the same field meanings as the CloudFormation collector):

- :class:`Subnet`: ``vpc`` = VPC id, ``availability_zone`` = zone name (``us-east-1a``), ``cidr`` = IPv4 CIDR,
  ``map_public_ip`` = ``MapPublicIpOnLaunch``.
- :class:`Route`, one per route of each table, key ``<route table ARN>#route/<destination>``: ``route_table`` =
  ``ResourceRef(<route table ARN>)`` (no route table object exists in the model: the core's link pass turns it into
  the ARN string, identically in routes and associations), ``destination`` = IPv4 or IPv6 CIDR (None for a prefix
  list destination, as in a template), ``gateway`` / ``nat_gateway`` = the target ids, ``target_kind``
  ``internet-gateway`` (``igw-``), ``nat-gateway``, ``egress-only`` or ``other`` (``local``, endpoints, peering,
  transit gateways...). A route in state ``blackhole`` (its target was deleted) sends nothing anywhere: its kind
  is ``other``.
- :class:`RouteTableAssociation`: one per explicit subnet association (key ``<route table ARN>#association/<id>``),
  plus one per subnet WITHOUT an explicit association, from its VPC's main route table (key
  ``<main route table ARN>#main/<subnet id>``): AWS routes such subnets through the main table, so a rule following
  a subnet's associations sees the routes that really apply. Gateway (edge) associations are not subnets: skipped.
- :class:`SecurityGroup`: ``vpc`` = VPC id; ``egress`` is the group's real egress list (never None: AWS's default
  allow-all rule, when present, is listed as the rule it is), one :class:`SecurityGroupRule` per CIDR, IPv6 CIDR,
  security group (``ResourceRef`` to that group's ARN in its owner's account) or prefix list of each permission;
  ``protocol`` as AWS gives it (``"-1"`` = all), ports None when AWS gives none.
- :class:`VpcEndpoint`: ``vpc``, ``service`` (service name), ``endpoint_type`` (``Gateway`` when AWS omits it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ...model.inventory import (
    Inventory,
    Route,
    RouteTableAssociation,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
    VpcEndpoint,
)
from ...model.location import Location
from ...model.values import ResourceRef
from .api import Api

OPERATIONS: Final[tuple[tuple[str, str], ...]] = (
    ("ec2", "DescribeSubnets"),
    ("ec2", "DescribeRouteTables"),
    ("ec2", "DescribeSecurityGroups"),
    ("ec2", "DescribeVpcEndpoints"),
)


def partition_of(region: str) -> str:
    """The ARN partition of a region (``aws``, ``aws-cn``, ``aws-us-gov``, ``aws-iso``...)."""
    for prefix, partition in (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"), ("us-isob-", "aws-iso-b"),
                              ("us-iso-", "aws-iso"), ("eu-isoe-", "aws-iso-e"), ("us-isof-", "aws-iso-f")):
        if region.startswith(prefix):
            return partition
    return "aws"


def ec2_arn(region: str, account: str, kind: str, ident: str) -> str:
    """``arn:<partition>:ec2:<region>:<account>:<kind>/<id>`` (kind: subnet, security-group, route-table...)."""
    return f"arn:{partition_of(region)}:ec2:{region}:{account}:{kind}/{ident}"


def collect_network(api: Api, inventory: Inventory, options: Any) -> None:
    """Add the region's subnets, routes, associations, security groups and VPC endpoints to ``inventory``."""
    region, account = api.scope.region, api.scope.account
    subnets = api.pages("ec2", "DescribeSubnets", "Subnets")
    tables = api.pages("ec2", "DescribeRouteTables", "RouteTables")
    groups = api.pages("ec2", "DescribeSecurityGroups", "SecurityGroups")
    endpoints = api.pages("ec2", "DescribeVpcEndpoints", "VpcEndpoints")

    def arn(kind: str, ident: str) -> str:
        return ec2_arn(region, account, kind, ident)

    def where(resource_arn: str) -> Location:
        return Location(arn=resource_arn, region=region)

    for raw in _mappings(subnets):
        key = arn("subnet", str(raw["SubnetId"]))
        inventory.add(inventory.subnets, Subnet(
            key=key, id=key, type="AWS::EC2::Subnet", location=where(key), vpc=_str(raw.get("VpcId")),
            availability_zone=_str(raw.get("AvailabilityZone")), cidr=_str(raw.get("CidrBlock")),
            map_public_ip=raw.get("MapPublicIpOnLaunch") is True))

    associated: set[str] = set()
    main_tables: dict[str, str] = {}  # VPC id -> main route table id
    for table in _mappings(tables, "RouteTableId"):
        table_arn = arn("route-table", str(table["RouteTableId"]))
        for route in table.get("Routes") or []:
            if isinstance(route, Mapping):
                built = _route(table_arn, route, where(table_arn))
                if built is not None:
                    inventory.add(inventory.routes, built)
        for association in table.get("Associations") or []:
            if not isinstance(association, Mapping):
                continue
            state = association.get("AssociationState")
            if isinstance(state, Mapping) and state.get("State") not in (None, "associated"):
                continue  # being removed, or failed
            if association.get("Main") is True and isinstance(table.get("VpcId"), str):
                main_tables[table["VpcId"]] = str(table["RouteTableId"])
            subnet_id = association.get("SubnetId")
            if isinstance(subnet_id, str):
                associated.add(subnet_id)
                key = f"{table_arn}#association/{association.get('RouteTableAssociationId') or subnet_id}"
                inventory.add(inventory.route_table_associations, RouteTableAssociation(
                    key=key, id=key, type="AWS::EC2::SubnetRouteTableAssociation", location=where(table_arn),
                    route_table=ResourceRef(table_arn), subnet=ResourceRef(arn("subnet", subnet_id))))
    if tables is not None:
        for raw in _mappings(subnets):
            subnet_id, vpc = str(raw["SubnetId"]), raw.get("VpcId")
            if subnet_id in associated or not isinstance(vpc, str) or vpc not in main_tables:
                continue
            table_arn = arn("route-table", main_tables[vpc])
            key = f"{table_arn}#main/{subnet_id}"
            inventory.add(inventory.route_table_associations, RouteTableAssociation(
                key=key, id=key, type="AWS::EC2::SubnetRouteTableAssociation", location=where(table_arn),
                route_table=ResourceRef(table_arn), subnet=ResourceRef(arn("subnet", subnet_id))))

    for raw in _mappings(groups, "GroupId"):
        key = arn("security-group", str(raw["GroupId"]))
        rules: list[SecurityGroupRule] = []
        for permission in raw.get("IpPermissionsEgress") or []:
            if isinstance(permission, Mapping):
                rules.extend(_egress_rules(permission, region, account, where(key)))
        inventory.add(inventory.security_groups, SecurityGroup(
            key=key, id=key, type="AWS::EC2::SecurityGroup", location=where(key), vpc=_str(raw.get("VpcId")),
            egress=rules))

    for raw in _mappings(endpoints, "VpcEndpointId"):
        key = arn("vpc-endpoint", str(raw["VpcEndpointId"]))
        inventory.add(inventory.vpc_endpoints, VpcEndpoint(
            key=key, id=key, type="AWS::EC2::VPCEndpoint", location=where(key), vpc=_str(raw.get("VpcId")),
            service=_str(raw.get("ServiceName")), endpoint_type=_str(raw.get("VpcEndpointType")) or "Gateway"))


def _route(table_arn: str, raw: Mapping[str, Any], location: Location) -> Route | None:
    cidr = _str(raw.get("DestinationCidrBlock")) or _str(raw.get("DestinationIpv6CidrBlock"))
    destination = cidr or _str(raw.get("DestinationPrefixListId"))
    if destination is None:
        return None
    key = f"{table_arn}#route/{destination}"
    route = Route(key=key, id=key, type="AWS::EC2::Route", location=location, route_table=ResourceRef(table_arn),
                  destination=cidr, gateway=_str(raw.get("GatewayId")), nat_gateway=_str(raw.get("NatGatewayId")))
    if raw.get("State") == "blackhole":
        route.target_kind = "other"
    elif isinstance(route.gateway, str) and route.gateway.startswith("igw-"):
        route.target_kind = "internet-gateway"
    elif route.nat_gateway is not None:
        route.target_kind = "nat-gateway"
    elif raw.get("EgressOnlyInternetGatewayId"):
        route.target_kind = "egress-only"
    else:
        route.target_kind = "other"
    return route


def _egress_rules(permission: Mapping[str, Any], region: str, account: str,
                  location: Location) -> list[SecurityGroupRule]:
    protocol = str(permission.get("IpProtocol", "-1"))
    ports = (_port(permission.get("FromPort")), _port(permission.get("ToPort")))
    out: list[SecurityGroupRule] = []
    for item in _mappings(permission.get("IpRanges"), "CidrIp"):
        out.append(SecurityGroupRule(protocol, *ports, cidr_ipv4=str(item["CidrIp"]), location=location))
    for item in _mappings(permission.get("Ipv6Ranges"), "CidrIpv6"):
        out.append(SecurityGroupRule(protocol, *ports, cidr_ipv6=str(item["CidrIpv6"]), location=location))
    for item in _mappings(permission.get("UserIdGroupPairs"), "GroupId"):
        owner = _str(item.get("UserId")) or account
        target = ResourceRef(ec2_arn(region, owner, "security-group", str(item["GroupId"])))
        out.append(SecurityGroupRule(protocol, *ports, destination_group=target, location=location))
    for item in _mappings(permission.get("PrefixListIds"), "PrefixListId"):
        out.append(SecurityGroupRule(protocol, *ports, destination_prefix_list=str(item["PrefixListId"]),
                                     location=location))
    return out


def _mappings(items: Any, required: str = "SubnetId") -> list[Mapping[str, Any]]:
    """The mappings of a response list holding ``required`` (AWS always sends it; anything else is skipped)."""
    return [item for item in items or [] if isinstance(item, Mapping) and item.get(required) is not None]


def _port(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
