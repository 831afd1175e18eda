# End-to-end template: the alicloud-image-family post-processor after a null
# source, promoting image_ids into a family against the emulator.
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
variable "family" {
  type    = string
  default = "web-base"
}
variable "image_ids" {
  type = map(string)
}
variable "wait_timeout" {
  type    = string
  default = "2m"
}
variable "dry_run" {
  type    = bool
  default = false
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

source "null" "promote" {
  communicator = "none"
}

build {
  sources = ["source.null.promote"]

  post-processor "alicloud-image-family" {
    image_family        = var.family
    image_ids           = var.image_ids
    wait_timeout        = var.wait_timeout
    dry_run             = var.dry_run
    custom_endpoint_ecs = var.endpoint
    access_key          = var.access_key
    secret_key          = var.secret_key
  }
}
