// A tile-reading client of the ledger's log built on code we did not write: Go's
// golang.org/x/mod/sumdb/note (signed notes) and golang.org/x/mod/sumdb/tlog (tiles, proofs).
//
// It fetches /v1/log/checkpoint, opens it with the log's verifier key, recomputes the tree
// hash from the tiles alone, proves and checks the inclusion of the given leaves and the
// consistency with an older checkpoint note. It prints one JSON object and exits 1 on any
// failure, so a test can both read what it found and see that it refused.
//
// Build (offline, Debian's golang-golang-x-mod-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o tlog_client main.go
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8 // C2SP tiles: 256 hashes wide

type server struct {
	base, token string
	fetched     map[string][]byte
}

func (s *server) get(path string) ([]byte, error) {
	if data, ok := s.fetched[path]; ok {
		return data, nil
	}
	req, err := http.NewRequest("GET", s.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, data)
	}
	s.fetched[path] = data
	return data, nil
}

// c2spPath maps a tlog.Tile to the C2SP path: Go's path names the height ("tile/8/..."),
// C2SP's does not, and Go's data tiles (L = -1) are C2SP's entry bundles.
func c2spPath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), fmt.Sprintf("tile/%d/", height))
	if t.L == -1 {
		p = "entries/" + strings.TrimPrefix(p, "data/")
	}
	return "/v1/log/tile/" + p
}

// tiles is a tlog.TileReader over HTTP.
type tiles struct{ s *server }

func (r tiles) Height() int { return height }

func (r tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		data, err := r.s.get(c2spPath(t))
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

func (r tiles) SaveTiles([]tlog.Tile, [][]byte) {}

// widest is the tile holding stored hash `index` at the width a tree of `size` gives it.
func widest(index, size int64) tlog.Tile {
	t := tlog.TileForIndex(height, index)
	t.W = 1 << height
	if level := size >> uint(t.L*height); t.N<<height+int64(t.W) > level {
		t.W = int(level - t.N<<height)
	}
	return t
}

// rawHashes reads hashes from the tiles without checking them against any root: the tree
// hash computed from it is then compared with the signed one.
type rawHashes struct {
	s    *server
	size int64
}

func (r rawHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		t := widest(x, r.size)
		data, err := r.s.get(c2spPath(t))
		if err != nil {
			return nil, err
		}
		if len(data) != t.W*tlog.HashSize {
			return nil, fmt.Errorf("tile %s is %d bytes, not %d", c2spPath(t), len(data), t.W*tlog.HashSize)
		}
		if out[i], err = tlog.HashFromTile(t, data, x); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// entry is record `n` of the entry bundle that holds it, hashed as an RFC 6962 leaf.
func entry(s *server, n, size int64) (tlog.Hash, error) {
	t := tlog.Tile{H: height, L: -1, N: n >> height, W: 1 << height}
	if rest := size - t.N<<height; rest < int64(t.W) {
		t.W = int(rest)
	}
	data, err := s.get(c2spPath(t))
	if err != nil {
		return tlog.Hash{}, err
	}
	for i := int64(0); ; i++ {
		if len(data) < 2 {
			return tlog.Hash{}, fmt.Errorf("bundle %s ends before entry %d", c2spPath(t), n)
		}
		length := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+length {
			return tlog.Hash{}, fmt.Errorf("bundle %s: entry cut short", c2spPath(t))
		}
		if i == n-t.N<<height {
			return tlog.RecordHash(data[2 : 2+length]), nil
		}
		data = data[2+length:]
	}
}

type checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
}

func open(data []byte, verifier note.Verifier) (checkpoint, error) {
	n, err := note.Open(data, note.VerifierList(verifier))
	if err != nil {
		return checkpoint{}, fmt.Errorf("note.Open: %v", err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 || lines[0] != verifier.Name() {
		return checkpoint{}, fmt.Errorf("the checkpoint's origin is not the key's name %q", verifier.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return checkpoint{}, fmt.Errorf("tree size: %v", err)
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return checkpoint{}, fmt.Errorf("root hash: %v", err)
	}
	return checkpoint{lines[0], size, root}, nil
}

func run() (map[string]interface{}, error) {
	base := flag.String("url", "", "the ledger's base URL")
	token := flag.String("token", "", "a bearer token")
	vkey := flag.String("vkey", "", "the log's verifier key (ledger public-key --vkey)")
	indexes := flag.String("indexes", "", "comma-separated leaf indexes to prove")
	entries := flag.Bool("entries", false, "hash the leaves from the entry bundles (auditors)")
	oldNote := flag.String("old-note", "", "a file holding an older checkpoint note to prove consistency from")
	flag.Parse()

	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		return nil, fmt.Errorf("note.NewVerifier: %v", err)
	}
	s := &server{strings.TrimRight(*base, "/"), *token, map[string][]byte{}}
	data, err := s.get("/v1/log/checkpoint")
	if err != nil {
		return nil, err
	}
	cp, err := open(data, verifier)
	if err != nil {
		return nil, err
	}
	result := map[string]interface{}{"origin": cp.Origin, "size": cp.Size, "root": cp.Root.String()}

	computed, err := tlog.TreeHash(cp.Size, rawHashes{s, cp.Size})
	if err != nil {
		return result, fmt.Errorf("TreeHash from tiles: %v", err)
	}
	if computed != cp.Root {
		return result, fmt.Errorf("the tiles give root %v, the signed checkpoint %v", computed, cp.Root)
	}
	result["tree_hash"] = computed.String()

	proven := tlog.TileHashReader(tlog.Tree{N: cp.Size, Hash: cp.Root}, tiles{s})
	var included []map[string]interface{}
	for _, field := range strings.Split(*indexes, ",") {
		if field == "" {
			continue
		}
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return result, fmt.Errorf("index %q: %v", field, err)
		}
		var leaf tlog.Hash
		if *entries {
			leaf, err = entry(s, n, cp.Size)
		} else {
			var hashes []tlog.Hash
			hashes, err = rawHashes{s, cp.Size}.ReadHashes([]int64{tlog.StoredHashIndex(0, n)})
			if err == nil {
				leaf = hashes[0]
			}
		}
		if err != nil {
			return result, fmt.Errorf("leaf %d: %v", n, err)
		}
		proof, err := tlog.ProveRecord(cp.Size, n, proven)
		if err != nil {
			return result, fmt.Errorf("ProveRecord(%d): %v", n, err)
		}
		if err := tlog.CheckRecord(proof, cp.Size, cp.Root, n, leaf); err != nil {
			return result, fmt.Errorf("CheckRecord(%d): %v", n, err)
		}
		included = append(included, map[string]interface{}{"index": n, "leaf_hash": leaf.String()})
	}
	result["included"] = included

	if *oldNote != "" {
		data, err := os.ReadFile(*oldNote)
		if err != nil {
			return result, err
		}
		old, err := open(data, verifier)
		if err != nil {
			return result, fmt.Errorf("old note: %v", err)
		}
		proof, err := tlog.ProveTree(cp.Size, old.Size, proven)
		if err != nil {
			return result, fmt.Errorf("ProveTree(%d, %d): %v", cp.Size, old.Size, err)
		}
		if err := tlog.CheckTree(proof, cp.Size, cp.Root, old.Size, old.Root); err != nil {
			return result, fmt.Errorf("CheckTree(%d, %d): %v", cp.Size, old.Size, err)
		}
		result["consistent_with"] = old.Size
	}
	return result, nil
}

func main() {
	result, err := run()
	if result == nil {
		result = map[string]interface{}{}
	}
	if err != nil {
		result["error"] = err.Error()
	}
	out, _ := json.Marshal(result)
	fmt.Println(string(out))
	if err != nil {
		os.Exit(1)
	}
}
