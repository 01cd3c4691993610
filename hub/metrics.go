package hub

import (
	"bytes"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
)

// latencyBuckets are the upper bounds, in seconds, of the latency
// histograms.
var latencyBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5}

// histogram is a Prometheus histogram kept with atomics.
type histogram struct {
	counts [13]atomic.Int64 // one per bucket, then +Inf
	sumNs  atomic.Int64
	n      atomic.Int64
}

func (h *histogram) observe(d time.Duration) {
	sec := d.Seconds()
	i := sort.SearchFloat64s(latencyBuckets, sec)
	h.counts[i].Add(1)
	h.sumNs.Add(int64(d))
	h.n.Add(1)
}

func (h *histogram) write(b *bytes.Buffer, name, labels string) {
	var cum int64
	sep := ""
	if labels != "" {
		sep = ","
	}
	for i, le := range latencyBuckets {
		cum += h.counts[i].Load()
		fmt.Fprintf(b, "%s_bucket{%s%sle=\"%s\"} %d\n", name, labels, sep, strconv.FormatFloat(le, 'g', -1, 64), cum)
	}
	cum += h.counts[len(latencyBuckets)].Load()
	fmt.Fprintf(b, "%s_bucket{%s%sle=\"+Inf\"} %d\n", name, labels, sep, cum)
	if labels != "" {
		labels = "{" + labels + "}"
	}
	fmt.Fprintf(b, "%s_sum%s %g\n", name, labels, time.Duration(h.sumNs.Load()).Seconds())
	fmt.Fprintf(b, "%s_count%s %d\n", name, labels, h.n.Load())
}

type routeKey struct{ method, route string }

type routeStats struct {
	latency  histogram
	mu       sync.Mutex
	byStatus map[int]int64
}

// metrics are the hub's counters, written by hand in the Prometheus text
// format.
type metrics struct {
	routes      sync.Map // routeKey → *routeStats
	append      histogram
	appendFails atomic.Int64
	matching    histogram
	proposals   atomic.Int64
}

func newMetrics() *metrics { return &metrics{} }

func (m *metrics) observe(method, route string, status int, d time.Duration) {
	k := routeKey{method, route}
	v, ok := m.routes.Load(k)
	if !ok {
		v, _ = m.routes.LoadOrStore(k, &routeStats{byStatus: map[int]int64{}})
	}
	rs := v.(*routeStats)
	rs.latency.observe(d)
	rs.mu.Lock()
	rs.byStatus[status]++
	rs.mu.Unlock()
}

func (m *metrics) observeAppend(d time.Duration, err error) {
	m.append.observe(d)
	if err != nil {
		m.appendFails.Add(1)
	}
}

func (m *metrics) observeMatching(d time.Duration, proposals int) {
	m.matching.observe(d)
	m.proposals.Store(int64(proposals))
}

// observe times every request and counts it by route and status.
func (s *Server) observe(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	if err != nil {
		if herr := s.handleError(c, err); herr != nil {
			return herr
		}
	}
	// Route paths are registered strings; the method must be copied, as
	// Fiber's request strings are reused after the handler returns.
	route := c.Route().Path
	if route == "/" && c.Path() != "/" {
		route = "unmatched" // no route: keep the label set bounded
	}
	method, status, took := strings.Clone(c.Method()), c.Response().StatusCode(), time.Since(start)
	s.metrics.observe(method, route, status, took)
	if s.log.Enabled(c.UserContext(), slog.LevelDebug) {
		s.log.Debug("request", "method", method, "path", c.Path(), "status", status, "took", took)
	}
	return nil
}

func (s *Server) serveMetrics(c *fiber.Ctx) error {
	var b bytes.Buffer
	b.WriteString("# HELP plenty_http_requests_total HTTP requests answered, by method, route and status.\n")
	b.WriteString("# TYPE plenty_http_requests_total counter\n")
	type entry struct {
		k  routeKey
		rs *routeStats
	}
	var entries []entry
	s.metrics.routes.Range(func(k, v any) bool {
		entries = append(entries, entry{k.(routeKey), v.(*routeStats)})
		return true
	})
	sort.Slice(entries, func(i, j int) bool {
		if entries[i].k.route != entries[j].k.route {
			return entries[i].k.route < entries[j].k.route
		}
		return entries[i].k.method < entries[j].k.method
	})
	for _, e := range entries {
		e.rs.mu.Lock()
		statuses := make([]int, 0, len(e.rs.byStatus))
		for st := range e.rs.byStatus {
			statuses = append(statuses, st)
		}
		sort.Ints(statuses)
		for _, st := range statuses {
			fmt.Fprintf(&b, "plenty_http_requests_total{method=%q,route=%q,status=\"%d\"} %d\n", e.k.method, e.k.route, st, e.rs.byStatus[st])
		}
		e.rs.mu.Unlock()
	}
	b.WriteString("# HELP plenty_http_request_duration_seconds Time to answer an HTTP request.\n")
	b.WriteString("# TYPE plenty_http_request_duration_seconds histogram\n")
	for _, e := range entries {
		e.rs.latency.write(&b, "plenty_http_request_duration_seconds", fmt.Sprintf("method=%q,route=%q", e.k.method, e.k.route))
	}
	b.WriteString("# HELP plenty_ledger_append_duration_seconds Time from submitting an event to its commit, as the hub waits for it.\n")
	b.WriteString("# TYPE plenty_ledger_append_duration_seconds histogram\n")
	s.metrics.append.write(&b, "plenty_ledger_append_duration_seconds", "")
	fmt.Fprintf(&b, "# HELP plenty_ledger_append_refused_total Appends the ledger refused or failed.\n# TYPE plenty_ledger_append_refused_total counter\nplenty_ledger_append_refused_total %d\n", s.metrics.appendFails.Load())

	b.WriteString("# HELP plenty_matching_duration_seconds Time to recompute the proposals.\n")
	b.WriteString("# TYPE plenty_matching_duration_seconds histogram\n")
	s.metrics.matching.write(&b, "plenty_matching_duration_seconds", "")
	fmt.Fprintf(&b, "# HELP plenty_proposals Proposals of the last matching run.\n# TYPE plenty_proposals gauge\nplenty_proposals %d\n", s.metrics.proposals.Load())

	st := s.ledger.Stats()
	fmt.Fprintf(&b, "# HELP plenty_ledger_events Events in the ledger (the tree size).\n# TYPE plenty_ledger_events gauge\nplenty_ledger_events %d\n", s.ledger.Size())
	fmt.Fprintf(&b, "# HELP plenty_ledger_commits_total Transactions the ledger committed (group commits).\n# TYPE plenty_ledger_commits_total counter\nplenty_ledger_commits_total %d\n", st.Batches)
	fmt.Fprintf(&b, "# HELP plenty_ledger_committed_events_total Events committed since the hub started.\n# TYPE plenty_ledger_committed_events_total counter\nplenty_ledger_committed_events_total %d\n", st.CommittedEvent)
	fmt.Fprintf(&b, "# HELP plenty_ledger_commit_seconds_total Time spent committing.\n# TYPE plenty_ledger_commit_seconds_total counter\nplenty_ledger_commit_seconds_total %g\n", st.CommitTime.Seconds())
	fmt.Fprintf(&b, "# HELP plenty_ledger_appends_total Acknowledged appends, as the ledger counts them.\n# TYPE plenty_ledger_appends_total counter\nplenty_ledger_appends_total %d\n", st.Appends)
	fmt.Fprintf(&b, "# HELP plenty_ledger_append_seconds_total Summed time from submit to acknowledgement, as the ledger counts it.\n# TYPE plenty_ledger_append_seconds_total counter\nplenty_ledger_append_seconds_total %g\n", st.AppendTime.Seconds())
	c.Set(fiber.HeaderContentType, "text/plain; version=0.0.4; charset=utf-8")
	return c.Send(b.Bytes())
}
