variable "role" { type = string }
variable "regions" { type = set(string) }
resource "aws_lambda_function" "w" {
  for_each      = var.regions
  function_name = "worker-${each.key}"
  role          = var.role
  runtime       = "python3.8"
  handler       = "app.handler"
  filename      = "${path.module}/w.zip"
  tracing_config { mode = "Active" }
}
