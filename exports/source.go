package exports

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// errNotFound reports a file the source does not have.
var errNotFound = errors.New("not found")

// source is where the verifier reads files: an export folder or a hub's
// /open/ URL, which hold the same names.
type source interface {
	// open returns the named file; errNotFound when the source has none.
	// The caller closes it.
	open(ctx context.Context, name string) (*os.File, error)
	// where names the file for messages.
	where(name string) string
	close()
}

func openSource(src string, client *http.Client) (source, error) {
	if strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://") {
		u, err := url.Parse(src)
		if err != nil {
			return nil, fmt.Errorf("source %q is not a URL: %v", src, err)
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = "/open/"
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		if client == nil {
			client = http.DefaultClient
		}
		if !strings.HasSuffix(u.Path, "/open/") && hasOpen(client, u) {
			// A hub or a mirror under a path (such as a neighbour's
			// mirror, /fed/v1/mirror/HASH): its files are in open/.
			u.Path += "open/"
		}
		tmp, err := os.MkdirTemp("", "plenty-verify-")
		if err != nil {
			return nil, err
		}
		return &httpSource{base: u, client: client, tmp: tmp}, nil
	}
	fi, err := os.Stat(src)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", src, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("source %s is not a folder or an http(s) URL", src)
	}
	return dirSource(src), nil
}

// hasOpen reports whether base serves open/checkpoint, as a hub's root
// and a mirror's base URL do.
func hasOpen(client *http.Client, base *url.URL) bool {
	resp, err := client.Get(base.ResolveReference(&url.URL{Path: "open/checkpoint"}).String())
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

type dirSource string

func (d dirSource) open(_ context.Context, name string) (*os.File, error) {
	f, err := os.Open(filepath.Join(string(d), name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, errNotFound
	}
	return f, err
}

func (d dirSource) where(name string) string { return name }
func (d dirSource) close()                   {}

// httpSource downloads each file once into a temporary folder, since the
// Arrow and Parquet readers need random access.
type httpSource struct {
	base   *url.URL
	client *http.Client
	tmp    string
}

func (h *httpSource) where(name string) string {
	return h.base.ResolveReference(&url.URL{Path: name}).String()
}

func (h *httpSource) open(ctx context.Context, name string) (*os.File, error) {
	local := filepath.Join(h.tmp, name)
	if f, err := os.Open(local); err == nil {
		return f, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.where(name), nil)
	if err != nil {
		return nil, err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("downloading %s: %w", h.where(name), err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, errNotFound
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("downloading %s: %s", h.where(name), resp.Status)
	}
	if err := os.MkdirAll(filepath.Dir(local), 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(local)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		os.Remove(local)
		return nil, fmt.Errorf("downloading %s: %w", h.where(name), err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (h *httpSource) close() { os.RemoveAll(h.tmp) }
