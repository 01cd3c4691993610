package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/plentyhub/plenty/exports"
)

// exportURL copies a running hub's open data into out: the newest
// snapshot its /open/ serves, every file of it read from /open/SIZE/ so
// that they belong together, verified (with key when given) before it is
// kept as out/SIZE and out/latest points to it. It needs no access to the
// hub's folder, so it works while the hub runs.
func exportURL(ctx context.Context, hub, out, key string, stdout io.Writer) error {
	u, err := url.Parse(hub)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not a hub URL such as http://127.0.0.1:8080", hub)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/open") + "/open/"
	get := func(path string) ([]byte, error) {
		ref := u.ResolveReference(&url.URL{Path: path})
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, ref.String(), nil)
		if err != nil {
			return nil, err
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("downloading %s: %w", ref, err)
		}
		defer res.Body.Close()
		if res.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("downloading %s: %s", ref, res.Status)
		}
		return io.ReadAll(res.Body)
	}
	raw, err := get(exports.DataPackageFile)
	if err != nil {
		return err
	}
	var pkg exports.DataPackage
	if err := json.Unmarshal(raw, &pkg); err != nil {
		return fmt.Errorf("the hub's %s is not valid JSON: %v", exports.DataPackageFile, err)
	}
	size := pkg.Checkpoint.TreeSize
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	final := filepath.Join(out, strconv.FormatInt(size, 10))
	if _, err := os.Stat(final); err == nil {
		fmt.Fprintf(stdout, "%s already holds the hub's snapshot of %d events\n", final, size)
		return nil
	}
	tmp, err := os.MkdirTemp(out, ".download-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	names := []string{exports.DataPackageFile, exports.CheckpointFile, exports.KeyFile}
	for _, r := range pkg.Resources {
		for _, path := range r.Path {
			if !exports.IsPartPath(path) && (strings.ContainsAny(path, `/\`) || path == "" || path[0] == '.') {
				return fmt.Errorf("the hub's %s lists %q, neither a file name nor an events part", exports.DataPackageFile, path)
			}
			names = append(names, path)
		}
	}
	for _, name := range names {
		b, err := get(strconv.FormatInt(size, 10) + "/" + name)
		if err != nil {
			return err
		}
		path := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
	}
	rep, err := exports.Verify(ctx, tmp, &exports.VerifyOptions{Key: key})
	if err != nil {
		return fmt.Errorf("the downloaded snapshot does not verify, nothing kept: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return err
	}
	link := filepath.Join(out, exports.LatestLink)
	next := link + ".next"
	os.Remove(next)
	if err := os.Symlink(filepath.Base(final), next); err != nil {
		return err
	}
	if err := os.Rename(next, link); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exported %d events from %s to %s (verified; %s points to it)\n", rep.Checkpoint.Size, u, final, exports.LatestLink)
	if key == "" {
		fmt.Fprintln(stdout, "note: the verifier key came from the hub itself; pass --key with the hub's published key to detect a replaced key")
	}
	return nil
}
