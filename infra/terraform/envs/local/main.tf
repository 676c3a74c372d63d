module "stack" {
  source     = "../../modules/local_stack"
  cli        = startswith(var.cli, "/") ? var.cli : abspath("${path.root}/${var.cli}")
  host       = var.host
  stack_home = var.stack_home
  ports      = var.ports
}
