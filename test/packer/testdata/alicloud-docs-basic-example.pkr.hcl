# The basic example of the official builder's documentation, run against the
# emulator: github.com/hashicorp/packer-plugin-alicloud@v1.1.2,
# docs/builders/alicloud-ecs.mdx ("basic-example"). Only what must change is
# changed, each marked (docs/offline-pipelines.md says why):
#   - ssh_username = "root"      -> communicator = "none"
#   - provisioner "shell" { ... } removed
# Everything else is the example's, byte for byte but for these comments and
# the packer block (which pins the plugin version the emulator serves). The
# credentials come in as the example's own variables; HTTP_PROXY points the
# builder at the emulator. Its source image is in the test's fixture.
packer {
  required_plugins {
    alicloud = {
      source  = "github.com/hashicorp/alicloud"
      version = "1.1.2"
    }
  }
}

variable "access_key" {
  type = string
}

variable "secret_key" {
  type = string
}

source "alicloud-ecs" "basic-example" {
      access_key = var.access_key
      secret_key = var.secret_key
      region = "cn-beijing"
      image_name = "packer_test2"
      source_image = "centos_7_04_64_20G_alibase_201701015.vhd"
      communicator = "none" # changed: was ssh_username = "root"; nothing boots, so nothing answers SSH
      instance_type = "ecs.n1.tiny"
      io_optimized = true
      internet_charge_type = "PayByTraffic"
      image_force_delete = true
      run_tags  = {
        "Built by"   = "Packer"
        "Managed by" = "Packer"
      }
}

build {
  sources = ["sources.alicloud-ecs.basic-example"]

  # changed: the example's provisioner "shell" (sleep 30, yum install redis)
  # is removed; it runs over SSH on the instance.
}
