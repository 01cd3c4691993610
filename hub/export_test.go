package hub

import "github.com/plentyhub/plenty/matching"

// MatchingStats says what the last RunMatching did with each item.
func (s *Server) MatchingStats() matching.Stats {
	s.engine.run.Lock()
	defer s.engine.run.Unlock()
	return s.engine.stats
}
