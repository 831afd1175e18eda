packer {
  required_plugins {
    alicloud-image-family = {
      source  = "github.com/imagefamily/alicloud-image-family"
      version = ">= 0.1.0"
    }
  }
}

# Release promotion: build the release on exactly the base image that was
# tested. The build fails, naming both ids, when the family moved since
# (expected_image_id). Leave it empty and set previous_base_image_id instead to
# wait (up to wait_timeout) for the base image a pipeline step is still
# building; progress lines are in the plugin log (PACKER_LOG=1).
variable "tested_base_image_id" {
  type    = string
  default = ""
}

variable "previous_base_image_id" {
  type    = string
  default = ""
}

data "alicloud-image-family" "base" {
  region            = "cn-hangzhou"
  image_family      = "web-base"
  expected_image_id = var.tested_base_image_id
  wait_timeout      = var.previous_base_image_id == "" ? "0" : "1h"
  newer_than        = var.previous_base_image_id
  max_attempts      = 7
}

source "null" "release" {
  communicator = "none"
}

build {
  sources = ["source.null.release"]

  provisioner "shell-local" {
    inline = ["echo 'releasing on ${data.alicloud-image-family.base.image_id} (${data.alicloud-image-family.base.image_name}, created ${data.alicloud-image-family.base.creation_time})'"]
  }
}
