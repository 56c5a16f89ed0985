//! The native core of chaos-harness's linearizability search (harness/checkers/native.py loads it with ctypes).
//!
//! The same algorithm as harness/checkers/linsearch.py (Wing-Gong-Lowe with just-in-time linearization, call
//! and return events in a dancing-links list, configurations memoised), with the model left in Python: the
//! search asks `step(op, state id)` once per (op, state) and caches the answer, so any model works. A
//! configuration is (set of linearized ops, state id); its hash is kept incrementally (XOR of a random word
//! per linearized op, mixed with the state id) and the bit set is stored once in a flat arena, so a probe
//! neither allocates nor rehashes the set. Standard library only.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::Instant;

/// A multiply-rotate hasher for keys that are already well mixed (u64 hashes and packed pairs).
#[derive(Default)]
struct MixHasher(u64);

impl Hasher for MixHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let x = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.write_u64(x);
        }
        let mut tail = 0u64;
        for (k, b) in chunks.remainder().iter().enumerate() {
            tail |= u64::from(*b) << (8 * k);
        }
        self.write_u64(tail ^ ((bytes.len() as u64) << 56));
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type Fast<K, V> = HashMap<K, V, BuildHasherDefault<MixHasher>>;

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The built-in register-family models (read, write/put, append, cas), decided natively. Values are byte
/// strings (or "none"); op kinds follow native.py's encoding.
///
/// A state is a node of a trie: a base value (written, or the initial one) followed by appended pieces, with its
/// length and a polynomial hash kept incrementally, so an append costs O(1) instead of copying the string.
/// States are canonical (equal strings share one id: a new node whose length and hash match an existing one
/// is compared byte for byte, walking both paths), so the memo sees exactly the configurations the Python
/// search sees. Comparing a state with a value checks length and hash, then the bytes.
struct Builtin<'v> {
    kind: Vec<u8>,
    a: Vec<u32>,
    b: Vec<u32>,
    values: &'v Values,
    parent: Vec<u32>, // u32::MAX for a base value
    piece: Vec<u32>,  // the value id of the base, or of the appended piece
    slen: Vec<u64>,
    shash: Vec<u64>,
    snone: Vec<bool>,
    by_edge: Fast<(u32, u32), u32>,
    by_content: Fast<(u64, u64), Vec<u32>>,
}

const K_READ: u8 = 0;
const K_WRITE: u8 = 1;
const K_APPEND: u8 = 2;
const K_CAS_OK: u8 = 3;
const K_CAS_MISMATCH: u8 = 4;
const K_CAS_UNKNOWN: u8 = 5;
const ROOT: u32 = u32::MAX;
const PRIME: u64 = 0x0000_0100_0000_01b3;

fn poly(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |h, &b| h.wrapping_mul(PRIME).wrapping_add(u64::from(b) + 1))
}

/// The values of a history (byte strings, or none) and their hashes, read once and shared by every part's
/// model (and every worker thread).
struct Values {
    bytes: Vec<Option<Vec<u8>>>,
    hash: Vec<u64>,
}

impl Values {
    /// # Safety
    /// `value_ends` / `value_none` hold `n` entries; `value_bytes` holds `value_ends[n - 1]` bytes (at least 1).
    unsafe fn read(n: u32, value_bytes: *const u8, value_ends: *const u64, value_none: *const u8) -> Values {
        let nv = n as usize;
        let ends = std::slice::from_raw_parts(value_ends, nv);
        let none = std::slice::from_raw_parts(value_none, nv);
        let total = if nv == 0 { 0 } else { ends[nv - 1] as usize };
        let all = std::slice::from_raw_parts(value_bytes, total.max(1));
        let mut bytes = Vec::with_capacity(nv);
        let mut start = 0usize;
        for k in 0..nv {
            let end = ends[k] as usize;
            bytes.push(if none[k] != 0 { None } else { Some(all[start..end].to_vec()) });
            start = end;
        }
        let hash = bytes.iter().map(|v| v.as_deref().map_or(0, poly)).collect();
        Values { bytes, hash }
    }
}

impl<'v> Builtin<'v> {
    fn new(kind: Vec<u8>, a: Vec<u32>, b: Vec<u32>, values: &'v Values, init: u32) -> Builtin<'v> {
        let mut m = Builtin {
            kind,
            a,
            b,
            values,
            parent: Vec::new(),
            piece: Vec::new(),
            slen: Vec::new(),
            shash: Vec::new(),
            snone: Vec::new(),
            by_edge: Fast::default(),
            by_content: Fast::default(),
        };
        m.base(init);
        m
    }

    fn vbytes(&self, v: u32) -> &[u8] {
        self.values.bytes[v as usize].as_deref().unwrap_or(&[])
    }

    /// Whether state `s` spells `bytes` exactly (walking its pieces from the end).
    fn spells(&self, s: u32, bytes: &[u8]) -> bool {
        if self.slen[s as usize] != bytes.len() as u64 {
            return false;
        }
        let mut pos = bytes.len();
        let mut node = s;
        while node != ROOT {
            let p = self.vbytes(self.piece[node as usize]);
            if pos < p.len() || bytes[pos - p.len()..pos] != *p {
                return false;
            }
            pos -= p.len();
            node = self.parent[node as usize];
        }
        pos == 0
    }

    fn text(&self, s: u32) -> Vec<u8> {
        let mut pieces = Vec::new();
        let mut node = s;
        while node != ROOT {
            pieces.push(self.piece[node as usize]);
            node = self.parent[node as usize];
        }
        let mut out = Vec::with_capacity(self.slen[s as usize] as usize);
        for &p in pieces.iter().rev() {
            out.extend_from_slice(self.vbytes(p));
        }
        out
    }

    /// The id of the node (parent, piece), creating it unless an equal string already has an id.
    fn node(&mut self, parent: u32, piece: u32, none: bool, len: u64, hash: u64) -> u32 {
        if let Some(&id) = self.by_edge.get(&(parent, piece)) {
            return id;
        }
        let id = self.parent.len() as u32;
        self.parent.push(parent);
        self.piece.push(piece);
        self.slen.push(len);
        self.shash.push(hash);
        self.snone.push(none);
        let mut found = None;
        if !none {
            if let Some(same) = self.by_content.get(&(len, hash)) {
                let mine = self.text(id);
                found = same.iter().copied().find(|&t| !self.snone[t as usize] && self.spells(t, &mine));
            }
        }
        let result = match found {
            Some(t) => {
                // an equal string already has an id: forget the new node, remember the edge
                self.parent.pop();
                self.piece.pop();
                self.slen.pop();
                self.shash.pop();
                self.snone.pop();
                t
            }
            None => {
                if !none {
                    self.by_content.entry((len, hash)).or_default().push(id);
                }
                id
            }
        };
        self.by_edge.insert((parent, piece), result);
        result
    }

    fn base(&mut self, v: u32) -> u32 {
        let none = self.values.bytes[v as usize].is_none();
        let len = self.vbytes(v).len() as u64;
        self.node(ROOT, v, none, len, self.values.hash[v as usize])
    }

    fn append(&mut self, s: u32, v: u32) -> u32 {
        if self.snone[s as usize] {
            return self.base(v); // (state or "") + arg
        }
        let add = self.vbytes(v);
        let n = add.len() as u64;
        let mut scale = 1u64;
        for _ in 0..n {
            scale = scale.wrapping_mul(PRIME);
        }
        let hash = self.shash[s as usize].wrapping_mul(scale).wrapping_add(self.values.hash[v as usize]);
        let len = self.slen[s as usize] + n;
        self.node(s, v, false, len, hash)
    }

    fn equals(&self, s: u32, v: u32) -> bool {
        match &self.values.bytes[v as usize] {
            None => self.snone[s as usize],
            Some(bytes) => {
                !self.snone[s as usize]
                    && self.slen[s as usize] == bytes.len() as u64
                    && self.shash[s as usize] == self.values.hash[v as usize]
                    && self.spells(s, bytes)
            }
        }
    }

    fn step(&mut self, op: usize, sid: u32) -> i32 {
        let a = self.a[op];
        match self.kind[op] {
            K_READ => {
                if self.equals(sid, a) {
                    sid as i32
                } else {
                    -1
                }
            }
            K_WRITE => self.base(a) as i32,
            K_APPEND => self.append(sid, a) as i32,
            K_CAS_OK => {
                if self.equals(sid, a) {
                    self.base(self.b[op]) as i32
                } else {
                    -1
                }
            }
            K_CAS_MISMATCH => {
                if self.equals(sid, a) {
                    -1
                } else {
                    sid as i32
                }
            }
            K_CAS_UNKNOWN => {
                if self.equals(sid, a) {
                    self.base(self.b[op]) as i32
                } else {
                    sid as i32
                }
            }
            _ => -2,
        }
    }
}

enum Stepper<'v> {
    Callback(extern "C" fn(u32, u32) -> i32),
    Native(Box<Builtin<'v>>),
}

impl Stepper<'_> {
    fn step(&mut self, op: u32, sid: u32) -> i32 {
        match self {
            Stepper::Callback(f) => f(op, sid),
            Stepper::Native(b) => b.step(op as usize, sid),
        }
    }
}

pub const OK: i32 = 0;
pub const ILLEGAL: i32 = 1;
pub const OUT_OF_TIME: i32 = 2;
pub const OUT_OF_MEMORY: i32 = 3;
pub const STEP_FAILED: i32 = 4;
pub const CANCELLED: i32 = 5;

/// The memo: configurations stored as [state id, bit-set words...] records in one arena, indexed by hash.
struct Memo {
    words: usize,
    arena: Vec<u64>,
    index: Fast<u64, u32>,
    chain: Vec<u32>, // next record with the same hash (u32::MAX: none)
    count: u64,
}

impl Memo {
    /// Insert (sid, bits); false when it was already there.
    fn insert(&mut self, hash: u64, sid: u32, bits: &[u64]) -> bool {
        let id = self.chain.len() as u32;
        let slot = self.index.entry(hash).or_insert(u32::MAX);
        let head = *slot;
        let mut r = head;
        while r != u32::MAX {
            let at = r as usize * (self.words + 1);
            if self.arena[at] == u64::from(sid) && self.arena[at + 1..at + 1 + self.words] == *bits {
                return false;
            }
            r = self.chain[r as usize];
        }
        *slot = id;
        self.arena.push(u64::from(sid));
        self.arena.extend_from_slice(bits);
        self.chain.push(head);
        self.count += 1;
        true
    }
}

/// Search one part. `events` lists the call (op i: i) and return (op i: -1 - i) events in time order;
/// `gate[i]` is the op that must be linearized before unknown op i may be (its identical predecessor), or -1.
/// `step(op, sid)` returns the next state id, -1 when illegal, -2 when the model raised (the search stops).
/// `out_longest` has room for 3 * n_ops entries (up to 3 longest partial linearizations, lengths in
/// `out_lens`). Returns OK, ILLEGAL, OUT_OF_TIME, OUT_OF_MEMORY or STEP_FAILED.
///
/// # Safety
/// The pointers must be valid for the lengths described above.
#[no_mangle]
pub unsafe extern "C" fn chaos_lin_search(
    n_ops: u32,
    n_events: u32,
    events: *const i32,
    gate: *const i32,
    step: extern "C" fn(u32, u32) -> i32,
    time_limit_s: f64,
    max_configs: u64,
    out_longest: *mut i32,
    out_lens: *mut u32,
    out_configs: *mut u64,
) -> i32 {
    let mut stepper = Stepper::Callback(step);
    let n = n_ops as usize;
    let events = std::slice::from_raw_parts(events, n_events as usize);
    let gate = std::slice::from_raw_parts(gate, n);
    let longest = std::slice::from_raw_parts_mut(out_longest, 3 * n);
    let lens = std::slice::from_raw_parts_mut(out_lens, 3);
    let limits = Limits { deadline: deadline(time_limit_s), max_configs, cancel: &|_, _| false };
    let (status, configs, _) =
        run(events, gate, &mut stepper, &limits, &mut Scratch::default(), Some((longest, lens)));
    *out_configs = configs;
    status
}

/// The same search with a built-in model: per op its kind (K_*), value `a` and value `b` (cas: from, to);
/// `values` are `n_values` byte strings laid end to end (`value_ends[k]` is where value k ends;
/// `value_none[k]` 1 when value k is none); the initial state is value `init`.
///
/// # Safety
/// The pointers must be valid for the lengths described.
#[no_mangle]
pub unsafe extern "C" fn chaos_lin_search_builtin(
    n_ops: u32,
    n_events: u32,
    events: *const i32,
    gate: *const i32,
    kinds: *const u8,
    a: *const u32,
    b: *const u32,
    n_values: u32,
    value_bytes: *const u8,
    value_ends: *const u64,
    value_none: *const u8,
    init: u32,
    time_limit_s: f64,
    max_configs: u64,
    out_longest: *mut i32,
    out_lens: *mut u32,
    out_configs: *mut u64,
) -> i32 {
    let n = n_ops as usize;
    let values = Values::read(n_values, value_bytes, value_ends, value_none);
    let model = Builtin::new(
        std::slice::from_raw_parts(kinds, n).to_vec(),
        std::slice::from_raw_parts(a, n).to_vec(),
        std::slice::from_raw_parts(b, n).to_vec(),
        &values,
        init,
    );
    let mut stepper = Stepper::Native(Box::new(model));
    let events = std::slice::from_raw_parts(events, n_events as usize);
    let gate = std::slice::from_raw_parts(gate, n);
    let longest = std::slice::from_raw_parts_mut(out_longest, 3 * n);
    let lens = std::slice::from_raw_parts_mut(out_lens, 3);
    let limits = Limits { deadline: deadline(time_limit_s), max_configs, cancel: &|_, _| false };
    let (status, configs, _) =
        run(events, gate, &mut stepper, &limits, &mut Scratch::default(), Some((longest, lens)));
    *out_configs = configs;
    status
}

#[allow(clippy::too_many_arguments)]
/// When a search must stop: the deadline (None: none), the memo's size, and `cancel` (polled now and then with the
/// steps taken and the configurations memoised so far: true when another thread decided that this part's answer
/// is no longer needed; it may also block while the memory of other searches is in use).
struct Limits<'c> {
    deadline: Option<Instant>,
    max_configs: u64,
    cancel: &'c (dyn Fn(u64, u64) -> bool + Sync),
}

fn deadline(time_limit_s: f64) -> Option<Instant> {
    if time_limit_s < 0.0 {
        return None;
    }
    let now = Instant::now();
    Some(now.checked_add(std::time::Duration::from_secs_f64(time_limit_s.min(1e9))).unwrap_or(now))
}

/// The tables of one search, kept by a worker thread from part to part: cleared, not freed, so the next part
/// does not grow them (and fault their pages in) again.
#[derive(Default)]
struct Scratch {
    memo_arena: Vec<u64>,
    memo_index: Fast<u64, u32>,
    memo_chain: Vec<u32>,
    trans: Fast<u64, i32>,
}

/// The search of one part; (status, configurations memoised, steps taken). The steps (iterations of the search
/// loop) are a property of the part alone, the same on any thread and in any run. `events` lists the call (op i: i) and return
/// (op i: -1 - i) events in time order; `gate[i]` as in `chaos_lin_search`. `longest`, when given, receives up
/// to 3 longest partial linearizations (room for 3 * n ops) and their lengths.
fn run(
    events: &[i32],
    gate: &[i32],
    stepper: &mut Stepper,
    limits: &Limits,
    scratch: &mut Scratch,
    mut longest: Option<(&mut [i32], &mut [u32])>,
) -> (i32, u64, u64) {
    let n = gate.len();
    let m = events.len();
    let end = m + 1;
    let mut nxt: Vec<usize> = (1..m + 2).collect();
    nxt.push(m + 1);
    let mut prv: Vec<usize> = (0..m + 2).map(|e| e.saturating_sub(1)).collect();
    let mut op_of: Vec<i32> = vec![0; m + 2];
    let mut ret_of: Vec<usize> = vec![0; n];
    for (k, &ev) in events.iter().enumerate() {
        op_of[k + 1] = ev;
        if ev < 0 {
            ret_of[(-1 - ev) as usize] = k + 1;
        }
    }
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let rnd: Vec<u64> = (0..n).map(|_| splitmix(&mut seed)).collect();
    let words = n.div_ceil(64).max(1);
    let mut bits = vec![0u64; words];
    scratch.memo_arena.clear();
    scratch.memo_index.clear();
    scratch.memo_chain.clear();
    scratch.trans.clear();
    let mut memo = Memo {
        words,
        arena: std::mem::take(&mut scratch.memo_arena),
        index: std::mem::take(&mut scratch.memo_index),
        chain: std::mem::take(&mut scratch.memo_chain),
        count: 0,
    };
    let mut trans = std::mem::take(&mut scratch.trans);
    let mut steps = 0u64;
    let status = search_loop(
        &SearchInput { op_of: &op_of, ret_of: &ret_of, gate, rnd: &rnd, end },
        &mut nxt,
        &mut prv,
        &mut bits,
        &mut memo,
        &mut trans,
        stepper,
        limits,
        &mut longest,
        &mut steps,
    );
    let configs = memo.count;
    scratch.memo_arena = memo.arena;
    scratch.memo_index = memo.index;
    scratch.memo_chain = memo.chain;
    scratch.trans = trans;
    (status, configs, steps)
}

struct SearchInput<'a> {
    op_of: &'a [i32],
    ret_of: &'a [usize],
    gate: &'a [i32],
    rnd: &'a [u64],
    end: usize,
}

#[allow(clippy::too_many_arguments)]
fn search_loop(
    input: &SearchInput,
    nxt: &mut [usize],
    prv: &mut [usize],
    bits: &mut [u64],
    memo: &mut Memo,
    trans: &mut Fast<u64, i32>,
    stepper: &mut Stepper,
    limits: &Limits,
    longest: &mut Option<(&mut [i32], &mut [u32])>,
    steps: &mut u64,
) -> i32 {
    let SearchInput { op_of, ret_of, gate, rnd, end } = *input;
    let n = gate.len();
    let mut stack_e: Vec<usize> = Vec::new();
    let mut stack_s: Vec<u32> = Vec::new();
    let mut best = 0usize;
    let mut n_longest = 0usize;
    let mut h: u64 = 0;
    let mut sid: u32 = 0;
    let mut e = nxt[0];
    let mut recent = vec![(u64::MAX, 0i32); 1 << (64 - RECENT_SHIFT)];
    loop {
        *steps += 1;
        let tick = *steps;
        if tick & 0xfff == 0 {
            if limits.deadline.is_some_and(|d| Instant::now() > d) {
                return OUT_OF_TIME;
            }
            if memo.count > limits.max_configs {
                return OUT_OF_MEMORY;
            }
            if (limits.cancel)(tick, memo.count) {
                return CANCELLED;
            }
        }
        if e == end {
            return OK;
        }
        let ev = op_of[e];
        if ev >= 0 {
            let i = ev as usize;
            let g = gate[i];
            if g >= 0 && bits[g as usize >> 6] & (1u64 << (g as usize & 63)) == 0 {
                e = nxt[e];
                continue;
            }
            let key = (u64::from(ev as u32) << 32) | u64::from(sid);
            let ns = if let Stepper::Native(model) = stepper {
                // a built-in model's step is cheap: a small direct-mapped cache in front of it is enough
                let slot = &mut recent[(key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> RECENT_SHIFT) as usize];
                if slot.0 == key {
                    slot.1
                } else {
                    let x = model.step(ev as usize, sid);
                    *slot = (key, x);
                    x
                }
            } else {
                match trans.get(&key) {
                    Some(&x) => x,
                    None => {
                        let x = stepper.step(ev as u32, sid);
                        if x == -2 {
                            return STEP_FAILED;
                        }
                        trans.insert(key, x);
                        x
                    }
                }
            };
            if ns >= 0 {
                let w = i >> 6;
                let b = 1u64 << (i & 63);
                bits[w] |= b;
                let nh = h ^ rnd[i];
                let hk = nh ^ (u64::from(ns as u32).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                if memo.insert(hk, ns as u32, bits) {
                    stack_e.push(e);
                    stack_s.push(sid);
                    sid = ns as u32;
                    h = nh;
                    let (p, q) = (prv[e], nxt[e]);
                    nxt[p] = q;
                    prv[q] = p;
                    let r = ret_of[i];
                    if r != 0 {
                        let (p, q) = (prv[r], nxt[r]);
                        nxt[p] = q;
                        prv[q] = p;
                    }
                    e = nxt[0];
                    continue;
                }
                bits[w] &= !b;
            }
            e = nxt[e];
        } else {
            if stack_e.is_empty() {
                return ILLEGAL;
            }
            let depth = stack_e.len();
            if let Some((out_longest, out_lens)) = longest.as_mut() {
                if depth > best || (depth == best && n_longest < 3) {
                    let slot = if depth > best { 0 } else { n_longest };
                    let seq: Vec<i32> = stack_e.iter().map(|&x| op_of[x]).collect();
                    let dup = depth == best
                        && (0..n_longest).any(|k| out_longest[k * n..k * n + depth] == seq[..]);
                    if !dup {
                        out_longest[slot * n..slot * n + depth].copy_from_slice(&seq);
                        out_lens[slot] = depth as u32;
                        n_longest = slot + 1;
                        for l in out_lens.iter_mut().skip(n_longest) {
                            *l = 0;
                        }
                        best = depth;
                    }
                }
            }
            e = stack_e.pop().unwrap_or(0);
            sid = stack_s.pop().unwrap_or(0);
            let i = op_of[e] as usize;
            bits[i >> 6] &= !(1u64 << (i & 63));
            h ^= rnd[i];
            let r = ret_of[i];
            if r != 0 {
                prv[nxt[r]] = r;
                nxt[prv[r]] = r;
            }
            prv[nxt[e]] = e;
            nxt[prv[e]] = e;
            e = nxt[e];
        }
    }
}

/// Whether op `i` may set the state, and to which value: writes, appends' results are not values (None).
fn writes(kind: u8, a: u32, b: u32) -> Option<u32> {
    match kind {
        K_WRITE => Some(a),
        K_CAS_OK | K_CAS_UNKNOWN => Some(b),
        _ => None,
    }
}

/// harness/checkers/prune.py's `drop_unobserved` on encoded ops (`known[i]` 0 for unknown outcome):
/// the indices of the ops kept.
fn drop_unobserved(kinds: &[u8], a: &[u32], b: &[u32], known: &[u8]) -> Vec<usize> {
    let mut kept: Vec<usize> = (0..kinds.len()).collect();
    if kinds.iter().any(|&k| k == K_APPEND || k == K_CAS_MISMATCH) {
        return kept;
    }
    loop {
        let mut observed = std::collections::HashSet::new();
        for &i in &kept {
            match kinds[i] {
                K_READ => {
                    observed.insert(a[i]);
                }
                K_CAS_OK | K_CAS_UNKNOWN => {
                    observed.insert(a[i]);
                }
                _ => {}
            }
        }
        let next: Vec<usize> = kept
            .iter()
            .copied()
            .filter(|&i| known[i] != 0 || writes(kinds[i], a[i], b[i]).is_some_and(|v| observed.contains(&v)))
            .collect();
        if next.len() == kept.len() {
            return kept;
        }
        kept = next;
    }
}

/// harness/checkers/prune.py's `find_witness` (verdict only): whether a cheap rule proves the ops illegal.
fn has_witness(kinds: &[u8], a: &[u32], b: &[u32], known: &[u8], inv: &[i64], ret: &[i64], init: u32) -> bool {
    if kinds.contains(&K_APPEND) {
        return false;
    }
    let n = kinds.len();
    let mut sources: HashMap<u32, Vec<usize>> = HashMap::new();
    let mut definite: Vec<(i64, i64)> = Vec::new();
    for i in 0..n {
        if let Some(v) = writes(kinds[i], a[i], b[i]) {
            sources.entry(v).or_default().push(i);
            if known[i] != 0 && ret[i] >= 0 {
                definite.push((inv[i], ret[i]));
            }
        }
    }
    definite.sort_unstable();
    let starts: Vec<i64> = definite.iter().map(|d| d.0).collect();
    let mut suffix = vec![i64::MAX; definite.len() + 1];
    for k in (0..definite.len()).rev() {
        suffix[k] = suffix[k + 1].min(definite[k].1);
    }
    // is there a definite write invoked after `after` (None: any) that completed before `before`?
    let shadowed = |after: Option<i64>, before: i64| -> bool {
        let k = match after {
            None => 0,
            Some(x) => starts.partition_point(|&s| s <= x),
        };
        suffix[k] < before
    };
    for r in 0..n {
        if known[r] == 0 || ret[r] < 0 {
            continue;
        }
        let value = match kinds[r] {
            K_READ | K_CAS_OK => a[r],
            _ => continue,
        };
        let empty = Vec::new();
        let cands: Vec<usize> =
            sources.get(&value).unwrap_or(&empty).iter().copied().filter(|&s| s != r && inv[s] < ret[r]).collect();
        if cands.is_empty() && value != init {
            return true;
        }
        let all = cands.iter().all(|&s| known[s] != 0 && ret[s] >= 0 && shadowed(Some(ret[s]), inv[r]));
        if all && (value != init || shadowed(None, inv[r])) {
            return true;
        }
    }
    false
}

/// One part of a kv history (encoded columns, see `chaos_lin_check_parts`): pruning, the pre-checks, then the
/// search with the built-in model. (status, configurations memoised, search steps: 0 when a pre-check decided).
#[allow(clippy::too_many_arguments)]
fn check_part(
    kinds: &[u8],
    a: &[u32],
    b: &[u32],
    known: &[u8],
    inv: &[i64],
    ret: &[i64],
    values: &Values,
    init: u32,
    limits: &Limits,
    scratch: &mut Scratch,
) -> (i32, u64, u64) {
    let kept = drop_unobserved(kinds, a, b, known);
    let pick = |xs: &[u32]| -> Vec<u32> { kept.iter().map(|&i| xs[i]).collect() };
    let (k2, a2, b2): (Vec<u8>, Vec<u32>, Vec<u32>) = (kept.iter().map(|&i| kinds[i]).collect(), pick(a), pick(b));
    let known2: Vec<u8> = kept.iter().map(|&i| known[i]).collect();
    let inv2: Vec<i64> = kept.iter().map(|&i| inv[i]).collect();
    let ret2: Vec<i64> = kept.iter().map(|&i| ret[i]).collect();
    if has_witness(&k2, &a2, &b2, &known2, &inv2, &ret2, init) {
        return (ILLEGAL, 0, 0);
    }
    let m = kept.len();
    // events: (position, 0 call / 1 return, op); unknown ops have no return
    let mut evs: Vec<(i64, u8, u32)> = Vec::with_capacity(2 * m);
    for i in 0..m {
        evs.push((inv2[i], 0, i as u32));
        if known2[i] != 0 && ret2[i] >= 0 {
            evs.push((ret2[i], 1, i as u32));
        }
    }
    evs.sort_unstable();
    let order: Vec<i32> = evs.iter().map(|&(_, k, i)| if k == 0 { i as i32 } else { -1 - i as i32 }).collect();
    let mut gate = vec![-1i32; m];
    let mut last: HashMap<(u8, u32, u32), i32> = HashMap::new();
    for &x in &order {
        if x >= 0 && known2[x as usize] == 0 {
            let i = x as usize;
            if let Some(&p) = last.get(&(k2[i], a2[i], b2[i])) {
                gate[i] = p;
            }
            last.insert((k2[i], a2[i], b2[i]), x);
        }
    }
    let model = Builtin::new(k2, a2, b2, values, init);
    let mut stepper = Stepper::Native(Box::new(model));
    run(&order, &gate, &mut stepper, limits, scratch, None)
}

fn max_configs(max_bytes: u64, n_ops: usize) -> u64 {
    max_bytes / (40 + 8 * (n_ops as u64 / 64 + 1))
}

/// Every part of a kv history, each pruned, pre-checked and searched with the built-in model, side by side on
/// `n_threads` threads (std::thread; 0: `OVERSUBSCRIBE` per core). Per op: its kind (K_*), value ids `a`, `b`, `known` (0
/// for an unknown outcome), invocation and return positions `inv`, `ret` (-1: none); all parts laid end to end in the order given
/// (`part_ends[p]` is where part p ends); each part's status goes to `out_status[p]` and its memo's size to
/// `out_configs[p]`. Workers take parts in that order. One illegal part is enough (false beats everything):
/// the one reported is the illegal part whose search decides it in the fewest steps (ties: the earlier), so
/// it is the same whichever thread finishes first; the parts that cannot beat it stop early and are reported
/// CANCELLED (see `check_parts`). Statuses: OK, ILLEGAL
/// (the caller explains it with the Python pipeline), OUT_OF_TIME, OUT_OF_MEMORY, CANCELLED.
///
/// # Safety
/// The pointers must be valid for the lengths described (`part_ends[n_parts - 1]` ops, `n_values` values,
/// `n_parts` outputs).
#[no_mangle]
pub unsafe extern "C" fn chaos_lin_check_parts(
    n_parts: u32,
    part_ends: *const u64,
    kinds: *const u8,
    a: *const u32,
    b: *const u32,
    known: *const u8,
    inv: *const i64,
    ret: *const i64,
    n_values: u32,
    value_bytes: *const u8,
    value_ends: *const u64,
    value_none: *const u8,
    init: u32,
    time_limit_s: f64,
    max_bytes: u64,
    n_threads: u32,
    out_status: *mut i32,
    out_configs: *mut u64,
) -> i32 {
    let np = n_parts as usize;
    let ends = std::slice::from_raw_parts(part_ends, np);
    let total = ends.last().map_or(0, |&x| x as usize);
    let cols = Columns {
        kinds: std::slice::from_raw_parts(kinds, total),
        a: std::slice::from_raw_parts(a, total),
        b: std::slice::from_raw_parts(b, total),
        known: std::slice::from_raw_parts(known, total),
        inv: std::slice::from_raw_parts(inv, total),
        ret: std::slice::from_raw_parts(ret, total),
    };
    let values = Values::read(n_values, value_bytes, value_ends, value_none);
    let results = check_parts(ends, &cols, &values, init, deadline(time_limit_s), max_bytes, n_threads as usize);
    let out_status = std::slice::from_raw_parts_mut(out_status, np);
    let out_configs = std::slice::from_raw_parts_mut(out_configs, np);
    for (p, (status, configs)) in results.into_iter().enumerate() {
        out_status[p] = status;
        out_configs[p] = configs;
    }
    OK
}

/// The encoded ops of all parts, end to end.
struct Columns<'c> {
    kinds: &'c [u8],
    a: &'c [u32],
    b: &'c [u32],
    known: &'c [u8],
    inv: &'c [i64],
    ret: &'c [i64],
}

/// log2 of the entries of a built-in model's transition cache is 64 minus this.
const RECENT_SHIFT: u32 = 64 - 12;

/// A part's memo may grow to this many bytes freely; past it, it takes one of a slot per core.
const SMALL_MEMO_BYTES: u64 = 32 << 20;

/// Threads per core when the caller leaves the count to the library.
const OVERSUBSCRIBE: usize = 4;

/// `chaos_lin_check_parts`' work: (status, configurations) per part.
///
/// Which illegal part is reported must not depend on the threads. Each part's search takes a number of steps
/// that belongs to the part alone, so the reported part is the illegal one decided in the fewest steps (ties:
/// the earlier in the order): the part a round-robin of all parts, one step each, would find first. Workers
/// share the best (steps, part) found so far; a search that has taken more steps than that, or as many and
/// comes later, cannot win and stops. Parts are so decided about as fast as by racing them all (as Porcupine
/// does), and the answer is the same with one thread or many. At the end every part that loses to the winner
/// is reported CANCELLED, so the statuses too are the same in any run (time limits aside).
fn check_parts(
    ends: &[u64],
    cols: &Columns,
    values: &Values,
    init: u32,
    deadline: Option<Instant>,
    max_bytes: u64,
    n_threads: usize,
) -> Vec<(i32, u64)> {
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex};
    let np = ends.len();
    let next = AtomicUsize::new(0);
    // the best illegal (steps, part) so far, packed: steps in the high 40 bits, the part in the low 24
    const PART_BITS: u32 = 24;
    let pack = |steps: u64, p: usize| (steps.min((1u64 << 40) - 1) << PART_BITS) | p as u64;
    let best = AtomicU64::new(u64::MAX);
    let results = Mutex::new(vec![(CANCELLED, 0u64, u64::MAX); np]);
    let cores = std::thread::available_parallelism().map_or(1, |c| c.get());
    // auto: more threads than cores, so that the system's scheduler time-slices the parts as a race (a part
    // quickly proved illegal then stops the long searches early), as Porcupine's goroutines do
    let threads = (if n_threads == 0 { OVERSUBSCRIBE * cores } else { n_threads }).clamp(1, np.max(1));
    let slots = Mutex::new(cores);
    let freed = Condvar::new();
    let work = || {
        let mut scratch = Scratch::default();
        loop {
            let p = next.fetch_add(1, Ordering::Relaxed);
            if p >= np {
                return;
            }
            let lo = if p == 0 { 0 } else { ends[p - 1] as usize };
            let hi = ends[p] as usize;
            let loses = |steps: u64| pack(steps, p) > best.load(Ordering::Relaxed);
            let held = AtomicBool::new(false);
            let small = max_configs(SMALL_MEMO_BYTES, hi - lo);
            let cancel = |steps: u64, configs: u64| {
                if loses(steps) {
                    return true;
                }
                if configs > small && !held.load(Ordering::Relaxed) {
                    // a memo past SMALL_MEMO_BYTES needs one of `cores` slots: at most that many searches hold
                    // a large memo at once (each up to max_bytes), however many threads race
                    let mut free = slots.lock().unwrap_or_else(|e| e.into_inner());
                    while *free == 0 {
                        if loses(steps) {
                            return true;
                        }
                        if deadline.is_some_and(|d| Instant::now() > d) {
                            return false; // the search loop reports the time limit
                        }
                        free = freed
                            .wait_timeout(free, std::time::Duration::from_millis(5))
                            .map_or_else(|e| e.into_inner().0, |r| r.0);
                    }
                    *free -= 1;
                    held.store(true, Ordering::Relaxed);
                }
                false
            };
            let limits = Limits { deadline, max_configs: max_configs(max_bytes, hi - lo), cancel: &cancel };
            let (status, configs, steps) = check_part(
                &cols.kinds[lo..hi],
                &cols.a[lo..hi],
                &cols.b[lo..hi],
                &cols.known[lo..hi],
                &cols.inv[lo..hi],
                &cols.ret[lo..hi],
                values,
                init,
                &limits,
                &mut scratch,
            );
            if held.load(Ordering::Relaxed) {
                *slots.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                freed.notify_one();
            }
            if status == ILLEGAL {
                best.fetch_min(pack(steps, p), Ordering::Relaxed);
            }
            if let Ok(mut r) = results.lock() {
                r[p] = (status, configs, steps);
            }
        }
    };
    if threads == 1 || np >= 1 << PART_BITS {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(work);
            }
        });
    }
    let winner = best.load(Ordering::Relaxed);
    let out = results.into_inner().unwrap_or_default();
    out.into_iter()
        .enumerate()
        .map(|(p, (status, configs, steps))| {
            // a part that loses to the winner is not reported, whatever it reached before it stopped; time
            // limits are the one thing that depends on the run
            let loses = winner != u64::MAX && status != OUT_OF_TIME && pack(steps, p) > winner;
            (if loses { CANCELLED } else { status }, configs)
        })
        .collect()
}

/// The version of this library's interface; native.py refuses a library whose version it does not know.
#[no_mangle]
pub extern "C" fn chaos_lin_abi() -> u32 {
    5
}
