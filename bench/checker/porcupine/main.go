// Command porcupine-bench checks Porcupine's own corpus files with Porcupine and prints one JSON line per file
// ({"file", "verdict", "check_s", "parse_s"}), timing the check apart from the parsing. bench/checker/bench.py
// runs it beside our checker on the same files in the same run, alternating file by file: with no arguments it
// reads one path per line from stdin and answers each with its JSON line (one process for the whole run).
// Usage: porcupine-bench [FILE...]
//
// It builds against either Porcupine version: with the build tag `newest` (bench.py builds it so against the
// newest commit's source, through a go.mod replace) the models also give Porcupine a state hash
// (Model.Hash, new after v1.3.1); without it, against v1.3.1 from the Go module proxy, they do not.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
)

const nilValue = -1000000

type regInput struct {
	op   int // 0 read, 1 write, 2 cas
	a, b int
}

type regOutput struct {
	ok, exists, unknown bool
	value               int
}

var registerModel = withHash(porcupine.Model{
	Init: func() interface{} { return nilValue },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		st := state.(int)
		in := input.(regInput)
		out := output.(regOutput)
		switch in.op {
		case 0:
			legal := out.unknown || (!out.exists && st == nilValue) || (out.exists && st == out.value)
			return legal, st
		case 1:
			return true, in.a
		default:
			next := st
			if in.a == st {
				next = in.b
			}
			legal := out.unknown || (in.a == st) == out.ok
			return legal, next
		}
	},
}, func(state interface{}) uint64 { return mix(uint64(int64(state.(int)))) })

// mix is the 64-bit finalizer of MurmurHash3: a well-spread hash of a small integer state.
func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	return x ^ (x >> 33)
}

// fnv is FNV-1a over a string state.
func fnv(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

type kvInput struct {
	op         int // 0 get, 1 put, 2 append
	key, value string
}

var kvModel = withHash(porcupine.Model{
	PartitionEvent: func(history []porcupine.Event) [][]porcupine.Event {
		byKey := map[string][]porcupine.Event{}
		keyOf := map[int]string{}
		for _, e := range history {
			if e.Kind == porcupine.CallEvent {
				keyOf[e.Id] = e.Value.(kvInput).key
			}
			k := keyOf[e.Id]
			byKey[k] = append(byKey[k], e)
		}
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([][]porcupine.Event, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, byKey[k])
		}
		return parts
	},
	Init: func() interface{} { return "" },
	Step: func(state, input, output interface{}) (bool, interface{}) {
		st := state.(string)
		in := input.(kvInput)
		switch in.op {
		case 0:
			return output.(string) == st, st
		case 1:
			return true, in.value
		default:
			return true, st + in.value
		}
	},
}, func(state interface{}) uint64 { return fnv(state.(string)) })

// parser turns lines into events, pairing a completion with the open call of its process.
type parser struct {
	events []porcupine.Event
	open   map[int]int
	next   int
}

func (p *parser) call(proc int, v interface{}) {
	p.events = append(p.events, porcupine.Event{ClientId: proc, Kind: porcupine.CallEvent, Value: v, Id: p.next})
	p.open[proc] = p.next
	p.next++
}

func (p *parser) ret(proc int, v interface{}) {
	id, ok := p.open[proc]
	if !ok {
		return
	}
	delete(p.open, proc)
	p.events = append(p.events, porcupine.Event{ClientId: proc, Kind: porcupine.ReturnEvent, Value: v, Id: id})
}

func (p *parser) finish(v interface{}) []porcupine.Event {
	procs := make([]int, 0, len(p.open))
	for proc := range p.open {
		procs = append(procs, proc)
	}
	sort.Ints(procs)
	for _, proc := range procs {
		p.events = append(p.events, porcupine.Event{ClientId: proc, Kind: porcupine.ReturnEvent, Value: v, Id: p.open[proc]})
	}
	return p.events
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(err)
	}
	return n
}

// parseEtcd reads "INFO jepsen.util - PROC :TYPE :F VALUE" lines; :info lines leave the call open to the end.
func parseEtcd(lines []string) []porcupine.Event {
	p := &parser{open: map[int]int{}}
	for _, line := range lines {
		fields := strings.Fields(line)
		if len(fields) < 7 || fields[0] != "INFO" {
			continue
		}
		proc, typ, f, val := atoi(fields[3]), fields[4], fields[5], strings.Join(fields[6:], " ")
		switch {
		case typ == ":invoke" && f == ":read":
			p.call(proc, regInput{op: 0})
		case typ == ":invoke" && f == ":write":
			p.call(proc, regInput{op: 1, a: atoi(val)})
		case typ == ":invoke" && f == ":cas":
			ab := strings.Fields(strings.Trim(val, "[]"))
			p.call(proc, regInput{op: 2, a: atoi(ab[0]), b: atoi(ab[1])})
		case typ == ":ok" && f == ":read" && val == "nil":
			p.ret(proc, regOutput{})
		case typ == ":ok" && f == ":read":
			p.ret(proc, regOutput{exists: true, value: atoi(val)})
		case typ == ":ok" && f == ":write":
			p.ret(proc, regOutput{})
		case (typ == ":ok" || typ == ":fail") && f == ":cas" && strings.HasPrefix(val, "["):
			p.ret(proc, regOutput{ok: typ == ":ok"})
		case typ == ":fail" && f == ":read":
			p.ret(proc, regOutput{unknown: true})
		}
	}
	return p.finish(regOutput{unknown: true})
}

var kvLine = regexp.MustCompile(`^\{:process (\d+), :type :(\w+), :f :(\w+), :key "([^"]*)", :value (nil|"[^"]*")\}$`)

func parseKv(lines []string) []porcupine.Event {
	p := &parser{open: map[int]int{}}
	ops := map[string]int{"get": 0, "put": 1, "append": 2}
	for _, line := range lines {
		m := kvLine.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		proc, value := atoi(m[1]), strings.Trim(m[5], "\"")
		if m[2] == "invoke" {
			p.call(proc, kvInput{op: ops[m[3]], key: m[4], value: value})
		} else {
			p.ret(proc, value)
		}
	}
	return p.finish("")
}

type result struct {
	File    string  `json:"file"`
	Verdict string  `json:"verdict"`
	CheckS  float64 `json:"check_s"`
	ParseS  float64 `json:"parse_s"`
}

func checkFile(path string) (result, error) {
	started := time.Now()
	data, err := os.ReadFile(path)
	if err != nil {
		return result{}, err
	}
	lines := strings.Split(string(data), "\n")
	model, events := registerModel, []porcupine.Event(nil)
	if strings.Contains("/"+path, "/kv/") {
		model, events = kvModel, parseKv(lines)
	} else {
		events = parseEtcd(lines)
	}
	start := time.Now()
	res := porcupine.CheckEventsTimeout(model, events, 0)
	elapsed := time.Since(start).Seconds()
	verdict := map[porcupine.CheckResult]string{porcupine.Ok: "true", porcupine.Illegal: "false", porcupine.Unknown: "unknown"}[res]
	return result{File: path, Verdict: verdict, CheckS: elapsed, ParseS: start.Sub(started).Seconds()}, nil
}

func main() {
	out := json.NewEncoder(os.Stdout)
	paths := os.Args[1:]
	one := func(path string) {
		r, err := checkFile(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		_ = out.Encode(r)
	}
	if len(paths) > 0 {
		for _, path := range paths {
			one(path)
		}
		return
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if path := strings.TrimSpace(sc.Text()); path != "" {
			one(path)
		}
	}
}
