package hub

import (
	"encoding/xml"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/plentyhub/plenty"
)

// feedLength is how many notices a feed keeps, newest first.
const feedLength = 100

// feed is a council's or a volunteer's recent notices.
type feed struct {
	Notices []notice `json:"notices"`
}

// addToFeed puts notices at the head of to's feed, skipping those it
// holds already.
func (c *coord) addToFeed(to string, notices []notice) error {
	var f feed
	return c.store.Update(kindFeeds, to, &f, func(bool) (bool, error) {
		have := map[string]bool{}
		for _, n := range f.Notices {
			have[n.ID] = true
		}
		added := false
		for _, n := range notices {
			if !have[n.ID] {
				f.Notices = append([]notice{n}, f.Notices...)
				have[n.ID], added = true, true
			}
		}
		if len(f.Notices) > feedLength {
			f.Notices = f.Notices[:feedLength]
		}
		return added, nil
	})
}

// Atom 1.0 (RFC 4287) documents.
type atomFeed struct {
	XMLName xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string      `xml:"id"`
	Title   string      `xml:"title"`
	Updated string      `xml:"updated"`
	Author  atomPerson  `xml:"author"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomEntry struct {
	ID       string       `xml:"id"`
	Title    string       `xml:"title"`
	Updated  string       `xml:"updated"`
	Category atomCategory `xml:"category"`
	Links    []atomLink   `xml:"link"`
	Summary  string       `xml:"summary"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

// serveFeed answers an Atom feed of the notices of a council or a
// volunteer. Feeds carry public facts only, so they need no token.
func (s *Server) serveFeed(c *fiber.Ctx, id, title, self string) error {
	if err := s.coord.catchUp(c.UserContext(), false); err != nil {
		return err
	}
	var f feed
	if _, err := s.coord.store.Get(kindFeeds, id, &f); err != nil {
		return err
	}
	base := c.BaseURL()
	doc := atomFeed{
		ID: "urn:plenty:" + s.ledger.Origin() + ":feed:" + id, Title: title,
		Author: atomPerson{Name: s.ledger.Origin()},
		Links:  []atomLink{{Rel: "self", Href: base + self}},
	}
	updated := time.Time{}
	for _, n := range f.Notices {
		if n.At.After(updated) {
			updated = n.At
		}
		e := atomEntry{ID: "urn:plenty:" + s.ledger.Origin() + ":notice:" + n.ID, Title: n.Title,
			Updated: n.At.UTC().Format(time.RFC3339), Category: atomCategory{Term: n.Type}, Summary: n.Title}
		if link := noticeLink(n); link != "" {
			e.Links = append(e.Links, atomLink{Rel: "alternate", Href: base + link})
		}
		doc.Entries = append(doc.Entries, e)
	}
	if updated.IsZero() {
		updated = s.now()
	}
	doc.Updated = updated.UTC().Format(time.RFC3339)
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "application/atom+xml; charset=utf-8")
	return c.Send(append([]byte(xml.Header), out...))
}

// noticeLink is the API path of what a notice is about.
func noticeLink(n notice) string {
	switch {
	case n.Agreement != "":
		return "/api/v1/agreements/" + n.Agreement
	case n.Task != "":
		return "/api/v1/tasks/" + n.Task
	case n.Proposal != "":
		return "/api/v1/proposals"
	}
	return ""
}

func (s *Server) councilFeed(c *fiber.Ctx) error {
	id := c.Params("id")
	var cn plenty.Council
	var ok bool
	s.read(func(st *plenty.State) error { cn, ok = st.Council(id); return nil })
	if !ok {
		return plenty.Errorf(plenty.ENOTFOUND, "council %s does not exist", id)
	}
	return s.serveFeed(c, id, "Plenty: what needs "+cn.Name, "/api/v1/councils/"+id+"/feed.atom")
}

func (s *Server) volunteerFeed(c *fiber.Ctx) error {
	id := c.Params("id")
	var v plenty.Volunteer
	var ok bool
	s.read(func(st *plenty.State) error { v, ok = st.Volunteer(id); return nil })
	if !ok {
		return plenty.Errorf(plenty.ENOTFOUND, "volunteer %s does not exist", id)
	}
	return s.serveFeed(c, id, "Plenty: tasks of "+v.Handle, "/api/v1/volunteers/"+id+"/feed.atom")
}
