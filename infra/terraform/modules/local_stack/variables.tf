variable "cli" {
  type        = string
  description = "Command that runs the project's CLI and sets it up first (the repository's ./run script)."
}

variable "host" {
  type        = string
  description = "Address every service binds to and advertises."
  default     = "127.0.0.1"
}

variable "stack_home" {
  type        = string
  description = "Folder for the services' data, logs and pid files; null keeps the CLI's default."
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
