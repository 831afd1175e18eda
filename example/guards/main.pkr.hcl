packer {
  required_plugins {
    alicloud-image-family = {
      source  = "github.com/imagefamily/alicloud-image-family"
      version = ">= 0.1.0"
    }
  }
}

# The build fails, naming what was expected and what was found, when the newest
# image of the family is not an x86_64 Linux image or is older than 30 days.
data "alicloud-image-family" "base" {
  region       = "cn-hangzhou"
  image_family = "web-base"
  architecture = "x86_64"
  os_type      = "linux"
  max_age      = "30d"
  timeout      = "30s"
  max_attempts = 3
}

source "null" "example" {
  communicator = "none"
}

build {
  sources = ["source.null.example"]

  provisioner "shell-local" {
    inline = ["echo 'building from ${data.alicloud-image-family.base.image_id}, created ${data.alicloud-image-family.base.creation_time}'"]
  }
}
