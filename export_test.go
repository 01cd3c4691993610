package plenty

// ForgetDeadlines drops the deadline index, so that the next NextDeadline
// builds it again (for benchmarks).
func (s *State) ForgetDeadlines() {
	s.deadlines.mu.Lock()
	s.deadlines.built = false
	s.deadlines.mu.Unlock()
}
