# Metadata of this plugin for the Packer integrations site
# (https://github.com/hashicorp/integration-template#metadata-configuration).
# The component slug must match docs/datasources/<slug>.mdx and
# .web-docs/components/data-source/<slug>/.
integration {
  name        = "Alibaba Cloud Image Family"
  description = "Resolves an Alibaba Cloud ECS image family to its newest available custom image."
  identifier  = "packer/imagefamily/alicloud-image-family"
  component {
    type = "data-source"
    name = "Alibaba Cloud Image Family"
    slug = "alicloud-image-family"
  }
}
