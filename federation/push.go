package federation

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/plentyhub/plenty"
)

// witnessLink pushes the hub's checkpoints to one of its witnesses
// (tlog-witness add-checkpoint) and keeps the cosignatures it answers.
type witnessLink struct {
	f *Federation
	w Witness

	mu     sync.Mutex
	known  int64 // the size the witness last cosigned, as far as this hub knows
	size   int64 // the largest size of this hub it cosigned
	status string
	err    string
	at     time.Time
}

func (l *witnessLink) set(status string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.status, l.err = status, ""
	if err != nil {
		l.err = err.Error()
	}
}

// round is one push, logged when it fails for a reason other than Close.
func (l *witnessLink) round(ctx context.Context) {
	if err := l.push(ctx); err != nil && ctx.Err() == nil {
		l.f.cfg.Logger.Warn("federation: pushing a checkpoint failed", "witness", l.w.Name, "err", err)
	}
}

// push sends the hub's latest checkpoint to the witness unless it already
// cosigned it. A 409 tells the witness's size: push retries once from it.
func (l *witnessLink) push(ctx context.Context) error {
	f := l.f
	signed, err := f.cfg.Log.Checkpoint(ctx)
	if err != nil {
		l.set(StatusPending, err)
		return err
	}
	text, _, _ := splitNote(signed)
	cp, err := plenty.ParseCheckpoint(string(text))
	if err != nil {
		return err
	}
	l.mu.Lock()
	done, known := l.size == cp.Size && l.status == StatusOK, l.known
	l.mu.Unlock()
	if done {
		return nil
	}
	if l.collect(ctx, signed, cp.Size) {
		return nil
	}
	for try := 0; try < 2; try++ {
		if known > cp.Size {
			err := fmt.Errorf("the witness cosigned size %d, larger than this hub's checkpoint of size %d", known, cp.Size)
			l.set(StatusRollback, err)
			return err
		}
		req := &AddCheckpoint{Old: known, Checkpoint: signed}
		if known > 0 && known < cp.Size {
			if req.Proof, err = f.cfg.Log.ConsistencyProof(ctx, known, cp.Size); err != nil {
				l.set(StatusPending, err)
				return err
			}
		}
		status, body, err := l.post(ctx, req.Bytes())
		if err != nil {
			l.set(StatusUnreachable, err)
			return err
		}
		switch status {
		case http.StatusOK:
			if _, err := note.Open(append(bytes.Clone(signed), body...), note.VerifierList(l.w.Verifier)); err != nil {
				err = fmt.Errorf("the witness answered no valid cosignature: %v", err)
				l.set(StatusPending, err)
				return err
			}
			if err := f.cosigned.add(cp.Size, signed, body); err != nil {
				return err
			}
			l.mu.Lock()
			l.known, l.size, l.status, l.err, l.at = cp.Size, cp.Size, StatusOK, "", f.cfg.Now().UTC()
			l.mu.Unlock()
			return nil
		case http.StatusConflict:
			n, err := strconv.ParseInt(strings.TrimSpace(string(body)), 10, 64)
			if err != nil || n < 0 {
				err = fmt.Errorf("the witness answered 409 without a size: %q", body)
				l.set(StatusPending, err)
				return err
			}
			known = n
			l.mu.Lock()
			l.known = n
			l.mu.Unlock()
		case http.StatusNotFound:
			err := fmt.Errorf("the witness does not list this hub (%s) as a log it witnesses: the link is not active", f.cfg.Origin)
			l.set(StatusPending, err)
			return nil
		default:
			err := fmt.Errorf("the witness refused the checkpoint of size %d: %d %s", cp.Size, status, strings.TrimSpace(string(body)))
			l.set(StatusPending, err)
			return err
		}
	}
	return nil
}

func (l *witnessLink) post(ctx context.Context, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.w.URL+"/fed/v1/add-checkpoint", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	resp, err := l.f.cfg.Client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, data, err
}

// collect reads the witness's monitor view of this hub: when its pull loop
// already cosigned the checkpoint this hub serves, the cosignature is
// taken from there and nothing is pushed.
func (l *witnessLink) collect(ctx context.Context, signed []byte, size int64) bool {
	f := l.f
	mon := &fetcher{client: f.cfg.Client, base: l.w.URL + "/fed/v1/witness/" + OriginHash(f.cfg.Origin)}
	view, _, err := mon.get(ctx, "checkpoint")
	if err != nil || !sameText(view, signed) {
		return false
	}
	if _, err := note.Open(view, note.VerifierList(l.w.Verifier)); err != nil {
		return false
	}
	_, sigs, _ := splitNote(view)
	want := l.w.Verifier.Name() + "+" + strconv.FormatUint(uint64(l.w.Verifier.KeyHash()), 16)
	var lines []byte
	for _, line := range bytes.SplitAfter(sigs, []byte("\n")) {
		if len(line) > 0 && sigKey(line) == want {
			lines = append(lines, line...)
		}
	}
	if len(lines) == 0 || f.cosigned.add(size, signed, lines) != nil {
		return false
	}
	l.mu.Lock()
	l.known, l.size, l.status, l.err, l.at = size, size, StatusOK, "", f.cfg.Now().UTC()
	l.mu.Unlock()
	return true
}
