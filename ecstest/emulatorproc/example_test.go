package emulatorproc_test

import (
	"fmt"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest/emulatorproc"
)

// Drive an emulator through its control API, as a test does when the
// emulator runs as a separate process (there, build the client with
// emulatorproc.NewControl(info.URL, info.CertFile) from the ready file).
func ExampleControl() {
	f, err := ecstest.ParseFixture(ecstest.DemoFixture)
	if err != nil {
		panic(err)
	}
	srv, err := ecstest.Start(f, ecstest.Options{Control: true})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	ctl := &emulatorproc.Control{BaseURL: srv.URL, Client: srv.Client()}

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

	if err := ctl.Fault(ecstest.FaultSpec{Kind: ecstest.FaultStatus, Action: "DescribeImageFromFamily", Status: 503}); err != nil {
		panic(err)
	}
	if _, err := client.DescribeImageFromFamily(req); err != nil {
		fmt.Println("first call: failed")
	}
	if err := ctl.AddImage("cn-hangzhou", ecs.Image{ImageId: "m-new", ImageFamily: "web-base",
		Status: "Available", CreationTime: "2030-01-01T00:00:00Z"}); err != nil {
		panic(err)
	}
	resp, err := client.DescribeImageFromFamily(req)
	if err != nil {
		panic(err)
	}
	fmt.Println(resp.Image.ImageId)
	counts, err := ctl.Requests()
	if err != nil {
		panic(err)
	}
	fmt.Println("requests:", counts.All, counts.ByAction["DescribeImageFromFamily"])
	// Output:
	// first call: failed
	// m-new
	// requests: 2 2
}
