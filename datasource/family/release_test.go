package family

// Release promotion through the data source: several regions at once
// (regions, image_ids, ignore_missing_regions), drift (expected_image_id),
// waiting (wait_timeout, newer_than), retries and wait progress in the
// plugin log, shared families, and the core's guards in every region.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/syncio"
)

// ---- Configure ----

func TestConfigureRegions(t *testing.T) {
	clearEnv(t)
	cases := []struct {
		name, body string
		want       []string
	}{
		{"region only", `region = "cn-hangzhou"`, []string{"cn-hangzhou"}},
		{"regions only", `regions = ["cn-shanghai", "cn-hangzhou"]`, []string{"cn-shanghai", "cn-hangzhou"}},
		{"region comes first", "region = \"cn-beijing\"\nregions = [\"cn-shanghai\", \"cn-hangzhou\"]", []string{"cn-beijing", "cn-shanghai", "cn-hangzhou"}},
		{"duplicates removed", "region = \"cn-hangzhou\"\nregions = [\"cn-shanghai\", \"cn-hangzhou\", \"cn-shanghai\"]", []string{"cn-hangzhou", "cn-shanghai"}},
		{"one region in both", "region = \"cn-hangzhou\"\nregions = [\"cn-hangzhou\"]", []string{"cn-hangzhou"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := mustConfigure(t, "image_family = \"web-base\"\n"+tc.body)
			if !reflect.DeepEqual(d.regions, tc.want) {
				t.Fatalf("regions = %v, want %v", d.regions, tc.want)
			}
			if d.req.Region != tc.want[0] {
				t.Fatalf("request region = %q, want the first, %q", d.req.Region, tc.want[0])
			}
		})
	}

	// The environment supplies a region only when neither attribute is set.
	t.Setenv("ALICLOUD_REGION", "ap-southeast-1")
	if d := mustConfigure(t, "image_family = \"web-base\"\nregions = [\"cn-shanghai\"]"); !reflect.DeepEqual(d.regions, []string{"cn-shanghai"}) {
		t.Fatalf("regions with ALICLOUD_REGION set = %v, want only the attribute's", d.regions)
	}
	if d := mustConfigure(t, `image_family = "web-base"`); !reflect.DeepEqual(d.regions, []string{"ap-southeast-1"}) {
		t.Fatalf("regions from the environment = %v", d.regions)
	}
}

// During `packer validate` a list that is not known yet arrives as an empty
// list, and an element that is not known yet as "<unknown>": Configure
// accepts both, and Execute refuses to send anything.
func TestConfigureRegionsPlaceholders(t *testing.T) {
	clearEnv(t)
	srv := newReleaseEmulator(t)
	for _, tc := range []struct{ name, body, want string }{
		{"unknown element", "regions = [\"cn-hangzhou\", unknown]", "regions not known yet"},
		{"unknown list", "regions = unknown_list", "regions is empty"},
		{"empty list", "regions = []", "regions is empty"},
		{"unknown wait and newer_than", "region = \"cn-hangzhou\"\nwait_timeout = unknown\nnewer_than = \"m-base-mid\"", "wait_timeout not known yet"},
		{"unknown expected_image_id", "regions = [\"cn-hangzhou\", \"cn-shanghai\"]\nexpected_image_id = unknown", "expected_image_id not known yet"},
		{"unknown guards", "region = \"cn-hangzhou\"\narchitecture = unknown\nos_type = unknown\nmax_age = unknown\nowners = [\"self\", unknown]", "architecture, max_age, os_type, owners not known yet"},
		{"unknown ignore_missing_regions", "regions = [\"cn-hangzhou\", unknown]\nignore_missing_regions = unknown_bool", "regions not known yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.ResetCounts()
			d, err := configure(t, "image_family = \"web-base\"\n"+tc.body+creds+"custom_endpoint_ecs = \""+srv.URL+"\"\n")
			if err != nil {
				t.Fatalf("Configure refused a placeholder: %v", err)
			}
			d.prepare = func(r *imagefamily.Request) { r.Transport = srv.Transport() }
			_, err = d.Execute()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Execute = %v, want %q", err, tc.want)
			}
			if n := srv.Requests(""); n != 0 {
				t.Fatalf("%d requests sent", n)
			}
		})
	}
}

func TestConfigureWait(t *testing.T) {
	clearEnv(t)
	base := "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\n"
	for in, want := range map[string]time.Duration{
		"0": 0, "0s": 0, "90": 90 * time.Second, "20m": 20 * time.Minute, "6h": 6 * time.Hour, "21600": 6 * time.Hour,
	} {
		d := mustConfigure(t, base+"wait_timeout = \""+in+"\"\n")
		if d.req.Wait != want {
			t.Errorf("wait_timeout %q = %s, want %s", in, d.req.Wait, want)
		}
	}
	d := mustConfigure(t, base+"wait_timeout = 600\nnewer_than = \"m-bp1demowebbase000003\"\n")
	if d.req.Wait != 10*time.Minute || d.req.NewerThan != "m-bp1demowebbase000003" {
		t.Fatalf("wait %s newer_than %q", d.req.Wait, d.req.NewerThan)
	}
	d = mustConfigure(t, base+"expected_image_id = \"m-bp1demowebbase000003\"\nignore_missing_regions = true\n")
	if d.config.ExpectedImageID != "m-bp1demowebbase000003" || !d.config.IgnoreMissingRegions {
		t.Fatalf("config = %+v", d.config)
	}
}

// Bad values of the new attributes: a Configure error (what `packer
// validate` prints) naming the attribute and the rule, and nothing sent.
func TestConfigureRejectsReleaseAttributes(t *testing.T) {
	clearEnv(t)
	srv := newReleaseEmulator(t)
	base := "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\n"
	two := "image_family = \"web-base\"\nregions = [\"cn-hangzhou\", \"cn-shanghai\"]\n"
	cases := []struct {
		name, body string
		want       []string
	}{
		{"wait of 21601 seconds", base + `wait_timeout = 21601`, []string{`invalid wait_timeout "21601"`, "a bare number counts seconds"}},
		{"wait in words", base + `wait_timeout = "an hour"`, []string{`invalid wait_timeout "an hour"`, "such as 90s"}},
		{"newer_than without wait", base + `newer_than = "m-base-mid"`, []string{`invalid newer_than "m-base-mid"`, "only has a meaning with wait_timeout (how long to wait for an image newer than it): set wait_timeout too"}},
		{"newer_than with a bad wait", base + "newer_than = \"m-base-mid\"\nwait_timeout = \"-1m\"", []string{`invalid wait_timeout "-1m"`}},
		{"expected_image_id with several regions", two + `expected_image_id = "m-bp1basenew00000001"`, []string{`expected_image_id "m-bp1basenew00000001"`, "single region", "2 regions are looked up (cn-hangzhou, cn-shanghai)"}},
		{"expected_image_id with region and regions", base + "regions = [\"cn-shanghai\"]\nexpected_image_id = \"m-bp1basenew00000001\"", []string{"expected_image_id", "single region"}},
		{"expected_image_id of two ids", base + `expected_image_id = "m-a1,m-b2"`, []string{`expected_image_id "m-a1,m-b2"`, "one image id"}},
		{"expected_image_id not an id", base + `expected_image_id = "-m-base"`, []string{`expected_image_id "-m-base"`, "not an image id"}},
		{"regions with underscore", image("regions = [\"cn-hangzhou\", \"cn_shanghai\"]"), []string{`invalid regions "cn_shanghai"`, "region id"}},
		{"regions with an empty element", image("regions = [\"cn-hangzhou\", \"\"]"), []string{`invalid regions ""`, "an element is empty"}},
		{"region bad next to regions", image("region = \"Hangzhou\"\nregions = [\"cn-shanghai\"]"), []string{`invalid region "Hangzhou"`}},
		{"guards with several regions", two + "architecture = \"ARM\"\nos_type = \"unix\"", []string{`invalid architecture "ARM"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv.ResetCounts()
			_, err := configure(t, tc.body+creds+"custom_endpoint_ecs = \""+srv.URL+"\"\n")
			if err == nil {
				t.Fatal("Configure accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if n := srv.Requests(""); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

func image(body string) string { return "image_family = \"web-base\"\n" + body }

// ---- Execute ----

// newReleaseEmulator: web-base in cn-hangzhou (m-base-mid newest), in
// cn-shanghai and cn-qingdao; cn-beijing is empty; golden-base shared by
// account 210987654321 in cn-hangzhou.
func newReleaseEmulator(t *testing.T) *ecstest.Server {
	t.Helper()
	srv := newEmulator(t)
	srv.AddImage("cn-shanghai", img("m-sh-web", "web-base", "Available", "2024-03-02T00:00:00Z", "x86_64", "linux"))
	srv.AddImage("cn-qingdao", img("m-qd-web", "web-base", "Available", "2024-03-03T00:00:00Z", "x86_64", "linux"))
	shared := img("m-shared-golden", "golden-base", "Available", "2024-03-04T00:00:00Z", "x86_64", "linux")
	shared.ImageOwnerAlias, shared.ImageOwnerId = "others", 210987654321
	srv.AddImage("cn-hangzhou", shared)
	return srv
}

// runRelease is run with a fake sleep for retries and wait polls (so the
// tests never sleep) and the plugin log captured.
func runRelease(t *testing.T, srv *ecstest.Server, body string) (cty.Value, string, error) {
	t.Helper()
	return runReleaseSleep(t, srv, body, func(ctx context.Context, _ time.Duration) error { return ctx.Err() })
}

func runReleaseSleep(t *testing.T, srv *ecstest.Server, body string, sleep func(context.Context, time.Duration) error) (cty.Value, string, error) {
	t.Helper()
	var logBuf syncio.Buffer
	log.SetOutput(&logBuf)
	t.Cleanup(func() { log.SetOutput(io.Discard) })
	before := srv.Requests("")
	d, err := configure(t, body+creds+"custom_endpoint_ecs = \""+srv.URL+"\"\nsts_endpoint = \""+srv.URL+"\"\n")
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	if n := srv.Requests("") - before; n != 0 {
		t.Fatalf("Configure sent %d requests", n)
	}
	d.prepare = func(r *imagefamily.Request) {
		r.Transport = srv.Transport()
		r.Retry.Sleep = sleep
	}
	d.now = func() time.Time { return time.Date(2024, 3, 11, 0, 0, 0, 0, time.UTC) }
	v, err := d.Execute()
	return v, logBuf.String(), err
}

func imageIDs(v cty.Value) map[string]string {
	out := map[string]string{}
	for k, e := range v.GetAttr("image_ids").AsValueMap() {
		out[k] = e.AsString()
	}
	return out
}

func TestExecuteRegions(t *testing.T) {
	clearEnv(t)
	srv := newReleaseEmulator(t)
	v, logText, err := runRelease(t, srv, "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\nregions = [\"cn-shanghai\", \"cn-qingdao\", \"cn-hangzhou\"]\n")
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	want := map[string]string{"cn-hangzhou": "m-base-mid", "cn-shanghai": "m-sh-web", "cn-qingdao": "m-qd-web"}
	if got := imageIDs(v); !reflect.DeepEqual(got, want) {
		t.Fatalf("image_ids = %v, want %v", got, want)
	}
	// The single-image attributes are the first region's.
	if v.GetAttr("image_id").AsString() != "m-base-mid" || v.GetAttr("region").AsString() != "cn-hangzhou" ||
		v.GetAttr("image_version").AsString() != "7" {
		t.Fatalf("image_id %s region %s", v.GetAttr("image_id").AsString(), v.GetAttr("region").AsString())
	}
	if n := srv.Requests("DescribeImageFromFamily"); n != 3 {
		t.Fatalf("%d lookups for 3 regions, want 3 (one each)", n)
	}
	for _, r := range []string{"cn-hangzhou", "cn-shanghai", "cn-qingdao"} {
		if !strings.Contains(logText, "in region "+r+" resolved to "+want[r]) {
			t.Errorf("the plugin log does not say what %s resolved to:\n%s", r, logText)
		}
	}

	// One region: image_ids holds that one entry.
	v, _, err = runRelease(t, srv, "image_family = \"web-base\"\nregions = [\"cn-shanghai\"]\n")
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if got := imageIDs(v); !reflect.DeepEqual(got, map[string]string{"cn-shanghai": "m-sh-web"}) || v.GetAttr("region").AsString() != "cn-shanghai" {
		t.Fatalf("image_ids = %v, region %s", got, v.GetAttr("region").AsString())
	}
}

// Every region is looked up at once: with each answer held back for a
// second, all four requests are in flight together.
func TestExecuteRegionsConcurrently(t *testing.T) {
	clearEnv(t)
	srv := newReleaseEmulator(t)
	srv.AddImage("cn-beijing", img("m-bj-web", "web-base", "Available", "2024-03-05T00:00:00Z", "x86_64", "linux"))
	srv.Delay("DescribeImageFromFamily", time.Second)
	d := mustConfigure(t, "image_family = \"web-base\"\nregions = [\"cn-hangzhou\", \"cn-shanghai\", \"cn-qingdao\", \"cn-beijing\"]\n"+creds+
		"custom_endpoint_ecs = \""+srv.URL+"\"\n")
	inFlight := &countingTransport{base: srv.Transport()}
	d.prepare = func(r *imagefamily.Request) { r.Transport = inFlight }
	v, err := d.Execute()
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if n := len(imageIDs(v)); n != 4 {
		t.Fatalf("image_ids has %d regions", n)
	}
	if n := inFlight.max.Load(); n != 4 {
		t.Fatalf("at most %d of 4 requests were in flight at once: the regions were not looked up concurrently", n)
	}
}

// countingTransport records the most requests in flight at once.
type countingTransport struct {
	base     http.RoundTripper
	now, max atomic.Int32
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	n := c.now.Add(1)
	defer c.now.Add(-1)
	for {
		m := c.max.Load()
		if n <= m || c.max.CompareAndSwap(m, n) {
			break
		}
	}
	return c.base.RoundTrip(r)
}

func TestExecuteMissingRegions(t *testing.T) {
	clearEnv(t)
	srv := newReleaseEmulator(t)
	three := "image_family = \"web-base\"\nregions = [\"cn-hangzhou\", \"cn-beijing\", \"cn-shanghai\"]\n"

	// A region without an image fails the build, naming it.
	_, _, err := runRelease(t, srv, three)
	if err == nil || !errors.Is(err, imagefamily.ErrNotFound) ||
		!strings.Contains(err.Error(), `no available image in family "web-base" in region cn-beijing`) {
		t.Fatalf("Execute with an empty region = %v", err)
	}
	if strings.Contains(err.Error(), "regions failed") {
		t.Errorf("one failed region is reported as a list: %v", err)
	}

	// ignore_missing_regions leaves it out of image_ids.
	v, logText, err := runRelease(t, srv, three+"ignore_missing_regions = true\n")
	if err != nil {
		t.Fatalf("Execute with ignore_missing_regions: %v", err)
	}
	if got := imageIDs(v); !reflect.DeepEqual(got, map[string]string{"cn-hangzhou": "m-base-mid", "cn-shanghai": "m-sh-web"}) {
		t.Fatalf("image_ids = %v", got)
	}
	if !strings.Contains(logText, "ignore_missing_regions") || !strings.Contains(logText, "in region cn-beijing; left out of image_ids") {
		t.Errorf("the plugin log does not say a region was left out:\n%s", logText)
	}

	// The first region missing: the single-image attributes are the first
	// region that has an image.
	v, _, err = runRelease(t, srv, "image_family = \"web-base\"\nregions = [\"cn-beijing\", \"cn-shanghai\"]\nignore_missing_regions = true\n")
	if err != nil {
		t.Fatalf("Execute: %v", err)
	}
	if v.GetAttr("image_id").AsString() != "m-sh-web" || v.GetAttr("region").AsString() != "cn-shanghai" {
		t.Fatalf("image_id %s region %s, want cn-shanghai's", v.GetAttr("image_id").AsString(), v.GetAttr("region").AsString())
	}

	// No region with an image: the build still fails, naming each.
	_, _, err = runRelease(t, srv, "image_family = \"arm-base\"\nregions = [\"cn-beijing\", \"cn-shanghai\"]\nignore_missing_regions = true\n")
	if err == nil || !errors.Is(err, imagefamily.ErrNotFound) {
		t.Fatalf("Execute with no image anywhere = %v", err)
	}
	for _, w := range []string{"none of the 2 regions has an available image (ignore_missing_regions needs at least one)", "in region cn-beijing", "in region cn-shanghai"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("diagnostic %q lacks %q", err, w)
		}
	}

	// Other failures are never ignored.
	_, _, err = runRelease(t, srv, "image_family = \"web-base\"\nregions = [\"cn-hangzhou\", \"cn-nowhere-1\", \"cn-beijing\"]\nignore_missing_regions = true\n")
	if err == nil || !errors.Is(err, imagefamily.ErrRegionNotFound) || !strings.Contains(err.Error(), "cn-nowhere-1") {
		t.Fatalf("an unknown region with ignore_missing_regions = %v", err)
	}
	if strings.Contains(err.Error(), "cn-beijing") {
		t.Errorf("the ignored region is in the diagnostic: %v", err)
	}

	// Several failures: one line naming each, every class visible.
	_, _, err = runRelease(t, srv, "image_family = \"web-base\"\nregions = [\"cn-hangzhou\", \"cn-nowhere-1\", \"cn-beijing\"]\n")
	if err == nil || !errors.Is(err, imagefamily.ErrRegionNotFound) || !errors.Is(err, imagefamily.ErrNotFound) {
		t.Fatalf("two failed regions = %v", err)
	}
	for _, w := range []string{"2 of 3 regions failed", "cn-nowhere-1", "InvalidRegionId.NotFound", "in region cn-beijing"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("diagnostic %q lacks %q", err, w)
		}
	}
	if !safetext.IsClean(err.Error()) || len(err.Error()) > maxDiagnostic+64 {
		t.Errorf("diagnostic is not one bounded printable line: %q", err)
	}
}

// Credentials are shared by every region: a credentials failure is
// reported once, naming every region.
func TestExecuteRegionsCredentialsOnce(t *testing.T) {
	clearEnv(t)
	srv := newReleaseEmulator(t)
	d := mustConfigure(t, "image_family = \"web-base\"\nregions = [\"cn-hangzhou\", \"cn-shanghai\"]\ncustom_endpoint_ecs = \""+srv.URL+"\"\n")
	d.prepare = func(r *imagefamily.Request) { r.Transport = srv.Transport() }
	_, err := d.Execute()
	if err == nil || !errors.Is(err, imagefamily.ErrNoCredentials) {
		t.Fatalf("Execute without credentials = %v", err)
	}
	if !strings.Contains(err.Error(), `resolving image family "web-base" in regions cn-hangzhou, cn-shanghai`) ||
		strings.Count(err.Error(), "no Alibaba Cloud credentials found") != 1 {
		t.Fatalf("diagnostic: %v", err)
	}
	if n := srv.Requests(""); n != 0 {
		t.Fatalf("%d requests sent without credentials", n)
	}
}

// The core's guards apply in every region; the diagnostic names the
// attribute.
func TestExecuteGuardsInEveryRegion(t *testing.T) {
	clearEnv(t)
	srv := newReleaseEmulator(t)
	_, _, err := runRelease(t, srv, "image_family = \"web-base\"\nregions = [\"cn-hangzhou\", \"cn-shanghai\"]\nmax_age = \"9d\"\n")
	// m-base-mid is 10 days old on 2024-03-11, m-sh-web 9 days.
	if err == nil {
		t.Fatal("max_age let a 10-day-old image through")
	}
	var ge *GuardError
	if !errors.As(err, &ge) || !errors.Is(err, imagefamily.ErrGuard) || ge.Attr != "max_age" || ge.Region != "cn-hangzhou" {
		t.Fatalf("error %T %v", err, err)
	}
	if !strings.Contains(err.Error(), "fails the max_age guard: expected an image at most 9d old, found one 10d old") ||
		strings.Contains(err.Error(), "regions failed") {
		t.Fatalf("diagnostic %v", err)
	}
	_, _, err = runRelease(t, srv, "image_family = \"web-base\"\nregions = [\"cn-hangzhou\", \"cn-shanghai\"]\narchitecture = \"arm64\"\n")
	for _, w := range []string{"2 of 2 regions failed", `in region cn-hangzhou resolved to m-base-mid`, `in region cn-shanghai resolved to m-sh-web`,
		`fails the architecture guard: expected "arm64", found "x86_64"`} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("diagnostic %v lacks %q", err, w)
		}
	}
	// ignore_missing_regions does not ignore a guard.
	_, _, err = runRelease(t, srv, "image_family = \"web-base\"\nregions = [\"cn-hangzhou\", \"cn-beijing\"]\nos_type = \"windows\"\nignore_missing_regions = true\n")
	if err == nil || !strings.Contains(err.Error(), "fails the os_type guard") {
		t.Fatalf("os_type with ignore_missing_regions = %v", err)
	}
}

func TestExecuteExpectedImageID(t *testing.T) {
	clearEnv(t)
	srv := newReleaseEmulator(t)
	// Expected ids have an image id's shape: the newest images
	// here have real-looking ids.
	srv.AddImage("cn-hangzhou", img("m-bp1basenew00000001", "web-base", "Available", "2024-03-05T00:00:00Z", "x86_64", "linux"))
	srv.AddImage("cn-shanghai", img("m-uf6shweb0000000002", "web-base", "Available", "2024-03-06T00:00:00Z", "x86_64", "linux"))
	base := "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\n"
	v, _, err := runRelease(t, srv, base+`expected_image_id = "m-bp1basenew00000001"`)
	if err != nil || v.GetAttr("image_id").AsString() != "m-bp1basenew00000001" {
		t.Fatalf("the family did not move: %v", err)
	}
	// One region in regions counts as a single region too.
	if _, _, err = runRelease(t, srv, "image_family = \"web-base\"\nregions = [\"cn-shanghai\"]\nexpected_image_id = \"m-uf6shweb0000000002\""); err != nil {
		t.Fatalf("regions of one with expected_image_id: %v", err)
	}
	_, _, err = runRelease(t, srv, base+`expected_image_id = "m-bp1baseold00000001"`)
	var de *DriftError
	if err == nil || !errors.As(err, &de) {
		t.Fatalf("a moved family = %T %v", err, err)
	}
	for _, w := range []string{`image family "web-base" moved away from expected_image_id`, "cn-hangzhou: m-bp1baseold00000001 -> m-bp1basenew00000001 (created 2024-03-05T00:00:00Z)"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("diagnostic %q lacks %q", err, w)
		}
	}
}

func TestExecuteWait(t *testing.T) {
	clearEnv(t)
	srv := newReleaseEmulator(t)
	// The family gains its first image after two answers.
	srv.AddImageAfter("cn-hangzhou", img("m-late-1", "late-base", "Available", "2024-03-10T00:00:00Z", "x86_64", "linux"), 2)
	v, logText, err := runRelease(t, srv, "image_family = \"late-base\"\nregion = \"cn-hangzhou\"\nwait_timeout = \"10m\"\n")
	if err != nil || v.GetAttr("image_id").AsString() != "m-late-1" {
		t.Fatalf("wait: %v", err)
	}
	if n := srv.Requests("DescribeImageFromFamily"); n != 3 {
		t.Errorf("%d polls, want 3", n)
	}
	for _, w := range []string{
		`family "late-base": waiting in cn-hangzhou: poll 1 saw no available image; next poll in 2s`,
		`waiting in cn-hangzhou: poll 2 saw no available image; next poll in 4s`,
	} {
		if !strings.Contains(logText, w) {
			t.Errorf("the plugin log lacks %q:\n%s", w, logText)
		}
	}

	// newer_than: wait until the newest image is another one, in every
	// region.
	srv.ResetCounts()
	srv.AddImageAfter("cn-hangzhou", img("m-base-new", "web-base", "Available", "2024-03-09T00:00:00Z", "x86_64", "linux"), 2)
	srv.AddImageAfter("cn-shanghai", img("m-sh-new", "web-base", "Available", "2024-03-09T00:00:00Z", "x86_64", "linux"), 2)
	v, logText, err = runRelease(t, srv, "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\nwait_timeout = 600\nnewer_than = \"m-base-mid\"\n")
	if err != nil || v.GetAttr("image_id").AsString() != "m-base-new" {
		t.Fatalf("newer_than: %v", err)
	}
	if !strings.Contains(logText, "waiting in cn-hangzhou: poll 1 saw m-base-mid (created 2024-03-01T00:00:00Z)") {
		t.Errorf("the plugin log does not say what it saw:\n%s", logText)
	}

	// Several regions wait together. The images appear after two answers
	// (counted over both regions); the first pause of each region waits
	// for the other region's first poll, so each sees "no image" once.
	srv.AddImageAfter("cn-hangzhou", img("m-multi-hz", "multi-base", "Available", "2024-03-10T00:00:00Z", "x86_64", "linux"), 2)
	srv.AddImageAfter("cn-shanghai", img("m-multi-sh", "multi-base", "Available", "2024-03-10T00:00:00Z", "x86_64", "linux"), 2)
	var firstPolls sync.WaitGroup
	firstPolls.Add(2)
	var pauses atomic.Int32
	barrier := func(ctx context.Context, _ time.Duration) error {
		if pauses.Add(1) <= 2 {
			firstPolls.Done()
			done := make(chan struct{})
			go func() { firstPolls.Wait(); close(done) }()
			select {
			case <-done:
			case <-ctx.Done():
			}
		}
		return ctx.Err()
	}
	v, logText, err = runReleaseSleep(t, srv, "image_family = \"multi-base\"\nregions = [\"cn-hangzhou\", \"cn-shanghai\"]\nwait_timeout = \"5m\"\n", barrier)
	if err != nil {
		t.Fatalf("wait in two regions: %v", err)
	}
	if got := imageIDs(v); !reflect.DeepEqual(got, map[string]string{"cn-hangzhou": "m-multi-hz", "cn-shanghai": "m-multi-sh"}) {
		t.Fatalf("image_ids = %v", got)
	}
	if !strings.Contains(logText, "waiting in cn-hangzhou: poll 1") || !strings.Contains(logText, "waiting in cn-shanghai: poll 1") {
		t.Errorf("progress of each region missing:\n%s", logText)
	}
}

// At the deadline the build fails saying it waited, how many polls and
// what it saw last.
func TestExecuteWaitDeadline(t *testing.T) {
	clearEnv(t)
	srv := newReleaseEmulator(t)
	// A real clock here: a 3s wait polls at 0s, 2s and, the last time, at
	// the deadline (3s).
	d := mustConfigure(t, "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\nwait_timeout = 3\nnewer_than = \"m-base-mid\"\n"+creds+
		"custom_endpoint_ecs = \""+srv.URL+"\"\n")
	d.prepare = func(r *imagefamily.Request) { r.Transport = srv.Transport() }
	start := time.Now()
	_, err := d.Execute()
	if err == nil || !errors.Is(err, imagefamily.ErrNotFound) {
		t.Fatalf("Execute = %v", err)
	}
	for _, w := range []string{`no available image newer than m-base-mid in family "web-base" in region cn-hangzhou after waiting`,
		"after waiting 3s (3 polls; last seen: m-base-mid (created 2024-03-01T00:00:00Z))", "RequestId"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("diagnostic %q lacks %q", err, w)
		}
	}
	if e := time.Since(start); e < 3*time.Second || e > 8*time.Second {
		t.Errorf("a 3s wait took %s", e)
	}
}

// Retries show up in the plugin log, one line each.
func TestExecuteRetriesAreLogged(t *testing.T) {
	clearEnv(t)
	srv := newReleaseEmulator(t)
	srv.Throttle("DescribeImageFromFamily", 2)
	v, logText, err := runRelease(t, srv, "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\nmax_retries = 3\n")
	if err != nil || v.GetAttr("image_id").AsString() != "m-base-mid" {
		t.Fatalf("Execute: %v", err)
	}
	for i := 1; i <= 2; i++ {
		w := fmt.Sprintf(`retrying ECS DescribeImageFromFamily for family "web-base" in region cn-hangzhou: attempt %d of 4 failed (Throttling.User`, i)
		if !strings.Contains(logText, w) {
			t.Errorf("the plugin log lacks %q:\n%s", w, logText)
		}
	}
	if n := strings.Count(logText, "retrying "); n != 2 {
		t.Errorf("%d retry lines, want 2", n)
	}
	checkLog(t, logText, nil)
}

func TestExecuteSharedFamily(t *testing.T) {
	clearEnv(t)
	srv := newReleaseEmulator(t)
	v, _, err := runRelease(t, srv, "image_family = \"acs:210987654321:golden-base\"\nregion = \"cn-hangzhou\"\n")
	if err != nil || v.GetAttr("image_id").AsString() != "m-shared-golden" {
		t.Fatalf("shared family: %v", err)
	}
	// The family is not shared in cn-shanghai: the diagnostic says what to
	// check.
	_, _, err = runRelease(t, srv, "image_family = \"acs:210987654321:golden-base\"\nregions = [\"cn-hangzhou\", \"cn-shanghai\"]\n")
	if err == nil || !strings.Contains(err.Error(), "in region cn-shanghai") || !strings.Contains(err.Error(), "account 210987654321") {
		t.Fatalf("shared family missing in a region: %v", err)
	}
	// A RAM ARN is still refused.
	if _, err := configure(t, "image_family = \"acs:ram::1:role/x\"\nregion = \"cn-hangzhou\""); err == nil || !strings.Contains(err.Error(), "RAM ARN") {
		t.Fatalf("RAM ARN as a family: %v", err)
	}
}
