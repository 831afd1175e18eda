packer {
  required_plugins {
    alicloud-image-family = {
      source  = "github.com/imagefamily/alicloud-image-family"
      version = ">= 0.1.0"
    }
  }
}

# Second link of an image chain: the base pipeline publishes into the family
# "web-base"; this template starts from the newest base image and records which
# one in its manifest, so every application image can be traced to its base.
# With alicloud-ecs, the same value goes into source_image.
data "alicloud-image-family" "base" {
  region       = "cn-hangzhou"
  image_family = "web-base"
}

locals {
  base = data.alicloud-image-family.base
}

source "null" "app" {
  communicator = "none"
}

build {
  sources = ["source.null.app"]

  provisioner "shell-local" {
    inline = ["echo 'source_image = ${local.base.image_id} (${local.base.image_name}, version ${local.base.image_version})'"]
  }

  post-processor "manifest" {
    output = "manifest.json"
    custom_data = {
      base_image_id      = local.base.image_id
      base_image_version = local.base.image_version
      base_image_created = local.base.creation_time
    }
  }
}
