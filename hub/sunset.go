package hub

import (
	"context"
	"encoding/hex"
	"errors"

	"golang.org/x/mod/sumdb/note"

	"github.com/plentyhub/plenty"
)

// terms are the hub's time limits (plenty.Terms), as configured.
func (s *Server) terms() plenty.Terms {
	return plenty.Terms{LotteryWindow: s.cfg.LotteryWindow, ClaimWindow: s.cfg.ClaimWindow, AgreementTerm: s.cfg.AgreementTerm}
}

// publishTerms records the configured terms when they are not the ones in
// force: the fold measures draws, lapses and expiries against the terms
// the ledger holds, so everyone can see them.
func (s *Server) publishTerms(ctx context.Context) error {
	var cur plenty.Terms
	var set bool
	s.read(func(st *plenty.State) error { cur, set = st.Terms(); return nil })
	if set && cur == s.terms() {
		return nil
	}
	_, _, err := s.write(ctx, plenty.KindTermsSet, plenty.ActorHub, s.terms())
	return err
}

// Tick runs the timers once at the hub's clock: it records what ran out
// (offers, needs, mandates, agreements never picked up, claims not picked
// up in time) and draws a volunteer for each task whose window closed. The
// server ticks every TickInterval; tests call Tick after moving the clock.
// The first tick publishes the hub's terms (plenty.Terms) in the ledger.
//
// A draw is seeded by the root of the tree of every event before it, in a
// checkpoint the hub signs just before: the winner is
// plenty.DrawVolunteer(root, task, candidates). The ledger checks the seed
// against its tree; anyone can check it against the signed checkpoint.
func (s *Server) Tick(ctx context.Context) error {
	if err := s.publishTerms(ctx); err != nil {
		return err
	}
	// Coordination: tell what happened, this tick's expiries included, and
	// delete what ran out.
	defer func() {
		if err := errors.Join(s.coord.catchUp(ctx, true), s.coord.purge()); err != nil {
			s.log.Error("coordination", "err", err)
		}
	}()
	var due plenty.Due
	now := s.now()
	s.read(func(st *plenty.State) error { due = st.Due(now); return nil })
	if due.Empty() {
		return nil
	}
	var errs []error
	hub := plenty.ActorHub
	record := func(kind string, data any) {
		// Another tick or a delegate may have ended it first: that is no fault.
		if _, _, err := s.write(ctx, kind, hub, data); err != nil && plenty.ErrorCode(err) != plenty.ECONFLICT {
			errs = append(errs, err)
		}
	}
	for _, id := range due.Offers {
		record(plenty.KindOfferExpired, plenty.PostingClosed{ID: id})
	}
	for _, id := range due.Needs {
		record(plenty.KindNeedExpired, plenty.PostingClosed{ID: id})
	}
	for _, id := range due.Mandates {
		record(plenty.KindMandateExpired, plenty.MandateExpired{Delegate: id})
	}
	for _, id := range due.Agreements {
		record(plenty.KindAgreementCancelled, plenty.AgreementCancellation{Agreement: id, Reason: plenty.CancelExpired})
	}
	for _, id := range due.Claims {
		record(plenty.KindTaskLapsed, plenty.TaskRef{Task: id})
	}
	for _, id := range due.Draws {
		if err := s.draw(ctx, id); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// openCheckpoint checks a checkpoint's signature with the hub's verifier
// key and reads it.
func (s *Server) openCheckpoint(signed []byte) (plenty.Checkpoint, error) {
	v, err := note.NewVerifier(s.ledger.VerifierKey())
	if err != nil {
		return plenty.Checkpoint{}, err
	}
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		return plenty.Checkpoint{}, err
	}
	return plenty.ParseCheckpoint(n.Text)
}

// drawAttempts bounds the retries of a draw that other writes overtook
// between its checkpoint and its event; the next tick tries again.
const drawAttempts = 3

// draw assigns a task by the lottery, seeded from a checkpoint of every
// event before the draw.
func (s *Server) draw(ctx context.Context, task string) error {
	for range drawAttempts {
		signed, err := s.ledger.Checkpoint(ctx)
		if err != nil {
			return err
		}
		cp, err := s.openCheckpoint(signed)
		if err != nil {
			return err
		}
		var candidates []string
		s.read(func(st *plenty.State) error {
			if t, ok := st.Task(task); ok && t.Status == plenty.TaskOpen {
				candidates = t.Candidates
			}
			return nil
		})
		if len(candidates) == 0 {
			return nil
		}
		_, _, err = s.write(ctx, plenty.KindTaskAssigned, plenty.ActorHub, plenty.TaskAssignment{
			Task: task, Volunteer: plenty.DrawVolunteer(cp.Root[:], task, candidates),
			Seed: hex.EncodeToString(cp.Root[:]), TreeSize: cp.Size})
		if plenty.ErrorCode(err) != plenty.ECONFLICT {
			return err
		}
	}
	return nil
}
