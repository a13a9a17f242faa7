package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// printResults prints one table: a line per row and target, lymph's lines
// with their ratios to net/rpc and to raw TCP in the same run (calls/s; for
// the paced rows, CPU per call, client plus server, where below 1x favours
// lymph), then the client's heap at the start and end of each row.
func printResults(w io.Writer, rs []result) {
	find := func(row, target string) *result {
		for i := range rs {
			if rs[i].row.name == row && rs[i].target == target {
				return &rs[i]
			}
		}
		return nil
	}
	ratio := func(l *result, other string) string {
		o := find(l.row.name, other)
		switch {
		case o == nil || l.row.named:
			return ""
		case l.row.idle > 0:
			return ""
		case l.row.rate > 0:
			lc, oc := l.clientCPU+l.serverCPU, o.clientCPU+o.serverCPU
			if oc == 0 || lc == 0 {
				return "?"
			}
			return fmt.Sprintf("cpu %.2fx", float64(lc)/float64(oc)/(float64(l.calls)/float64(o.calls)))
		}
		return fmt.Sprintf("%.2fx", l.rate()/o.rate())
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "row\ttarget\tcalls\tcalls/s\tMB/s\tp50\tp99\tallocs/call\tclient CPU\tserver CPU\tvs net/rpc\tvs raw TCP\t")
	for i := range rs {
		r := &rs[i]
		var vsRPC, vsTCP string
		if r.target == "lymph" || r.target == "lymph-poll" {
			vsRPC, vsTCP = ratio(r, "net/rpc"), ratio(r, "raw TCP")
		}
		if r.row.named {
			if e := find("16B-64", r.target); e != nil {
				vsRPC = fmt.Sprintf("%.2fx by endpoint", r.rate()/e.rate())
			}
		}
		if r.row.idle > 0 {
			fmt.Fprintf(tw, "%s\t%s\t%d clients\t\t\t\t\t\t%s\t%s\t\t\t\n", r.row.name, r.target, r.row.conns,
				cpuPercent(r.cpuShare(r.clientCPU), r.clientCPU), cpuPercent(r.cpuShare(r.serverCPU), r.serverCPU))
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.0f\t%s\t%s\t%s\t%.1f\t%s\t%s\t%s\t%s\t\n",
			r.row.name, r.target, r.calls, r.rate(), mbps(r), fmtDur(r.hist.percentile(0.50)), fmtDur(r.hist.percentile(0.99)),
			r.allocsPerCall(), cpuPerCall(r, r.clientCPU), cpuPerCall(r, r.serverCPU), vsRPC, vsTCP)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nCPU columns: CPU time per call of each process (idle row: share of one core over the wait);")
	fmt.Fprintln(w, "ratios: lymph's calls/s over the other's (> 1x favours lymph); paced rows: CPU per call, client plus server (< 1x favours lymph);")
	fmt.Fprintln(w, "MB/s: payload echoed per second, one way; allocs/call: the client process's heap allocations per call")

	fmt.Fprintf(w, "\nclient process memory after a collection, at the start of each row (after its warm-up) and at its end\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "row\ttarget\tHeapAlloc start\tHeapAlloc end\tHeapInuse start\tHeapInuse end\tSys start\tSys end\t")
	for _, r := range rs {
		if r.row.idle > 0 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.row.name, r.target,
			fmtBytes(r.start.HeapAlloc), fmtBytes(r.end.HeapAlloc),
			fmtBytes(r.start.HeapInuse), fmtBytes(r.end.HeapInuse), fmtBytes(r.start.Sys), fmtBytes(r.end.Sys))
	}
	tw.Flush()
}

func mbps(r *result) string {
	if r.row.size < 1<<10 {
		return ""
	}
	return fmt.Sprintf("%.0f", r.mbps())
}

func cpuPerCall(r *result, d time.Duration) string {
	if d <= 0 {
		return "?"
	}
	return fmtDur(r.perCall(d))
}

func cpuPercent(share float64, d time.Duration) string {
	if d < 0 {
		return "?"
	}
	return fmt.Sprintf("%.2f %%", 100*share)
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.1fµs", float64(d)/float64(time.Microsecond))
	}
}

func fmtBytes(b uint64) string {
	return fmt.Sprintf("%d KiB", b>>10) // KiB, so a drift of a few KiB shows
}
