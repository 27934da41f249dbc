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
  skip_region_validation      = true
}
variable "api_token" {
  type      = string
  sensitive = true
  default   = "tok-2f9c81d4e6b7a035"
}
data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}
resource "aws_sqs_queue" "jobs" { name = "jobs" }
data "aws_iam_policy_document" "queue" {
  statement {
    actions   = ["sqs:ReceiveMessage"]
    resources = [aws_sqs_queue.jobs.arn]
  }
}
resource "aws_iam_role" "fn" {
  name               = "orders-fn"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}
resource "aws_iam_role_policy" "queue" {
  name   = "queue"
  role   = aws_iam_role.fn.name
  policy = data.aws_iam_policy_document.queue.json
}
resource "aws_vpc" "main" { cidr_block = "10.0.0.0/16" }
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
resource "aws_security_group" "fn" {
  name   = "fn"
  vpc_id = aws_vpc.main.id
}
resource "aws_lambda_function" "orders" {
  function_name = "orders"
  role          = aws_iam_role.fn.arn
  runtime       = "python3.12"
  handler       = "app.handler"
  filename      = "build/orders.zip"
  environment {
    variables = {
      QUEUE_URL = aws_sqs_queue.jobs.url
      API_TOKEN = var.api_token
      STAGE     = "prod"
    }
  }
  vpc_config {
    subnet_ids         = [aws_subnet.a.id, aws_subnet.b.id]
    security_group_ids = [aws_security_group.fn.id]
  }
}
resource "aws_lambda_function_url" "orders" {
  function_name      = aws_lambda_function.orders.function_name
  authorization_type = "NONE"
  cors { allow_origins = ["*"] }
}
resource "aws_lambda_permission" "s3" {
  function_name = aws_lambda_function.orders.function_name
  action        = "lambda:InvokeFunction"
  principal     = "s3.amazonaws.com"
}
resource "aws_cloudwatch_log_group" "orders" {
  name = "/aws/lambda/${aws_lambda_function.orders.function_name}"
}
module "worker" {
  source  = "./worker"
  role    = aws_iam_role.fn.arn
  regions = ["eu", "us"]
}
