package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"sync"

	"github.com/go-zookeeper/zk"
)

// Web interfaces: lymph's second namespace. A lymph web interface (an HTTP
// server, lymph/web/interfaces.py) registers /http/NAME/INSTANCE_ID beside
// its /services entry, with the record {id, identity, version, hostname,
// ip, http_port}, so that tools and load balancers find its HTTP port.
// ZooKeeper and memory: registries hold it (WebRegistry); the local one
// does not.

// WebInstance is one web interface's record in the http namespace.
type WebInstance struct {
	Name     string // the interface name: the NAME of /http/NAME/ID
	ID       string // InstanceID(Identity, Name, Version)
	Identity string // the container's identity
	Version  string // "" for none
	Hostname string
	IP       string
	HTTPPort int
}

// WebRegistry is implemented by the registries that hold lymph's http
// namespace. In ZooKeeper registrations follow the rules of Register
// (ephemeral, re-created after a session expiry, gone with the session at
// Close); in memory: they stay until UnregisterWeb.
type WebRegistry interface {
	RegisterWeb(ctx context.Context, inst WebInstance) error
	UnregisterWeb(ctx context.Context, inst WebInstance) error
	// LookupWeb returns the live web instances of name, sorted by ID.
	LookupWeb(ctx context.Context, name string) ([]WebInstance, error)
}

func (w WebInstance) check() (WebInstance, error) {
	if err := checkName(w.Name); err != nil {
		return w, err
	}
	if w.Identity == "" || w.HTTPPort <= 0 || w.HTTPPort > 65535 {
		return w, fmt.Errorf("registry: web instance of %q needs an identity and a port, got %q and %d", w.Name, w.Identity, w.HTTPPort)
	}
	if w.Version != "" {
		v, err := canonicalVersion(w.Version)
		if err != nil {
			return w, err
		}
		w.Version = v
	}
	if w.ID == "" {
		w.ID = InstanceID(w.Identity, w.Name, w.Version)
	}
	return w, nil
}

// encodeWeb writes lymph's record, exactly its six keys.
func encodeWeb(w WebInstance) ([]byte, error) {
	var version any
	if w.Version != "" {
		version = w.Version
	}
	return json.Marshal(map[string]any{
		"id": w.ID, "identity": w.Identity, "version": version,
		"hostname": w.Hostname, "ip": w.IP, "http_port": w.HTTPPort,
	})
}

func decodeWeb(name, id string, data []byte) (WebInstance, error) {
	var rec struct {
		ID       string `json:"id"`
		Identity string `json:"identity"`
		Version  any    `json:"version"`
		Hostname string `json:"hostname"`
		IP       string `json:"ip"`
		HTTPPort int    `json:"http_port"`
	}
	if err := json.NewDecoder(bytes.NewReader(data)).Decode(&rec); err != nil {
		return WebInstance{}, fmt.Errorf("registry: web record %s/%s: %w", name, id, err)
	}
	w := WebInstance{Name: name, ID: id, Identity: rec.Identity, Hostname: rec.Hostname, IP: rec.IP, HTTPPort: rec.HTTPPort}
	w.Version, _ = rec.Version.(string)
	if w.HTTPPort <= 0 {
		return WebInstance{}, fmt.Errorf("registry: web record %s/%s has no http_port", name, id)
	}
	return w, nil
}

func sortWeb(ws []WebInstance) {
	sort.Slice(ws, func(i, j int) bool { return ws[i].ID < ws[j].ID })
}

// --- ZooKeeper ---------------------------------------------------------------

func (r *zkRegistry) webPath(name string) string { return path.Join(r.cfg.chroot, "http", name) }

// RegisterWeb creates /http/NAME/ID as Register creates /services/NAME/ID.
func (r *zkRegistry) RegisterWeb(ctx context.Context, w WebInstance) error {
	w, err := w.check()
	if err != nil {
		return err
	}
	data, err := encodeWeb(w)
	if err != nil {
		return err
	}
	return r.registerPath(ctx, path.Join(r.webPath(w.Name), w.ID), data)
}

// UnregisterWeb deletes the node RegisterWeb created.
func (r *zkRegistry) UnregisterWeb(ctx context.Context, w WebInstance) error {
	w, err := w.check()
	if err != nil {
		return err
	}
	return r.unregisterPath(ctx, path.Join(r.webPath(w.Name), w.ID))
}

// LookupWeb reads the children of /http/NAME.
func (r *zkRegistry) LookupWeb(ctx context.Context, name string) ([]WebInstance, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	return run(ctx, r, func(*attempt) ([]WebInstance, error) {
		dir := r.webPath(name)
		children, _, err := r.zc().Children(dir)
		if errors.Is(err, zk.ErrNoNode) {
			return []WebInstance{}, nil
		}
		if err != nil {
			return nil, err
		}
		out := make([]WebInstance, 0, len(children))
		for _, c := range children {
			data, _, err := r.zc().Get(path.Join(dir, c))
			if errors.Is(err, zk.ErrNoNode) {
				continue
			}
			if err != nil {
				return nil, err
			}
			w, err := decodeWeb(name, c, data)
			if err != nil {
				r.log.Warn("ignoring unreadable web instance node", "path", path.Join(dir, c), "err", err)
				continue
			}
			out = append(out, w)
		}
		sortWeb(out)
		return out, nil
	})
}

// --- memory ------------------------------------------------------------------

// memWeb holds the web instances of each memory namespace.
var memWeb = struct {
	sync.Mutex
	m map[*memStore]map[string]map[string]WebInstance // store -> name -> id
}{m: map[*memStore]map[string]map[string]WebInstance{}}

// RegisterWeb records w in the namespace until UnregisterWeb.
func (r *memRegistry) RegisterWeb(ctx context.Context, w WebInstance) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w, err := w.check()
	if err != nil {
		return err
	}
	if r.isClosed() {
		return ErrClosed
	}
	memWeb.Lock()
	defer memWeb.Unlock()
	byName := memWeb.m[r.store]
	if byName == nil {
		byName = map[string]map[string]WebInstance{}
		memWeb.m[r.store] = byName
	}
	if byName[w.Name] == nil {
		byName[w.Name] = map[string]WebInstance{}
	}
	byName[w.Name][w.ID] = w
	return nil
}

// UnregisterWeb withdraws w.
func (r *memRegistry) UnregisterWeb(ctx context.Context, w WebInstance) error {
	w, err := w.check()
	if err != nil {
		return err
	}
	memWeb.Lock()
	defer memWeb.Unlock()
	delete(memWeb.m[r.store][w.Name], w.ID)
	return nil
}

// LookupWeb returns the web instances of name.
func (r *memRegistry) LookupWeb(ctx context.Context, name string) ([]WebInstance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.isClosed() {
		return nil, ErrClosed
	}
	memWeb.Lock()
	defer memWeb.Unlock()
	out := make([]WebInstance, 0, len(memWeb.m[r.store][name]))
	for _, w := range memWeb.m[r.store][name] {
		out = append(out, w)
	}
	sortWeb(out)
	return out, nil
}
