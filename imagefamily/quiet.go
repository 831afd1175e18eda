package imagefamily

import (
	_ "unsafe" // for go:linkname

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/utils"
)

// The SDK decides at package init whether DEBUG=sdk is set, and then prints
// every request (query string with the security token included) and every
// response body (STS secrets included) to stdout with fmt.Println. That
// breaks `$(alicloud-image-family resolve ...)`, the Packer plugin's stdout
// protocol, and the promise that secrets never reach a log. We replace the
// SDK's debug function with one that prints nothing; Request.Debug offers a
// redacted trace instead.
//
//go:linkname sdkDebug github.com/aliyun/alibaba-cloud-sdk-go/sdk.debug
var sdkDebug utils.Debug

func init() {
	sdkDebug = func(string, ...interface{}) {}
}
