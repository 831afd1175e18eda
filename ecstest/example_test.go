package ecstest_test

import (
	"fmt"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

// Point a real SDK client at the emulator and ask for the newest available
// image of a family.
func Example() {
	f, err := ecstest.ParseFixture(ecstest.DemoFixture)
	if err != nil {
		panic(err)
	}
	srv := ecstest.NewServer(f)
	defer srv.Close()

	client, err := ecs.NewClientWithAccessKey("cn-hangzhou", "LTAIDEMOACCESSKEYID0001", "demo-secret-NOT-A-REAL-SECRET-0001")
	if err != nil {
		panic(err)
	}
	client.Domain = srv.Endpoint()
	client.SetTransport(srv.Transport())

	req := ecs.CreateDescribeImageFromFamilyRequest()
	req.Scheme = "http"
	req.RegionId = "cn-hangzhou"
	req.ImageFamily = "web-base"

	srv.Throttle("DescribeImageFromFamily", 1) // the first call is throttled
	if _, err := client.DescribeImageFromFamily(req); err != nil {
		fmt.Println("first call: throttled")
	}
	resp, err := client.DescribeImageFromFamily(req)
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Image.ImageId, resp.Image.Status)
	fmt.Println("requests:", srv.Requests("DescribeImageFromFamily"))
	// Output:
	// first call: throttled
	// m-bp1demowebbase000003 Available
	// requests: 2
}
