package hub

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
)

type volunteerInput struct {
	Handle  string `json:"handle" validate:"required"`
	Contact string `json:"contact" validate:"max=200"`
}

// volunteerView is a volunteer as registration answers it: the token is
// shown once and never again.
type volunteerView struct {
	plenty.Volunteer
	Token string `json:"token,omitempty"`
}

// contacts keeps volunteers' optional contact details in the data folder's
// private/ folder (mode 0700), one JSON line per volunteer, synced after
// the volunteer is recorded. They never reach the ledger or the open data.
type contacts struct {
	mu  sync.Mutex
	dir string
}

func (c *contacts) add(volunteer, contact string, at time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(c.dir, "contacts.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	line, _ := json.Marshal(map[string]any{"volunteer": volunteer, "contact": contact, "at": at})
	if _, err = f.Write(append(line, '\n')); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// newVolunteer registers a volunteer with a pseudonymous handle and
// returns it with its token. A contact, when given, is kept privately.
func (s *Server) newVolunteer(ctx context.Context, handle, contact string) (plenty.Volunteer, string, error) {
	if strings.ContainsAny(contact, "\x00\r\n") {
		return plenty.Volunteer{}, "", plenty.Invalid("contact", "must be one line of text")
	}
	now := s.now()
	token := newToken()
	data := plenty.VolunteerRegistration{ID: newID("v_", now), Handle: handle}
	ev, replay, err := s.write(ctx, plenty.KindVolunteerRegistered, plenty.ActorPublic, data,
		plenty.Credential{Holder: plenty.VolunteerActor(data.ID), Hash: plenty.HashToken(token)})
	if err != nil {
		return plenty.Volunteer{}, "", err
	}
	if replay {
		// The first registration's token cannot be shown again.
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			return plenty.Volunteer{}, "", err
		}
		token = ""
	}
	var v plenty.Volunteer
	if err := s.read(func(st *plenty.State) error { v, _ = st.Volunteer(data.ID); return nil }); err != nil {
		return v, "", err
	}
	if replay {
		return v, "", nil
	}
	// Kept only for a volunteer who exists. Should the hub stop between the
	// two writes, the volunteer stands without a contact, which is optional.
	if contact != "" {
		if err := s.contacts.add(v.ID, contact, now); err != nil {
			return v, "", plenty.Errorf(plenty.EINTERNAL, "registered as %s, but the contact could not be kept: %v", v.ID, err)
		}
	}
	return v, token, nil
}

func (s *Server) registerVolunteer(c *fiber.Ctx) error {
	var in volunteerInput
	var fe fieldErrors
	if err := s.decodeBody(c, &in, &fe); err != nil {
		return err
	}
	if err := fe.err(); err != nil {
		return err
	}
	ctx, err := idempotent(c)
	if err != nil {
		return err
	}
	v, token, err := s.newVolunteer(ctx, in.Handle, in.Contact)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"volunteer": volunteerView{v, token}})
}

// volunteerByToken returns the volunteer whose token this is:
// EUNAUTHORIZED when none, ERATELIMIT when it wrote too much.
func (s *Server) volunteerByToken(token string) (plenty.Volunteer, error) {
	hash := plenty.HashToken(strings.TrimSpace(token))
	var v plenty.Volunteer
	var found bool
	s.read(func(st *plenty.State) error { v, found = st.VolunteerByToken(hash); return nil })
	if !found || subtle.ConstantTimeCompare([]byte(hash), []byte(v.TokenHash)) != 1 {
		return plenty.Volunteer{}, plenty.Errorf(plenty.EUNAUTHORIZED, "the token is not a volunteer's; register with POST /api/v1/volunteers")
	}
	if wait, ok := s.tokenLimit.allow(hash); !ok {
		return plenty.Volunteer{}, &rateLimited{retryAfter: wait,
			err: plenty.Errorf(plenty.ERATELIMIT, "this volunteer sent more than %g writes per second; retry after %d s", s.cfg.WriteRate, wait)}
	}
	return v, nil
}

// vouchVolunteer records that the delegate's council vouches for a
// volunteer, who may then offer to carry deliveries. The vouch is public:
// it names the council and the volunteer's handle, never a person.
func (s *Server) vouchVolunteer(c *fiber.Ctx) error {
	d, err := s.mandate(c, "", plenty.ScopeAccept)
	if err != nil {
		return err
	}
	id := c.Params("id")
	if _, _, err := s.record(c, plenty.KindVolunteerVouched, plenty.DelegateActor(d.ID),
		plenty.VolunteerVouch{Volunteer: id, Council: d.Council}); err != nil {
		return err
	}
	var v plenty.Volunteer
	if err := s.read(func(st *plenty.State) error { v, _ = st.Volunteer(id); return nil }); err != nil {
		return err
	}
	return c.JSON(fiber.Map{"volunteer": volunteerView{v, ""}})
}
