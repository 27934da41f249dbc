"""Network placement of functions: VPC attachment, zones, egress and public subnets."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from ..model.findings import Confidence, Severity
from ..model.inventory import Function, Inventory, Route, SecurityGroup, SecurityGroupRule, Subnet
from ..model.values import ResourceRef, Unresolved, Value
from .base import Context, Outcome, Rule

_OPEN_CIDRS = {"0.0.0.0/0", "::/0"}
_GETAZS_SELECT = re.compile(r"^!Select \[(\d+), !GetAZs\]$")
_ZONE_ID = re.compile(r"-az\d+$")  # "use1-az1": an AZ id, not comparable with a zone name like "us-east-1a"



def _names(values: Sequence[object]) -> str:
    return ", ".join(str(v) for v in values)


def _same(left: Value, right: Value) -> bool:
    """Two references name the same object (a `Ref` and a `GetAtt ...Id` of a subnet are the same subnet)."""
    if isinstance(left, ResourceRef) and isinstance(right, ResourceRef):
        return left.key == right.key
    return not isinstance(left, Unresolved) and left == right


def _distinct(values: Sequence[Value]) -> list[Value]:
    """The values without repeats, as :func:`_same` tells them, in one pass (a pairwise check was quadratic: a
    function with 10,000 subnets took minutes)."""
    out: list[Value] = []
    seen: set[object] = set()
    for value in values:
        if isinstance(value, Unresolved):  # never the same as anything
            out.append(value)
            continue
        identity = ("ref", value.key) if isinstance(value, ResourceRef) else ("value", value)
        if identity not in seen:
            seen.add(identity)
            out.append(value)
    return out


# ---------------------------------------------------------------- NET001
def _check_not_in_vpc(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for fn in inventory.functions:
        if fn.vpc is None:
            yield NOT_IN_VPC.finding(
                inventory, fn, f"Function {fn.id} has no VpcConfig: it runs outside any VPC")
        elif isinstance(fn.vpc.subnet_ids, Unresolved):
            # Subnets given at deploy time still attach the function; only a condition may remove them.
            if fn.vpc.subnet_ids.may_be_absent:
                yield NOT_IN_VPC.not_evaluated(
                    fn, f"VpcConfig depends on a condition ({fn.vpc.subnet_ids.expression})")
        elif not fn.vpc.subnet_ids:
            yield NOT_IN_VPC.finding(
                inventory, fn, f"Function {fn.id} has a VpcConfig with no subnets: it runs outside any VPC",
                location=fn.at("VpcConfig.SubnetIds"))


NOT_IN_VPC = Rule(
    code="NET001",
    slug="function-not-in-vpc",
    title="Function not attached to a VPC",
    severity=Severity.LOW,
    confidence=Confidence.HIGH,
    category="network",
    rationale=(
        "A function outside a VPC has unrestricted outbound access to the internet, so code that is "
        "compromised (a vulnerable dependency, an injected payload) can exfiltrate data or call any "
        "endpoint with no network control. Attaching the function to private subnets lets security "
        "groups, NACLs, VPC endpoints and DNS firewalls restrict and log where it can connect."
    ),
    remediation=(
        "Attach the function to private subnets of a VPC with `VpcConfig` (at least two subnets in "
        "different availability zones and a dedicated security group), give its role the "
        "`AWSLambdaVPCAccessExecutionRole` permissions, and reach AWS services through VPC endpoints or a "
        "NAT gateway with restricted egress. Functions that only need public AWS APIs and handle no "
        "sensitive data may accept this finding with a suppression."
    ),
    check=_check_not_in_vpc,
    snippets={
        "cloudformation": (
            "Function:\n"
            "  Type: AWS::Lambda::Function\n"
            "  Properties:\n"
            "    VpcConfig:\n"
            "      SubnetIds: [!Ref PrivateSubnetA, !Ref PrivateSubnetB]\n"
            "      SecurityGroupIds: [!Ref FunctionSecurityGroup]\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    VpcConfig:\n"
            "      SubnetIds: [!Ref PrivateSubnetA, !Ref PrivateSubnetB]\n"
            "      SecurityGroupIds: [!Ref FunctionSecurityGroup]\n"
        ),
        "terraform": (
            'resource "aws_lambda_function" "this" {\n'
            "  vpc_config {\n"
            "    subnet_ids         = [aws_subnet.private_a.id, aws_subnet.private_b.id]\n"
            "    security_group_ids = [aws_security_group.function.id]\n"
            "  }\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/lambda-controls.html#lambda-3",
    ),
    anchors={
        "checkov": ("CKV_AWS_117",),
        "prowler": ("awslambda_function_inside_vpc",),
        "kics": (),
        "securityhub": ("Lambda.3",),
    },
)


# ---------------------------------------------------------------- NET002
def _zone_key(inventory: Inventory, subnet_ref: Value) -> tuple[str, str] | None:
    """A comparable form of a subnet's zone, or None when it cannot be compared with the others."""
    subnet = inventory.resolve(subnet_ref, Subnet)
    zone = subnet.availability_zone if subnet is not None else None
    if isinstance(zone, str):
        return ("zone-id" if _ZONE_ID.search(zone) else "zone-name", zone)
    if isinstance(zone, Unresolved):
        match = _GETAZS_SELECT.match(zone.expression)
        if match:  # the same index of GetAZs in one template is the same zone
            return ("getazs", zone.expression)
    return None


def _check_single_az(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for fn in inventory.functions:
        if fn.vpc is None:
            continue
        if isinstance(fn.vpc.subnet_ids, Unresolved):
            yield SINGLE_AZ.not_evaluated(
                fn, f"subnets are known only at deploy time ({fn.vpc.subnet_ids.expression})")
            continue
        subnets = _distinct(fn.vpc.subnet_ids)
        if len(subnets) == 1:
            yield SINGLE_AZ.finding(
                inventory, fn, f"Function {fn.id} is attached to a single subnet ({subnets[0]}), so a single "
                "availability zone", location=fn.at("VpcConfig.SubnetIds"),
                evidence={"subnets": [str(subnets[0])]})
        elif subnets:
            yield from _judge_zones(inventory, fn, subnets)


def _judge_zones(inventory: Inventory, fn: Function, subnets: list[Value]) -> Iterator[Outcome]:
    zones = [_zone_key(inventory, subnet) for subnet in subnets]
    known = [zone for zone in zones if zone is not None]
    if len(known) != len(zones) or len({kind for kind, _ in known}) > 1:
        yield SINGLE_AZ.not_evaluated(fn, "the availability zones of its subnets are not all known")
        return
    if len(set(known)) == 1:
        zone = known[0][1]
        yield SINGLE_AZ.finding(
            inventory, fn, f"All {len(subnets)} subnets of function {fn.id} ({_names(subnets)}) are in "
            f"the same availability zone ({zone})", location=fn.at("VpcConfig.SubnetIds"),
            evidence={"subnets": [str(s) for s in subnets], "availability_zone": zone})


SINGLE_AZ = Rule(
    code="NET002",
    slug="vpc-function-single-az",
    title="VPC function confined to one availability zone",
    severity=Severity.MEDIUM,
    confidence=Confidence.HIGH,
    category="network",
    rationale=(
        "A function attached to a VPC can only run in the availability zones of its subnets. With one "
        "subnet, or several subnets in the same zone, an outage of that zone (or exhaustion of its IP "
        "addresses) stops the function entirely, which turns a zonal incident into a loss of availability "
        "of the service."
    ),
    remediation=(
        "List at least two subnets in different availability zones in the function's "
        "`VpcConfig.SubnetIds`, each with a route to the endpoints the function needs (VPC endpoints or a "
        "NAT gateway per zone)."
    ),
    check=_check_single_az,
    snippets={
        "cloudformation": (
            "PrivateSubnetA:\n"
            "  Type: AWS::EC2::Subnet\n"
            "  Properties:\n"
            "    VpcId: !Ref Vpc\n"
            "    CidrBlock: 10.0.1.0/24\n"
            "    AvailabilityZone: !Select [0, !GetAZs '']\n"
            "PrivateSubnetB:\n"
            "  Type: AWS::EC2::Subnet\n"
            "  Properties:\n"
            "    VpcId: !Ref Vpc\n"
            "    CidrBlock: 10.0.2.0/24\n"
            "    AvailabilityZone: !Select [1, !GetAZs '']\n"
            "Function:\n"
            "  Type: AWS::Lambda::Function\n"
            "  Properties:\n"
            "    VpcConfig:\n"
            "      SubnetIds: [!Ref PrivateSubnetA, !Ref PrivateSubnetB]\n"
            "      SecurityGroupIds: [!Ref FunctionSecurityGroup]\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    VpcConfig:\n"
            "      SubnetIds: [!Ref PrivateSubnetA, !Ref PrivateSubnetB]  # subnets in two zones\n"
            "      SecurityGroupIds: [!Ref FunctionSecurityGroup]\n"
        ),
        "terraform": (
            'resource "aws_lambda_function" "this" {\n'
            "  vpc_config {\n"
            "    # one private subnet per availability zone\n"
            "    subnet_ids         = [aws_subnet.private_a.id, aws_subnet.private_b.id]\n"
            "    security_group_ids = [aws_security_group.function.id]\n"
            "  }\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/security-resilience.html",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/lambda-controls.html#lambda-5",
    ),
    anchors={
        "checkov": (),
        "prowler": ("awslambda_function_vpc_multi_az",),
        "kics": (),
        "securityhub": ("Lambda.5",),
    },
)


# ---------------------------------------------------------------- NET003
def _groups_in_use(inventory: Inventory) -> list[tuple[SecurityGroup, list[Function]]]:
    """The template's security groups attached to functions, each with the functions using it."""
    users: dict[str, list[Function]] = {}
    seen: set[tuple[str, str]] = set()  # (group, function) keys: a list search here grew with the square
    for fn in inventory.functions:
        group_ids = fn.vpc.security_group_ids if fn.vpc is not None else []
        for group_id in group_ids if isinstance(group_ids, list) else []:
            group = inventory.resolve(group_id, SecurityGroup)
            if group is not None and (group.key, fn.key) not in seen:
                seen.add((group.key, fn.key))
                users.setdefault(group.key, []).append(fn)
    return [(group, users[group.key]) for group in inventory.security_groups if group.key in users]


def _open_destination(rule: SecurityGroupRule) -> bool | None:
    if rule.cidr_ipv4 in _OPEN_CIDRS or rule.cidr_ipv6 in _OPEN_CIDRS:
        return True
    if isinstance(rule.cidr_ipv4, Unresolved) or isinstance(rule.cidr_ipv6, Unresolved):
        return None
    return False


def _all_traffic(rule: SecurityGroupRule) -> bool | None:
    if isinstance(rule.protocol, Unresolved):
        return None
    if str(rule.protocol).lower() in ("-1", "all"):
        return True
    if isinstance(rule.from_port, Unresolved) or isinstance(rule.to_port, Unresolved):
        return None
    if rule.from_port is None or rule.to_port is None:
        return False
    return rule.from_port <= 0 and rule.to_port >= 65535


def _is_open(rule: SecurityGroupRule) -> bool | None:
    """True when the rule lets any traffic out to the whole internet; None when it cannot be told."""
    destination, traffic = _open_destination(rule), _all_traffic(rule)
    if destination is False or traffic is False:
        return False
    return True if destination and traffic else None


def _describe(rule: SecurityGroupRule) -> str:
    cidr = rule.cidr_ipv4 if rule.cidr_ipv4 in _OPEN_CIDRS else rule.cidr_ipv6
    if str(rule.protocol).lower() in ("-1", "all"):
        return f"all protocols to {cidr}"
    return f"{rule.protocol} ports {rule.from_port}-{rule.to_port} to {cidr}"


def _check_open_egress(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for group, functions in _groups_in_use(inventory):
        users = _names([fn.id for fn in functions])
        if group.egress is None:  # no rule declared: AWS keeps its default allow-all egress rule
            yield OPEN_EGRESS.finding(
                inventory, group, f"Security group {group.id} (used by {users}) declares no egress rule, so "
                "AWS adds its default rule allowing all outbound traffic to 0.0.0.0/0", functions=functions,
                evidence={"egress": "aws-default-allow-all"})
            continue
        verdicts = [(rule, _is_open(rule)) for rule in group.egress]
        open_rules = [rule for rule, verdict in verdicts if verdict]
        if open_rules:
            first = open_rules[0]
            yield OPEN_EGRESS.finding(
                inventory, group, f"Security group {group.id} (used by {users}) allows egress of "
                f"{_describe(first)}", location=first.location or group.location, functions=functions,
                evidence={"rules": [_describe(rule) for rule in open_rules]})
        elif any(verdict is None for _, verdict in verdicts):
            yield OPEN_EGRESS.not_evaluated(group, "some egress rules are known only at deploy time")


OPEN_EGRESS = Rule(
    code="NET003",
    slug="security-group-unrestricted-egress",
    title="Function security group allows unrestricted egress",
    severity=Severity.MEDIUM,
    confidence=Confidence.HIGH,
    category="network",
    rationale=(
        "Putting a function in a VPC only limits what it can reach if its security group restricts "
        "egress. A group with no egress rule (AWS then adds an allow-all rule) or with a rule allowing "
        "every protocol or every port to 0.0.0.0/0 or ::/0 lets compromised function code open "
        "connections to any host, the usual path for data exfiltration and command-and-control."
    ),
    remediation=(
        "Declare explicit `SecurityGroupEgress` rules on the function's security group allowing only the "
        "protocols, ports and destinations it needs (for example HTTPS to a VPC endpoint prefix list, the "
        "database port to the database's security group). Declaring any egress rule removes AWS's default "
        "allow-all rule."
    ),
    check=_check_open_egress,
    snippets={
        "cloudformation": (
            "FunctionSecurityGroup:\n"
            "  Type: AWS::EC2::SecurityGroup\n"
            "  Properties:\n"
            "    GroupDescription: Lambda function egress\n"
            "    VpcId: !Ref Vpc\n"
            "    SecurityGroupEgress:\n"
            "      - IpProtocol: tcp\n"
            "        FromPort: 443\n"
            "        ToPort: 443\n"
            "        DestinationPrefixListId: pl-63a5400a  # S3 gateway endpoint\n"
            "      - IpProtocol: tcp\n"
            "        FromPort: 5432\n"
            "        ToPort: 5432\n"
            "        DestinationSecurityGroupId: !Ref DatabaseSecurityGroup\n"
        ),
        "sam": (
            "FunctionSecurityGroup:\n"
            "  Type: AWS::EC2::SecurityGroup\n"
            "  Properties:\n"
            "    GroupDescription: Lambda function egress\n"
            "    VpcId: !Ref Vpc\n"
            "    SecurityGroupEgress:\n"
            "      - IpProtocol: tcp\n"
            "        FromPort: 443\n"
            "        ToPort: 443\n"
            "        CidrIp: 10.0.0.0/16  # interface endpoints inside the VPC\n"
        ),
        "terraform": (
            'resource "aws_security_group" "function" {\n'
            "  vpc_id = aws_vpc.main.id\n"
            "  egress {\n"
            '    protocol    = "tcp"\n'
            "    from_port   = 443\n"
            "    to_port     = 443\n"
            "    cidr_blocks = [aws_vpc.main.cidr_block]\n"
            "  }\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-securitygroup.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html",
    ),
    anchors={
        "checkov": ("CKV_AWS_382",),
        "prowler": (),
        "kics": (),
        "securityhub": (),
    },
)


# ---------------------------------------------------------------- NET004
def _internet_routes(inventory: Inventory, subnet: Value) -> tuple[list[tuple[Value, Route]], bool]:
    """The (route table, route) pairs sending the subnet's default route to an internet gateway,
    and whether some default route has a target that is not known statically."""
    public: list[tuple[Value, Route]] = []
    unknown = False
    for association in inventory.route_table_associations:
        if not _same(association.subnet, subnet):
            continue
        for route in inventory.routes:
            if not _same(route.route_table, association.route_table) or route.destination not in _OPEN_CIDRS:
                continue
            if route.target_kind == "internet-gateway":
                public.append((association.route_table, route))
            unknown = unknown or route.target_kind == "unknown"
    return public, unknown


def _check_public_subnet(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for fn in inventory.functions:
        if fn.vpc is None:
            continue
        if isinstance(fn.vpc.subnet_ids, Unresolved):
            yield PUBLIC_SUBNET.not_evaluated(
                fn, f"subnets are known only at deploy time ({fn.vpc.subnet_ids.expression})")
            continue
        public: list[tuple[Value, Value, Route]] = []
        unknown = False
        for subnet in _distinct(fn.vpc.subnet_ids):
            routes, subnet_unknown = _internet_routes(inventory, subnet)
            public.extend((subnet, table, route) for table, route in routes)
            unknown = unknown or subnet_unknown
        if public:
            subnet, table, route = public[0]
            yield PUBLIC_SUBNET.finding(
                inventory, fn, f"Function {fn.id} is attached to public subnet {subnet}: route table {table} "
                f"sends {route.destination} to internet gateway {route.gateway}",
                location=fn.at("VpcConfig.SubnetIds"),
                evidence={"public_subnets": sorted({str(s) for s, _, _ in public}),
                          "route_tables": sorted({str(t) for _, t, _ in public})})
        elif unknown:
            yield PUBLIC_SUBNET.not_evaluated(fn, "a default route of its subnets has an unknown target")


PUBLIC_SUBNET = Rule(
    code="NET004",
    slug="function-in-public-subnet",
    title="Function attached to a public subnet",
    severity=Severity.MEDIUM,
    confidence=Confidence.HIGH,
    category="network",
    rationale=(
        "Lambda never gives its network interfaces public IP addresses, so a function in a subnet whose "
        "default route goes to an internet gateway has no working internet access, and the usual "
        "workarounds (opening the security group, attaching elastic IPs to the function's interfaces) "
        "expose it. It also places the function next to internet-facing resources instead of in an "
        "isolated private tier."
    ),
    remediation=(
        "Attach the function only to private subnets whose default route goes to a NAT gateway (or that "
        "have no default route and reach AWS services through VPC endpoints). Keep internet gateways for "
        "the route tables of public subnets that hold load balancers or NAT gateways."
    ),
    check=_check_public_subnet,
    snippets={
        "cloudformation": (
            "PrivateRouteTable:\n"
            "  Type: AWS::EC2::RouteTable\n"
            "  Properties:\n"
            "    VpcId: !Ref Vpc\n"
            "PrivateDefaultRoute:\n"
            "  Type: AWS::EC2::Route\n"
            "  Properties:\n"
            "    RouteTableId: !Ref PrivateRouteTable\n"
            "    DestinationCidrBlock: 0.0.0.0/0\n"
            "    NatGatewayId: !Ref NatGateway\n"
            "PrivateSubnetRouteTable:\n"
            "  Type: AWS::EC2::SubnetRouteTableAssociation\n"
            "  Properties:\n"
            "    SubnetId: !Ref PrivateSubnet\n"
            "    RouteTableId: !Ref PrivateRouteTable\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    VpcConfig:\n"
            "      SubnetIds: [!Ref PrivateSubnetA, !Ref PrivateSubnetB]  # routed through a NAT gateway\n"
            "      SecurityGroupIds: [!Ref FunctionSecurityGroup]\n"
        ),
        "terraform": (
            'resource "aws_route" "private_default" {\n'
            "  route_table_id         = aws_route_table.private.id\n"
            '  destination_cidr_block = "0.0.0.0/0"\n'
            "  nat_gateway_id         = aws_nat_gateway.main.id\n"
            "}\n"
            'resource "aws_lambda_function" "this" {\n'
            "  vpc_config {\n"
            "    subnet_ids         = [aws_subnet.private_a.id, aws_subnet.private_b.id]\n"
            "    security_group_ids = [aws_security_group.function.id]\n"
            "  }\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc-internet.html",
        "https://docs.aws.amazon.com/vpc/latest/userguide/configure-subnets.html",
    ),
    anchors={
        "checkov": (),
        "prowler": (),
        "kics": (),
        "securityhub": (),
    },
    runs_apart=True,  # balances the two halves of a large scan (engine.py)
)


RULES: tuple[Rule, ...] = (NOT_IN_VPC, SINGLE_AZ, OPEN_EGRESS, PUBLIC_SUBNET)
