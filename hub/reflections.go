package hub

import (
	"sort"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
)

// reflection is one council's anonymous word to the other on an exchange
// after its transfer (a "blind mirror"): the other council reads it, no
// delegate is named, and it is deleted reflectionTTL after it was written.
// Its key is the agreement and the writing council, so each council
// leaves at most one per agreement.
type reflection struct {
	Agreement string    `json:"agreement"`
	To        string    `json:"to"` // the council it is for
	Item      string    `json:"item"`
	Text      string    `json:"text"`
	At        time.Time `json:"at"`
	DeleteAt  time.Time `json:"delete_at"`
}

func reflectionKey(agreement, from string) string { return agreement + "." + from }

func (s *Server) postReflection(c *fiber.Ctx) error {
	a, d, err := s.agreementFor(c, true)
	if err != nil {
		return err
	}
	var in messageInput
	if err := decodeChecked(c, &in); err != nil {
		return err
	}
	r, err := s.leaveReflection(a, d.Council, in.Text)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(fiber.Map{"reflection": r})
}

// leaveReflection records council from's reflection on agreement a:
// ECONFLICT before the transfer or when from already left one.
func (s *Server) leaveReflection(a plenty.Agreement, from, text string) (reflection, error) {
	if err := checkText(text); err != nil {
		return reflection{}, err
	}
	if a.Status != plenty.AgreementReceived {
		return reflection{}, plenty.Errorf(plenty.ECONFLICT, "agreement %s is %s; a reflection can be left once the receipt is confirmed", a.ID, a.Status)
	}
	to := a.Receiver
	if from == a.Receiver {
		to = a.Provider
	}
	now := s.now()
	r := reflection{Agreement: a.ID, To: to, Item: a.Item, Text: text, At: now, DeleteAt: now.Add(reflectionTTL)}
	key := reflectionKey(a.ID, from)
	var cur reflection
	err := s.coord.store.Update(kindReflections, key, &cur, func(found bool) (bool, error) {
		if found {
			return false, plenty.Errorf(plenty.ECONFLICT, "your council already left its reflection on agreement %s", a.ID)
		}
		cur = r
		return true, nil
	})
	if err != nil {
		return reflection{}, err
	}
	s.coord.setDeadline(kindReflections, key, r.DeleteAt)
	return r, nil
}

// reflectionsFor returns the reflections left for council, newest first.
func (s *Server) reflectionsFor(council string) ([]reflection, error) {
	keys, err := s.coord.store.Keys(kindReflections)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := []reflection{}
	for _, k := range keys {
		if strings.HasSuffix(k, "."+council) {
			continue // its own
		}
		var r reflection
		ok, err := s.coord.store.Get(kindReflections, k, &r)
		if err != nil {
			return nil, err
		}
		if ok && r.To == council && now.Before(r.DeleteAt) {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out, nil
}

func (s *Server) getReflections(c *fiber.Ctx) error {
	council := c.Params("id")
	if err := s.councilExists(council); err != nil {
		return err
	}
	// Any delegate of the council in force reads them, whatever its scopes.
	d, err := s.authenticate(c)
	if err != nil {
		return err
	}
	if d.Council != council {
		return plenty.Errorf(plenty.EFORBIDDEN, "reflections left for council %s are for its delegates; delegate %s acts for council %s", council, d.ID, d.Council)
	}
	rs, err := s.reflectionsFor(council)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"reflections": rs})
}
