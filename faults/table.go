package main

import (
	"fmt"
	"strings"
	"time"
)

// row is one scenario's line of the table, with what explains it.
type row struct {
	name     string
	res      Result
	ttf      percentiles
	tput     throughput
	before   usage // server 0, after warm-up
	after    usage // server 0, at the end
	hasUsage bool
	notes    []string // other measurements, e.g. "re-registered after 8.2s"
	checks   []check
	err      error  // the scenario could not run
	skipped  string // why it did not run
}

func (r *row) verdict() verdict {
	if r.skipped != "" {
		return pass
	}
	if r.err != nil {
		return fail
	}
	return worst(r.checks)
}

var tableHeader = []string{"scenario", "calls", "ok", "timeout", "nack", "not-conn", "conn-lost", "lookup", "not-run",
	"other", "wrong", "hung", "time-to-fail p50/p99/max", "worst s/normal", "RSS MiB", "FDs", "verdict"}

// formatTable renders rows as one aligned Markdown table.
func formatTable(rows []*row) string {
	cells := [][]string{tableHeader}
	for _, r := range rows {
		cells = append(cells, r.cells())
	}
	width := make([]int, len(tableHeader))
	for _, line := range cells {
		for i, c := range line {
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	writeLine := func(line []string) {
		b.WriteString("|")
		for i, c := range line {
			fmt.Fprintf(&b, " %s%s |", c, strings.Repeat(" ", width[i]-len([]rune(c))))
		}
		b.WriteString("\n")
	}
	writeLine(cells[0])
	sep := make([]string, len(width))
	for i, w := range width {
		sep[i] = strings.Repeat("-", w)
	}
	writeLine(sep)
	for _, line := range cells[1:] {
		writeLine(line)
	}
	return b.String()
}

func (r *row) cells() []string {
	if r.skipped != "" || (r.err != nil && r.res.Calls == 0) {
		out := make([]string, len(tableHeader))
		for i := range out {
			out[i] = "-"
		}
		out[0] = r.name
		out[len(out)-1] = "skipped"
		if r.skipped == "" {
			out[len(out)-1] = "ERROR"
		}
		return out
	}
	k := r.res.Kinds
	out := []string{r.name, fmt.Sprint(r.res.Calls), fmt.Sprint(r.res.OK)}
	for _, kind := range errorKinds {
		out = append(out, fmt.Sprint(k[kind]))
	}
	out = append(out, fmt.Sprint(k[kindWrong]), fmt.Sprint(k[kindHung]))
	if r.ttf.n == 0 {
		out = append(out, "-")
	} else {
		out = append(out, fmt.Sprintf("%s/%s/%s", ms(r.ttf.p50), ms(r.ttf.p99), ms(r.ttf.max)))
	}
	if r.tput.ok {
		out = append(out, fmt.Sprintf("%d/%d (%.0f%%)", r.tput.worst, r.tput.normal, 100*r.tput.ratio))
	} else {
		out = append(out, "-")
	}
	if r.hasUsage {
		out = append(out,
			fmt.Sprintf("%.1f→%.1f", float64(r.before.rssKiB)/1024, float64(r.after.rssKiB)/1024),
			fmt.Sprintf("%d→%d", r.before.fds, r.after.fds))
	} else {
		out = append(out, "-", "-")
	}
	return append(out, r.verdict().String())
}

// ms prints a duration in milliseconds, whole from 10 ms on.
func ms(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	if f < 10 {
		return fmt.Sprintf("%.1fms", f)
	}
	return fmt.Sprintf("%.0fms", f)
}

// formatDetails lists, per scenario, its other measurements and every
// check that did not pass, so a failing run says which criterion failed.
func formatDetails(rows []*row, all bool) string {
	var b strings.Builder
	for _, r := range rows {
		var lines []string
		if r.skipped != "" {
			lines = append(lines, "skipped: "+r.skipped)
		}
		if r.err != nil {
			lines = append(lines, "ERROR: "+r.err.Error())
		}
		lines = append(lines, r.notes...)
		for _, kind := range append(errorKinds, kindWrong) {
			if msg, ok := r.res.Samples[kind]; ok {
				lines = append(lines, fmt.Sprintf("a %s error: %.160s", kind, msg))
			}
		}
		for _, c := range r.checks {
			if all || c.verdict() != pass {
				lines = append(lines, c.String())
			}
		}
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(&b, "%s:\n", r.name)
		for _, l := range lines {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	return b.String()
}
