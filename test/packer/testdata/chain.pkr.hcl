# Two data sources, the second fed by the first: during `packer validate` the
# second one's image_family is an unknown placeholder, during a build it is
# resolved first. Shows the cross-region pattern (the copy of the family in
# another region).
packer {
  required_plugins {
    alicloud-image-family = {
      source  = "github.com/imagefamily/alicloud-image-family"
      version = ">= 0.1.0"
    }
  }
}

variable "endpoint" {
  type = string
}
variable "access_key" {
  type      = string
  default   = ""
  sensitive = true
}
variable "secret_key" {
  type      = string
  default   = ""
  sensitive = true
}

data "alicloud-image-family" "hangzhou" {
  region              = "cn-hangzhou"
  image_family        = "web-base"
  access_key          = var.access_key
  secret_key          = var.secret_key
  custom_endpoint_ecs = var.endpoint
}

data "alicloud-image-family" "shanghai" {
  region              = "cn-shanghai"
  image_family        = data.alicloud-image-family.hangzhou.image_family
  access_key          = var.access_key
  secret_key          = var.secret_key
  custom_endpoint_ecs = var.endpoint
}

source "null" "e2e" {
  communicator = "none"
}

build {
  sources = ["source.null.e2e"]

  provisioner "shell-local" {
    inline = [
      "echo 'OUT hangzhou=${data.alicloud-image-family.hangzhou.image_id}'",
      "echo 'OUT shanghai=${data.alicloud-image-family.shanghai.image_id}'",
      "echo 'OUT shanghai_copied=${data.alicloud-image-family.shanghai.is_copied}'",
    ]
  }
}
