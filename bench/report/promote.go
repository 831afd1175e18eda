package main

// The promote section: `promote` across 30 regions vs one, at the default
// settings, each timed run making a real change in every region.

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
)

// promoteResult: promote of 30 regions vs 1 against 100 ms of latency per
// request, and the rollback each run is prepared with.
type promoteResult struct {
	one, all series
}

// promoteTarget is the bound: 30 regions within 1.5 times one.
const promoteTarget = 1.5

func (b *bench) measurePromote() (*promoteResult, error) {
	// 30 regions, each with one web-base image, as in the fan-out section.
	f := demoFixture()
	var regions, pairs []string
	f.Images = map[string][]ecs.Image{}
	for i := 1; i <= fanoutRegions; i++ {
		r := fmt.Sprintf("bench-region-%d", i)
		regions = append(regions, r)
		id := promoteImage(r)
		pairs = append(pairs, r+"="+id)
		f.Images[r] = []ecs.Image{{ImageId: id, ImageName: "web-base-1", ImageFamily: "web-base", ImageVersion: "1",
			Status: "Available", CreationTime: "2024-03-14T02:00:00Z", Architecture: "x86_64", OSType: "linux", Size: 40,
			ImageOwnerAlias: "self"}}
	}
	f.Regions = regions
	emu, err := b.startEmulator("promote", f)
	if err != nil {
		return nil, err
	}
	defer emu.Close()
	emu.Latency(100 * time.Millisecond)
	env := b.baseEnv(filepath.Join(b.work, "promote", "home"), append(demoKeys(), "SSL_CERT_FILE="+emu.cert)...)
	conn := []string{"--endpoint", emu.Endpoint(), "--image-family", "web-base", "--image-ids"}
	// Each timed promote undoes a rollback (--allow-empty: the image is
	// its region's only one), so every run sets Status=Available with
	// one ModifyImageAttribute per region, between its DescribeImages and
	// its read back: the work of promoting a fresh copy.
	pair := func(name string, ids []string) command {
		ids1 := strings.Join(ids, ",")
		rollback := command{name: "rollback " + name, env: env,
			argv:  append(append([]string{b.cli, "rollback", "--allow-empty"}, conn...), ids1),
			check: outcomeLines("rolled-back", len(ids))}
		return command{name: name, env: env, prepare: &rollback,
			argv:  append(append([]string{b.cli, "promote"}, conn...), ids1),
			check: outcomeLines("promoted", len(ids))}
	}
	s, err := b.measure(2, b.runs.fanout, pair("1 region", pairs[:1]), pair(fmt.Sprintf("%d regions", fanoutRegions), pairs))
	if err != nil {
		return nil, err
	}
	return &promoteResult{one: s[0], all: s[1]}, nil
}

// promoteImage is the image of a region of the promote fixture: an image id
// has no hyphens after "m-".
func promoteImage(region string) string {
	return "m-" + strings.ReplaceAll(region, "-", "")
}

// outcomeLines checks that promote or rollback printed n lines
// "region<TAB>outcome<TAB>image" with this outcome, and exited 0.
func outcomeLines(outcome string, n int) func([]byte, int) error {
	return func(out []byte, exit int) error {
		if err := exitZero(out, exit); err != nil {
			return err
		}
		got := 0
		for _, line := range bytes.Split(out, []byte("\n")) {
			f := strings.Split(string(line), "\t")
			if len(f) == 3 && f[1] == outcome && f[2] == promoteImage(f[0]) {
				got++
			}
		}
		if got != n {
			return fmt.Errorf("%d regions %s, want %d", got, outcome, n)
		}
		return nil
	}
}

func renderPromote(p printer, r *reportData) {
	pr := r.promote
	one, all := pr.one.wallMS(), pr.all.wallMS()
	p("## Promote across regions")
	p("")
	p("`alicloud-image-family promote --image-family web-base --image-ids bench-region-1=...,...` with")
	p("%d regions vs one, at the default settings, against an emulator (TLS) with 100 ms added to", fanoutRegions)
	p("every request (%d runs each after 2 warm-ups, interleaved). Before each run, untimed, a", one.n)
	p("`rollback --allow-empty` of the same images deprecates them, so every timed run changes")
	p("every region: `DescribeImages` by id, one `ModifyImageAttribute` (`Status=Available`), the")
	p("read back with `DescribeImageFromFamily`; three round trips per region, the regions in one wave.")
	p("")
	p("| | ratio to 1 region (means) | wall time (mean ± sd) | median |")
	p("|---|---|---|---|")
	p("| 1 region | 1.00x | %s | %.1f ms |", msSD(one), one.median)
	p("| %d regions, default settings | %s | %s | %.1f ms |", fanoutRegions, ratio(all.mean, one.mean), msSD(all), all.median)
	p("")
	verdict := "met"
	if one.mean == 0 || all.mean/one.mean > promoteTarget {
		verdict = "MISSED"
	}
	p("Target (%d regions within %.1fx one region, means): %s. Peak memory of the %d-region promote (max RSS of %d): %s.",
		fanoutRegions, promoteTarget, verdict, fanoutRegions, all.n, mib(pr.all.rssKiB().max))
	p("")
}

// spliceSection replaces the section titled heading ("## ...") in the
// report at path with section, or, when the report has none, inserts it
// before the section titled before: the report regenerated one section at
// a time (-only).
func spliceSection(path, heading, before, section string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	doc := string(b)
	start := strings.Index(doc, "\n"+heading+"\n")
	end := -1
	if start >= 0 {
		start++
		if next := strings.Index(doc[start+len(heading):], "\n## "); next >= 0 {
			end = start + len(heading) + next + 1
		} else {
			end = len(doc)
		}
	} else {
		at := strings.Index(doc, "\n"+before+"\n")
		if at < 0 {
			return fmt.Errorf("%s has neither %q nor %q", path, heading, before)
		}
		start, end = at+1, at+1
	}
	return os.WriteFile(path, []byte(doc[:start]+section+doc[end:]), 0o644)
}
