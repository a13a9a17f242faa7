package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one child process, in a process group of its own so that it and
// whatever it starts can be killed together.
type proc struct {
	name  string
	cmd   *exec.Cmd
	log   string      // its stderr
	lines chan string // its stdout, line by line
	done  chan struct{}
	err   error // set before done closes
}

// group owns every child the suite starts and kills them all at the end,
// on failure and on SIGINT.
type group struct {
	dir    string
	mu     sync.Mutex
	live   map[*proc]bool
	seq    int
	closed bool // after close, nothing more starts
}

func newGroup(dir string) *group { return &group{dir: dir, live: map[*proc]bool{}} }

// start runs bin with args; its stdout is read line by line, its stderr
// goes to a log file in the group's directory.
func (g *group) start(name, bin string, args ...string) (*proc, error) {
	g.mu.Lock()
	g.seq++
	logPath := filepath.Join(g.dir, fmt.Sprintf("%03d-%s.log", g.seq, name))
	g.mu.Unlock()
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stderr = logf
	// Pdeathsig: should the suite itself be killed with -9, its children
	// die with it rather than serve on forever.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	// Started and recorded under the lock, so that close never misses a
	// child that a scenario starts while the suite is interrupted.
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil, fmt.Errorf("start %s: the suite is shutting down", name)
	}
	if err := cmd.Start(); err != nil {
		g.mu.Unlock()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, lines: make(chan string, 16), done: make(chan struct{})}
	g.live[p] = true
	g.mu.Unlock()
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64*1024), 256<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.err = cmd.Wait()
		g.mu.Lock()
		delete(g.live, p)
		g.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// killAll kills every live child's process group and waits (bounded) for
// them to be reaped.
func (g *group) killAll() {
	g.mu.Lock()
	ps := make([]*proc, 0, len(g.live))
	for p := range g.live {
		ps = append(ps, p)
	}
	g.mu.Unlock()
	for _, p := range ps {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
	for _, p := range ps {
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
	}
}

// close kills every child and refuses to start more.
func (g *group) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	g.killAll()
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

func (p *proc) signal(sig syscall.Signal) error { return syscall.Kill(p.pid(), sig) }

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitExit waits up to d for the process to end.
func (p *proc) waitExit(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// waitLine returns the first stdout line that starts with prefix, or an
// error (with the end of its log) when the process ends first or d passes.
func (p *proc) waitLine(ctx context.Context, prefix string, d time.Duration) (string, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				<-p.done
				return "", fmt.Errorf("%s exited (%v) before %q:\n%s", p.name, p.err, prefix, tail(p.log, 8))
			}
			if strings.HasPrefix(line, prefix) {
				return line, nil
			}
		case <-timer.C:
			return "", fmt.Errorf("%s: no %q within %v:\n%s", p.name, prefix, d, tail(p.log, 8))
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// drain discards the rest of stdout so the child never blocks writing it.
func (p *proc) drain() {
	go func() {
		for range p.lines {
		}
	}()
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  | " + strings.Join(lines, "\n  | ")
}

// usage is a process's resident memory, open descriptors and CPU time, read
// from /proc.
type usage struct {
	rssKiB int64
	fds    int
	cpu    time.Duration // user + system
}

func readUsage(pid int) (usage, error) {
	var u usage
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			u.rssKiB, _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return u, err
	}
	u.fds = len(fds)
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return u, err
	}
	// Fields after the command name (which may hold spaces) start at ")".
	f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
	if len(f) > 13 {
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		u.cpu = time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
	}
	return u, nil
}

// cpuShare measures a process's CPU use over d, as a fraction of one core.
func cpuShare(pid int, d time.Duration) float64 {
	a, err := readUsage(pid)
	if err != nil {
		return 0
	}
	time.Sleep(d)
	b, err := readUsage(pid)
	if err != nil {
		return 0
	}
	return float64(b.cpu-a.cpu) / float64(d)
}
