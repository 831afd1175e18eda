# End-to-end template: the data source against the emulator, a null source and
# a shell-local provisioner printing every output the test checks. Settings
# come from variables so one template serves every case (error paths change
# the family, region, keys or guards).
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
variable "region" {
  type    = string
  default = "cn-hangzhou"
}
variable "family" {
  type    = string
  default = "web-base"
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
variable "ram_role_arn" {
  type    = string
  default = ""
}
variable "architecture" {
  type    = string
  default = ""
}
variable "os_type" {
  type    = string
  default = ""
}
variable "max_age" {
  type    = string
  default = ""
}

data "alicloud-image-family" "base" {
  region              = var.region
  image_family        = var.family
  access_key          = var.access_key
  secret_key          = var.secret_key
  ram_role_arn        = var.ram_role_arn
  custom_endpoint_ecs = var.endpoint
  sts_endpoint        = var.endpoint
  architecture        = var.architecture
  os_type             = var.os_type
  max_age             = var.max_age
  timeout             = "20s"
  max_attempts        = 2
}

locals {
  img = data.alicloud-image-family.base
}

source "null" "e2e" {
  communicator = "none"
}

build {
  sources = ["source.null.e2e"]

  provisioner "shell-local" {
    inline = [
      "echo 'OUT image_id=${local.img.image_id}'",
      "echo 'OUT image_name=${local.img.image_name}'",
      "echo 'OUT image_family=${local.img.image_family}'",
      "echo 'OUT image_version=${local.img.image_version}'",
      "echo 'OUT creation_time=${local.img.creation_time}'",
      "echo 'OUT status=${local.img.status}'",
      "echo 'OUT architecture=${local.img.architecture}'",
      "echo 'OUT os_type=${local.img.os_type}'",
      "echo 'OUT os_name_en=${local.img.os_name_en}'",
      "echo 'OUT platform=${local.img.platform}'",
      "echo 'OUT boot_mode=${local.img.boot_mode}'",
      "echo 'OUT size_plus_one=${local.img.size + 1}'",
      "echo 'OUT is_self_shared=${local.img.is_self_shared}'",
      "echo 'OUT is_support_cloudinit=${local.img.is_support_cloudinit}'",
      "echo 'OUT usage=${local.img.usage}'",
      "echo 'OUT region=${local.img.region}'",
      "echo 'OUT tag_build=${lookup(local.img.tags, "build", "none")}'",
      "echo 'OUT tag_count=${length(local.img.tags)}'",
      "echo 'OUT disk_count=${length(local.img.disk_device_mappings)}'",
      "echo 'OUT disk_snapshots=${join(",", local.img.disk_device_mappings[*].snapshot_id)}'",
    ]
  }
}
