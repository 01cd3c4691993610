package hub

import "github.com/plentyhub/plenty/matching"

// MatchingStats says what the last RunMatching did with each item.
func (s *Server) MatchingStats() matching.Stats {
	s.engine.run.Lock()
	defer s.engine.run.Unlock()
	return s.engine.stats
}

// ForgetMatching drops the matching engine's solutions: the next run
// solves every item from scratch, as matching.Propose does.
func (s *Server) ForgetMatching() {
	s.engine.run.Lock()
	defer s.engine.run.Unlock()
	s.engine.inc = nil
}

// ProposedFor reports whether the current proposals give need something.
func (s *Server) ProposedFor(need string) bool {
	for _, p := range s.engine.current().list {
		if p.Need == need {
			return true
		}
	}
	return false
}
