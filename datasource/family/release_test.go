package family

// Release promotion through the data source: several regions (regions,
// image_ids, ignore_missing_regions), drift (expected_image_id), waiting
// (wait_timeout, newer_than) and retries in the plugin log. How the core
// looks regions up (concurrently, credentials once, guards in each) is
// imagefamily TestResolveRegionsConcurrently, TestFanOutRespectsConcurrencyCap
// and TestGuardsOnResolve's; what is the data source's is the mapping.

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
)

func imageIDs(v cty.Value) map[string]string {
	out := map[string]string{}
	for k, e := range v.GetAttr("image_ids").AsValueMap() {
		out[k] = e.AsString()
	}
	return out
}

func TestExecuteRegions(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	v, logText, err := run(t, srv, "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\nregions = [\"cn-shanghai\", \"cn-qingdao\", \"cn-hangzhou\"]\n")
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
}

// The outcomes of a lookup in one region and in several, one row per
// class (the core's other errors are imagefamily TestResolveErrors's, the
// hostile and fault rows TestExecuteHostileEndpoints's): regions without an
// image fail the build, or with ignore_missing_regions are left out of
// image_ids, and the single-image attributes are the first region that has
// one; every other failure (an API error, a guard) is never ignored;
// several failures are one line naming each, every class visible.
func TestExecuteOutcomes(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	const ignore = "\nignore_missing_regions = true"
	for _, tc := range []struct {
		name, body string
		ids        map[string]string // found: image_ids and the first region's
		first      string
		classes    []error // else the error's classes and fragments
		want, not  []string
	}{
		{"not found", `image_family = "no-such-family"`, nil, "", []error{imagefamily.ErrNotFound},
			[]string{`"no-such-family"`, "cn-hangzhou", "RequestId", "another region"}, nil},
		{"API error", "access_key = \"" + deniedID + "\"\nsecret_key = \"" + deniedKey + "\"", nil, "", []error{imagefamily.ErrAccessDenied},
			[]string{`"web-base"`, "cn-hangzhou", "RequestId", "InvalidUser.Unauthorized"}, nil},
		{"one region without an image", `regions = ["cn-hangzhou", "cn-beijing", "cn-shanghai"]`, nil, "", []error{imagefamily.ErrNotFound},
			[]string{`no available image in family "web-base" in region cn-beijing`}, []string{"regions failed"}},
		{"ignored", `regions = ["cn-hangzhou", "cn-beijing", "cn-shanghai"]` + ignore,
			map[string]string{"cn-hangzhou": "m-base-mid", "cn-shanghai": "m-sh-web"}, "cn-hangzhou", nil,
			[]string{"ignore_missing_regions", "in region cn-beijing; left out of image_ids"}, nil},
		{"the first region ignored", `regions = ["cn-beijing", "cn-shanghai"]` + ignore, map[string]string{"cn-shanghai": "m-sh-web"}, "cn-shanghai", nil, nil, nil},
		{"none has an image", "regions = [\"cn-beijing\", \"cn-shanghai\"]\nimage_family = \"arm-base\"" + ignore, nil, "", []error{imagefamily.ErrNotFound},
			[]string{"none of the 2 regions has an available image (ignore_missing_regions needs at least one)", "in region cn-beijing", "in region cn-shanghai"}, nil},
		{"an API error is not ignored", `regions = ["cn-hangzhou", "cn-nowhere-1", "cn-beijing"]` + ignore, nil, "", []error{imagefamily.ErrRegionNotFound},
			[]string{"cn-nowhere-1"}, []string{"cn-beijing"}},
		{"a guard is not ignored", "regions = [\"cn-hangzhou\", \"cn-beijing\"]\nos_type = \"windows\"" + ignore, nil, "", []error{imagefamily.ErrGuard},
			[]string{"fails the os_type guard"}, nil},
		{"several failures", `regions = ["cn-hangzhou", "cn-nowhere-1", "cn-beijing"]`, nil, "", []error{imagefamily.ErrRegionNotFound, imagefamily.ErrNotFound},
			[]string{"2 of 3 regions failed", "cn-nowhere-1", "InvalidRegionId.NotFound", "in region cn-beijing"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			block := tc.body + "\ncustom_endpoint_ecs = \"" + srv.URL + "\"\n"
			if !strings.Contains(block, "image_family") {
				block += "image_family = \"web-base\"\n"
			}
			if !strings.Contains(block, "regions") {
				block += "region = \"cn-hangzhou\"\n"
			}
			if !strings.Contains(block, "access_key") {
				block += creds
			}
			v, text, err := runBlock(t, srv, block)
			if tc.ids != nil {
				if err != nil {
					t.Fatalf("Execute: %v", err)
				}
				if got := imageIDs(v); !reflect.DeepEqual(got, tc.ids) || v.GetAttr("region").AsString() != tc.first || v.GetAttr("image_id").AsString() != tc.ids[tc.first] {
					t.Fatalf("image_ids = %v, region %s, want %v and %s's image", got, v.GetAttr("region").AsString(), tc.ids, tc.first)
				}
			} else {
				if err == nil {
					t.Fatal("Execute succeeded")
				}
				for _, c := range tc.classes {
					if !errors.Is(err, c) {
						t.Errorf("error %v is not %v", err, c)
					}
				}
				text = err.Error()
				// The core's errors already name family and region; with one
				// region the wrapper must not say it again.
				if !strings.Contains(block, "regions") && strings.Count(text, `family "`) > 1 {
					t.Errorf("family named twice in %q", text)
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("%q lacks %q", text, w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(text, w) {
					t.Errorf("%q holds %q", text, w)
				}
			}
		})
	}
}

// expected_image_id: the family has not moved, or a DriftError says how.
func TestExecuteExpectedImageID(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	// Expected ids have an image id's shape: the newest image here has a
	// real-looking id.
	srv.AddImage("cn-hangzhou", img("m-bp1basenew00000001", "web-base", "Available", "2024-03-05T00:00:00Z", "x86_64", "linux"))
	base := "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\n"
	v, _, err := run(t, srv, base+`expected_image_id = "m-bp1basenew00000001"`)
	if err != nil || v.GetAttr("image_id").AsString() != "m-bp1basenew00000001" {
		t.Fatalf("the family did not move: %v", err)
	}
	_, _, err = run(t, srv, base+`expected_image_id = "m-bp1baseold00000001"`)
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

// wait_timeout and newer_than reach the core's wait (its schedule and
// regions are imagefamily TestWait, TestWaitNewerThanIgnoresOlder and
// TestWaitScheduleReachesTheDeadline's); its progress goes to the plugin
// log; at the deadline the build fails saying it waited, how many polls and
// what it saw last.
func TestExecuteWait(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	// The family gains its first image after two answers.
	srv.AddImageAfter("cn-hangzhou", img("m-late-1", "late-base", "Available", "2024-03-10T00:00:00Z", "x86_64", "linux"), 2)
	v, logText, err := run(t, srv, "image_family = \"late-base\"\nregion = \"cn-hangzhou\"\nwait_timeout = \"10m\"\n")
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

	// newer_than: until the deadline (polls at 0s, 2s and 3s) the newest
	// image is m-base-mid.
	_, logText, err = run(t, srv, "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\nwait_timeout = 3\nnewer_than = \"m-base-mid\"\n")
	if !errors.Is(err, imagefamily.ErrNotFound) {
		t.Fatalf("Execute = %v", err)
	}
	for _, w := range []string{`no available image newer than m-base-mid in family "web-base" in region cn-hangzhou after waiting`,
		"after waiting 3s (3 polls; last seen: m-base-mid (created 2024-03-01T00:00:00Z))", "RequestId"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("diagnostic %q lacks %q", err, w)
		}
	}
	if !strings.Contains(logText, "waiting in cn-hangzhou: poll 1 saw m-base-mid (created 2024-03-01T00:00:00Z)") {
		t.Errorf("the plugin log does not say what it saw:\n%s", logText)
	}
}

// Retries show up in the plugin log, one line each (the retry rules are
// imagefamily TestInvokeRetriesThrottlingThenSucceeds and TestRetryNotices's).
func TestExecuteRetriesAreLogged(t *testing.T) {
	clearEnv(t)
	srv := newEmulator(t)
	srv.Throttle("DescribeImageFromFamily", 2)
	v, logText, err := run(t, srv, "image_family = \"web-base\"\nregion = \"cn-hangzhou\"\nmax_retries = 3\n")
	if err != nil || v.GetAttr("image_id").AsString() != "m-base-mid" {
		t.Fatalf("Execute: %v", err)
	}
	for i := 1; i <= 2; i++ {
		w := fmt.Sprintf(`alicloud-image-family: retrying ECS DescribeImageFromFamily for family "web-base" in region cn-hangzhou: attempt %d of 4 failed (Throttling.User`, i)
		if !strings.Contains(logText, w) {
			t.Errorf("the plugin log lacks %q:\n%s", w, logText)
		}
	}
	if n := strings.Count(logText, "alicloud-image-family: retrying "); n != 2 {
		t.Errorf("%d retry lines, want 2", n)
	}
}
