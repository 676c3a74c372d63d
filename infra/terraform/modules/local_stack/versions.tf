terraform {
  # Only the built-in terraform_data resource: no provider download, so init/apply/destroy work offline.
  required_version = ">= 1.6.0"
}
