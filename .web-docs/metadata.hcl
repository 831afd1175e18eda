# Metadata of this plugin for the Packer integrations site
# (https://github.com/hashicorp/integration-template#metadata-configuration).
# A component's slug must match docs/datasources/<slug>.mdx (or
# docs/post-processors/<slug>.mdx) and .web-docs/components/<type>/<slug>/.
integration {
  name        = "Alibaba Cloud Image Family"
  description = "Resolves an Alibaba Cloud ECS image family to its newest available custom image, and promotes a build's images into a family in every region."
  identifier  = "packer/imagefamily/alicloud-image-family"
  component {
    type = "data-source"
    name = "Alibaba Cloud Image Family"
    slug = "alicloud-image-family"
  }
  component {
    type = "post-processor"
    name = "Alibaba Cloud Image Family"
    slug = "alicloud-image-family"
  }
}
