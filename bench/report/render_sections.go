package main

// The report's later sections: Packer, act, fan-out, hostile endpoints and
// peak memory (render.go writes the headline and the CLI section).

import (
	"fmt"
	"strings"
)

func renderPacker(p printer, r *reportData) {
	pk := r.packer
	if !heading(p, "The data source inside `packer build`", pk != nil, r.packerSkip) {
		return
	}
	d, l := pk.datasource.wallMS(), pk.literal.wallMS()
	p("The same null-builder template built with the data source resolving the")
	p("image id against the emulator, and with the id written as a literal")
	p("(%d runs each after 3 warm-ups). The difference is the whole cost", d.n)
	p("of the data source: starting the plugin process, Configure, the signed")
	p("lookup, Execute.")
	p("")
	p("| measure | data source / literal | data source | literal id | difference |")
	p("|---|---|---|---|---|")
	p("| packer build wall time (mean of %d) | %s | %s | %s | %+.3f s |", d.n, ratio(d.mean, l.mean), secSD(d), secSD(l), pk.diffS())
	p("| median | %s | %.3f s | %.3f s | %+.3f s |", ratio(d.median, l.median), d.median/1000, l.median/1000, (d.median-l.median)/1000)
	pd, pl := pk.rssDatasource.rssKiB(), pk.rssLiteral.rssKiB()
	p("| peak memory of packer (max RSS of %d builds; the larger of Packer and its largest child) | %s | %s | %s | |",
		pd.n, ratio(pd.max, pl.max), mib(pd.max), mib(pl.max))
	p("")
	p("The plugin process itself peaked at %s (max over its %d starts in %d builds, VmHWM sampled from",
		mib(float64(pk.pluginKiB)), pk.pluginStarts, pd.n)
	p("/proc every 10 ms behind a wrapper installed as the plugin; Packer SIGKILLs plugins, so")
	p("nothing can report at their exit).")
	if pk.targetMet() {
		p("Target (under %.1f s more): met.", packerTarget)
	} else {
		p("Target (under %.1f s more): MISSED.", packerTarget)
	}
	p("")
}

func renderAct(p printer, r *reportData) {
	a := r.act
	if !heading(p, "The action step under act", a != nil, r.actSkip) {
		return
	}
	p("%s in host mode (`-P ubuntu-latest=-self-hosted`, offline, no", a.version)
	p("cache server) runs `testdata/bench/action.yml` (checkout, `uses: ./`")
	p("resolving one image against the emulator, a step using the output) and")
	p("`testdata/bench/trivial.yml` (the same job with the output set by a")
	p("one-line `run:` step), in alternating pairs (the order flipping each time): an act")
	p("run varies by tens of ms with the machine's load, and pairing keeps a drift in load")
	p("out of the difference. \"Prebuilt binary\" gives the launcher the release-built")
	p("binary (`ALICLOUD_IMAGE_FAMILY_BIN`), as a release tag does after its")
	p("download (tool cache); \"built from source\" is what `uses: ./` or a branch")
	p("ref does: `go build` with a warm build cache.")
	p("")
	am, tm, sm, d := a.action.wallMS(), a.trivial.wallMS(), a.source.wallMS(), a.pairDiff()
	sa, st, ss := mean(a.stepAction), mean(a.stepTrivial), mean(a.stepSource)
	p("| | action / trivial | action (prebuilt binary) | trivial step | action (built from source) |")
	p("|---|---|---|---|---|")
	p("| act run wall time (mean ± sd; %d alternating pairs, %d runs from source) | %s | %s | %s | %s |",
		am.n, sm.n, ratio(am.mean, tm.mean), msSD(am), msSD(tm), msSD(sm))
	p("| act run wall time (median) | %s | %.1f ms | %.1f ms | %.1f ms |", ratio(am.median, tm.median), am.median, tm.median, sm.median)
	p("| paired difference, action minus trivial (mean ± standard error; median) | | %+.1f ms ± %.1f; %+.1f ms | | |",
		d.mean, stdErr(d), d.median)
	p("| the step (act's \"Main resolve\" time, mean) | %s | %.1f ms | %.1f ms | %.1f ms |", ratio(sa, st), sa, st, ss)
	p("| inside it: the launcher and the binary (composite's inner step) | | %.1f ms | | %.1f ms |",
		mean(a.innerAction), mean(a.innerSource))
	p("")
	p("Peak memory: the action's own process %s (max RSS at its exit, recorded by a wrapper", mib(float64(a.actionKiB)))
	p("given as `ALICLOUD_IMAGE_FAMILY_BIN`, max of %d runs); act's process tree %s", actRSSRuns, mib(a.action.rssKiB().max))
	p("(max RSS of act at exit over the timed runs: the larger of act and its largest child).")
	p("")
}

func renderFanout(p printer, r *reportData) {
	f := r.fanout
	one, all, c8 := f.one.wallMS(), f.all.wallMS(), f.c8.wallMS()
	p("## Fan-out over many regions")
	p("")
	p("`alicloud-image-family resolve --region bench-region-1,...,bench-region-%d`", fanoutRegions)
	p("against an emulator (TLS) with a fixture of %d regions and 100 ms", fanoutRegions)
	p("added to every request, vs the same with one region (%d runs each after", one.n)
	p("2 warm-ups). One client per region, credentials resolved once.")
	p("")
	p("| | ratio to 1 region (means) | wall time (mean ± sd) | median |")
	p("|---|---|---|---|")
	p("| 1 region | 1.00x | %s | %.1f ms |", msSD(one), one.median)
	p("| %d regions, default settings (`--concurrency 0`: every region at once, up to 32) | %s | %s | %.1f ms |",
		fanoutRegions, ratio(all.mean, one.mean), msSD(all), all.median)
	p("| %d regions, `--concurrency 8` (the default before; 4 waves) | %s | %s | %.1f ms |",
		fanoutRegions, ratio(c8.mean, one.mean), msSD(c8), c8.median)
	p("")
	p("Peak memory of the %d-region resolve at the default settings (max RSS of %d): %s.",
		fanoutRegions, all.n, mib(f.all.rssKiB().max))
	p("")
	p("What %d regions add over one at once is CPU, not round trips: %d TLS handshakes and", fanoutRegions, fanoutRegions)
	p("signatures on the machine's cores, so that ratio moves with the machine's load; the")
	p("waves of `--concurrency 8` add 100 ms each.")
	p("")
}

func renderHostile(p printer, r *reportData) {
	h := r.hostile
	p("## Memory against a hostile endpoint")
	p("")
	p("The CLI's peak memory (max RSS, from the kernel at exit) while an endpoint")
	p("misbehaves (rows of the hostile-endpoint table, `conformance.HostileRows`, each")
	p("on a fresh TLS server on loopback) vs the same lookup against a well-formed")
	p("answer, %d runs per row. The core reads at most %d KiB of any answer", r.runs.hostile, h.maxResponseKiB)
	p("(`imagefamily.MaxResponseBytes`) and then closes the connection, so memory does not")
	p("grow with what the endpoint sends. The last column is `bench/sdkmin`, the SDK with")
	p("no trust boundary, against the rows whose body ends by itself: it reads every body whole.")
	p("")
	p("| endpoint (row of the hostile table) | CLI peak RSS (max of %d) | ratio to the normal lookup | CLI median | CLI exit | CLI wall time (mean) | SDK alone (sdkmin) peak RSS |",
		r.runs.hostile)
	p("|---|---|---|---|---|---|---|")
	base := h.rows[0].cli.rssKiB().max
	for _, row := range h.rows {
		rs, wall := row.cli.rssKiB(), row.cli.wallMS()
		sdk := "not run: it would read until the server stops"
		if row.sdkmin != nil {
			sdk = fmt.Sprintf("%s (exit %s)", mib(row.sdkmin.rssKiB().max), joinInts(row.sdkmin.exits()))
		}
		p("| %s | %s | %s | %s | %s | %.0f ms | %s |", row.name, mib(rs.max), ratio(rs.max, base), mib(rs.median),
			joinInts(row.cli.exits()), wall.mean, sdk)
	}
	p("")
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

func renderMemory(p printer, r *reportData) {
	p("## Peak memory of each binary")
	p("")
	p("Max RSS is the kernel's at the process's exit (wait4's ru_maxrss, what GNU time prints")
	p("as %%M), which for a parent is the larger of it and its largest waited-for child. Every")
	p("measured command is started by `bench/rusage`, a small program (its own 2 MiB is the")
	p("floor), never by the report itself: a child of the report (which runs the emulators in")
	p("process) would be charged the report's own peak.")
	p("")
	p("| binary | what ran | peak RSS | how |")
	p("|---|---|---|---|")
	cr := r.cli.cli.rssKiB()
	p("| `alicloud-image-family` | `resolve`, one region | %s | max of %d |", mib(cr.max), cr.n)
	fr := r.fanout.all.rssKiB()
	p("| `alicloud-image-family` | `resolve`, %d regions at once (default settings) | %s | max of %d |", fanoutRegions, mib(fr.max), fr.n)
	if row := r.hostile.row("endless chunked 200 body"); row != nil {
		er := row.cli.rssKiB()
		p("| `alicloud-image-family` | `resolve` against an endless 200 body (refused) | %s | max of %d |", mib(er.max), er.n)
	}
	if a := r.act; a != nil {
		p("| `alicloud-image-family` | `action` step under act | %s | wrapper as `ALICLOUD_IMAGE_FAMILY_BIN`, max of %d |",
			mib(float64(a.actionKiB)), actRSSRuns)
	} else {
		p("| `alicloud-image-family` | `action` step under act | skipped | %s |", r.actSkip)
	}
	if pk := r.packer; pk != nil {
		pd, pl := pk.rssDatasource.rssKiB(), pk.rssLiteral.rssKiB()
		p("| `packer-plugin-alicloud-image-family` | the data source during `packer build` | %s | VmHWM sampled from /proc every 10 ms by a wrapper installed as the plugin (%d starts in %d builds); Packer ends plugins with SIGKILL |",
			mib(float64(pk.pluginKiB)), pk.pluginStarts, pd.n)
		p("| `packer` | `packer build` with / without the data source | %s / %s | the larger of Packer and its largest child, max of %d |",
			mib(pd.max), mib(pl.max), pd.n)
	} else {
		p("| `packer-plugin-alicloud-image-family`, `packer` | `packer build` | skipped | %s |", r.packerSkip)
	}
	if a := r.act; a != nil {
		ar := a.action.rssKiB()
		p("| `act` | the action workflow | %s | the larger of act and its largest child, max of %d |", mib(ar.max), ar.n)
	}
	sr := r.cli.sdkmin.rssKiB()
	p("| `sdkmin` | the same call | %s | max of %d |", mib(sr.max), sr.n)
	p("")
}
