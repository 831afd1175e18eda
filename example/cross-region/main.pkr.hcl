packer {
  required_plugins {
    alicloud-image-family = {
      source  = "github.com/imagefamily/alicloud-image-family"
      version = ">= 0.1.0"
    }
  }
}

variable "regions" {
  type    = list(string)
  default = ["cn-hangzhou", "cn-shanghai"]
}

# Image families are regional: after the base pipeline copied its image to the
# other regions (image_copy_regions), one block resolves the family in every
# region at once, and image_ids maps each region to its own copy. A region where
# the copy is missing, still Creating or older than max_age fails the build
# instead of starting from a stale image (ignore_missing_regions = true would
# leave it out of image_ids instead).
data "alicloud-image-family" "base" {
  regions      = var.regions
  image_family = "web-base"
  max_age      = "48h"
}

source "null" "app" {
  communicator = "none"
}

build {
  dynamic "source" {
    for_each = var.regions
    labels   = ["null.app"]
    content {
      name = source.value
    }
  }

  # With alicloud-ecs: region = source.value and
  # source_image = data.alicloud-image-family.base.image_ids[source.value].
  provisioner "shell-local" {
    inline = ["echo '${source.name}: source_image = ${data.alicloud-image-family.base.image_ids[source.name]}'"]
  }
}
