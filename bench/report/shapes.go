package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/conformance"
)

// The cost of answers by their shape: the CLI against every row of the
// hostile table built by the shape generator (conformance.HostileShapes, each
// answer just under the 1 MiB cap), with --output json (the largest
// rendering: indentation grows with the nesting) and --output id, next to
// a normal lookup. Peak RSS and CPU time come from bench/rusage.

type shapeRow struct {
	name     string
	output   string
	samples  series
	outBytes int   // stdout of the last run
	served   int64 // bytes the server sent in the last run
}

type shapeResult struct {
	rows []shapeRow // the first is the normal lookup
}

func (b *bench) measureShapes() (*shapeResult, error) {
	res := &shapeResult{}
	rows := conformance.HostileRows()
	var picked []conformance.HostileRow
	for _, r := range rows {
		if strings.HasPrefix(r.Name, "well-formed answer") || strings.HasPrefix(r.Name, "shape: ") {
			picked = append(picked, r)
		}
	}
	for _, row := range picked {
		for _, output := range []string{"json", "id"} {
			sr := shapeRow{name: strings.TrimPrefix(row.Name, "shape: "), output: output, samples: series{name: "cli"}}
			for i := range b.runs.hostile {
				h := conformance.StartHostile(row)
				dir := filepath.Join(b.work, "shapes", fmt.Sprintf("%d-%s-%d", len(res.rows), output, i))
				if err := os.MkdirAll(dir, 0o755); err != nil {
					h.Close()
					return nil, err
				}
				cert, err := h.WriteCertFile(dir)
				if err != nil {
					h.Close()
					return nil, err
				}
				x, stdout, err := b.run(command{name: "cli vs " + row.Name,
					argv: []string{b.cli, "resolve", "--region", "cn-hangzhou", "--image-family", "web-base", "--endpoint", h.Endpoint(),
						"--timeout", h.Timeout().String(), "--max-attempts", "1", "--output", output},
					env:   b.baseEnv(filepath.Join(dir, "home"), append(demoKeys(), "SSL_CERT_FILE="+cert)...),
					check: func([]byte, int) error { return nil }})
				sr.served = h.ServedBytes()
				h.Close()
				if err != nil {
					return nil, err
				}
				sr.samples.samples = append(sr.samples.samples, x)
				sr.outBytes = len(stdout)
			}
			res.rows = append(res.rows, sr)
		}
	}
	return res, nil
}

// cpuMS summarises a series' CPU times (user plus system, ms).
func (s series) cpuMS() stats {
	return summarize(mapSamples(s.samples, func(x sample) float64 { return float64(x.cpu.Microseconds()) / 1000 }))
}

// worst is the row of the largest peak RSS.
func (r *shapeResult) worst() shapeRow {
	w := r.rows[0]
	for _, row := range r.rows {
		if row.samples.rssKiB().max > w.samples.rssKiB().max {
			w = row
		}
	}
	return w
}

func renderShapes(p printer, r *reportData) {
	s := r.shapes
	if s == nil || len(s.rows) == 0 {
		return
	}
	p("## Answers by their shape, at the cap")
	p("")
	p("The CLI against every answer of the shape generator (`conformance.HostileShapes`: nesting,")
	p("width, member names, members per object, string escapes, many tags and disk mappings),")
	p("each built just under the 1 MiB body cap and served by a fresh TLS server on loopback,")
	p("%d runs per row and output, next to the normal lookup (first rows). Budget: peak RSS at", r.runs.hostile)
	p("most 64 MiB and CPU time at most 1 s for any answer up to the cap; every output at most")
	p("%d times the answer (`conformance.HostileOutputRatio`). Deep answers are refused at the", conformance.HostileOutputRatio)
	p("transport before any parser reads them (exit 1).")
	p("")
	p("| answer | output | exit | peak RSS (max) | ratio to the normal lookup | CPU time (max) | wall time (mean) | stdout bytes | stdout / answer |")
	p("|---|---|---|---|---|---|---|---|---|")
	base := map[string]float64{}
	for _, row := range s.rows[:2] {
		base[row.output] = row.samples.rssKiB().max
	}
	for _, row := range s.rows {
		rs, cpu, wall := row.samples.rssKiB(), row.samples.cpuMS(), row.samples.wallMS()
		per := "-"
		if row.served > 0 {
			per = fmt.Sprintf("%.1f", float64(row.outBytes)/float64(row.served))
		}
		p("| %s | %s | %s | %s | %s | %.0f ms | %.0f ms | %d | %s |", row.name, row.output, joinInts(row.samples.exits()),
			mib(rs.max), ratio(rs.max, base[row.output]), cpu.max, wall.mean, row.outBytes, per)
	}
	w := s.worst()
	p("")
	p("Worst peak: %s (`--output %s`): %s and %.0f ms of CPU, against %s and %.0f ms for a normal lookup.",
		w.name, w.output, mib(w.samples.rssKiB().max), w.samples.cpuMS().max, mib(s.rows[0].samples.rssKiB().max), s.rows[0].samples.cpuMS().max)
	p("")
}
