package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
	"github.com/plentyhub/plenty/usecase"
)

// privateStores keeps, for the use cases, what never enters the ledger:
// a posting's pickup or drop-off details, in the private store, copied
// into the thread of each agreement the posting enters and shown there
// to the two councils and the drawn volunteer only; and a volunteer's
// contact.
type privateStores struct{ s *Server }

func (p privateStores) KeepDetails(posting string, d details) error {
	return p.s.coord.store.Put(kindPostings, posting, postingRecord{Details: d})
}

func (p privateStores) KeepContact(volunteer, contact string, at time.Time) error {
	return p.s.contacts.add(volunteer, contact, at)
}

// postingRecord is an offer's or a need's private details in the store.
// They are deleted when the posting is withdrawn or expires, or
// MessageTTL after it was used up (DeleteAt); each agreement keeps its own
// copy in its thread.
type postingRecord struct {
	Details  details    `json:"details"`
	DeleteAt *time.Time `json:"delete_at,omitempty"`
}

// postingOpen reports whether an offer or a need is open.
func (c *coord) postingOpen(id string) bool {
	open := false
	c.s.read(func(st *plenty.State) error {
		if o, ok := st.Offer(id); ok {
			open = o.Status == plenty.StatusOpen
		} else if n, ok := st.Need(id); ok {
			open = n.Status == plenty.StatusOpen
		}
		return nil
	})
	return open
}

// postingsUsed times the deletion of the private details of an
// agreement's offer and need when they are no longer open.
func (c *coord) postingsUsed(agreement string, at time.Time) error {
	a, _ := c.s.ledger.Agreement(context.Background(), agreement)
	var errs []error
	for _, id := range []string{a.Offer, a.Need} {
		if id == "" || c.postingOpen(id) {
			continue
		}
		var r postingRecord
		del := at.Add(c.s.cfg.MessageTTL)
		timed := false
		err := c.store.Update(kindPostings, id, &r, func(found bool) (bool, error) {
			if !found || r.DeleteAt != nil {
				return false, nil
			}
			r.DeleteAt, timed = &del, true
			return true, nil
		})
		if timed {
			c.setDeadline(kindPostings, id, del)
		}
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// thread is an agreement's private coordination thread.
type thread struct {
	Agreement string          `json:"agreement"`
	Pickup    *details        `json:"pickup,omitempty"`
	Dropoff   *details        `json:"dropoff,omitempty"`
	Messages  []threadMessage `json:"messages"`
	EndedAt   *time.Time      `json:"ended_at,omitempty"`
	DeleteAt  *time.Time      `json:"delete_at,omitempty"`
}

// threadMessage is one message in a thread, by a delegate for its council
// or by the drawn volunteer.
type threadMessage struct {
	ID        string    `json:"id"`
	Council   string    `json:"council,omitempty"`
	Delegate  string    `json:"delegate,omitempty"`
	Volunteer string    `json:"volunteer,omitempty"`
	Name      string    `json:"name"` // the council's name or the volunteer's handle
	Text      string    `json:"text"`
	At        time.Time `json:"at"`
}

// Bounds of a thread.
const (
	maxMessageText = 2000
	maxMessages    = 500
)

// openThread starts an agreement's thread with its offer's and need's
// private details, when either has some.
func (c *coord) openThread(agreement string) error {
	a, err := c.s.ledger.Agreement(context.Background(), agreement)
	if err != nil {
		return nil
	}
	var offer, need postingRecord
	if _, err := c.store.Get(kindPostings, a.Offer, &offer); err != nil {
		return err
	}
	if _, err := c.store.Get(kindPostings, a.Need, &need); err != nil {
		return err
	}
	pickup, dropoff := offer.Details, need.Details
	if pickup.Empty() && dropoff.Empty() {
		return nil
	}
	var t thread
	return c.store.Update(kindThreads, agreement, &t, func(found bool) (bool, error) {
		if t.Pickup != nil || t.Dropoff != nil {
			return false, nil
		}
		t.Agreement = agreement
		if !pickup.Empty() {
			t.Pickup = &pickup
		}
		if !dropoff.Empty() {
			t.Dropoff = &dropoff
		}
		return true, nil
	})
}

// endThread gives an ended agreement's thread, if it has one, its time:
// it is deleted MessageTTL after the end.
func (c *coord) endThread(agreement string, end time.Time) error {
	var t thread
	var at time.Time
	err := c.store.Update(kindThreads, agreement, &t, func(found bool) (bool, error) {
		if !found || t.DeleteAt != nil {
			return false, nil
		}
		at = end.Add(c.s.cfg.MessageTTL)
		t.EndedAt, t.DeleteAt = &end, &at
		return true, nil
	})
	if err == nil && !at.IsZero() {
		c.setDeadline(kindThreads, agreement, at)
	}
	return err
}

// participant is who reads or writes a thread.
type participant struct {
	council, delegate, volunteer, name string
}

// threadAccess authenticates a delegate of either council of the
// agreement (post or accept scope), or the volunteer drawn to carry it:
// EUNAUTHORIZED without a valid token, ENOTFOUND for no such agreement,
// EFORBIDDEN for anyone else.
func (s *Server) threadAccess(c *fiber.Ctx) (plenty.Agreement, participant, error) {
	token, err := bearerToken(c, "delegate's or volunteer")
	if err != nil {
		return plenty.Agreement{}, participant{}, err
	}
	d, derr := s.delegateByToken(c.UserContext(), token)
	var v plenty.Volunteer
	if plenty.ErrorCode(derr) == plenty.EUNAUTHORIZED {
		var verr error
		if v, verr = s.volunteerByToken(token); verr != nil {
			if plenty.ErrorCode(verr) == plenty.EUNAUTHORIZED {
				return plenty.Agreement{}, participant{}, derr
			}
			return plenty.Agreement{}, participant{}, verr
		}
	} else if derr != nil {
		return plenty.Agreement{}, participant{}, derr
	}
	return s.threadParticipant(c.Params("id"), d, v)
}

// threadParticipant checks that delegate d (or volunteer v, when d is
// zero) may read and write agreement id's thread.
func (s *Server) threadParticipant(id string, d plenty.Delegate, v plenty.Volunteer) (plenty.Agreement, participant, error) {
	var (
		p    participant
		name string
	)
	// A finished agreement's thread stays readable until it is deleted.
	t, a, ok := s.taskAndAgreement(plenty.TaskID(id), id)
	if !ok {
		return a, p, plenty.Errorf(plenty.ENOTFOUND, "agreement %s does not exist", id)
	}
	s.read(func(st *plenty.State) error {
		if cn, found := st.Council(d.Council); found {
			name = cn.Name
		}
		return nil
	})
	if d.ID != "" {
		if d.Council != a.Provider && d.Council != a.Receiver {
			return a, p, plenty.Errorf(plenty.EFORBIDDEN, "the thread of agreement %s is for its two councils and its volunteer; delegate %s's council %s is not party to it", id, d.ID, d.Council)
		}
		if !d.HasScope(plenty.ScopeAccept) && !d.HasScope(plenty.ScopePost) {
			return a, p, plenty.Errorf(plenty.EFORBIDDEN, "delegate %s's mandate has neither the %q nor the %q scope", d.ID, plenty.ScopePost, plenty.ScopeAccept)
		}
		return a, participant{council: d.Council, delegate: d.ID, name: name}, nil
	}
	if t.Assignee != v.ID || t.Status == plenty.TaskOpen {
		return a, p, plenty.Errorf(plenty.EFORBIDDEN, "the thread of agreement %s is for its two councils and the volunteer drawn to carry it", id)
	}
	return a, participant{volunteer: v.ID, name: v.Handle}, nil
}

// threadView is a thread as its participants read it.
type threadView struct {
	Agreement string          `json:"agreement"`
	Pickup    *details        `json:"pickup,omitempty"`
	Dropoff   *details        `json:"dropoff,omitempty"`
	Messages  []threadMessage `json:"messages"`
	DeleteAt  *time.Time      `json:"delete_at,omitempty"`
}

// readThread returns an agreement's thread (empty when it has none), after
// the follower caught up so that new agreements carry their details.
func (s *Server) readThread(c *fiber.Ctx, agreement string) (threadView, error) {
	if err := s.coord.catchUp(c.UserContext(), false); err != nil {
		return threadView{}, err
	}
	var t thread
	if _, err := s.coord.store.Get(kindThreads, agreement, &t); err != nil {
		return threadView{}, err
	}
	v := threadView{Agreement: agreement, Pickup: t.Pickup, Dropoff: t.Dropoff, Messages: t.Messages, DeleteAt: t.DeleteAt}
	if v.Messages == nil {
		v.Messages = []threadMessage{}
	}
	return v, nil
}

func (s *Server) getMessages(c *fiber.Ctx) error {
	a, _, err := s.threadAccess(c)
	if err != nil {
		return err
	}
	v, err := s.readThread(c, a.ID)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

type messageInput struct {
	Text string `json:"text"`
}

func (s *Server) postMessage(c *fiber.Ctx) error {
	a, p, err := s.threadAccess(c)
	if err != nil {
		return err
	}
	var in messageInput
	if err := decodeChecked(c, &in); err != nil {
		return err
	}
	m, err := s.addMessage(c, a, p, in.Text)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"message": m})
}

// checkText checks a message's or a reflection's text.
func checkText(text string) error {
	switch n := utf8.RuneCountInString(strings.TrimSpace(text)); {
	case n == 0:
		return plenty.Invalid("text", "must not be empty")
	case utf8.RuneCountInString(text) > maxMessageText:
		return plenty.Invalid("text", "must be at most 2000 characters")
	case strings.ContainsRune(text, 0):
		return plenty.Invalid("text", "must not contain NUL characters")
	}
	return nil
}

// addMessage adds p's message to agreement a's thread: ECONFLICT once the
// agreement ended (the thread is then read-only until it is deleted) or
// the thread is full.
func (s *Server) addMessage(c *fiber.Ctx, a plenty.Agreement, p participant, text string) (threadMessage, error) {
	if err := checkText(text); err != nil {
		return threadMessage{}, err
	}
	if err := s.coord.catchUp(c.UserContext(), false); err != nil {
		return threadMessage{}, err
	}
	now := s.now()
	m := threadMessage{ID: usecase.NewID("m_", now), Council: p.council, Delegate: p.delegate, Volunteer: p.volunteer,
		Name: p.name, Text: text, At: now}
	// With an Idempotency-Key the message's id comes from the key and its
	// author, so that a retry finds the message it sent.
	key := c.Get("Idempotency-Key")
	if key != "" {
		if len(key) > maxIdempotencyKey || !printableASCII(key) {
			return threadMessage{}, plenty.Invalid("Idempotency-Key", "must be 1 to 200 printable ASCII characters")
		}
		h := sha256.Sum256([]byte(p.delegate + p.volunteer + "\n" + key))
		m.ID = "m_" + hex.EncodeToString(h[:14])
	}
	var t thread
	err := s.coord.store.Update(kindThreads, a.ID, &t, func(found bool) (bool, error) {
		if key != "" {
			for _, old := range t.Messages {
				switch {
				case old.ID != m.ID:
				case old.Text != text:
					return false, plenty.Errorf(plenty.ECONFLICT, "the Idempotency-Key was used for another message")
				default:
					m = old
					return false, nil
				}
			}
		}
		cur, _ := s.ledger.Agreement(context.Background(), a.ID)
		switch {
		case cur.Status != plenty.AgreementActive || t.DeleteAt != nil:
			return false, plenty.Errorf(plenty.ECONFLICT, "agreement %s has ended (%s); its thread can be read until it is deleted, %s after the end", a.ID, cur.Status, s.cfg.MessageTTL)
		case len(t.Messages) >= maxMessages:
			return false, plenty.Errorf(plenty.ECONFLICT, "the thread of agreement %s holds %d messages, the most it can", a.ID, maxMessages)
		}
		t.Agreement = a.ID
		t.Messages = append(t.Messages, m)
		return true, nil
	})
	return m, err
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
