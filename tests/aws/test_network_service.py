"""EC2 networking of a live account (moto): subnets, routes, associations (main table included), security groups
and endpoints normalized like the CloudFormation collector's, keyed as the Lambda module names them, and the network
rules judging them."""

from __future__ import annotations

from typing import Any

from lambdasec.collectors.aws.api import Api, RateLimiter, Scope
from lambdasec.collectors.aws.network_service import OPERATIONS, collect_network, ec2_arn, partition_of
from lambdasec.engine import ScanSettings, evaluate
from lambdasec.model.inventory import (
    Function,
    Inventory,
    Route,
    RouteTableAssociation,
    SecurityGroup,
    SecurityGroupRule,
    Subnet,
    VpcConfig,
    VpcEndpoint,
)
from lambdasec.model.location import Location
from lambdasec.model.values import ResourceRef
from lambdasec.rules.registry import all_rules

from ..conftest import FIXTURE_CLOCK
from .conftest import ACCOUNT, Emulator

REGION = "us-east-1"


def arn(kind: str, ident: str) -> str:
    return f"arn:aws:ec2:{REGION}:{ACCOUNT}:{kind}/{ident}"


def where(resource: str) -> Location:
    return Location(arn=resource, region=REGION)


def _seed(aws: Emulator) -> dict[str, str]:
    """One VPC: subnet `public` (zone a, explicit table with a default route to an internet gateway), `main`
    (zone a, no explicit association: the VPC's main table, local route only), `private` (zone b, explicit table
    with a NAT default route and an egress-only IPv6 route); an `open` group (AWS's default egress) and a `tight`
    one (HTTPS to a prefix list, to itself and to ::/0); an S3 gateway endpoint."""
    ec2 = aws.client("ec2", REGION)
    ids: dict[str, str] = {}
    ids["vpc"] = vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    for name, cidr, zone in (("public", "10.0.1.0/24", "us-east-1a"), ("main", "10.0.2.0/24", "us-east-1a"),
                             ("private", "10.0.3.0/24", "us-east-1b")):
        ids[name] = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=ids["public"], MapPublicIpOnLaunch={"Value": True})
    ids["igw"] = igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    ids["public_rt"] = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=ids["public_rt"], DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ids["public_assoc"] = ec2.associate_route_table(RouteTableId=ids["public_rt"],
                                                    SubnetId=ids["public"])["AssociationId"]
    allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
    ids["nat"] = ec2.create_nat_gateway(SubnetId=ids["public"], AllocationId=allocation)["NatGateway"]["NatGatewayId"]
    ids["eigw"] = ec2.create_egress_only_internet_gateway(VpcId=vpc)["EgressOnlyInternetGateway"][
        "EgressOnlyInternetGatewayId"]
    ids["private_rt"] = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=ids["private_rt"], DestinationCidrBlock="0.0.0.0/0", NatGatewayId=ids["nat"])
    ec2.create_route(RouteTableId=ids["private_rt"], DestinationIpv6CidrBlock="::/0",
                     EgressOnlyInternetGatewayId=ids["eigw"])
    ids["private_assoc"] = ec2.associate_route_table(RouteTableId=ids["private_rt"],
                                                     SubnetId=ids["private"])["AssociationId"]
    tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                {"Name": "association.main", "Values": ["true"]}])["RouteTables"]
    ids["main_rt"] = tables[0]["RouteTableId"]
    ids["open"] = ec2.create_security_group(GroupName="open", Description="open", VpcId=vpc)["GroupId"]
    ids["tight"] = tight = ec2.create_security_group(GroupName="tight", Description="tight", VpcId=vpc)["GroupId"]
    ec2.revoke_security_group_egress(GroupId=tight, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.authorize_security_group_egress(GroupId=tight, IpPermissions=[{
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "PrefixListIds": [{"PrefixListId": "pl-63a5400a"}],
        "UserIdGroupPairs": [{"GroupId": tight}], "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}])
    ids["endpoint"] = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.s3",
                                              VpcEndpointType="Gateway")["VpcEndpoint"]["VpcEndpointId"]
    return ids


def _collect(api: Api) -> Inventory:
    inventory = Inventory()
    collect_network(api, inventory, None)
    return inventory


def _in_vpc(items: list[Any], vpc: str) -> list[Any]:
    return [item for item in items if item.vpc == vpc]


def test_network_objects_are_normalized_and_keyed_by_arn(aws: Emulator) -> None:
    ids = _seed(aws)
    log: list[tuple[str, str]] = []
    api = aws.api(REGION, request_log=log)
    inventory = _collect(api)
    assert api.gaps == [] and api.ok("ec2")
    assert log == list(OPERATIONS)

    assert sorted(_in_vpc(inventory.subnets, ids["vpc"]), key=lambda s: str(s.cidr)) == [
        Subnet(key=arn("subnet", ids[name]), id=arn("subnet", ids[name]), type="AWS::EC2::Subnet",
               location=where(arn("subnet", ids[name])), vpc=ids["vpc"], availability_zone=zone, cidr=cidr,
               map_public_ip=name == "public")
        for name, cidr, zone in (("public", "10.0.1.0/24", "us-east-1a"), ("main", "10.0.2.0/24", "us-east-1a"),
                                 ("private", "10.0.3.0/24", "us-east-1b"))
    ]

    tables = {ids[t]: arn("route-table", ids[t]) for t in ("public_rt", "private_rt", "main_rt")}

    def route(table: str, destination: str, kind: str, **targets: str) -> Route:
        key = f"{tables[ids[table]]}#route/{destination}"
        return Route(key=key, id=key, type="AWS::EC2::Route", location=where(tables[ids[table]]),
                     route_table=ResourceRef(tables[ids[table]]),
                     destination=None if destination.startswith("pl-") else destination, target_kind=kind,
                     **targets)

    ours = sorted((r for r in inventory.routes if str(r.route_table).split("/")[-1] in tables), key=lambda r: r.key)
    assert ours == sorted([
        route("main_rt", "10.0.0.0/16", "other", gateway="local"),
        route("public_rt", "10.0.0.0/16", "other", gateway="local"),
        route("public_rt", "0.0.0.0/0", "internet-gateway", gateway=ids["igw"]),
        route("private_rt", "10.0.0.0/16", "other", gateway="local"),
        route("private_rt", "0.0.0.0/0", "nat-gateway", nat_gateway=ids["nat"]),
        route("private_rt", "::/0", "egress-only"),
    ], key=lambda r: r.key)

    def association(table: str, suffix: str, subnet: str) -> RouteTableAssociation:
        key = f"{tables[ids[table]]}#{suffix}"
        return RouteTableAssociation(key=key, id=key, type="AWS::EC2::SubnetRouteTableAssociation",
                                     location=where(tables[ids[table]]), route_table=ResourceRef(tables[ids[table]]),
                                     subnet=ResourceRef(arn("subnet", ids[subnet])))

    subnets_here = {arn("subnet", ids[name]) for name in ("public", "main", "private")}
    assert sorted((a for a in inventory.route_table_associations if a.subnet.key in subnets_here),
                  key=lambda a: a.key) == sorted([
        association("public_rt", f"association/{ids['public_assoc']}", "public"),
        association("private_rt", f"association/{ids['private_assoc']}", "private"),
        association("main_rt", f"main/{ids['main']}", "main"),  # no explicit association: the VPC's main table
    ], key=lambda a: a.key)

    open_arn, tight_arn = arn("security-group", ids["open"]), arn("security-group", ids["tight"])
    groups = {g.key: g for g in _in_vpc(inventory.security_groups, ids["vpc"])}
    assert groups[open_arn] == SecurityGroup(
        key=open_arn, id=open_arn, type="AWS::EC2::SecurityGroup", location=where(open_arn), vpc=ids["vpc"],
        egress=[SecurityGroupRule("-1", None, None, cidr_ipv4="0.0.0.0/0", location=where(open_arn))])
    assert groups[tight_arn].egress == [
        SecurityGroupRule("tcp", 443, 443, cidr_ipv6="::/0", location=where(tight_arn)),
        SecurityGroupRule("tcp", 443, 443, destination_group=ResourceRef(tight_arn), location=where(tight_arn)),
        SecurityGroupRule("tcp", 443, 443, destination_prefix_list="pl-63a5400a", location=where(tight_arn)),
    ]
    assert len(groups) == 3  # and the VPC's default group

    endpoint = arn("vpc-endpoint", ids["endpoint"])
    assert inventory.vpc_endpoints == [VpcEndpoint(
        key=endpoint, id=endpoint, type="AWS::EC2::VPCEndpoint", location=where(endpoint), vpc=ids["vpc"],
        service=f"com.amazonaws.{REGION}.s3", endpoint_type="Gateway")]


def _function(name: str, subnets: list[str], groups: list[str]) -> Function:
    fn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
    return Function(key=fn, id=fn, type="AWS::Lambda::Function", location=where(fn), name=name,
                    runtime="python3.12", handler="app.handler", tracing_mode="Active",
                    vpc=VpcConfig(subnet_ids=[ResourceRef(arn("subnet", s)) for s in subnets],
                                  security_group_ids=[ResourceRef(arn("security-group", g)) for g in groups]))


def test_network_rules_follow_the_live_objects(aws: Emulator) -> None:
    """As the Lambda module emits them: VpcConfig subnets and groups are ResourceRefs to these ARNs."""
    ids = _seed(aws)
    inventory = _collect(aws.api(REGION))
    exposed = _function("exposed", [ids["public"]], [ids["open"]])
    single_zone = _function("single-zone", [ids["public"], ids["main"]], [ids["tight"]])
    private = _function("private", [ids["main"], ids["private"]], [ids["tight"]])
    for fn in (exposed, single_zone, private):
        inventory.add(inventory.functions, fn)
    report = evaluate(inventory, all_rules(), ScanSettings(now=FIXTURE_CLOCK))
    net = sorted((f.rule_id, f.resource_id) for f in report.findings if f.rule_id.startswith("NET"))
    assert net == sorted([
        ("NET002", exposed.id),  # one subnet
        ("NET002", single_zone.id),  # two subnets, both in us-east-1a
        ("NET003", arn("security-group", ids["open"])),  # AWS's default allow-all egress
        ("NET004", exposed.id),  # its route table sends 0.0.0.0/0 to the internet gateway
        ("NET004", single_zone.id),
    ])
    assert not [n for n in report.not_evaluated if n.rule_id.startswith("NET")]


def test_keys_follow_the_partition_and_a_failed_listing_is_a_gap(aws: Emulator) -> None:
    assert partition_of("cn-north-1") == "aws-cn" and partition_of("us-gov-west-1") == "aws-us-gov"
    china = ec2_arn("cn-north-1", ACCOUNT, "subnet", "subnet-1")
    assert china == f"arn:aws-cn:ec2:cn-north-1:{ACCOUNT}:subnet/subnet-1"
    scope = Scope(ACCOUNT, REGION, aws.session(), "http://127.0.0.1:9")  # nothing listens there
    api = Api(scope, limiter=RateLimiter(default=0, rates={}))
    api.settings.max_attempts = 1
    api.settings.connect_timeout = 1
    inventory = _collect(api)
    assert (inventory.subnets, inventory.routes, inventory.route_table_associations, inventory.security_groups,
            inventory.vpc_endpoints) == ([], [], [], [], [])
    assert [gap.kind for gap in api.gaps] == ["unreachable"] * 4 and not api.ok("ec2")
