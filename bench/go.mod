// The benchmark report and the programs it measures with: a module of its
// own, so the main module's build, vet and import table hold only what users
// run. The main module comes from this repository (the replace below).
module github.com/imagefamily/packer-plugin-alicloud-image-family/bench

go 1.25.10

require (
	github.com/aliyun/alibaba-cloud-sdk-go v1.63.107
	github.com/imagefamily/packer-plugin-alicloud-image-family v0.0.0-00010101000000-000000000000
)

require (
	github.com/jmespath/go-jmespath v0.4.0 // indirect
	github.com/json-iterator/go v1.1.12 // indirect
	github.com/modern-go/concurrent v0.0.0-20180306012644-bacd9c7ef1dd // indirect
	github.com/modern-go/reflect2 v1.0.2 // indirect
	github.com/opentracing/opentracing-go v1.2.1-0.20220228012449-10b1cf09e00b // indirect
	gopkg.in/ini.v1 v1.67.0 // indirect
)

replace github.com/imagefamily/packer-plugin-alicloud-image-family => ../
