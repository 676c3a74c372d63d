output "kafka_bootstrap_servers" {
  description = "Kafka bootstrap servers (host:port)."
  value       = "${var.host}:${var.ports.kafka}"
}

output "hdfs_uri" {
  description = "HDFS NameNode URI for Spark and Hadoop clients."
  value       = "hdfs://${var.host}:${var.ports.namenode_rpc}"
}

output "webhdfs_url" {
  description = "WebHDFS (NameNode HTTP) base URL."
  value       = "http://${var.host}:${var.ports.namenode_http}"
}

output "cassandra_contact_points" {
  description = "Cassandra contact points."
  value       = [var.host]
}

output "cassandra_port" {
  description = "Cassandra native protocol port."
  value       = var.ports.cassandra
}

output "spark_master_url" {
  description = "Spark standalone master URL."
  value       = "spark://${var.host}:${var.ports.spark_master}"
}

output "spark_master_ui_url" {
  description = "Spark master web UI."
  value       = "http://${var.host}:${var.ports.spark_master_ui}"
}

output "prefect_api_url" {
  description = "Prefect API URL (the UI is the same address without /api)."
  value       = "http://${var.host}:${var.ports.prefect}/api"
}

output "superset_url" {
  description = "Superset (dashboards over gold); `retail dashboards login` shows the generated admin login."
  value       = "http://${var.host}:${var.ports.superset}"
}
