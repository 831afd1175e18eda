// Command packer-plugin-alicloud-image-family is the Packer plugin that
// provides the `alicloud-image-family` data source and post-processor. Packer starts it; run by
// hand it only answers `describe`.
package main

import (
	"fmt"
	"os"

	"github.com/hashicorp/packer-plugin-sdk/plugin"
	sdkversion "github.com/hashicorp/packer-plugin-sdk/version"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/datasource/family"
	promote "github.com/imagefamily/packer-plugin-alicloud-image-family/postprocessor/family"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/version"
)

func main() {
	pps := plugin.NewSet()
	// DEFAULT_NAME makes the data source's type the plugin's own name:
	// data "alicloud-image-family" "x" {}.
	pps.RegisterDatasource(plugin.DEFAULT_NAME, new(family.Datasource))
	// And post-processor "alicloud-image-family" {}.
	pps.RegisterPostProcessor(plugin.DEFAULT_NAME, new(promote.PostProcessor))
	// Built at run time, not at package init, so that release builds that
	// stamp version.Version with -ldflags are reported as stamped, and builds
	// of a released module version report that version (version.Parts).
	v, pre := version.Parts()
	pps.SetVersion(sdkversion.NewPluginVersion(v, pre, ""))
	if err := pps.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err.Error())
		os.Exit(1)
	}
}
