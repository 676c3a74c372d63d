locals {
  environment = merge(
    {
      RETAIL_PROFILE                     = "local"
      RETAIL_STACK__HOST                 = var.host
      RETAIL_STACK__KAFKA_PORT           = tostring(var.ports.kafka)
      RETAIL_STACK__NAMENODE_RPC_PORT    = tostring(var.ports.namenode_rpc)
      RETAIL_STACK__NAMENODE_HTTP_PORT   = tostring(var.ports.namenode_http)
      RETAIL_STACK__CASSANDRA_PORT       = tostring(var.ports.cassandra)
      RETAIL_STACK__SPARK_MASTER_PORT    = tostring(var.ports.spark_master)
      RETAIL_STACK__SPARK_MASTER_UI_PORT = tostring(var.ports.spark_master_ui)
      RETAIL_STACK__PREFECT_PORT         = tostring(var.ports.prefect)
      RETAIL_STACK__SUPERSET_PORT        = tostring(var.ports.superset)
    },
    var.stack_home == null ? {} : { RETAIL_STACK__HOME = var.stack_home },
  )
}

# The stack's lifetime: created by `stack up`, destroyed by `stack down`.
resource "terraform_data" "stack" {
  input = { cli = var.cli, environment = local.environment }

  provisioner "local-exec" {
    command     = "${self.input.cli} stack up"
    environment = self.input.environment
  }

  provisioner "local-exec" {
    when        = destroy
    command     = "${self.input.cli} stack down"
    environment = self.input.environment
  }
}

# Every apply makes sure the stack is up (a no-op for services that are running), without ever stopping it.
resource "terraform_data" "ensure_up" {
  triggers_replace = [timestamp()]
  depends_on       = [terraform_data.stack]

  provisioner "local-exec" {
    command     = "${var.cli} stack up"
    environment = local.environment
  }
}
