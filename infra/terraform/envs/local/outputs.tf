output "kafka_bootstrap_servers" {
  description = "Kafka bootstrap servers."
  value       = module.stack.kafka_bootstrap_servers
}

output "hdfs_uri" {
  description = "HDFS NameNode URI."
  value       = module.stack.hdfs_uri
}

output "webhdfs_url" {
  description = "WebHDFS base URL."
  value       = module.stack.webhdfs_url
}

output "cassandra_contact_points" {
  description = "Cassandra contact points."
  value       = module.stack.cassandra_contact_points
}

output "cassandra_port" {
  description = "Cassandra native protocol port."
  value       = module.stack.cassandra_port
}

output "spark_master_url" {
  description = "Spark standalone master URL."
  value       = module.stack.spark_master_url
}

output "spark_master_ui_url" {
  description = "Spark master web UI."
  value       = module.stack.spark_master_ui_url
}

output "prefect_api_url" {
  description = "Prefect API URL; the UI is the same address without /api."
  value       = module.stack.prefect_api_url
}

output "superset_url" {
  description = "Superset (dashboards over gold); `retail dashboards login` shows the generated admin login."
  value       = module.stack.superset_url
}
