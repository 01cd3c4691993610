package hub

// webRoutes lays out the web pages: the public pages, the council desk and
// the volunteer board.
func (s *Server) webRoutes() {}
