# End-to-end template: the data source resolving a family in several regions
# (after the post-processor promoted them), printing the image_ids map.
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
variable "regions" {
  type = list(string)
}
variable "access_key" {
  type      = string
  sensitive = true
}
variable "secret_key" {
  type      = string
  sensitive = true
}

data "alicloud-image-family" "web" {
  image_family        = "web-base"
  regions             = var.regions
  custom_endpoint_ecs = var.endpoint
  access_key          = var.access_key
  secret_key          = var.secret_key
}

source "null" "show" {
  communicator = "none"
}

build {
  sources = ["source.null.show"]

  provisioner "shell-local" {
    inline = ["echo OUT image_ids=${join(",", [for r, id in data.alicloud-image-family.web.image_ids : "${r}=${id}"])}"]
  }
}
