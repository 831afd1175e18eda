package ecstest

import (
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

// The demo fixture's dates are relative: loaded at any time, its newest
// images are recent (so max_age guards and the examples in example/ pass),
// in the order the file writes them, none in the future; and web-base is in
// every region the cross-region example names.
func TestDemoFixtureDatesAreRecent(t *testing.T) {
	before := time.Now().UTC().Truncate(time.Second)
	f := demoFixture(t)
	after := time.Now().UTC()
	created := map[string]time.Time{}
	for region, imgs := range f.Images {
		for _, img := range imgs {
			c, err := time.Parse(timestampLayout, img.CreationTime)
			if err != nil {
				t.Fatalf("%s %s: CreationTime %q: %v", region, img.ImageId, img.CreationTime, err)
			}
			if c.After(after) {
				t.Errorf("%s %s was created %s, after the load time %s", region, img.ImageId, c, after)
			}
			created[img.ImageId] = c
		}
	}
	age := func(id string) time.Duration { return before.Sub(created[id]) }
	// As written: 2024-03-14T02:00 and 06:00, a day and 20 hours before
	// dates_as_of 2024-03-15T02:00.
	for id, want := range map[string]time.Duration{
		"m-bp1demowebbase000003": 24 * time.Hour, // web-base in cn-hangzhou
		"m-uf6demowebbase000003": 20 * time.Hour, // web-base in cn-shanghai
	} {
		if a := age(id); a < want-time.Minute || a > want+time.Minute {
			t.Errorf("%s is %s old, want %s", id, a, want)
		}
	}
	if !(created["m-bp1demowebbase000002"].Before(created["m-bp1demowebbase000003"]) &&
		created["m-bp1demowebbase000003"].Before(created["m-bp1demowebbase000004"])) {
		t.Errorf("the order of web-base builds changed: %v", created)
	}
	if f.DatesAsOf < before.Format(timestampLayout) {
		t.Errorf("dates_as_of %s after loading, want the load time", f.DatesAsOf)
	}

	// The families the examples use, newest available image per region.
	srv := NewServer(f)
	t.Cleanup(srv.Close)
	for _, region := range []string{"cn-hangzhou", "cn-shanghai"} {
		resp, err := describe(ecsClient(t, srv, demoKey, demoSecret, ""), srv, region, "web-base")
		if err != nil || resp.Image.ImageId == "" {
			t.Fatalf("web-base in %s: %v %+v", region, err, resp)
		}
		c, _ := time.Parse(timestampLayout, resp.Image.CreationTime)
		if a := time.Since(c); a > 25*time.Hour || resp.Image.Architecture != "x86_64" || resp.Image.OSType != "linux" {
			t.Errorf("web-base in %s: %s, %s old, %s %s; want x86_64 linux at most a day old",
				region, resp.Image.ImageId, a, resp.Image.Architecture, resp.Image.OSType)
		}
	}

	// As written, for tests that compare dates.
	w, err := ParseFixture(DemoFixtureAsWritten)
	if err != nil {
		t.Fatal(err)
	}
	if w.DatesAsOf != "" || w.Images["cn-hangzhou"][2].ImageId != "m-bp1demowebbase000003" || w.Images["cn-hangzhou"][2].CreationTime != "2024-03-14T02:00:00Z" {
		t.Errorf("as written: dates_as_of %q, %+v", w.DatesAsOf, w.Images["cn-hangzhou"][2])
	}
}

func TestFixtureDatesAsOf(t *testing.T) {
	const body = `{"dates_as_of": %q, "images": {"cn-hangzhou": [
	  {"ImageId": "m-1", "ImageFamily": "web", "Status": "Available", "CreationTime": "2024-03-14T02:00:00Z"},
	  {"ImageId": "m-2", "ImageFamily": "web", "Status": "Available", "CreationTime": %q}]}}`
	f, err := ParseFixture([]byte(strings.NewReplacer("%q", `"2024-03-15T02:00:00Z"`).Replace(body)))
	if err != nil {
		t.Fatal(err)
	}
	// relativeDates itself, at a fixed instant: whole seconds, exact.
	f = &Fixture{DatesAsOf: "2024-03-15T02:00:00Z", Images: map[string][]ecs.Image{"r": {
		{ImageId: "m-1", CreationTime: "2024-03-14T02:00:00Z"}, {ImageId: "m-2", CreationTime: "2024-03-15T02:00:00Z"}}}}
	now := time.Date(2030, 6, 1, 12, 0, 0, 900_000_000, time.UTC)
	if err := f.relativeDates(now); err != nil {
		t.Fatal(err)
	}
	if got := f.Images["r"]; got[0].CreationTime != "2030-05-31T12:00:00Z" || got[1].CreationTime != "2030-06-01T12:00:00Z" || f.DatesAsOf != "2030-06-01T12:00:00Z" {
		t.Errorf("shifted: %+v, dates_as_of %s", got, f.DatesAsOf)
	}
	// Loading again from what it is now does not move the dates twice.
	if err := f.relativeDates(now); err != nil || f.Images["r"][0].CreationTime != "2030-05-31T12:00:00Z" {
		t.Errorf("second load: %v %+v", err, f.Images["r"])
	}

	for _, bad := range []struct{ asOf, created, msg string }{
		{"2024-03-15", "2024-03-14T02:00:00Z", "dates_as_of"},
		{"2024-03-15T02:00:00Z", "2024-03-16T00:00:00Z", "after dates_as_of"},
		{"2024-03-15T02:00:00Z", "yesterday", "UTC time"},
		{"2024-03-15T02:00:00Z", "2024-03-14T02:00:00+08:00", "UTC time"},
	} {
		b := strings.Replace(strings.Replace(body, "%q", `"`+bad.asOf+`"`, 1), "%q", `"`+bad.created+`"`, 1)
		if _, err := ParseFixture([]byte(b)); err == nil || !strings.Contains(err.Error(), bad.msg) {
			t.Errorf("dates_as_of %s, CreationTime %s: err = %v, want %q", bad.asOf, bad.created, err, bad.msg)
		}
	}
	// Without dates_as_of, any CreationTime is served as written.
	f, err = ParseFixture([]byte(`{"images": {"r": [{"ImageId": "m-1", "CreationTime": "2099-01-01T00:00:00Z"}]}}`))
	if err != nil || f.Images["r"][0].CreationTime != "2099-01-01T00:00:00Z" {
		t.Errorf("absolute: %v %+v", err, f)
	}
}
