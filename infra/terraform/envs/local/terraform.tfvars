ports = {
  kafka           = 9092
  namenode_rpc    = 9000
  namenode_http   = 9870
  cassandra       = 9042
  spark_master    = 7077
  spark_master_ui = 8080
  prefect         = 4200
  superset        = 8088
}
