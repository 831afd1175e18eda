// Command sdkmin is the yardstick for the CLI benchmark: the smallest
// program that makes the same DescribeImageFromFamily call with the SDK,
// with no validation, retries, credential chain or error mapping. The CLI is
// measured against it (bench/report).
package main

import (
	"fmt"
	"os"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: sdkmin ENDPOINT REGION FAMILY (keys from ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET)")
		os.Exit(2)
	}
	cred := credentials.NewAccessKeyCredential(os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_ID"), os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET"))
	client, err := ecs.NewClientWithOptions(os.Args[2], sdk.NewConfig().WithScheme("HTTPS"), cred)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	req := ecs.CreateDescribeImageFromFamilyRequest()
	req.Scheme = "https"
	req.Domain = os.Args[1]
	req.ImageFamily = os.Args[3]
	resp, err := client.DescribeImageFromFamily(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(resp.Image.ImageId)
}
