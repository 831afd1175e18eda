packer {
  required_plugins {
    alicloud-image-family = {
      source  = "github.com/imagefamily/alicloud-image-family"
      version = ">= 0.1.0"
    }
  }
}

variable "region" {
  type    = string
  default = "cn-hangzhou"
}

# Credentials come from the environment (ALICLOUD_ACCESS_KEY / ALICLOUD_SECRET_KEY,
# ALIBABA_CLOUD_* variables, OIDC or an aliyun CLI profile).
data "alicloud-image-family" "base" {
  region       = var.region
  image_family = "web-base"
}

source "null" "example" {
  communicator = "none"
}

build {
  sources = ["source.null.example"]

  provisioner "shell-local" {
    inline = [
      "echo 'image_id:      ${data.alicloud-image-family.base.image_id}'",
      "echo 'image_name:    ${data.alicloud-image-family.base.image_name}'",
      "echo 'created:       ${data.alicloud-image-family.base.creation_time}'",
      "echo 'os:            ${data.alicloud-image-family.base.os_name_en} (${data.alicloud-image-family.base.architecture})'",
      "echo 'build tag:     ${lookup(data.alicloud-image-family.base.tags, "build", "none")}'",
    ]
  }
}
