//! Redaction: pino's `redact` option (paths in fast-redact's syntax, a
//! censor text or removal), applied on logjet's side, for every format.
//!
//! A [`Redact`] given to [`Builder::redact`](crate::Builder::redact) is
//! parsed at build into a [`Redactor`]. The writer (and a caller that
//! formats its own line, `crate::preformat`) hands each captured record to
//! [`RedactState::apply`] before any format sees it: when nothing in the
//! record matches a path, the record is formatted as it is (no copy, no
//! allocation); otherwise its items are rewritten once into a scratch
//! buffer that every sink's format then reads. A logger without paths has
//! no `RedactState` at all: one branch on the writer per record.
//!
//! Matching:
//! - a record's top-level fields (the call's fields, a child's bindings and
//!   a tracing span's fields) by their key as given (before the renaming of
//!   reserved keys, so `msg` names a user field `msg`, written `_msg`);
//! - nested values (serde values, errors, JSON bindings) by walking their
//!   JSON text as deep as the longest path reaches, and no deeper: a value
//!   is never walked past the paths, whatever its depth or size;
//! - a value whose JSON cannot be read (which logjet never writes) is
//!   censored whole: a doubt never leaks.

use std::sync::Arc;

use crate::format::escape::{escape_into, unescape_json_string, write_str};
use crate::format::json::{is_reserved, skip_string, write_field_key, write_val};
use crate::record::{Item, Items, RecordRef, Val, T_BINDINGS, T_JSON, T_STR};
use crate::tunables::{REDACT_MAX_PATHS, REDACT_MAX_SEGMENTS};

/// Which values to hide before a record is written: pino's `redact`
/// option, with fast-redact's path syntax.
///
/// | path | hides |
/// |---|---|
/// | `password` | the top-level field `password` |
/// | `req.headers.authorization` | a member of a nested value (serde, error, bindings) |
/// | `headers["x-api-key"]`, `a['b.c']` | a key that is not an identifier (quotes: `"` or `'`, `\` escapes) |
/// | `items[0].secret` | an array element by index |
/// | `*.token`, `a.*.b`, `a[*].b`, `a.*` | `*`: every member (or element) at that level |
///
/// By default the value is replaced by the string `"[Redacted]"`;
/// [`censor`](Redact::censor) changes the text, [`remove`](Redact::remove)
/// removes the key instead (an array element becomes `null`, as pino
/// writes a deleted one). The message, the level, the time and the base
/// keys are never redacted. Not supported (a build error naming the path):
/// `**` (any depth), an empty path, more than 64 paths or 32 segments per
/// path. A censor function (pino's `censor: (value, path) => …`) has no
/// equivalent.
///
/// ```
/// use logjet::{Logger, Redact};
/// # #[derive(Clone, Default)]
/// # struct Mem(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
/// # impl std::io::Write for Mem {
/// #     fn write(&mut self, b: &[u8]) -> std::io::Result<usize> { self.0.lock().unwrap().extend_from_slice(b); Ok(b.len()) }
/// #     fn flush(&mut self) -> std::io::Result<()> { Ok(()) }
/// # }
/// # let out = Mem::default();
/// let (log, guard) = Logger::builder()
///     .sink(logjet::sink::Writer::new(out.clone()))
///     .redact(Redact::paths(["password", "req.headers.authorization", "*.token"]))
///     .build()?;
/// let req = serde_json::json!({"headers": {"authorization": "Bearer abc", "accept": "*/*"}});
/// logjet::info!(log, "login", user = "ada", password = "hunter2", req = &req);
/// guard.flush()?;
/// # let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
/// # assert!(text.contains(r#""password":"[Redacted]""#) && !text.contains("hunter2") && !text.contains("Bearer"), "{text}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Redact {
    paths: Vec<String>,
    censor: String,
    remove: bool,
}

impl Redact {
    /// Hides the values at `paths` (see [`Redact`] for the syntax), written
    /// as `"[Redacted]"`.
    pub fn paths<I, S>(paths: I) -> Redact
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Redact { paths: paths.into_iter().map(Into::into).collect(), censor: "[Redacted]".into(), remove: false }
    }

    /// The text written instead of a hidden value (a JSON string).
    ///
    /// ```
    /// let r = logjet::Redact::paths(["password"]).censor("***");
    /// # let _ = r;
    /// ```
    pub fn censor(mut self, text: impl Into<String>) -> Redact {
        self.censor = text.into();
        self
    }

    /// Removes hidden keys instead of writing a censor text (pino's
    /// `remove: true`); a hidden array element becomes `null`.
    ///
    /// ```
    /// let r = logjet::Redact::paths(["password"]).remove();
    /// # let _ = r;
    /// ```
    pub fn remove(mut self) -> Redact {
        self.remove = true;
        self
    }
}

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Key(Box<[u8]>),
    Index(u64),
    Wild,
}

/// Parses one path, or says what is wrong with it.
fn parse_path(p: &str) -> Result<Vec<Seg>, String> {
    let b = p.as_bytes();
    let mut segs = Vec::new();
    let mut i = 0;
    let bad = |why: &str| Err(format!("redact path {p:?}: {why}"));
    if b.is_empty() {
        return bad("empty");
    }
    loop {
        // A segment: an identifier-like key or `*`, or a bracket.
        match b.get(i) {
            Some(b'[') => {
                i += 1;
                match b.get(i) {
                    Some(&q @ (b'"' | b'\'')) => {
                        i += 1;
                        let mut key = Vec::new();
                        loop {
                            match b.get(i) {
                                None => return bad("unclosed quote"),
                                Some(b'\\') => {
                                    // JavaScript's escapes, as in a fast-redact path.
                                    let c = match b.get(i + 1) {
                                        Some(b'n') => b'\n',
                                        Some(b't') => b'\t',
                                        Some(b'r') => b'\r',
                                        Some(b'b') => 8,
                                        Some(b'f') => 12,
                                        Some(b'0') => 0,
                                        Some(b'u') => {
                                            let hex = p.get(i + 2..i + 6).and_then(|h| u32::from_str_radix(h, 16).ok());
                                            match hex.and_then(char::from_u32) {
                                                Some(ch) => {
                                                    key.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                                                    i += 6;
                                                    continue;
                                                }
                                                None => return bad("\\u takes four hex digits (not a surrogate)"),
                                            }
                                        }
                                        Some(&c) if c.is_ascii() => c,
                                        Some(_) => return bad("escape of a non-ASCII character"),
                                        None => return bad("unclosed quote"),
                                    };
                                    key.push(c);
                                    i += 2;
                                }
                                Some(&c) if c == q => {
                                    i += 1;
                                    break;
                                }
                                Some(&c) => {
                                    key.push(c);
                                    i += 1;
                                }
                            }
                        }
                        segs.push(Seg::Key(key.into()));
                    }
                    Some(b'*') => {
                        i += 1;
                        segs.push(Seg::Wild);
                    }
                    Some(c) if c.is_ascii_digit() => {
                        let start = i;
                        while b.get(i).is_some_and(u8::is_ascii_digit) {
                            i += 1;
                        }
                        match p[start..i].parse::<u64>() {
                            Ok(n) => segs.push(Seg::Index(n)),
                            Err(_) => return bad("index too large"),
                        }
                    }
                    _ => return bad("a bracket takes a quoted key, an index or *"),
                }
                if b.get(i) != Some(&b']') {
                    return bad("unclosed bracket");
                }
                i += 1;
            }
            Some(_) => {
                let start = i;
                while i < b.len() && b[i] != b'.' && b[i] != b'[' {
                    i += 1;
                }
                let word = &p[start..i];
                if word == "*" {
                    segs.push(Seg::Wild);
                } else if word.contains('*') {
                    return bad("`*` stands alone in a segment (`**` and `a*` are not supported)");
                } else if word.is_empty() {
                    return bad("empty segment");
                } else if word.bytes().any(|c| matches!(c, b']' | b'"' | b'\'' | b' ')) {
                    return bad("quote a key with such characters: [\"...\"]");
                } else {
                    segs.push(Seg::Key(word.as_bytes().into()));
                }
            }
            None => return bad("ends with a separator"),
        }
        match b.get(i) {
            None => break,
            Some(b'.') => {
                i += 1;
                if b.get(i) == Some(&b'[') {
                    return bad("`.` before a bracket");
                }
            }
            Some(b'[') => {}
            Some(_) => return bad("expected `.` or `[` after a bracket"),
        }
    }
    if matches!(segs.first(), Some(Seg::Index(_))) {
        return bad("a record's top level is an object: it starts with a key or *");
    }
    if segs.len() > REDACT_MAX_SEGMENTS {
        return bad(&format!("more than {REDACT_MAX_SEGMENTS} segments"));
    }
    Ok(segs)
}

/// Compiled paths: what the writer matches records against.
#[derive(Debug)]
pub(crate) struct Redactor {
    paths: Vec<Vec<Seg>>,
    /// Per depth: the paths that end there.
    ends: Vec<u64>,
    /// Every path.
    all: u64,
    /// The paths that start with `*`.
    wild_first: u64,
    /// The bits (`record::key_bit`) of the paths' first keys: a key or a
    /// bindings fragment (whose item carries its keys' bits) sharing none
    /// of them matches no path, when none starts with `*`.
    first_bits: u64,
    /// Each first key as a bindings fragment writes it (`"key"`, renamed
    /// and escaped): a fragment holding none of them needs no look (when
    /// no path starts with `*`).
    needles: Vec<Vec<u8>>,
    /// The censor as a JSON string, and as text.
    censor_json: Box<[u8]>,
    censor: Box<[u8]>,
    remove: bool,
}

impl Redactor {
    /// Compiles `r`; an error names the first bad path.
    pub(crate) fn new(r: Redact) -> Result<Redactor, String> {
        if r.paths.len() > REDACT_MAX_PATHS {
            return Err(format!("at most {REDACT_MAX_PATHS} redact paths, {} given", r.paths.len()));
        }
        let mut paths = Vec::new();
        for p in &r.paths {
            let segs = parse_path(p)?;
            if !paths.contains(&segs) {
                paths.push(segs);
            }
        }
        let longest = paths.iter().map(Vec::len).max().unwrap_or(0);
        let mut ends = vec![0u64; longest];
        let mut all = 0;
        let mut wild_first = 0;
        let mut needles = Vec::new();
        let mut first_bits = 0;
        for (n, segs) in paths.iter().enumerate() {
            let bit = 1u64 << n;
            all |= bit;
            ends[segs.len() - 1] |= bit;
            match &segs[0] {
                Seg::Wild => wild_first |= bit,
                Seg::Key(k) => {
                    first_bits |= crate::record::key_bit(k);
                    let mut needle = b"\"".to_vec();
                    if is_reserved(k) {
                        needle.push(b'_');
                    }
                    escape_into(&mut needle, k);
                    needle.push(b'"');
                    needles.push(needle);
                }
                Seg::Index(_) => {}
            }
        }
        let mut censor_json = Vec::new();
        write_str(&mut censor_json, r.censor.as_bytes());
        Ok(Redactor {
            paths,
            ends,
            all,
            wild_first,
            first_bits,
            needles,
            censor_json: censor_json.into(),
            censor: r.censor.into_bytes().into(),
            remove: r.remove,
        })
    }

    /// The paths among `active` whose segment at `depth` is key `k` (raw
    /// text) or `*`.
    #[inline]
    fn match_key(&self, active: u64, depth: usize, k: &[u8]) -> u64 {
        let mut m = 0;
        let mut rest = active;
        while rest != 0 {
            let n = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            match self.paths[n].get(depth) {
                Some(Seg::Wild) => m |= 1 << n,
                Some(Seg::Key(s)) if **s == *k => m |= 1 << n,
                _ => {}
            }
        }
        m
    }

    /// The same for an array element at index `idx`.
    fn match_index(&self, active: u64, depth: usize, idx: u64) -> u64 {
        let mut m = 0;
        let mut rest = active;
        while rest != 0 {
            let n = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            match self.paths[n].get(depth) {
                Some(Seg::Wild) => m |= 1 << n,
                Some(Seg::Index(i)) if *i == idx => m |= 1 << n,
                _ => {}
            }
        }
        m
    }

    /// The paths among `m` that end at `depth`.
    #[inline]
    fn ends_at(&self, m: u64, depth: usize) -> bool {
        self.ends.get(depth).is_some_and(|e| e & m != 0)
    }

    /// The paths among `active` whose segment at `depth` is a key string
    /// literal's contents `inner` (escaped as JSON).
    fn match_literal(&self, active: u64, depth: usize, inner: &[u8], tmp: &mut String) -> u64 {
        if !inner.contains(&b'\\') {
            return self.match_key(active, depth, inner);
        }
        let mut quoted = Vec::with_capacity(inner.len() + 2);
        quoted.push(b'"');
        quoted.extend_from_slice(inner);
        quoted.push(b'"');
        match unescape_json_string(&quoted) {
            Some(s) => {
                *tmp = s;
                self.match_key(active, depth, tmp.as_bytes())
            }
            // Unreadable: treat it as matching every path here.
            None => active & self.paths_with_depth(depth),
        }
    }

    fn paths_with_depth(&self, depth: usize) -> u64 {
        self.paths.iter().enumerate().filter(|(_, p)| p.len() > depth).fold(0, |m, (n, _)| m | 1 << n)
    }

    /// Writes the JSON value at `j[*i..]` into `out`, with what the paths
    /// `active` (matched down to `depth`) hide hidden. Only goes as deep as
    /// a path reaches; beyond, values are copied as they are. `Err` when
    /// the text is not JSON.
    fn walk(&self, j: &[u8], i: &mut usize, depth: usize, active: u64, w: &mut Walk<'_>) -> Result<(), ()> {
        skip_ws(j, i);
        let start = *i;
        match j.get(*i) {
            Some(b'{') => {
                w.out.push(b'{');
                *i += 1;
                let mut first = true;
                skip_ws(j, i);
                if j.get(*i) == Some(&b'}') {
                    *i += 1;
                    w.out.push(b'}');
                    return Ok(());
                }
                loop {
                    skip_ws(j, i);
                    let ks = *i;
                    let ke = string_end(j, ks)?;
                    *i = ke;
                    skip_ws(j, i);
                    if j.get(*i) != Some(&b':') {
                        return Err(());
                    }
                    *i += 1;
                    let m = self.match_literal(active, depth, &j[ks + 1..ke - 1], w.tmp);
                    if self.ends_at(m, depth) {
                        skip_ws(j, i);
                        *i = value_end(j, *i)?;
                        w.changed = true;
                        if !self.remove {
                            if !first {
                                w.out.push(b',');
                            }
                            w.out.extend_from_slice(&j[ks..ke]);
                            w.out.push(b':');
                            w.out.extend_from_slice(&self.censor_json);
                            first = false;
                        }
                    } else {
                        if !first {
                            w.out.push(b',');
                        }
                        w.out.extend_from_slice(&j[ks..ke]);
                        w.out.push(b':');
                        first = false;
                        self.member(j, i, depth, m, w)?;
                    }
                    skip_ws(j, i);
                    match j.get(*i) {
                        Some(b',') => *i += 1,
                        Some(b'}') => {
                            *i += 1;
                            break;
                        }
                        _ => return Err(()),
                    }
                }
                w.out.push(b'}');
            }
            Some(b'[') => {
                w.out.push(b'[');
                *i += 1;
                skip_ws(j, i);
                if j.get(*i) == Some(&b']') {
                    *i += 1;
                    w.out.push(b']');
                    return Ok(());
                }
                let mut idx = 0u64;
                loop {
                    if idx > 0 {
                        w.out.push(b',');
                    }
                    let m = self.match_index(active, depth, idx);
                    if self.ends_at(m, depth) {
                        skip_ws(j, i);
                        *i = value_end(j, *i)?;
                        w.changed = true;
                        w.out.extend_from_slice(if self.remove { b"null" } else { &self.censor_json });
                    } else {
                        self.member(j, i, depth, m, w)?;
                    }
                    idx += 1;
                    skip_ws(j, i);
                    match j.get(*i) {
                        Some(b',') => *i += 1,
                        Some(b']') => {
                            *i += 1;
                            break;
                        }
                        _ => return Err(()),
                    }
                }
                w.out.push(b']');
            }
            Some(_) => {
                *i = value_end(j, start)?;
                w.out.extend_from_slice(&j[start..*i]);
            }
            None => return Err(()),
        }
        Ok(())
    }

    /// A member's (or element's) value: walked when paths go on below it
    /// (`m`, matched at `depth`), else copied.
    fn member(&self, j: &[u8], i: &mut usize, depth: usize, m: u64, w: &mut Walk<'_>) -> Result<(), ()> {
        if m != 0 {
            self.walk(j, i, depth + 1, m, w)
        } else {
            skip_ws(j, i);
            let vs = *i;
            *i = value_end(j, vs)?;
            w.out.extend_from_slice(&j[vs..*i]);
            Ok(())
        }
    }

    /// Writes JSON value `j` with paths `m` (matched at depth 0) applied
    /// below it into `out`; returns whether anything was hidden. On text
    /// that is not JSON, `out` holds the censor (or is empty with
    /// `remove`) and the answer is true.
    fn value(&self, j: &[u8], m: u64, out: &mut Vec<u8>, tmp: &mut String) -> bool {
        out.clear();
        let mut w = Walk { out, tmp, changed: false };
        let mut i = 0;
        let ok = self.walk(j, &mut i, 1, m, &mut w).is_ok() && {
            skip_ws(j, &mut i);
            i == j.len()
        };
        if ok {
            return w.changed;
        }
        w.out.clear();
        if !self.remove {
            w.out.extend_from_slice(&self.censor_json);
        }
        true
    }
}

/// The walk's output and scratch.
struct Walk<'a> {
    out: &'a mut Vec<u8>,
    tmp: &'a mut String,
    changed: bool,
}

#[inline]
fn skip_ws(j: &[u8], i: &mut usize) {
    while matches!(j.get(*i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        *i += 1;
    }
}

/// The index just past the string literal at `i`.
fn string_end(j: &[u8], i: usize) -> Result<usize, ()> {
    skip_string(j, i).ok_or(())
}

/// The index just past the JSON value at `i` (no recursion: any depth).
fn value_end(j: &[u8], i: usize) -> Result<usize, ()> {
    match j.get(i) {
        Some(b'"') => string_end(j, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut k = i;
            while k < j.len() {
                match j[k] {
                    b'"' => {
                        k = string_end(j, k)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Ok(k + 1);
                        }
                    }
                    _ => {}
                }
                k += 1;
            }
            Err(())
        }
        Some(_) => {
            let mut k = i;
            while k < j.len() && !matches!(j[k], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                k += 1;
            }
            if k == i {
                Err(())
            } else {
                Ok(k)
            }
        }
        None => Err(()),
    }
}

/// A formatter's redaction: the paths and its scratch buffers, reused from
/// record to record.
pub(crate) struct RedactState {
    r: Arc<Redactor>,
    /// The rewritten record's items.
    items: Vec<u8>,
    /// A rewritten value.
    val: Vec<u8>,
    /// A rewritten item, or bindings fragment.
    frag: Vec<u8>,
    /// Rewritten bound fields.
    bound: Vec<u8>,
    tmp: String,
    keys: crate::record::KeyTable,
}

impl RedactState {
    pub(crate) fn new(r: Arc<Redactor>) -> RedactState {
        RedactState {
            r,
            items: Vec::new(),
            val: Vec::new(),
            frag: Vec::new(),
            bound: Vec::new(),
            tmp: String::new(),
            keys: Default::default(),
        }
    }

    /// Whether a record whose top-level keys have the bits `mask` may hold
    /// something to hide (false: it surely does not).
    #[inline]
    pub(crate) fn may_match(&self, mask: u64) -> bool {
        self.r.wild_first != 0 || mask & self.r.first_bits != 0
    }

    /// `out` holds, from `before` on, the NDJSON line `fmt` just wrote
    /// for `rec`, whose keys have the bits `mask`: written again with what the paths name hidden when the
    /// line's keys may match (the check costs one test when none can).
    #[inline]
    pub(crate) fn check_line<O: crate::record::Out>(
        &mut self,
        mask: u64,
        fmt: &mut crate::format::json::JsonFormat,
        rec: &RecordRef<'_>,
        out: &mut O,
        before: usize,
    ) {
        if self.may_match(mask) {
            self.rewrite_line(fmt, rec, out, before);
        }
    }

    #[cold]
    #[inline(never)]
    fn rewrite_line<O: crate::record::Out>(
        &mut self,
        fmt: &mut crate::format::json::JsonFormat,
        rec: &RecordRef<'_>,
        out: &mut O,
        before: usize,
    ) {
        if let Some(hidden) = self.apply(rec) {
            out.truncate(before);
            let _ = fmt.format(&hidden, out);
        }
    }

    /// `rec` with what the paths name hidden, or `None` when nothing in it
    /// matches (then `rec` is written as it is).
    pub(crate) fn apply<'s>(&'s mut self, rec: &RecordRef<'_>) -> Option<RecordRef<'s>> {
        let r = &*self.r;
        let items = rec.items;
        self.keys.refresh();
        let mut it = Items::with_keys(items, &self.keys);
        // Bytes of `items` before this offset are in `self.items` (once
        // something changed).
        let mut copied = 0;
        let mut started = false;
        loop {
            let start = items.len() - it.remaining();
            let Some(item) = it.next() else { break };
            let end = items.len() - it.remaining();
            match item {
                Item::Field(k, v, framed) => {
                    if !hide(r, &items[start..end], k, v, framed, &mut self.frag, &mut self.val, &mut self.tmp) {
                        continue;
                    }
                    begin(&mut self.items, items, &mut copied, &mut started, start);
                    self.items.extend_from_slice(&self.frag);
                    copied = end;
                }
                Item::Bindings(b) => {
                    if r.wild_first == 0
                        && (b.mask & r.first_bits == 0 || !r.needles.iter().any(|n| contains(b.json, n)))
                    {
                        continue;
                    }
                    // The bound fields again, each hidden as a call's
                    // field would be; their fragment written anew from them.
                    self.bound.clear();
                    let mut changed = false;
                    let mut bit = it.bound(b);
                    loop {
                        let s = b.items.len() - bit.remaining();
                        let Some(Item::Field(k, v, framed)) = bit.next() else { break };
                        let e = b.items.len() - bit.remaining();
                        if hide(r, &b.items[s..e], k, v, framed, &mut self.frag, &mut self.val, &mut self.tmp) {
                            changed = true;
                            self.bound.extend_from_slice(&self.frag);
                        } else {
                            self.bound.extend_from_slice(&b.items[s..e]);
                        }
                    }
                    if !changed {
                        continue;
                    }
                    begin(&mut self.items, items, &mut copied, &mut started, start);
                    self.frag.clear();
                    for f in Items::with_keys(&self.bound, &self.keys) {
                        if let Item::Field(k, v, _) = f {
                            write_field_key(&mut self.frag, k);
                            write_val(&mut self.frag, v);
                        }
                    }
                    if !self.frag.is_empty() {
                        self.items.push(T_BINDINGS);
                        self.items.extend_from_slice(&b.mask.to_le_bytes());
                        blob(&mut self.items, &self.frag);
                        blob(&mut self.items, &self.bound);
                    }
                    copied = end;
                }
                Item::Msg(..) | Item::Ns(_) => {}
            }
        }
        if !started {
            return None;
        }
        self.items.extend_from_slice(&items[copied..]);
        Some(RecordRef { items: &self.items, ..*rec })
    }
}

/// Field `k` = `v` (captured as `item`) with what the paths name hidden:
/// `true` when a path matches, with its replacement item in `out` (empty
/// when it is removed); `false` when it is kept as it is.
#[allow(clippy::too_many_arguments)]
fn hide(
    r: &Redactor,
    item: &[u8],
    k: &[u8],
    v: Val<'_>,
    framed: Option<crate::record::Framed>,
    out: &mut Vec<u8>,
    val: &mut Vec<u8>,
    tmp: &mut String,
) -> bool {
    if r.wild_first == 0 {
        let bit = framed.map_or_else(|| crate::record::key_bit(k), |f| f.bit);
        if bit & r.first_bits == 0 {
            return false;
        }
    }
    let m = r.match_key(r.all, 0, k);
    if m == 0 {
        return false;
    }
    let key_part = &item[1..item.len() - encoded_len(v)];
    out.clear();
    if r.ends_at(m, 0) {
        if !r.remove {
            out.push(T_STR);
            out.extend_from_slice(key_part);
            blob(out, &r.censor);
        }
        return true;
    }
    let Val::Json(j) = v else { return false };
    if !r.value(j, m, val, tmp) {
        return false;
    }
    if !(r.remove && val.is_empty()) {
        out.push(T_JSON);
        out.extend_from_slice(key_part);
        blob(out, val);
    }
    true
}

/// The first change of a record: its items so far go into `dst`.
#[inline]
fn begin(dst: &mut Vec<u8>, items: &[u8], copied: &mut usize, started: &mut bool, start: usize) {
    if !*started {
        dst.clear();
        *started = true;
    }
    dst.extend_from_slice(&items[*copied..start]);
    *copied = start;
}

fn blob(dst: &mut Vec<u8>, b: &[u8]) {
    dst.extend_from_slice(&u32::try_from(b.len()).unwrap_or(u32::MAX).to_le_bytes());
    dst.extend_from_slice(&b[..b.len().min(u32::MAX as usize)]);
}

/// The bytes a value takes in the item format.
fn encoded_len(v: Val<'_>) -> usize {
    match v {
        Val::I64(_) | Val::U64(_) | Val::F64(_) => 8,
        Val::I128(_) | Val::U128(_) => 16,
        Val::Bool(_) | Val::Null => 0,
        Val::Str(b) | Val::Bytes(b) | Val::Json(b) => 4 + b.len(),
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;
    use crate::record::Capture;
    use crate::record::ItemWriter as _;
    use crate::record::Out;

    fn segs(p: &str) -> Vec<Seg> {
        parse_path(p).unwrap()
    }

    fn key(s: &str) -> Seg {
        Seg::Key(s.as_bytes().into())
    }

    #[test]
    fn paths_parse_as_fast_redact_writes_them() {
        assert_eq!(segs("a.b.c"), [key("a"), key("b"), key("c")]);
        assert_eq!(segs("a[0].b"), [key("a"), Seg::Index(0), key("b")]);
        assert_eq!(segs("headers[\"x-api-key\"]"), [key("headers"), key("x-api-key")]);
        assert_eq!(segs("a['b.c'].d"), [key("a"), key("b.c"), key("d")]);
        assert_eq!(segs("a[\"q\\\"uote\"]"), [key("a"), key("q\"uote")]);
        assert_eq!(segs(r#"a["l\n\u00e9\\"]"#), [key("a"), key("l\né\\")]);
        assert_eq!(segs("*.token"), [Seg::Wild, key("token")]);
        assert_eq!(segs("a.*.b"), [key("a"), Seg::Wild, key("b")]);
        assert_eq!(segs("a[*]"), [key("a"), Seg::Wild]);
        assert_eq!(segs("[\"a b\"].c"), [key("a b"), key("c")]);
        for bad in ["", "a.", ".a", "a..b", "a.**", "a*", "a[", "a[0", "a[x]", "a[\"x]", "[0]", "a b", "a.[0]", "a[0]b"]
        {
            let e = parse_path(bad).unwrap_err();
            assert!(e.contains(&format!("{bad:?}")), "{bad}: {e}");
        }
        let long = vec!["a"; REDACT_MAX_SEGMENTS + 1].join(".");
        assert!(parse_path(&long).is_err());
    }

    fn redactor(paths: &[&str]) -> Redactor {
        Redactor::new(Redact::paths(paths.iter().copied())).unwrap()
    }

    fn redact_json(r: &Redactor, j: &str) -> String {
        let mut out = Vec::new();
        let mut tmp = String::new();
        let m = r.all;
        // The value as if under a field that every path's first segment names.
        let _ = r.value(j.as_bytes(), m, &mut out, &mut tmp);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn nested_values_are_walked_only_as_deep_as_the_paths() {
        let r = redactor(&["x.a.b", "x.list[1]", "x.*.token"]);
        assert_eq!(
            redact_json(&r, r#"{"a":{"b":1,"c":[1,{"b":2}]},"list":[0,1,2],"k":{"token":"t","deep":{"token":3}}}"#),
            r#"{"a":{"b":"[Redacted]","c":[1,{"b":2}]},"list":[0,"[Redacted]",2],"k":{"token":"[Redacted]","deep":{"token":3}}}"#
        );
        // Deep nesting below the paths is copied, never walked.
        let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
        let j = format!(r#"{{"a":{deep},"z":1}}"#);
        assert_eq!(redact_json(&r, &j), j);
        // Not JSON: censored whole.
        assert_eq!(redact_json(&r, r#"{"a":{"b":1"#), r#""[Redacted]""#);
    }

    #[test]
    fn records_are_copied_only_when_something_matches() {
        let r = Arc::new(redactor(&["password", "user.secret"]));
        let mut st = RedactState::new(r);
        let mut c = Capture::new(Level::Info, 0);
        c.str("user", "ada");
        c.json_with("user2", |c| {
            c.extend(br#"{"secret":1}"#);
            Ok(())
        });
        c.msg("m");
        assert!(st.apply(&c.as_ref()).is_none());
        c.json_with("user", |c| {
            c.extend(br#"{"secret":1,"x":2}"#);
            Ok(())
        });
        c.i64("password", 5);
        let red = st.apply(&c.as_ref()).unwrap();
        let items: Vec<Item<'_>> = Items::new(red.items).collect();
        assert_eq!(
            items,
            [
                Item::Field(b"user", Val::Str(b"ada"), None),
                Item::Field(b"user2", Val::Json(br#"{"secret":1}"#), None),
                Item::Msg(b"m", None),
                Item::Field(b"user", Val::Json(br#"{"secret":"[Redacted]","x":2}"#), None),
                Item::Field(b"password", Val::Str(b"[Redacted]"), None),
            ]
        );
    }
}
