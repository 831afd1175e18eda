package packere2e

// The hostile-endpoint table (conformance.HostileRows) through runRow: the
// data block's ECS endpoint is the row's listener, keys come from the
// environment. A row the user must get an image from hands exactly that
// image id, and the description with the planted text verbatim, to the
// provisioner; every other row stops the build with the row's fragment.
// runPacker checks that no line of the UI or the log starts with what any
// endpoint plants; here, that a redirect target never hears from
// us and that Packer writes a bounded amount for what was served.

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

const (
	hostileKeyID  = "LTAIHOSTILEPACKER001"
	hostileSecret = "hostile-packer-secret-MUST-NOT-LEAK-0001"
	// hostileParallel caps the builds running at once: each is a Packer
	// process, a plugin process and the row's listeners in this one.
	hostileParallel = 4
)

func TestHostileEndpointsPacker(t *testing.T) {
	in := install(t)
	sem := make(chan struct{}, hostileParallel)
	start := time.Now()
	var ran atomic.Int64
	t.Cleanup(func() {
		t.Logf("%d rows, %d at a time, in %s", ran.Load(), hostileParallel, time.Since(start).Round(time.Millisecond))
	})
	for _, row := range conformance.Sample(conformance.HostileRows(), conformance.EndToEnd) {
		t.Run(row.Name, func(t *testing.T) {
			t.Parallel()
			ran.Add(1)
			sem <- struct{}{}
			defer func() { <-sem }()
			h := conformance.StartHostile(row)
			defer h.Close()
			cert, err := h.WriteCertFile(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			tr := tableRow{
				attrs: []string{`region = "cn-hangzhou"`, fmt.Sprintf("image_family = %q", h.Family()), fmt.Sprintf("custom_endpoint_ecs = %q", h.Endpoint()),
					fmt.Sprintf("timeout = %q", h.Timeout().String()), fmt.Sprintf("max_retries = %d", conformance.HostileMaxAttempts-1)},
				env:  []string{"SSL_CERT_FILE=" + cert, "ALICLOUD_ACCESS_KEY=" + hostileKeyID, "ALICLOUD_SECRET_KEY=" + hostileSecret},
				frag: h.Fill(row.Fragment),
			}
			if row.ExitCode == 0 {
				tr.found = conformance.HostileImageID
			}
			r, _ := runRow(t, in, tr)
			if n := h.OtherRequests(); n != 0 {
				t.Errorf("the second listener (a redirect target) saw %d requests, want 0", n)
			}
			if n := h.Requests(); n != row.Requests {
				t.Errorf("the endpoint saw %d requests, want %d", n, row.Requests)
			}
			// The Packer UI and the plugin's log stay within a small
			// multiple of what was served (Packer's own lines are the slack).
			if n := int64(len(r.out) + len(r.log)); n > h.OutputBound() {
				t.Errorf("packer wrote %d bytes for %d served: more than %d times the answer", n, h.ServedBytes(), conformance.HostileOutputRatio)
			}
			// Outputs are machine values: exact, never escaped, and never
			// just the planted text.
			for _, f := range row.Forged {
				if r.outputs["image_id"] == f || r.outputs["description"] == f {
					t.Errorf("an output's value is the forged text %q", f)
				}
				if row.ExitCode == 0 && !strings.Contains(r.outputs["description"], f) {
					t.Errorf("description %q does not hold %q verbatim; outputs must stay exact", r.outputs["description"], f)
				}
			}
		})
	}
}
