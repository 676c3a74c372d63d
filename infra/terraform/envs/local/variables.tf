variable "cli" {
  type        = string
  description = "The repository's ./run script: absolute, or relative to this folder."
  default     = "../../../../run"
}

variable "host" {
  type        = string
  description = "Address the local services bind to."
  default     = "127.0.0.1"
}

variable "stack_home" {
  type        = string
  description = "Folder for data, logs and pid files; null keeps the CLI's default."
  default     = null
}

variable "ports" {
  type = object({
    kafka           = number
    namenode_rpc    = number
    namenode_http   = number
    cassandra       = number
    spark_master    = number
    spark_master_ui = number
    prefect         = number
    superset        = number
  })
  description = "Client-facing ports of the services."
}
