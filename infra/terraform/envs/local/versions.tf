terraform {
  required_version = ">= 1.6.0"
  # State stays in this folder (local backend); it holds no secrets, only the CLI path and ports.
  backend "local" {}
}
