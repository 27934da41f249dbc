# lambdasec cross-format suite, Terraform version: the functions of ../cloudformation.yaml.
# ../plan/plan.json is `terraform show -json` of this configuration (see tests/test_cross_format.py).
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "5.100.0" }
  }
}

provider "aws" {
  region                      = "eu-west-1"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

locals {
  lambda_trust = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

# ------------------------------------------------------------------ shared network
resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}

resource "aws_subnet" "a" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.0.1.0/24"
  availability_zone = "eu-west-1a"
}

resource "aws_subnet" "b" {
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.0.2.0/24"
  availability_zone = "eu-west-1b"
}

resource "aws_security_group" "open" {
  description = "every outbound connection allowed"
  vpc_id      = aws_vpc.main.id
  egress {
    protocol    = "-1"
    from_port   = 0
    to_port     = 0
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_security_group" "restricted" {
  description = "HTTPS inside the VPC only"
  vpc_id      = aws_vpc.main.id
  egress {
    protocol    = "tcp"
    from_port   = 443
    to_port     = 443
    cidr_blocks = ["10.0.0.0/16"]
  }
}

# ------------------------------------------------------------------ roles
resource "aws_iam_role" "basic" {
  name               = "basic"
  assume_role_policy = local.lambda_trust
}

resource "aws_iam_role_policy_attachment" "basic_logs" {
  role       = aws_iam_role.basic.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

resource "aws_iam_role_policy_attachment" "basic_vpc" {
  role       = aws_iam_role.basic.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_iam_role" "admin" {
  name               = "admin"
  assume_role_policy = local.lambda_trust
}

resource "aws_iam_role_policy_attachment" "admin" {
  role       = aws_iam_role.admin.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}

resource "aws_iam_role" "clean" {
  name               = "clean"
  assume_role_policy = local.lambda_trust
}

resource "aws_iam_role_policy_attachment" "clean_vpc" {
  role       = aws_iam_role.clean.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_iam_role_policy" "clean" {
  name = "clean"
  role = aws_iam_role.clean.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/clean:*"
      },
      {
        Effect   = "Allow"
        Action   = "sqs:SendMessage"
        Resource = "arn:aws:sqs:eu-west-1:123456789012:clean-dlq"
      },
      {
        Effect   = "Allow"
        Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
        Resource = "*"
      },
    ]
  })
}

# ------------------------------------------------------------------ what the clean function uses
resource "aws_kms_key" "env" {
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { AWS = "arn:aws:iam::123456789012:root" }
      Action    = "kms:*"
      Resource  = "*"
    }]
  })
}

resource "aws_signer_signing_profile" "lambda" {
  platform_id = "AWSLambda-SHA384-ECDSA"
}

resource "aws_lambda_code_signing_config" "enforce" {
  allowed_publishers {
    signing_profile_version_arns = [aws_signer_signing_profile.lambda.version_arn]
  }
  policies {
    untrusted_artifact_on_deployment = "Enforce"
  }
}

resource "aws_sqs_queue" "clean_dlq" {
  name = "clean-dlq"
}

# ------------------------------------------------------------------ functions
# (a) public function URL
resource "aws_lambda_function" "public_url" {
  function_name = "public-url"
  runtime       = "python3.13"
  handler       = "app.handler"
  role          = aws_iam_role.basic.arn
  s3_bucket     = "lambdasec-artifacts"
  s3_key        = "public-url.zip"
}

resource "aws_lambda_function_url" "public_url" {
  function_name      = aws_lambda_function.public_url.function_name
  authorization_type = "NONE"
}

resource "aws_lambda_permission" "public_url" {
  function_name          = aws_lambda_function.public_url.function_name
  action                 = "lambda:InvokeFunctionUrl"
  principal              = "*"
  function_url_auth_type = "NONE"
}

# (b) administrator role
resource "aws_lambda_function" "admin" {
  function_name = "admin"
  runtime       = "python3.13"
  handler       = "app.handler"
  role          = aws_iam_role.admin.arn
  s3_bucket     = "lambdasec-artifacts"
  s3_key        = "admin.zip"
}

# (c) plaintext secret in the environment
resource "aws_lambda_function" "plaintext_secret" {
  function_name = "plaintext-secret"
  runtime       = "python3.13"
  handler       = "app.handler"
  role          = aws_iam_role.basic.arn
  s3_bucket     = "lambdasec-artifacts"
  s3_key        = "plaintext-secret.zip"
  environment {
    variables = {
      GITHUB_TOKEN = "ghp_LambdasecCrossFormatFakeToken0000001"
    }
  }
}

# (d) nothing but the defaults: no code signing (like every function here except clean)
resource "aws_lambda_function" "unsigned" {
  function_name = "unsigned"
  runtime       = "python3.13"
  handler       = "app.handler"
  role          = aws_iam_role.basic.arn
  s3_bucket     = "lambdasec-artifacts"
  s3_key        = "unsigned.zip"
}

# (e) deprecated runtime
resource "aws_lambda_function" "deprecated_runtime" {
  function_name = "deprecated-runtime"
  runtime       = "python3.8"
  handler       = "app.handler"
  role          = aws_iam_role.basic.arn
  s3_bucket     = "lambdasec-artifacts"
  s3_key        = "deprecated-runtime.zip"
}

# (f) VPC function whose security group allows all egress
resource "aws_lambda_function" "open_egress" {
  function_name = "open-egress"
  runtime       = "python3.13"
  handler       = "app.handler"
  role          = aws_iam_role.basic.arn
  s3_bucket     = "lambdasec-artifacts"
  s3_key        = "open-egress.zip"
  vpc_config {
    subnet_ids         = [aws_subnet.a.id, aws_subnet.b.id]
    security_group_ids = [aws_security_group.open.id]
  }
}

# (g) clean
resource "aws_lambda_function" "clean" {
  function_name                  = "clean"
  runtime                        = "python3.13"
  handler                        = "app.handler"
  role                           = aws_iam_role.clean.arn
  s3_bucket                      = "lambdasec-artifacts"
  s3_key                         = "clean.zip"
  code_signing_config_arn        = aws_lambda_code_signing_config.enforce.arn
  kms_key_arn                    = aws_kms_key.env.arn
  reserved_concurrent_executions = 10
  environment {
    variables = {
      LOG_LEVEL = "info"
    }
  }
  tracing_config {
    mode = "Active"
  }
  dead_letter_config {
    target_arn = aws_sqs_queue.clean_dlq.arn
  }
  vpc_config {
    subnet_ids         = [aws_subnet.a.id, aws_subnet.b.id]
    security_group_ids = [aws_security_group.restricted.id]
  }
}
