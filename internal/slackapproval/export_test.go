package slackapproval

// ReplayLen reports how many payload ids h remembers for replay
// detection. It exists for the tests of package slackapproval_test.
func (h *Handler) ReplayLen() int { return h.replay.len() }
