package matching

import "fmt"

// checkTree verifies the spanning tree's redundant links against each
// other: the thread is a preorder walk, succNum and lastSucc describe each
// subtree, pred arcs join each node to its parent, and tree arcs have zero
// reduced cost.
func (s *simplex) checkTree() error {
	N := len(s.pi)
	// preorder along the thread from the root
	order := make([]int32, 0, N)
	u := int32(0)
	for i := 0; i < N; i++ {
		order = append(order, u)
		if s.revThread[s.thread[u]] != u {
			return fmt.Errorf("revThread[thread[%d]] = %d", u, s.revThread[s.thread[u]])
		}
		u = s.thread[u]
	}
	if u != 0 {
		return fmt.Errorf("thread does not return to the root after %d nodes", N)
	}
	pos := make([]int, N)
	for i, v := range order {
		pos[v] = i
	}
	size := make([]int32, N)
	for i := N - 1; i >= 0; i-- {
		v := order[i]
		size[v]++
		if p := s.parent[v]; p >= 0 {
			size[p] += size[v]
			if pos[p] >= pos[v] {
				return fmt.Errorf("node %d precedes its parent %d in the thread", v, p)
			}
		}
	}
	for v := int32(0); v < int32(N); v++ {
		if size[v] != s.succNum[v] {
			return fmt.Errorf("succNum[%d] = %d, subtree has %d", v, s.succNum[v], size[v])
		}
		if want := order[pos[v]+int(size[v])-1]; s.lastSucc[v] != want {
			return fmt.Errorf("lastSucc[%d] = %d, want %d", v, s.lastSucc[v], want)
		}
		if v == 0 {
			continue
		}
		e := s.pred[v]
		p := s.parent[v]
		if s.state[e] != stateTree {
			return fmt.Errorf("pred arc %d of node %d not in tree state", e, v)
		}
		if s.predDir[v] == dirUp && (s.src[e] != v || s.tgt[e] != p) ||
			s.predDir[v] == dirDown && (s.src[e] != p || s.tgt[e] != v) {
			return fmt.Errorf("pred arc %d does not join %d to its parent %d", e, v, p)
		}
		if rc := s.cost[e] + s.pi[s.src[e]] - s.pi[s.tgt[e]]; rc != 0 {
			return fmt.Errorf("tree arc %d has reduced cost %d", e, rc)
		}
		if s.flow[e] < 0 || s.flow[e] > s.cap[e] {
			return fmt.Errorf("tree arc %d flow %d outside [0, %d]", e, s.flow[e], s.cap[e])
		}
	}
	return nil
}
