package hub

import (
	"context"
	"encoding/hex"
	"errors"
	"time"

	"github.com/plentyhub/plenty"
)

// terms are the hub's time limits (plenty.Terms), as configured.
func (s *Server) terms() plenty.Terms {
	return plenty.Terms{LotteryWindow: s.cfg.LotteryWindow, ClaimWindow: s.cfg.ClaimWindow, AgreementTerm: s.cfg.AgreementTerm,
		CorrectionWindow: s.cfg.CorrectionWindow, DrawKey: hex.EncodeToString(s.ledger.DrawKey().Public())}
}

// PublishTerms records the configured terms when they are not the ones in
// force: the fold measures draws, lapses and expiries against the terms
// the ledger holds, so everyone can see them.
func (s *Server) PublishTerms(ctx context.Context) error {
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
// server ticks at each deadline (see runTimers); tests call Tick after
// moving the clock. Ticks run one at a time.
// The first tick publishes the hub's terms (plenty.Terms) in the ledger.
//
// A draw is seeded by the root of the tree of every event before it, in a
// checkpoint the hub signs just before: the winner is
// plenty.DrawVolunteer(root, task, candidates). The ledger checks the seed
// against its tree; anyone can check it against the signed checkpoint.
func (s *Server) Tick(ctx context.Context) error {
	s.loops.tick.Lock()
	defer s.loops.tick.Unlock()
	if err := s.PublishTerms(ctx); err != nil {
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

// drawAttempts bounds the retries of a draw that another write overtook
// between reading the log and recording the draw; the next tick tries
// again.
const drawAttempts = 3

// draw assigns a task by the lottery: the winner under the published rule,
// from the hub's verifiable random function over the task and its close
// and the log as it stood at the close (plenty.DrawSeed).
func (s *Server) draw(ctx context.Context, task string) error {
	key := s.ledger.DrawKey()
	for range drawAttempts {
		var (
			candidates []string
			closesAt   time.Time
			root       string
			ok         bool
		)
		if err := s.read(func(st *plenty.State) error {
			if t, found := st.Task(task); found && t.Status == plenty.TaskOpen {
				candidates = t.Candidates
				closesAt, root, ok = st.DrawRoot(task, s.now())
			}
			return nil
		}); err != nil {
			return err
		}
		if len(candidates) == 0 || !ok {
			return nil
		}
		proof, out := key.Prove(plenty.DrawInput(task, closesAt))
		rootBytes, _ := hex.DecodeString(root)
		win := plenty.DrawVolunteer(plenty.DrawSeed(out, rootBytes), task, candidates)
		_, _, err := s.write(ctx, plenty.KindTaskAssigned, plenty.ActorHub,
			plenty.TaskAssignment{Task: task, Volunteer: win, Proof: hex.EncodeToString(proof)})
		if c := plenty.ErrorCode(err); c != plenty.ECONFLICT && c != plenty.EINVALID {
			return err
		}
	}
	return nil
}
