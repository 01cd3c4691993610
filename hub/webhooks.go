package hub

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/private"
	"github.com/plentyhub/plenty/usecase"
)

// Webhooks tell a council's own systems what the feeds say, as Standard
// Webhooks: each delivery is a POST of {"type", "timestamp", "data"} to the
// registered URL with the headers webhook-id, webhook-timestamp and
// webhook-signature ("v1," and the base64 HMAC-SHA256, keyed by the
// base64-decoded secret after "whsec_", of id.timestamp.body). Each
// registration has its own queue, delivered in order by its own worker, so
// a slow receiver slows no one else; a failed delivery is retried with
// exponential backoff (WebhookRetryBase doubling up to WebhookRetryMax)
// for WebhookRetryFor, after which the webhook is paused. Redirects are
// not followed, and the hub never connects to its own listening address.

// Webhook statuses.
const (
	webhookActive = "active"
	webhookPaused = "paused" // a delivery failed for WebhookRetryFor
)

// Bounds of the webhooks.
const (
	maxWebhooksPerCouncil = 10
	maxWebhookQueue       = 1000
)

// webhook is a registration, kept in the private store with its secret
// and its queue.
type webhook struct {
	ID        string          `json:"id"`
	Council   string          `json:"council"`
	URL       string          `json:"url"`
	Events    []string        `json:"events"`
	Secret    string          `json:"secret"`
	CreatedAt time.Time       `json:"created_at"`
	Status    string          `json:"status"`
	PausedAt  *time.Time      `json:"paused_at,omitempty"`
	Last      *deliveryResult `json:"last,omitempty"`
	Delivered int64           `json:"delivered"`
	Dropped   int64           `json:"dropped"` // given up, or over the queue's bound
	Queue     []delivery      `json:"queue"`
}

// delivery is one message waiting to be delivered.
type delivery struct {
	ID       string          `json:"id"` // the webhook-id, the same on every attempt
	Body     json.RawMessage `json:"body"`
	Attempts int             `json:"attempts"`
	Waited   time.Duration   `json:"waited"` // the backoff spent on it so far
}

// deliveryResult is the outcome of a webhook's last attempt.
type deliveryResult struct {
	Message string    `json:"message"`
	At      time.Time `json:"at"`
	Attempt int       `json:"attempt"`
	OK      bool      `json:"ok"`
	Status  int       `json:"status,omitempty"` // the receiver's HTTP status
	Error   string    `json:"error,omitempty"`
}

// webhookView is a registration as the council reads it; the secret is
// shown only when it is created.
type webhookView struct {
	ID        string          `json:"id"`
	URL       string          `json:"url"`
	Events    []string        `json:"events"`
	Status    string          `json:"status"`
	CreatedAt time.Time       `json:"created_at"`
	PausedAt  *time.Time      `json:"paused_at,omitempty"`
	Last      *deliveryResult `json:"last,omitempty"`
	Delivered int64           `json:"delivered"`
	Dropped   int64           `json:"dropped"`
	Pending   int             `json:"pending"`
	Secret    string          `json:"secret,omitempty"`
}

func (w *webhook) view() webhookView {
	return webhookView{ID: w.ID, URL: w.URL, Events: w.Events, Status: w.Status, CreatedAt: w.CreatedAt, PausedAt: w.PausedAt,
		Last: w.Last, Delivered: w.Delivered, Dropped: w.Dropped, Pending: len(w.Queue)}
}

// webhooks runs one worker per registration with something to deliver.
type webhooks struct {
	c      *coord
	client *http.Client

	mu      sync.Mutex
	workers map[string]chan struct{} // webhook → wake-up
	self    *net.TCPAddr             // the hub's own listening address, once serving
	quit    chan struct{}
	ctx     context.Context // cancelled at stop, ending deliveries in flight
	cancel  context.CancelFunc
	started bool // workers run only while the hub serves
	stopped bool
	wg      sync.WaitGroup
}

func newWebhooks(c *coord) *webhooks {
	h := &webhooks{c: c, workers: map[string]chan struct{}{}, quit: make(chan struct{})}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		// Checked again at each connection: the host may resolve otherwise
		// than when the webhook was registered.
		if why := h.refusedAddress(address); why != "" {
			return errors.New("refused: the address " + why)
		}
		return nil
	}}
	h.client = &http.Client{
		Timeout:   c.s.cfg.WebhookTimeout,
		Transport: &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: 2, IdleConnTimeout: time.Minute},
		// Deliveries go only to the URL registered.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return h
}

// listening notes the hub's own address, which webhooks never reach.
func (h *webhooks) listening(addr net.Addr) {
	if a, ok := addr.(*net.TCPAddr); ok {
		h.mu.Lock()
		h.self = a
		h.mu.Unlock()
	}
}

// isSelf reports whether address ("ip:port") is where the hub listens:
// its own address, or, when it listens on every interface, any address of
// this machine at its port.
func (h *webhooks) isSelf(address string) bool {
	h.mu.Lock()
	self := h.self
	h.mu.Unlock()
	host, port, err := net.SplitHostPort(address)
	ip := net.ParseIP(host)
	if err != nil || self == nil || ip == nil || port != strconv.Itoa(self.Port) {
		return false
	}
	if !self.IP.IsUnspecified() {
		return ip.Equal(self.IP)
	}
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

// refusedAddress says why webhooks may not reach address ("ip:port"), or
// "": it is the hub's own, or, unless Config.WebhookPrivate, a loopback,
// private, link-local or unspecified one.
func (h *webhooks) refusedAddress(address string) string {
	if h.isSelf(address) {
		return "is the hub's own"
	}
	host, _, err := net.SplitHostPort(address)
	ip := net.ParseIP(host)
	if err != nil || ip == nil {
		return "is not an IP address and port"
	}
	if !h.c.s.cfg.WebhookPrivate && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() ||
		ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast()) {
		return "is in a loopback, private or link-local network, which webhooks do not reach on this hub (--webhook-private allows it)"
	}
	return ""
}

// checkURL checks a webhook's URL: http or https, a host, and no address
// of the hub itself among those its host resolves to.
func (h *webhooks) checkURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Fragment != "":
		return plenty.Invalid("url", "must be an absolute http or https URL without user info or fragment")
	case len(raw) > 2000:
		return plenty.Invalid("url", "must be at most 2000 characters")
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, u.Hostname())
	if err != nil || len(ips) == 0 {
		return plenty.Invalid("url", "its host "+u.Hostname()+" does not resolve")
	}
	for _, ip := range ips {
		if h.isSelf(net.JoinHostPort(ip.IP.String(), port)) {
			return plenty.Invalid("url", "resolves to this hub itself; give the address of your own receiver")
		}
		if why := h.refusedAddress(net.JoinHostPort(ip.IP.String(), port)); why != "" {
			return plenty.Invalid("url", "resolves to "+ip.IP.String()+", which "+why)
		}
	}
	return nil
}

// newSecret returns a signing secret: "whsec_" and 32 random bytes in
// base64.
func newSecret() string {
	var b [32]byte
	rand.Read(b[:])
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:])
}

// Sign returns the webhook-signature of a delivery: "v1," and the base64
// HMAC-SHA256 of id.timestamp.body keyed by the decoded secret.
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.", id, timestamp)
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil)), nil
}

// start runs a worker for each registration with a queue, after a restart.
func (h *webhooks) start() {
	h.mu.Lock()
	h.started = true
	h.mu.Unlock()
	keys, err := h.c.store.Keys(kindWebhooks)
	if err != nil {
		h.c.s.log.Error("webhooks: reading the registrations", "err", err)
	}
	for _, k := range keys {
		h.wake(k)
	}
}

func (h *webhooks) stop() {
	h.mu.Lock()
	if !h.stopped {
		h.stopped = true
		close(h.quit)
		h.cancel()
	}
	h.mu.Unlock()
	h.wg.Wait()
}

// wake starts webhook id's worker, or wakes it when it runs.
func (h *webhooks) wake(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped || !h.started {
		return
	}
	if ch, ok := h.workers[id]; ok {
		select {
		case ch <- struct{}{}:
		default:
		}
		return
	}
	ch := make(chan struct{}, 1)
	h.workers[id] = ch
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.work(id, ch)
	}()
}

// work delivers webhook id's queue in order until it is empty, the webhook
// is paused or deleted, or the hub stops.
func (h *webhooks) work(id string, wake chan struct{}) {
	defer func() {
		h.mu.Lock()
		if h.workers[id] == wake {
			delete(h.workers, id)
		}
		h.mu.Unlock()
	}()
	for {
		var w webhook
		ok, err := h.c.store.Get(kindWebhooks, id, &w)
		if err != nil {
			h.c.s.log.Error("webhooks: reading a registration", "webhook", id, "err", err)
			return
		}
		if !ok || w.Status != webhookActive || len(w.Queue) == 0 {
			select {
			case <-wake:
				continue
			case <-h.quit:
				return
			case <-time.After(time.Minute):
				// Idle: the next enqueue starts a worker again, unless
				// one woke this one meanwhile.
				h.mu.Lock()
				select {
				case <-wake:
					h.mu.Unlock()
					continue
				default:
				}
				delete(h.workers, id)
				h.mu.Unlock()
				return
			}
		}
		d := w.Queue[0]
		res := h.send(w, d)
		if h.ctx.Err() != nil {
			return // stopping: the attempt does not count
		}
		wait, err := h.settle(id, d.ID, res)
		if err != nil {
			h.c.s.log.Error("webhooks: recording a delivery", "webhook", id, "err", err)
			return
		}
		if wait > 0 {
			select {
			case <-time.After(wait):
			case <-h.quit:
				return
			}
		}
	}
}

// send makes one attempt at delivering d.
func (h *webhooks) send(w webhook, d delivery) deliveryResult {
	now := h.c.s.now()
	res := deliveryResult{Message: d.ID, At: now, Attempt: d.Attempts + 1}
	sig, err := Sign(w.Secret, d.ID, now.Unix(), d.Body)
	if err != nil {
		res.Error = "the secret is not valid base64"
		return res
	}
	req, err := http.NewRequestWithContext(h.ctx, http.MethodPost, w.URL, bytes.NewReader(d.Body))
	if err != nil {
		res.Error = err.Error()
		return res
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "plenty-webhooks/1")
	req.Header.Set("webhook-id", d.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := h.client.Do(req)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	res.Status = resp.StatusCode
	res.OK = resp.StatusCode >= 200 && resp.StatusCode < 300
	if !res.OK {
		res.Error = "the receiver answered " + resp.Status
	}
	return res
}

// settle records an attempt's result: a delivered message leaves the
// queue; a failed one waits its backoff, and once it has waited
// WebhookRetryFor the webhook is paused. It returns how long to wait
// before the next attempt.
func (h *webhooks) settle(id, msg string, res deliveryResult) (time.Duration, error) {
	cfg := h.c.s.cfg
	var wait time.Duration
	var w webhook
	err := h.c.store.Update(kindWebhooks, id, &w, func(found bool) (bool, error) {
		if !found || len(w.Queue) == 0 || w.Queue[0].ID != msg {
			return false, nil // deleted meanwhile
		}
		w.Last = &res
		if res.OK {
			w.Queue = w.Queue[1:]
			w.Delivered++
			return true, nil
		}
		d := &w.Queue[0]
		d.Attempts++
		wait = min(cfg.WebhookRetryBase<<min(d.Attempts-1, 30), cfg.WebhookRetryMax)
		if d.Waited+wait > cfg.WebhookRetryFor {
			w.Status, w.PausedAt, wait = webhookPaused, &res.At, 0
			return true, nil
		}
		d.Waited += wait
		return true, nil
	})
	return wait, err
}

// enqueue queues notices for the webhooks of the councils they concern
// that subscribed to their type.
func (h *webhooks) enqueue(notices []notice) error {
	if len(notices) == 0 {
		return nil
	}
	keys, err := h.c.store.Keys(kindWebhooks)
	if err != nil || len(keys) == 0 {
		return err
	}
	for _, k := range keys {
		var w webhook
		added := false
		err := h.c.store.Update(kindWebhooks, k, &w, func(found bool) (bool, error) {
			if !found {
				return false, nil
			}
			have := map[string]bool{}
			for _, d := range w.Queue {
				have[d.ID] = true
			}
			for _, n := range notices {
				if !slices.Contains(n.Councils, w.Council) || !subscribed(w.Events, n.Type) || !n.At.After(w.CreatedAt.Add(-time.Second)) {
					continue
				}
				id := "msg_" + n.ID
				if have[id] {
					continue
				}
				body, err := json.Marshal(webhookPayload(n, w.Council))
				if err != nil {
					return false, err
				}
				w.Queue = append(w.Queue, delivery{ID: id, Body: body})
				have[id], added = true, true
			}
			if over := len(w.Queue) - maxWebhookQueue; over > 0 {
				w.Queue = w.Queue[over:]
				w.Dropped += int64(over)
			}
			return added, nil
		})
		if err != nil {
			return err
		}
		if added && w.Status == webhookActive {
			h.wake(k)
		}
	}
	return nil
}

func subscribed(events []string, typ string) bool {
	return slices.Contains(events, "*") || slices.Contains(events, typ)
}

// webhookPayload is a delivery's body, per Standard Webhooks.
func webhookPayload(n notice, council string) any {
	data := map[string]string{"id": n.ID, "council": council, "title": n.Title}
	for k, v := range map[string]string{"proposal": n.Proposal, "agreement": n.Agreement, "task": n.Task,
		"volunteer": n.Volunteer, "subject": n.Subject} {
		if v != "" {
			data[k] = v
		}
	}
	return map[string]any{"type": n.Type, "timestamp": n.At.UTC().Format(time.RFC3339), "data": data}
}

type webhookInput struct {
	URL    string   `json:"url" validate:"required"`
	Events []string `json:"events" validate:"required,min=1,max=20"`
}

// councilDelegate authenticates a delegate of the path's council with the
// accept scope.
func (s *Server) councilDelegate(c *fiber.Ctx) (plenty.Delegate, error) {
	council := c.Params("id")
	if err := s.councilExists(council); err != nil {
		return plenty.Delegate{}, err
	}
	return s.mandate(c, council, plenty.ScopeAccept)
}

func (s *Server) registerWebhook(c *fiber.Ctx) error {
	d, err := s.councilDelegate(c)
	if err != nil {
		return err
	}
	var in webhookInput
	if err := decodeBody(c, &in); err != nil {
		return err
	}
	fe := usecase.Validate(&in)
	for i, e := range in.Events {
		if e != "*" && !slices.Contains(NoticeTypes, e) {
			fe.Addf(fmt.Sprintf("events[%d]", i), "must be \"*\" or one of %s", strings.Join(NoticeTypes, ", "))
		}
	}
	if err := fe.Err(); err != nil {
		return err
	}
	if err := s.coord.hooks.checkURL(c.UserContext(), in.URL); err != nil {
		return err
	}
	keys, err := s.coord.store.Keys(kindWebhooks)
	if err != nil {
		return err
	}
	n := 0
	for _, k := range keys {
		var w webhook
		if ok, _ := s.coord.store.Get(kindWebhooks, k, &w); ok && w.Council == d.Council {
			n++
		}
	}
	if n >= maxWebhooksPerCouncil {
		return plenty.Errorf(plenty.ECONFLICT, "council %s has %d webhooks, the most it can; delete one first", d.Council, n)
	}
	now := s.now()
	w := webhook{ID: usecase.NewID("wh_", now), Council: d.Council, URL: in.URL, Events: slices.Compact(slices.Sorted(slices.Values(in.Events))),
		Secret: newSecret(), CreatedAt: now, Status: webhookActive, Queue: []delivery{}}
	if err := s.coord.store.Put(kindWebhooks, w.ID, w); err != nil {
		return err
	}
	v := w.view()
	v.Secret = w.Secret
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"webhook": v})
}

// councilWebhooks returns a council's webhooks, oldest first.
func (s *Server) councilWebhooks(council string) ([]webhookView, error) {
	keys, err := s.coord.store.Keys(kindWebhooks)
	if err != nil {
		return nil, err
	}
	out := []webhookView{}
	for _, k := range keys {
		var w webhook
		ok, err := s.coord.store.Get(kindWebhooks, k, &w)
		if err != nil {
			return nil, err
		}
		if ok && w.Council == council {
			out = append(out, w.view())
		}
	}
	return out, nil
}

func (s *Server) listWebhooks(c *fiber.Ctx) error {
	d, err := s.councilDelegate(c)
	if err != nil {
		return err
	}
	ws, err := s.councilWebhooks(d.Council)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"webhooks": ws})
}

func (s *Server) deleteWebhook(c *fiber.Ctx) error {
	d, err := s.councilDelegate(c)
	if err != nil {
		return err
	}
	id := c.Params("webhook")
	var w webhook
	ok, err := s.coord.store.Get(kindWebhooks, id, &w)
	if errors.Is(err, private.ErrBadKey) {
		ok, err = false, nil
	}
	if err == nil && (!ok || w.Council != d.Council) {
		err = plenty.Errorf(plenty.ENOTFOUND, "council %s has no webhook %s", d.Council, id)
	}
	if err != nil {
		return err
	}
	if err := s.coord.store.Delete(kindWebhooks, id); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"webhook": w.view()})
}
