terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "5.100.0" }
  }
}
provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
}

module "net" {
  source = "./modules/net"
}

resource "aws_iam_role" "api" {
  name = "api-fn"
  assume_role_policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "sts:AssumeRole", Principal = { Service = "lambda.amazonaws.com" } }]
  })
}

resource "aws_iam_policy" "admin" {
  name   = "everything"
  policy = jsonencode({ Version = "2012-10-17", Statement = [{ Effect = "Allow", Action = "*", Resource = "*" }] })
}

resource "aws_iam_role_policy_attachment" "admin" {
  role       = aws_iam_role.api.name
  policy_arn = aws_iam_policy.admin.arn
}

resource "aws_iam_role_policy_attachment" "basic" {
  role       = aws_iam_role.api.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
}

resource "aws_security_group" "api" {
  name   = "api"
  vpc_id = module.net.vpc_id
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_signer_signing_profile" "release" {
  platform_id = "AWSLambda-SHA384-ECDSA"
}

resource "aws_lambda_code_signing_config" "release" {
  allowed_publishers {
    signing_profile_version_arns = [aws_signer_signing_profile.release.version_arn]
  }
}

resource "aws_lambda_function" "api" {
  count                   = 2
  function_name           = "api-${count.index}"
  role                    = aws_iam_role.api.arn
  package_type            = "Image"
  image_uri               = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api:latest"
  code_signing_config_arn = aws_lambda_code_signing_config.release.arn
  reserved_concurrent_executions = 10
  environment {
    variables = { STAGE = "prod", AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE" }
  }
  vpc_config {
    subnet_ids         = module.net.subnet_ids
    security_group_ids = [aws_security_group.api.id]
  }
  tracing_config { mode = "PassThrough" }
}

resource "aws_sqs_queue" "jobs" { name = "jobs" }

resource "aws_lambda_event_source_mapping" "jobs" {
  event_source_arn = aws_sqs_queue.jobs.arn
  function_name    = aws_lambda_function.api[0].arn
}

resource "aws_lambda_layer_version" "deps" {
  layer_name = "deps"
  filename   = "deps.zip"
}

resource "aws_lambda_layer_version_permission" "public" {
  layer_name     = aws_lambda_layer_version.deps.layer_arn
  version_number = aws_lambda_layer_version.deps.version
  statement_id   = "public"
  action         = "lambda:GetLayerVersion"
  principal      = "*"
}

resource "aws_apigatewayv2_api" "http" {
  name          = "http"
  protocol_type = "HTTP"
}

resource "aws_apigatewayv2_integration" "api" {
  api_id                 = aws_apigatewayv2_api.http.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.api[1].invoke_arn
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "open" {
  api_id    = aws_apigatewayv2_api.http.id
  route_key = "GET /orders"
  target    = "integrations/${aws_apigatewayv2_integration.api.id}"
}

resource "aws_api_gateway_rest_api" "rest" { name = "rest" }

resource "aws_api_gateway_resource" "orders" {
  rest_api_id = aws_api_gateway_rest_api.rest.id
  parent_id   = aws_api_gateway_rest_api.rest.root_resource_id
  path_part   = "orders"
}

resource "aws_api_gateway_method" "get" {
  rest_api_id   = aws_api_gateway_rest_api.rest.id
  resource_id   = aws_api_gateway_resource.orders.id
  http_method   = "GET"
  authorization = "NONE"
}

resource "aws_api_gateway_integration" "get" {
  rest_api_id             = aws_api_gateway_rest_api.rest.id
  resource_id             = aws_api_gateway_resource.orders.id
  http_method             = aws_api_gateway_method.get.http_method
  integration_http_method = "POST"
  type                    = "AWS_PROXY"
  uri                     = aws_lambda_function.api[0].invoke_arn
}

resource "aws_cloudtrail" "main" {
  name           = "main"
  s3_bucket_name = "trail-bucket"
  advanced_event_selector {
    name = "mgmt"
    field_selector {
      field  = "eventCategory"
      equals = ["Management"]
    }
  }
}

resource "aws_cloudwatch_log_group" "api" {
  name              = "/aws/lambda/api-0"
  retention_in_days = 30
}
