package plenty

import (
	"encoding/binary"
	"errors"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// postingIndex keeps the ids of the live offers, needs and delivery tasks
// sorted, so that a listing pages from its cursor rather than sorting
// every id under the read lock. It follows from the maps, so a replay and a snapshot hold the
// same ids; the snapshot keeps them (as one sorted list) because decoding
// them is cheaper than sorting them again.
type postingIndex struct{ offers, needs, tasks sortedIDs }

func (x *postingIndex) of(kind string) *sortedIDs {
	switch kind {
	case "offer":
		return &x.offers
	case "task":
		return &x.tasks
	}
	return &x.needs
}

func (x *postingIndex) add(kind, id string)    { x.of(kind).insert(id) }
func (x *postingIndex) remove(kind, id string) { x.of(kind).delete(id) }

// sortedIDs is a sorted set of ids in blocks of at most maxBlock, so that
// an insertion or a removal anywhere moves at most a block and the list of
// blocks, not every id after it: ids arrive in any order (a mirror's, a
// test's), and postings close in any order.
type sortedIDs struct{ blocks [][]string }

const maxBlock = 512

var sortedIDsType = reflect.TypeFor[sortedIDs]()

// block returns the block where id is or belongs: the first whose last id
// is at least id, or the last block.
func (s *sortedIDs) block(id string) int {
	b := sort.Search(len(s.blocks), func(i int) bool { bl := s.blocks[i]; return bl[len(bl)-1] >= id })
	if b == len(s.blocks) && b > 0 {
		b--
	}
	return b
}

func (s *sortedIDs) insert(id string) {
	if len(s.blocks) == 0 {
		s.blocks = [][]string{{id}}
		return
	}
	b := s.block(id)
	bl := s.blocks[b]
	i, found := slices.BinarySearch(bl, id)
	if found {
		return
	}
	bl = slices.Insert(bl, i, id)
	if len(bl) > maxBlock {
		half := len(bl) / 2
		tail := slices.Clone(bl[half:])
		s.blocks[b] = slices.Clip(bl[:half])
		s.blocks = slices.Insert(s.blocks, b+1, tail)
		return
	}
	s.blocks[b] = bl
}

func (s *sortedIDs) delete(id string) {
	if len(s.blocks) == 0 {
		return
	}
	b := s.block(id)
	bl := s.blocks[b]
	i, found := slices.BinarySearch(bl, id)
	if !found {
		return
	}
	if bl = slices.Delete(bl, i, i+1); len(bl) == 0 {
		s.blocks = slices.Delete(s.blocks, b, b+1)
		return
	}
	s.blocks[b] = bl
	if len(bl) < maxBlock/8 {
		s.shrink(b)
	}
}

// shrink keeps the blocks' memory in step with the ids they hold once
// most of a block's ids were deleted: it joins block b with a neighbour
// when both fit in half a block, or else copies it into an array of its
// size. Postings mostly close, so without it the blocks would keep the
// memory of every id the index ever held.
func (s *sortedIDs) shrink(b int) {
	n := b + 1
	if n == len(s.blocks) {
		n = b - 1
	}
	if n >= 0 && len(s.blocks[b])+len(s.blocks[n]) <= maxBlock/2 {
		lo, hi := min(b, n), max(b, n)
		s.blocks[lo] = append(slices.Clone(s.blocks[lo]), s.blocks[hi]...)
		s.blocks = slices.Delete(s.blocks, hi, hi+1)
		return
	}
	if bl := s.blocks[b]; cap(bl) > 2*len(bl) {
		s.blocks[b] = slices.Clone(bl)
	}
}

func (s *sortedIDs) len() int {
	n := 0
	for _, bl := range s.blocks {
		n += len(bl)
	}
	return n
}

// after calls fn with each id greater than after, in order, until fn
// returns false.
func (s *sortedIDs) after(after string, fn func(id string) bool) {
	b := sort.Search(len(s.blocks), func(i int) bool { bl := s.blocks[i]; return bl[len(bl)-1] > after })
	for ; b < len(s.blocks); b++ {
		bl := s.blocks[b]
		i := sort.Search(len(bl), func(i int) bool { return bl[i] > after })
		for _, id := range bl[i:] {
			if !fn(id) {
				return
			}
		}
	}
}

func (s *sortedIDs) all() []string {
	out := make([]string, 0, s.len())
	for _, bl := range s.blocks {
		out = append(out, bl...)
	}
	return out
}

// A snapshot holds the ids as one sorted list, whatever the blocks, so
// that equal sets encode equally.
func (s *sortedIDs) appendSnapshot(b []byte) []byte {
	b = binary.AppendUvarint(b, uint64(s.len()))
	for _, bl := range s.blocks {
		for _, id := range bl {
			b = binary.AppendUvarint(b, uint64(len(id)))
			b = append(b, id...)
		}
	}
	return b
}

func (s *sortedIDs) readSnapshot(b []byte) ([]byte, error) {
	n, w := binary.Uvarint(b)
	if w <= 0 || n > uint64(len(b)) {
		return nil, errSnapshotShort
	}
	b = b[w:]
	var out sortedIDs
	var bl []string
	last := ""
	for i := uint64(0); i < n; i++ {
		l, w := binary.Uvarint(b)
		if w <= 0 || l > uint64(len(b)-w) {
			return nil, errSnapshotShort
		}
		id := strings.Clone(string(b[w : w+int(l)]))
		b = b[w+int(l):]
		if i > 0 && id <= last {
			return nil, errors.New("damaged posting index: ids out of order")
		}
		if bl = append(bl, id); len(bl) == maxBlock/2 {
			out.blocks, bl = append(out.blocks, bl), nil
		}
		last = id
	}
	if len(bl) > 0 {
		out.blocks = append(out.blocks, bl)
	}
	*s = out
	return b, nil
}
