packer {
  required_plugins {
    alicloud-image-family = {
      source  = "github.com/imagefamily/alicloud-image-family"
      version = ">= 0.1.0"
    }
  }
}

# Image families are regional: after the base pipeline copied its image to
# cn-shanghai (image_copy_regions), each region resolves its own copy. A region
# where the copy is missing, still Creating or older than max_age fails the
# build instead of starting from a stale image.
data "alicloud-image-family" "hangzhou" {
  region       = "cn-hangzhou"
  image_family = "web-base"
}

data "alicloud-image-family" "shanghai" {
  region       = "cn-shanghai"
  image_family = data.alicloud-image-family.hangzhou.image_family
  max_age      = "48h"
}

locals {
  base_image = {
    "cn-hangzhou" = data.alicloud-image-family.hangzhou.image_id
    "cn-shanghai" = data.alicloud-image-family.shanghai.image_id
  }
}

source "null" "app" {
  communicator = "none"
}

build {
  dynamic "source" {
    for_each = keys(local.base_image)
    labels   = ["null.app"]
    content {
      name = source.value
    }
  }

  provisioner "shell-local" {
    inline = ["echo '${source.name}: source_image = ${local.base_image[source.name]}'"]
  }
}
